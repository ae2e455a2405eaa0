//! Cheap, iterative upper estimates of how deeply text nests, computed before a recursive
//! third-party parser (brush-parser, sqlparser) sees it: input that could exhaust a 2 MiB thread
//! stack is refused as unknown instead of crashing the process.
//!
//! The estimates err high: a construct that might open a level counts as one, and prefix words
//! that stack without a closer (`coproc coproc …`, `! ! …`) count until the command ends.

/// What opened a level of shell nesting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Paren,
    Brace,
    Bracket,
    /// `if`, `while`, `until`, `for`, `select`, `function`.
    Keyword,
    /// `case`: its patterns end in `)` without an opening bracket.
    Case,
}

/// Upper estimate of the shell parser's recursion depth for `src`.
pub(crate) fn shell_depth(src: &str) -> usize {
    let mut stack: Vec<Open> = Vec::new();
    let (mut prefix, mut backticks, mut max) = (0usize, 0usize, 0usize);
    let mut word = String::new();
    for c in src.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        keyword(&word, &mut stack, &mut prefix);
        word.clear();
        match c {
            '(' => stack.push(Open::Paren),
            '{' => stack.push(Open::Brace),
            '[' => stack.push(Open::Bracket),
            ')' => close(&mut stack, Open::Paren),
            '}' => close(&mut stack, Open::Brace),
            ']' => close(&mut stack, Open::Bracket),
            '`' => backticks += 1,
            '!' => prefix += 1,
            ';' | '&' | '|' | '\n' => prefix = 0,
            _ => {}
        }
        max = max.max(stack.len() + prefix + backticks / 2);
    }
    keyword(&word, &mut stack, &mut prefix);
    max.max(stack.len() + prefix)
}

/// Closes the innermost level if it is of this kind; a `)` inside a `case` ends a pattern.
fn close(stack: &mut Vec<Open>, kind: Open) {
    if stack.last() == Some(&kind) {
        stack.pop();
    }
}

fn keyword(word: &str, stack: &mut Vec<Open>, prefix: &mut usize) {
    match word {
        "if" | "while" | "until" | "for" | "select" | "function" => stack.push(Open::Keyword),
        "case" => stack.push(Open::Case),
        "fi" | "done" => close(stack, Open::Keyword),
        "esac" => close(stack, Open::Case),
        "coproc" | "time" => *prefix += 1,
        _ => {}
    }
}

/// Binary operators one statement may hold per level of the estimate: sqlparser reads a chain
/// (`a OR b OR c …`) without recursion but builds a tree as deep as the chain is long, and
/// printing, visiting and dropping that tree recurse.
const OPERATORS_PER_LEVEL: usize = 16;

/// Upper estimate of the SQL parser's recursion depth: brackets, prefix operators and keywords
/// that each open an expression level (`NOT NOT …`, `- - …`, `CASE`, `EXISTS`), and the length of
/// operator chains, which become trees as deep.
pub(crate) fn sql_depth(sql: &str) -> usize {
    let (mut depth, mut run, mut max) = (0usize, 0usize, 0usize);
    let mut operators = 0usize;
    let bytes = sql.as_bytes();
    let mut start: Option<usize> = None;
    for (i, &c) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
        if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            let w = &sql[s..i];
            let is = |k: &str| w.eq_ignore_ascii_case(k);
            if is("NOT") || is("EXISTS") || is("SELECT") || is("ARRAY") || is("WHEN") {
                run += 1;
            } else if is("CASE") {
                run += 1;
                depth += 1;
            } else if is("END") {
                depth = depth.saturating_sub(1);
            } else if is("AND") || is("OR") || is("LIKE") || is("ILIKE") || is("IS") || is("XOR") {
                operators += 1;
                run = 0;
            } else {
                run = 0;
            }
        }
        match c {
            b'+' | b'*' | b'/' | b'%' | b'|' | b'=' | b'<' | b'>' | b'^' | b'&' => operators += 1,
            b';' => operators = 0,
            _ => {}
        }
        max = max.max(operators / OPERATORS_PER_LEVEL);
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'-' | b'+' | b'~' => run += 1,
            c if c.is_ascii_whitespace() => {}
            _ => run = 0,
        }
        max = max.max(depth + run);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The estimate is never below the real bracket depth of balanced text.
        #[test]
        fn robustness_estimate_bounds_bracket_depth(n in 0usize..200, core in "[a-z ]{0,10}") {
            let text = format!("{}{core}{}", "( ".repeat(n), " )".repeat(n));
            prop_assert!(shell_depth(&text) >= n);
            prop_assert!(sql_depth(&text) >= n);
        }
    }

    #[test]
    fn robustness_estimates_count_every_opening_shape() {
        assert!(shell_depth(&"coproc ".repeat(100)) >= 100);
        assert!(shell_depth(&"if ".repeat(100)) >= 100);
        assert!(shell_depth(&"$( ".repeat(100)) >= 100);
        assert!(shell_depth(&"! ".repeat(100)) >= 100);
        assert!(shell_depth(&"`".repeat(100)) >= 50);
        // Sequences do not add up.
        assert!(shell_depth(&"time ls; ".repeat(100)) <= 2);
        assert!(shell_depth(&"(ls); ".repeat(100)) <= 2);
        assert!(shell_depth(&"case x in x) ".repeat(100)) >= 100);
        assert!(shell_depth("case $x in a) ls;; b) ls;; esac") <= 2);
        assert!(sql_depth(&"NOT ".repeat(100)) >= 100);
        assert!(sql_depth(&"(".repeat(100)) >= 100);
        assert!(sql_depth(&"SELECT (1); ".repeat(100)) <= 3);
        assert!(sql_depth(&format!("SELECT 1 WHERE {}true", "a = 1 OR ".repeat(2000))) > 24);
        assert!(sql_depth("SELECT a FROM t WHERE a = 1 AND b = 2 OR c > 3") <= 3);
    }
}
