/// One word of a command after the shell's quoting has been resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Arg {
    /// The word's text with quotes and escapes removed. Expansions (`$X`, `$(…)`) stay as written.
    pub text: String,
    /// The word's value is only known at run time (it contains a parameter or command expansion).
    pub dynamic: bool,
    /// The word is an unquoted glob pattern (`*.log`).
    pub glob: bool,
    /// The word holds an unquoted variable the walk knows the value of: the shell splits it into
    /// several words (`CMD="git clean -fdx"; $CMD`).
    pub split: bool,
    /// The word holds an unquoted brace expansion (`{rm,-rf,x}`, `file.{txt,bak}`).
    pub brace: bool,
}

impl Arg {
    pub(crate) fn literal(text: impl Into<String>) -> Arg {
        Arg {
            text: text.into(),
            dynamic: false,
            glob: false,
            split: false,
            brace: false,
        }
    }

    pub(crate) fn texts(args: &[Arg]) -> Vec<&str> {
        args.iter().map(|a| a.text.as_str()).collect()
    }

    /// Renders arguments back into one readable line for summaries.
    pub(crate) fn join(args: &[Arg]) -> String {
        let mut out = String::with_capacity(args.iter().map(|a| a.text.len() + 3).sum());
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if a.text.is_empty() || a.text.contains(char::is_whitespace) {
                out.push('\'');
                out.push_str(&a.text);
                out.push('\'');
            } else {
                out.push_str(&a.text);
            }
        }
        out
    }
}
