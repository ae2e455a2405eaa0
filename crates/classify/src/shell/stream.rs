/// What flows into a command's standard input, as far as the classifier can follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Nothing is piped in (the terminal, or the agent's empty stdin).
    Terminal,
    /// Text known in full: an `echo`, a heredoc, a here-string, or data decoded from one.
    Literal(String),
    /// Content fetched from the network at run time.
    Download(String),
    /// The content of a file.
    File(String),
    /// Data produced at run time that the classifier cannot follow.
    Opaque,
}

/// Feeds what arrives on stdin to a program that runs it as code (a shell, an interpreter, a SQL
/// client): known text is judged with `judge`, a file is a script, and anything produced at run
/// time (a download, a transformed stream) cannot be checked beforehand.
pub(crate) fn feed(
    stdin: &Stream,
    consumer: &str,
    lang: crate::ScriptLanguage,
    summary: &str,
    ctx: &mut crate::ctx::Ctx<'_>,
    judge: impl FnOnce(&str, &mut crate::ctx::Ctx<'_>),
    no_input: impl FnOnce(&mut crate::ctx::Ctx<'_>),
) {
    use crate::Risk;
    match stdin {
        Stream::Literal(text) => {
            if ctx.enter(consumer) {
                judge(text, ctx);
                ctx.leave();
            }
        }
        Stream::File(path) => {
            super::run_script_file(&crate::arg::Arg::literal(path.clone()), Some(lang), summary, ctx);
        }
        Stream::Download(url) => ctx.op(
            Risk::Unknown,
            summary,
            format!("pipes a download ({url}) into {consumer}: what runs is only known once it is fetched"),
        ),
        Stream::Opaque => ctx.op(
            Risk::Unknown,
            summary,
            format!("{consumer} runs input produced at run time, which cannot be checked beforehand"),
        ),
        Stream::Terminal => no_input(ctx),
    }
}

/// Decodes standard base64 (and the URL-safe alphabet), ignoring whitespace.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.chars() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            '=' => break,
            c if c.is_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Decodes a hex dump as `xxd -r -p` reads it (plain hex digits; whitespace ignored).
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    Some(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_and_hex() {
        assert_eq!(base64_decode("cm0gLXJmIC90bXAveA==").unwrap(), b"rm -rf /tmp/x");
        assert_eq!(base64_decode("cm0gLXJm\nIC90bXAveA").unwrap(), b"rm -rf /tmp/x");
        assert!(base64_decode("not base64!").is_none());
        assert_eq!(hex_decode("726d202d7266").unwrap(), b"rm -rf");
        assert!(hex_decode("7g").is_none());
    }
}
