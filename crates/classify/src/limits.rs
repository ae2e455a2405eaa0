//! Bounds that keep classification fast and total on hostile input.

/// Inputs longer than this are not parsed: the answer is `unknown`.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;
/// Levels of nested interpretation (`bash -c "eval '…'"`) followed before giving up.
pub(crate) const MAX_NESTING: usize = 12;
/// Commands, statements and nested parses visited for one action before giving up.
pub(crate) const MAX_WORK: usize = 20_000;
/// Bracket nesting in shell text above which the parser is not even tried (it recurses).
pub(crate) const MAX_SHELL_BRACKETS: usize = 64;
