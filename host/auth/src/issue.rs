//! Where a value in `capsule.toml` is wrong: the byte span (for the line number) and what is
//! wrong. The caller that holds the file's text turns it into a message naming the line.

use std::ops::Range;

/// A problem in the config: the byte span it is at (for the line number) and what is wrong.
#[derive(Debug)]
pub struct Issue {
    /// Byte range of the offending value in the file's text; `None`: the file as a whole.
    pub span: Option<Range<usize>>,
    /// What is wrong and what is expected.
    pub message: String,
}

/// An issue at `span`.
pub(crate) fn at(span: Range<usize>, message: impl Into<String>) -> Issue {
    Issue {
        span: Some(span),
        message: message.into(),
    }
}
