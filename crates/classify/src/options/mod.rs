//! Option grammar: how a command line splits into options, their values and positionals.
//!
//! One parser serves every tool, so that the forms a real program accepts all read the same way:
//! clustered short options whose last letter takes a value (`curl -fsSLX DELETE`, `-sd @body.json`),
//! values glued on (`-XDELETE`, `-nprod`), `--opt=value`, and `--` ending the options. Which options
//! take a value comes from the caller's list (a rule pack, a client's table) and from the option
//! grammar converted from the Fig specs (`fig/`), per subcommand.

mod fig;

use crate::arg::Arg;

/// Whether the converted Fig grammar says `flag` takes a value for `program` after `path`.
pub(crate) fn fig_takes_value(program: &str, path: &[String], flag: &str) -> bool {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    fig::takes_value(program, &path, flag)
}

/// One parsed word (or part of a cluster).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// An option: `-X`, `--request`; its value when it takes one.
    Opt { name: String, value: Option<Arg> },
    /// A word that is not an option or an option's value.
    Positional(Arg),
}

/// How one program reads its options.
pub(crate) struct Grammar<'a> {
    /// The program's name, to look up its converted Fig grammar.
    pub program: &'a str,
    /// Options known to take a value, on top of the Fig grammar.
    pub value_flags: &'a [&'a str],
    /// Options known to take no separate value, whatever the Fig grammar says (GNU `sed -i`, whose
    /// suffix can only be glued on).
    pub switches: &'a [&'a str],
    /// Whether `-abc` is a cluster of `-a -b -c` (false for `find -name`, `sqlite3 -cmd`).
    pub clusters: bool,
}

impl Grammar<'_> {
    /// Whether `flag` takes a value, after the subcommand words `path`.
    pub(crate) fn takes_value(&self, flag: &str, path: &[&str]) -> bool {
        self.value_flags.contains(&flag)
            || (!self.switches.contains(&flag) && fig::takes_value(self.program, path, flag))
    }

    /// Whether `next` is taken as `flag`'s value. A value from the converted grammar never swallows
    /// a word that is itself an option: the specs describe what usually follows, and a flag read as
    /// a value would hide it (`--delete --force`).
    fn takes_word(&self, flag: &str, next: Option<&Arg>) -> bool {
        let option_like = next.is_some_and(|n| n.text.starts_with('-') && n.text != "-" && !n.dynamic);
        self.value_flags.contains(&flag) || !option_like
    }

    fn clusters(&self) -> bool {
        self.clusters && !fig::long_single_dash(self.program)
    }
}

/// Splits `args` per `grammar`. Words only known at run time are positionals (they may be
/// anything); after `--`, every word is.
pub(crate) fn parse(args: &[Arg], grammar: &Grammar<'_>) -> Vec<Item> {
    let mut out = Vec::with_capacity(args.len());
    let mut path: Vec<&str> = Vec::new();
    let mut i = 0;
    let mut only_positionals = false;
    while i < args.len() {
        let a = &args[i];
        let t = a.text.as_str();
        i += 1;
        if only_positionals || a.dynamic || !t.starts_with('-') || t == "-" {
            path.push(t);
            out.push(Item::Positional(a.clone()));
            continue;
        }
        if t == "--" {
            only_positionals = true;
            out.push(Item::Opt {
                name: "--".to_owned(),
                value: None,
            });
            continue;
        }
        let word_style = t.starts_with("--") || !grammar.clusters();
        if let Some((name, value)) = t.split_once('=').filter(|_| word_style) {
            out.push(Item::Opt {
                name: name.to_owned(),
                value: Some(with_text(a, value)),
            });
            continue;
        }
        let long = t.starts_with("--") || !grammar.clusters() || t.len() == 2;
        if long || grammar.takes_value(t, &path) {
            let value = if grammar.takes_value(t, &path) && grammar.takes_word(t, args.get(i)) {
                i += 1;
                args.get(i - 1).cloned()
            } else {
                None
            };
            out.push(Item::Opt {
                name: t.to_owned(),
                value,
            });
            continue;
        }
        // A cluster: letters until one takes a value, which is the rest of the word or the next.
        let letters: Vec<(usize, char)> = t.char_indices().skip(1).collect();
        for (pos, c) in letters {
            let flag = format!("-{c}");
            if grammar.takes_value(&flag, &path) {
                let rest = &t[pos + c.len_utf8()..];
                let value = if !rest.is_empty() {
                    Some(with_text(a, rest))
                } else if grammar.takes_word(&flag, args.get(i)) {
                    i += 1;
                    args.get(i - 1).cloned()
                } else {
                    None
                };
                out.push(Item::Opt { name: flag, value });
                break;
            }
            out.push(Item::Opt {
                name: flag,
                value: None,
            });
        }
    }
    out
}

fn with_text(a: &Arg, text: &str) -> Arg {
    Arg {
        text: text.to_owned(),
        ..a.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(line: &str) -> Vec<Arg> {
        line.split_whitespace().map(Arg::literal).collect()
    }

    fn show(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Opt { name, value: Some(v) } => format!("{name}={}", v.text),
                Item::Opt { name, value: None } => name.clone(),
                Item::Positional(a) => format!("<{}>", a.text),
            })
            .collect()
    }

    const CURL: Grammar<'static> = Grammar {
        program: "curl",
        value_flags: &["-X", "-d", "-o", "-T", "-H"],
        switches: &[],
        clusters: true,
    };

    #[test]
    fn option_grammar_clustered_value_flags() {
        assert_eq!(
            show(&parse(&words("-fsSLX DELETE u"), &CURL)),
            ["-f", "-s", "-S", "-L", "-X=DELETE", "<u>"]
        );
        assert_eq!(
            show(&parse(&words("-sSLXDELETE u"), &CURL)),
            ["-s", "-S", "-L", "-X=DELETE", "<u>"]
        );
        assert_eq!(
            show(&parse(&words("-sd @body.json u"), &CURL)),
            ["-s", "-d=@body.json", "<u>"]
        );
        assert_eq!(show(&parse(&words("-kT f u"), &CURL)), ["-k", "-T=f", "<u>"]);
        assert_eq!(
            show(&parse(&words("--request=PUT -- -x"), &CURL)),
            ["--request=PUT", "--", "<-x>"]
        );
    }

    #[test]
    fn option_grammar_fig_specs_know_value_options_per_subcommand() {
        let docker = Grammar {
            program: "docker",
            value_flags: &[],
            switches: &[],
            clusters: true,
        };
        let items = parse(&words("run --rm -v pgdata:/data alpine sh"), &docker);
        assert_eq!(show(&items), ["<run>", "--rm", "-v=pgdata:/data", "<alpine>", "<sh>"]);
    }

    proptest! {
        /// Every word lands somewhere: the parser never loses a positional or panics.
        #[test]
        fn option_grammar_parse_is_total(ws in proptest::collection::vec("-{0,2}[a-zA-Z=@/.]{0,6}", 0..12)) {
            let args: Vec<Arg> = ws.iter().map(Arg::literal).collect();
            let items = parse(&args, &CURL);
            let positionals = items.iter().filter(|i| matches!(i, Item::Positional(_))).count();
            prop_assert!(positionals <= args.len());
        }
    }
}
