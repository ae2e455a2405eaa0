//! Files written earlier in the same command line, so that a script written and then run
//! (`echo 'rm -rf data' > x.sh && bash x.sh`, `sed -i … x.sh && ./x.sh`) is judged by what it
//! will contain by then, or is unknown.

use std::path::Path;

use brush_parser::ast::{
    CommandPrefixOrSuffixItem, IoFileRedirectKind, IoFileRedirectTarget, IoRedirect, SimpleCommand,
};

use super::Stream;
use crate::arg::Arg;
use crate::ctx::Ctx;

/// Records what a command's output redirections leave in their files: the text, when the
/// command's output is known (`echo`, `printf`, `cat <<EOF`), else that the file changed.
pub(super) fn record_redirects(s: &SimpleCommand, out: &Stream, ctx: &mut Ctx<'_>) {
    let items = s
        .prefix
        .iter()
        .flat_map(|p| p.0.iter())
        .chain(s.suffix.iter().flat_map(|p| p.0.iter()));
    for it in items {
        let CommandPrefixOrSuffixItem::IoRedirect(IoRedirect::File(fd, kind, IoFileRedirectTarget::Filename(w))) = it
        else {
            continue;
        };
        if fd.is_some_and(|f| f != 1) {
            continue;
        }
        let append = match kind {
            IoFileRedirectKind::Write | IoFileRedirectKind::Clobber => false,
            IoFileRedirectKind::Append => true,
            _ => continue,
        };
        let raw = w.value.trim_matches(['\'', '"']);
        if raw.contains(['$', '`', '*', '?']) {
            continue;
        }
        let path = ctx.resolve_path(raw);
        let before = if append { known(&path, ctx) } else { Some(String::new()) };
        let after = match (out, before) {
            (Stream::Literal(text), Some(prev)) => Some(prev + text),
            _ => None,
        };
        ctx.written.insert(path, after);
    }
}

/// The content of a file as this command line has it so far: written earlier, or on disk.
fn known(path: &str, ctx: &Ctx<'_>) -> Option<String> {
    match ctx.written.get(path) {
        Some(content) => content.clone(),
        None => ctx.world.read_script(Path::new(path)),
    }
}

/// `sed -i SCRIPT FILE…`: when the script is plain substitutions of literal text, the files'
/// new content is computed; otherwise they are marked as changed in an unknown way.
pub(super) fn sed_in_place(args: &[Arg], ctx: &mut Ctx<'_>) {
    if !args
        .iter()
        .any(|a| a.text == "-i" || a.text.starts_with("-i") || a.text == "--in-place")
    {
        return;
    }
    let mut scripts: Vec<&str> = Vec::new();
    let mut files: Vec<&Arg> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "-e" || t == "--expression" {
            if let Some(s) = args.get(i + 1) {
                scripts.push(&s.text);
            }
            i += 2;
            continue;
        }
        if !t.starts_with('-') {
            files.push(&args[i]);
        }
        i += 1;
    }
    if scripts.is_empty() && !files.is_empty() {
        scripts.push(&files.remove(0).text);
    }
    for f in files {
        let path = ctx.resolve_path(&f.text);
        let new = known(&path, ctx).and_then(|text| scripts.iter().try_fold(text, |t, s| substitute(&t, s)));
        ctx.written.insert(path, new);
    }
}

/// Applies `s/FROM/TO/[g]` where FROM is literal text (anchors `^` and `$` allowed).
fn substitute(text: &str, script: &str) -> Option<String> {
    let rest = script.strip_prefix('s')?;
    let delim = rest.chars().next()?;
    let parts: Vec<&str> = rest[delim.len_utf8()..].split(delim).collect();
    let [from, to, flags] = parts.as_slice() else {
        return None;
    };
    if !flags.chars().all(|c| c == 'g') {
        return None;
    }
    let start = from.starts_with('^');
    let end = from.ends_with('$') && !from.ends_with("\\$");
    let core = from.trim_start_matches('^');
    let core = if end { &core[..core.len() - 1] } else { core };
    if core.contains(['.', '*', '[', ']', '\\', '+', '?', '(', ')', '{', '}', '|', '&']) || to.contains(['\\', '&']) {
        return None;
    }
    let lines: Vec<String> = text
        .lines()
        .map(|l| match (start, end) {
            (true, true) if l == core => to.to_string(),
            (true, false) => l.strip_prefix(core).map_or(l.to_owned(), |r| format!("{to}{r}")),
            (false, true) => l.strip_suffix(core).map_or(l.to_owned(), |r| format!("{r}{to}")),
            (false, false) if flags.contains('g') => l.replace(core, to),
            (false, false) => l.replacen(core, to, 1),
            _ => l.to_owned(),
        })
        .collect();
    Some(lines.join("\n") + if text.ends_with('\n') { "\n" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sed script over any text: a result or None, never a panic.
        #[test]
        fn config_env_sed_substitute_is_total(text in "[a-z \n-]{0,60}", script in "s?[/|#]?[a-z$^ .-]{0,8}[/|#]?[a-z -]{0,8}[/|#]?g?") {
            let _ = substitute(&text, &script);
        }
    }

    #[test]
    fn config_env_sed_substitutions_of_literal_text() {
        assert_eq!(
            substitute("restic forget --prune\n", "s/--prune$/--prune --dry-run/").as_deref(),
            Some("restic forget --prune --dry-run\n")
        );
        assert_eq!(
            substitute("x --dry-run y\n", "s/ --dry-run//").as_deref(),
            Some("x y\n")
        );
        assert_eq!(substitute("a\n", "s/a.*/b/"), None);
        assert_eq!(substitute("a\n", "/a/d"), None);
    }
}
