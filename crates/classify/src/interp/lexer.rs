//! A forgiving lexer shared by the one-liner languages (Python, JavaScript, Perl, Ruby, PHP, the
//! Mongo shell). It knows just enough to tell names from strings and comments, so that
//! `print("os.remove")` never looks like a call of `os.remove`.

use super::Lang;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A dotted name: `os.remove`, `FileUtils.rm_rf`, `$dbh.do` (`::` and `->` read as `.`).
    Name(String),
    /// A string literal's content (escapes left as written, interpolation marked dynamic).
    Str {
        text: String,
        dynamic: bool,
    },
    /// A backtick or `qx`/`%x` string in Perl and Ruby: a shell command.
    Exec {
        text: String,
        dynamic: bool,
    },
    Punct(char),
}

pub(crate) fn lex(code: &str, lang: Lang) -> Vec<Tok> {
    let chars: Vec<char> = code.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let hash_comments = matches!(lang, Lang::Python | Lang::Perl | Lang::Ruby | Lang::Php);
    let slash_comments = matches!(lang, Lang::JavaScript | Lang::Php | Lang::Mongo);
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if (c == '#' && hash_comments) || (c == '/' && slash_comments && chars.get(i + 1) == Some(&'/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && slash_comments && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' || c == '\'' || c == '`' {
            let triple = lang == Lang::Python && chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
            let (text, next) = if triple {
                read_triple(&chars, i, c)
            } else {
                read_quoted(&chars, i + 1, c)
            };
            let dynamic = c != '\'' && interpolates(&text, lang);
            let exec = c == '`' && matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php);
            toks.push(if exec {
                Tok::Exec { text, dynamic }
            } else {
                Tok::Str { text, dynamic }
            });
            i = next;
        } else if is_name_start(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            // Ruby's bang and predicate methods (`update!`, `exists?`).
            if lang == Lang::Ruby && matches!(chars.get(i), Some('!' | '?')) && chars.get(i + 1) != Some(&'=') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // String prefixes (r"", b'', f"") and quote-like operators (q(), qx{}, %x()).
            if let Some(&q) = chars.get(i) {
                if lang == Lang::Python
                    && (q == '"' || q == '\'')
                    && word.len() <= 2
                    && word.chars().all(|c| "rbfuRBFU".contains(c))
                {
                    let (text, next) = read_quoted(&chars, i + 1, q);
                    let dynamic = word.contains(['f', 'F']) && text.contains('{');
                    toks.push(Tok::Str { text, dynamic });
                    i = next;
                    continue;
                }
                if lang == Lang::Perl && matches!(word.as_str(), "q" | "qq" | "qx" | "qw") && "({[<|/!".contains(q) {
                    let (text, next) = read_quoted(&chars, i + 1, closing(q));
                    let dynamic = word != "q" && interpolates(&text, lang);
                    toks.push(if word == "qx" {
                        Tok::Exec { text, dynamic }
                    } else {
                        Tok::Str { text, dynamic }
                    });
                    i = next;
                    continue;
                }
            }
            push_name(&mut toks, word);
        } else if c == '%'
            && lang == Lang::Ruby
            && matches!(chars.get(i + 1), Some('x' | 'q' | 'Q' | 'w'))
            && chars.get(i + 2).is_some_and(|d| "({[<|!".contains(*d))
        {
            let kind = chars[i + 1];
            let (text, next) = read_quoted(&chars, i + 3, closing(chars[i + 2]));
            let dynamic = kind != 'q' && interpolates(&text, lang);
            toks.push(if kind == 'x' {
                Tok::Exec { text, dynamic }
            } else {
                Tok::Str { text, dynamic }
            });
            i = next;
        } else if (c == ':' && chars.get(i + 1) == Some(&':')) || (c == '-' && chars.get(i + 1) == Some(&'>')) {
            toks.push(Tok::Punct('.'));
            i += 2;
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    join_dotted(toks)
}

fn closing(open: char) -> char {
    match open {
        '(' => ')',
        '{' => '}',
        '[' => ']',
        '<' => '>',
        other => other,
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$' || c == '@'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn push_name(toks: &mut Vec<Tok>, word: String) {
    toks.push(Tok::Name(word));
}

/// Merges `a . b` name sequences into one dotted name (`os.path.exists`), also across calls like
/// `require("fs").rmSync`, where the call result's method keeps its own name.
fn join_dotted(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        if t == Tok::Punct('.') {
            if let Some(Tok::Name(next)) = it.peek().cloned() {
                match out.last_mut() {
                    Some(Tok::Name(prev)) => {
                        prev.push('.');
                        prev.push_str(&next);
                    }
                    _ => out.push(Tok::Name(format!(".{next}"))),
                }
                it.next();
                continue;
            }
        }
        out.push(t);
    }
    out
}

fn read_quoted(chars: &[char], mut i: usize, close: char) -> (String, usize) {
    let mut s = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            match n {
                'n' => s.push('\n'),
                't' => s.push('\t'),
                other => s.push(other),
            }
            i += 2;
            continue;
        }
        if c == close {
            return (s, i + 1);
        }
        s.push(c);
        i += 1;
    }
    (s, i)
}

fn read_triple(chars: &[char], start: usize, q: char) -> (String, usize) {
    let mut i = start + 3;
    let mut s = String::new();
    while i < chars.len() {
        if chars[i] == q && chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) {
            return (s, i + 3);
        }
        s.push(chars[i]);
        i += 1;
    }
    (s, i)
}

fn interpolates(text: &str, lang: Lang) -> bool {
    match lang {
        Lang::Perl | Lang::Php => text.contains('$') || text.contains('@'),
        Lang::Ruby => text.contains("#{"),
        Lang::JavaScript | Lang::Mongo => text.contains("${"),
        Lang::Python => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(code: &str, lang: Lang) -> Vec<String> {
        lex(code, lang)
            .into_iter()
            .filter_map(|t| if let Tok::Name(n) = t { Some(n) } else { None })
            .collect()
    }

    #[test]
    fn dotted_names_are_joined_and_strings_are_not_names() {
        assert_eq!(
            names("import shutil; shutil.rmtree('/x')", Lang::Python),
            ["import", "shutil", "shutil.rmtree"]
        );
        assert_eq!(names("print('os.remove')", Lang::Python), ["print"]);
        assert_eq!(names("FileUtils::rm_rf('t')", Lang::Ruby), ["FileUtils.rm_rf"]);
        assert_eq!(names("$dbh->do('x')", Lang::Perl), ["$dbh.do"]);
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(names("x = 1 # os.remove('a')", Lang::Python), ["x"]);
        assert_eq!(names("a() // fs.rmSync('x')", Lang::JavaScript), ["a"]);
    }

    #[test]
    fn backticks_and_qx_are_shell_commands() {
        assert!(lex("`rm -rf x`", Lang::Ruby)
            .iter()
            .any(|t| matches!(t, Tok::Exec { .. })));
        assert!(lex("qx(rm -rf x)", Lang::Perl)
            .iter()
            .any(|t| matches!(t, Tok::Exec { .. })));
        assert!(!lex("`template`", Lang::JavaScript)
            .iter()
            .any(|t| matches!(t, Tok::Exec { .. })));
    }
}
