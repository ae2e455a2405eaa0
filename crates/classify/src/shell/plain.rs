//! Command lines made only of plain words (`ls -la`, `git push origin main`, `cargo test -p x`),
//! which are about half of what agents run: their syntax tree is built directly, without the
//! general parser. Anything else (quotes, expansions, operators, redirections, assignments,
//! reserved words, several lines) goes to the general parser; a differential test holds the two
//! to the same tree.

use std::sync::Arc;

use brush_parser::ast::{
    AndOrList, Command, CommandPrefixOrSuffixItem, CommandSuffix, CompoundList, CompoundListItem, Pipeline, Program,
    SeparatorOperator, SimpleCommand, Word,
};
use brush_parser::{SourcePosition, SourceSpan};

/// Whether a word is made only of characters the shell gives no meaning to inside a word.
pub(super) fn is_plain(raw: &str) -> bool {
    !raw.is_empty()
        && raw.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'.' | b'/' | b',' | b':' | b'=' | b'@' | b'%' | b'+')
        })
}

/// Words that mean something else in the command's place.
const RESERVED: [&str; 19] = [
    "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then", "until", "while", "function",
    "select", "coproc", "time", "[[", "]]",
];

/// The syntax tree of `src` when it is one simple command of plain words separated by spaces.
pub(super) fn program(src: &str) -> Option<Program> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, b) in src.bytes().enumerate().chain([(src.len(), b' ')]) {
        match (b, start) {
            (b' ', Some(s)) => {
                words.push(word(&src[s..i], s)?);
                start = None;
            }
            (b' ', None) => {}
            (_, None) => start = Some(i),
            (_, Some(_)) => {}
        }
    }
    let mut words = words.into_iter();
    let name = words.next()?;
    if RESERVED.contains(&name.value.as_str()) || name.value.contains('=') {
        return None;
    }
    let rest: Vec<_> = words.map(CommandPrefixOrSuffixItem::Word).collect();
    let command = SimpleCommand {
        prefix: None,
        word_or_name: Some(name),
        suffix: (!rest.is_empty()).then_some(CommandSuffix(rest)),
    };
    let pipeline = Pipeline {
        timed: None,
        bang: false,
        seq: vec![Command::Simple(command)],
    };
    let list = AndOrList {
        first: pipeline,
        additional: Vec::new(),
    };
    Some(Program {
        complete_commands: vec![CompoundList(vec![CompoundListItem(list, SeparatorOperator::Sequence)])],
    })
}

/// A plain word at byte `at` of a one-line ASCII command, or None when the word is not plain or
/// is an assignment (`NAME=value`, `NAME+=value`), which the shell reads differently.
fn word(text: &str, at: usize) -> Option<Word> {
    if !is_plain(text) {
        return None;
    }
    if let Some((name, _)) = text.split_once('=') {
        let name = name.strip_suffix('+').unwrap_or(name);
        let is_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if is_name {
            return None;
        }
    }
    // Plain words are ASCII on one line: characters are bytes and columns follow the index.
    let position = |index: usize| {
        Arc::new(SourcePosition {
            index,
            line: 1,
            column: index + 1,
        })
    };
    Some(Word {
        value: text.to_owned(),
        loc: Some(SourceSpan {
            start: position(at),
            end: position(at + text.len()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn general(src: &str) -> String {
        format!("{:?}", super::super::parse_general(src))
    }

    #[test]
    fn everyday_commands_take_the_direct_path() {
        for src in [
            "ls -la",
            "git push origin main",
            "cargo test -p airlock-classify",
            "  rm  -rf build ",
        ] {
            let direct = program(src).unwrap_or_else(|| panic!("{src} is plain"));
            assert_eq!(format!("{:?}", Ok::<_, String>(direct)), general(src), "{src}");
        }
    }

    #[test]
    fn anything_the_shell_reads_differently_goes_to_the_general_parser() {
        for src in [
            "",
            "   ",
            "A=1 ls",
            "export A=b",
            "env X+=1 y",
            "if true",
            "time ls",
            "ls; rm x",
            "ls\nrm x",
            "ls\trm",
            "echo $HOME",
            "rm *.log",
            "echo 'a b'",
            "ls > out",
            "cat ~/x",
            "ls # comment",
            "échO x",
        ] {
            assert!(program(src).is_none(), "{src:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the direct path builds is exactly what the general parser builds.
        #[test]
        fn the_direct_tree_is_the_general_parsers_tree(
            words in proptest::collection::vec(
                prop_oneof![
                    "[A-Za-z0-9_./,:=@%+-]{1,12}",
                    "[a-z_][a-z0-9_]{0,6}\\+?=[a-z0-9:/.-]{0,8}",
                    "--?[a-z-]{1,8}(=[a-z0-9,]{0,6})?",
                    proptest::sample::select(RESERVED.to_vec()).prop_map(str::to_owned),
                    proptest::sample::select(vec!["!", "{", "}", "#", "~", "2>", "&&", "|", "'", "$x"]).prop_map(str::to_owned),
                ],
                1..6,
            ),
            gaps in proptest::collection::vec("[ ]{1,3}", 6),
        ) {
            let mut src = String::new();
            for (w, gap) in words.iter().zip(&gaps) {
                src.push_str(w);
                src.push_str(gap);
            }
            if let Some(direct) = program(&src) {
                prop_assert_eq!(format!("{:?}", Ok::<_, String>(direct)), general(&src), "{:?}", src);
            }
        }
    }
}
