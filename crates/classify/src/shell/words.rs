//! Turning the parser's raw words into the values a command will see: quotes removed, escapes
//! resolved (`\rm`, `'r''m'`, `$'\x72m'` are all `rm`), expansions marked as known only at run time,
//! and the commands inside `$(…)` classified along the way.

use brush_parser::word::{self, WordPiece, WordPieceWithSource};
use brush_parser::ParserOptions;

use super::plain::is_plain;
use crate::arg::Arg;
use crate::ctx::Ctx;

/// Expands one shell word. Command substitutions inside it are classified into `ctx`.
pub(crate) fn expand(raw: &str, ctx: &mut Ctx<'_>) -> Arg {
    // Most words have nothing to expand, unquote or unescape: they are their own value.
    if is_plain(raw) {
        return Arg::literal(raw);
    }
    parse_word(raw, ctx)
}

/// Expands one shell word with the shell's own word grammar.
fn parse_word(raw: &str, ctx: &mut Ctx<'_>) -> Arg {
    let options = ParserOptions::default();
    match word::parse(raw, &options) {
        Ok(pieces) => {
            let mut arg = Arg::literal(String::new());
            append_pieces(raw, &pieces, false, &mut arg, ctx);
            arg
        }
        // An unparseable word can only be a run-time surprise: keep its text, mark it dynamic.
        Err(_) => Arg {
            text: raw.to_owned(),
            dynamic: true,
            glob: false,
            split: false,
            brace: false,
        },
    }
}

/// Expands a here-document body. Its command substitutions are classified too.
pub(crate) fn expand_heredoc(raw: &str, expands: bool, ctx: &mut Ctx<'_>) -> Arg {
    if !expands {
        return Arg::literal(raw);
    }
    match word::parse_heredoc(raw, &ParserOptions::default()) {
        Ok(pieces) => {
            let mut arg = Arg::literal(String::new());
            append_pieces(raw, &pieces, true, &mut arg, ctx);
            arg
        }
        Err(_) => Arg {
            text: raw.to_owned(),
            dynamic: true,
            glob: false,
            split: false,
            brace: false,
        },
    }
}

fn source<'s>(raw: &'s str, p: &WordPieceWithSource) -> &'s str {
    raw.get(p.start_index..p.end_index).unwrap_or("")
}

fn append_pieces(raw: &str, pieces: &[WordPieceWithSource], quoted: bool, arg: &mut Arg, ctx: &mut Ctx<'_>) {
    for p in pieces {
        match &p.piece {
            WordPiece::Text(t) => {
                if !quoted && t.contains(['*', '?', '[']) {
                    arg.glob = true;
                }
                if !quoted && t.contains('{') && t.contains(',') && t.contains('}') {
                    arg.brace = true;
                }
                arg.text.push_str(t);
            }
            WordPiece::SingleQuotedText(t) => arg.text.push_str(t),
            WordPiece::AnsiCQuotedText(t) => arg.text.push_str(&ansi_c_unescape(t)),
            WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                append_pieces(raw, inner, true, arg, ctx);
            }
            WordPiece::EscapeSequence(s) => {
                let s = s.strip_prefix('\\').unwrap_or(s);
                // A backslash before a newline is a line continuation: it vanishes.
                if s != "\n" {
                    arg.text.push_str(s);
                }
            }
            WordPiece::TildeExpansion(_) => arg.text.push_str(source(raw, p)),
            WordPiece::ParameterExpansion(_) if known_var(source(raw, p), ctx).is_some() => {
                let src = source(raw, p);
                arg.text.push_str(&known_var(src, ctx).unwrap_or_default());
                // `"${arr[@]}"` is one word per element even when quoted.
                arg.split |= !quoted || src.ends_with("[@]}") || src == "$@" || src == "${@}";
            }
            WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                // `$(( $(cmd) ))` and `${x:-$(cmd)}` run their commands too.
                for inner in super::expansion::inner_substitutions(source(raw, p)) {
                    let _ = super::classify_capture(&inner, ctx);
                }
                arg.dynamic = true;
                arg.text.push_str(source(raw, p));
            }
            WordPiece::CommandSubstitution(cmd) | WordPiece::BackquotedCommandSubstitution(cmd) => {
                match super::classify_capture(cmd, ctx) {
                    Some(value) => arg.text.push_str(&value),
                    None => {
                        arg.dynamic = true;
                        arg.text.push_str(source(raw, p));
                    }
                }
            }
        }
    }
}

/// The value of `$NAME` or `${NAME}` when the walk saw `NAME=literal` earlier.
fn known_var(src: &str, ctx: &Ctx<'_>) -> Option<String> {
    if matches!(src, "$@" | "${@}" | "$*" | "${*}") {
        return ctx.vars.get("@").cloned();
    }
    let name = src
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .map(|s| s.strip_suffix("[@]").or_else(|| s.strip_suffix("[*]")).unwrap_or(s))
        .or_else(|| src.strip_prefix('$'))?;
    let simple = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple {
        ctx.vars.get(name).cloned()
    } else {
        None
    }
}

/// Decodes the escapes of a `$'…'` string, as bash does.
pub(crate) fn ansi_c_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let mut take_digits = |radix: u32, max: usize, first: Option<char>| {
            let mut v = String::new();
            if let Some(f) = first {
                v.push(f);
            }
            while v.len() < max {
                match chars.peek() {
                    Some(d) if d.is_digit(radix) => {
                        v.push(*d);
                        chars.next();
                    }
                    _ => break,
                }
            }
            u32::from_str_radix(&v, radix).ok().and_then(char::from_u32)
        };
        let decoded = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'e' | 'E' => Some('\x1b'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            '?' => Some('?'),
            'x' => take_digits(16, 2, None),
            'u' => take_digits(16, 4, None),
            'U' => take_digits(16, 8, None),
            d @ '0'..='7' => take_digits(8, 3, Some(d)),
            other => {
                out.push('\\');
                Some(other)
            }
        };
        if let Some(d) = decoded {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoWorld;

    fn lit(raw: &str) -> Arg {
        let mut ctx = Ctx::new(&NoWorld, None, None, &[]);
        expand(raw, &mut ctx)
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        assert_eq!(lit(r"\rm").text, "rm");
        assert_eq!(lit("'r''m'").text, "rm");
        assert_eq!(lit("\"r\"m").text, "rm");
        assert_eq!(lit(r"$'\x72\x6d'").text, "rm");
        assert_eq!(lit(r"$'\162m'").text, "rm");
    }

    #[test]
    fn expansions_are_dynamic_and_globs_flagged() {
        assert!(lit("$HOME/x").dynamic);
        assert!(lit("\"${X:-a}\"").dynamic);
        assert!(!lit("plain").dynamic);
        assert!(lit("*.log").glob);
        assert!(!lit("'*.log'").glob);
    }

    proptest::proptest! {
        /// Words taken as plain without the word parser are what the parser makes of them.
        #[test]
        fn plain_words_expand_to_themselves(raw in "[A-Za-z0-9_./,:=@%+-]{1,30}") {
            proptest::prop_assert!(is_plain(&raw));
            let mut ctx = Ctx::new(&NoWorld, None, None, &[]);
            proptest::prop_assert_eq!(parse_word(&raw, &mut ctx), Arg::literal(raw.clone()));
        }
    }
}
