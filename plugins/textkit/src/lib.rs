//! `textkit`: pure text utilities. Every tool is read-only, idempotent and
//! closed-world, and returns structured content.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use capsule_plugin::prelude::*;
use sha2::{Digest, Sha256};

/// A piece of text.
#[derive(Deserialize, JsonSchema)]
struct TextArgs {
    /// The input text
    text: String,
}

/// Counts of a text.
#[derive(Serialize, JsonSchema)]
struct Counts {
    /// Whitespace-separated words
    words: usize,
    /// Lines (a trailing newline does not start a new line)
    lines: usize,
    /// Unicode scalar values
    chars: usize,
}

fn word_count(args: TextArgs) -> Result<Counts, ToolError> {
    Ok(Counts {
        words: args.text.split_whitespace().count(),
        lines: args.text.lines().count(),
        chars: args.text.chars().count(),
    })
}

/// A URL slug.
#[derive(Serialize, JsonSchema)]
struct Slug {
    /// Lowercase ASCII letters and digits separated by single dashes
    slug: String,
}

fn slugify(args: TextArgs) -> Result<Slug, ToolError> {
    let mut slug = String::with_capacity(args.text.len());
    let mut pending_dash = false;
    for c in args.text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    Ok(Slug { slug })
}

/// A SHA-256 digest.
#[derive(Serialize, JsonSchema)]
struct Digest256 {
    /// Lowercase hex digest of the text's UTF-8 bytes
    hex: String,
}

fn sha256(args: TextArgs) -> Result<Digest256, ToolError> {
    let digest = Sha256::digest(args.text.as_bytes());
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Digest256 { hex })
}

/// Base64 text.
#[derive(Serialize, JsonSchema)]
struct Encoded {
    /// Standard base64 (RFC 4648, with padding) of the text's UTF-8 bytes
    encoded: String,
}

fn base64_encode(args: TextArgs) -> Result<Encoded, ToolError> {
    Ok(Encoded {
        encoded: STANDARD.encode(args.text.as_bytes()),
    })
}

/// Base64 to decode.
#[derive(Deserialize, JsonSchema)]
struct DecodeArgs {
    /// Standard base64 (RFC 4648, with padding) of UTF-8 text
    encoded: String,
}

/// Plain text.
#[derive(Serialize, JsonSchema)]
struct Text {
    /// The resulting text
    text: String,
}

fn base64_decode(args: DecodeArgs) -> Result<Text, ToolError> {
    let bytes = STANDARD.decode(args.encoded.trim()).map_err(|e| {
        ToolError::invalid_arguments(format!(
            "`encoded` is not valid standard base64 (RFC 4648, with padding): {e}"
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ToolError::invalid_arguments(format!(
            "`encoded` decodes to bytes that are not UTF-8 text: {e}"
        ))
    })?;
    Ok(Text { text })
}

fn reverse(args: TextArgs) -> Result<Text, ToolError> {
    Ok(Text {
        text: args.text.chars().rev().collect(),
    })
}

/// Pure computation: read-only, idempotent, closed world.
fn pure(t: Tool) -> Tool {
    t.read_only().idempotent().open_world(false)
}

capsule_plugin::plugin! {
    metadata: Metadata::new("textkit", env!("CARGO_PKG_VERSION"))
        .description("Text utilities: counts, slugs, hashes, base64, reversal"),
    tools: [
        pure(tool("word_count", "Count the words, lines and characters of a text", word_count)),
        pure(tool("slugify", "Turn a text into a URL slug (lowercase ASCII letters and digits joined by dashes)", slugify)),
        pure(tool("sha256", "SHA-256 digest of a text's UTF-8 bytes, as lowercase hex", sha256)),
        pure(tool("base64_encode", "Encode a text's UTF-8 bytes as standard base64 with padding", base64_encode)),
        pure(tool("base64_decode", "Decode standard base64 into UTF-8 text", base64_decode)),
        pure(tool("reverse", "Reverse a text character by character", reverse)),
    ],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> TextArgs {
        TextArgs { text: s.into() }
    }

    #[test]
    fn counts() {
        let c = word_count(text("héllo wörld\nsecond line\n")).unwrap();
        assert_eq!((c.words, c.lines, c.chars), (4, 2, 24));
        let c = word_count(text("")).unwrap();
        assert_eq!((c.words, c.lines, c.chars), (0, 0, 0));
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify(text("  Hello, World! 2026 ")).unwrap().slug,
            "hello-world-2026"
        );
        assert_eq!(slugify(text("Crème brûlée")).unwrap().slug, "cr-me-br-l-e");
        assert_eq!(slugify(text("--")).unwrap().slug, "");
    }

    #[test]
    fn hashes_and_base64() {
        assert_eq!(
            sha256(text("abc")).unwrap().hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(base64_encode(text("hi!?")).unwrap().encoded, "aGkhPw==");
        let back = base64_decode(DecodeArgs {
            encoded: "aGkhPw==".into(),
        })
        .unwrap();
        assert_eq!(back.text, "hi!?");
        assert!(matches!(
            base64_decode(DecodeArgs {
                encoded: "***".into()
            }),
            Err(ToolError::InvalidArguments(_))
        ));
        assert!(matches!(
            base64_decode(DecodeArgs {
                encoded: "/w==".into()
            }),
            Err(ToolError::InvalidArguments(_))
        ));
        assert_eq!(reverse(text("añb")).unwrap().text, "bña");
    }
}
