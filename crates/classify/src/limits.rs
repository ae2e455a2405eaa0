//! Bounds that keep classification fast and total on hostile input.

/// Inputs longer than this are not parsed: the answer is `unknown`.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;
/// Text parsed for one action, over all its levels of nesting, before giving up: a few times the
/// largest input, so an input of any allowed size is read at every level that nesting needs.
pub(crate) const MAX_PARSED_BYTES: usize = 4 * MAX_INPUT_BYTES;
/// Levels of nested interpretation (`bash -c "eval '…'"`) followed before giving up.
pub(crate) const MAX_NESTING: usize = 12;
/// Commands, statements and nested parses visited for one action before giving up.
pub(crate) const MAX_WORK: usize = 20_000;
/// Nesting in shell text (brackets, compound commands, prefix words) above which the parser is not
/// even tried: it recurses, and the answer must come on a 2 MiB thread stack.
pub(crate) const MAX_SHELL_BRACKETS: usize = 64;
/// Nesting in SQL text above which the parser is not tried, and the parser's own recursion limit.
pub(crate) const MAX_SQL_DEPTH: usize = 24;
