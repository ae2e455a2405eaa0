//! Cedar's errors as sentences a person can act on: the message, what Cedar suggests, and the line
//! and column of the policy text it points at.

/// 1-based line and column of a byte offset in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// "line L, column C: MESSAGE (HELP)".
pub(crate) fn sentence(text: &str, diag: &dyn miette::Diagnostic) -> String {
    let mut message = diag.to_string();
    if let Some(help) = diag.help() {
        message.push_str(&format!(" ({help})"));
    }
    let at = diag.labels().and_then(|mut labels| labels.next()).map(|l| l.offset());
    match at {
        Some(offset) => {
            let (line, col) = line_col(text, offset);
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 5), (2, 3));
        assert_eq!(line_col(text, 8), (3, 1));
        assert_eq!(line_col(text, 99), (3, 2));
    }

    #[test]
    fn a_broken_policy_names_its_line_and_column() {
        let text = "permit (principal, action, resource);\n\nforbid (principal, action resource);\n";
        let err = crate::Policy::parse(text).err().expect("it does not parse").to_string();
        assert!(err.contains("line 3, column"), "{err}");
        let text = "@id(\"x\")\npermit (principal, action, resource)\nwhen { resource.colour == \"red\" };\n";
        let err = crate::Policy::parse(text)
            .err()
            .expect("it does not validate")
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }
}
