//! The size of a plugin's answer as the client will receive it, to enforce `[limits] max_output`
//! before the host converts or sends anything.
//!
//! Everything an answer carries counts: every content block with its annotations, names, titles,
//! descriptions and MIME types, resource contents with their `_meta`, the result's `_meta` and
//! structured content. Each string counts as its JSON encoding (quotes and escapes: a control
//! character is 6 bytes), binary data as its base64 encoding, and each object a fixed overhead
//! for its keys ([`OBJECT`]). The total is within a few percent of the bytes of the JSON the
//! client gets (MCP `CallToolResult`, `ReadResourceResult`, `GetPromptResult`,
//! `InputRequiredResult`, `CompleteResult`), never far below it.

use super::bindings::{completions, prompts, tools, types};

/// Bytes charged per JSON object for its keys and punctuation.
pub const OBJECT: usize = 48;

/// Bytes of `s` as a JSON string (RFC 8259 §7).
pub fn json_string(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

fn opt(s: &Option<String>) -> usize {
    s.as_deref().map_or(0, json_string)
}

/// Bytes of `data` as base64 (RFC 4648 §4, padded) in a JSON string.
fn base64(data: &[u8]) -> usize {
    2 + data.len().div_ceil(3) * 4
}

fn annotations(a: &Option<types::Annotations>) -> usize {
    a.as_ref().map_or(0, |a| {
        OBJECT
            + a.audience.as_ref().map_or(0, |r| r.len() * 12)
            + a.priority.map_or(0, |_| 24)
            + opt(&a.last_modified)
    })
}

fn block(b: &types::ContentBlock) -> usize {
    OBJECT
        + match b {
            types::ContentBlock::Text(t) => json_string(&t.text) + annotations(&t.annotations),
            types::ContentBlock::Image(m) | types::ContentBlock::Audio(m) => {
                base64(&m.data) + json_string(&m.mime_type) + annotations(&m.annotations)
            }
            types::ContentBlock::ResourceLink(l) => {
                json_string(&l.uri)
                    + json_string(&l.name)
                    + opt(&l.title)
                    + opt(&l.description)
                    + opt(&l.mime_type)
                    + l.size.map_or(0, |_| 24)
                    + annotations(&l.annotations)
            }
            types::ContentBlock::EmbeddedResource(c) => resource_contents(c),
        }
}

/// One resource contents item (MCP `TextResourceContents` / `BlobResourceContents`).
pub fn resource_contents(c: &types::ResourceContents) -> usize {
    OBJECT
        + json_string(&c.uri)
        + opt(&c.mime_type)
        + opt(&c.meta)
        + match &c.body {
            types::ResourceBody::Text(t) => json_string(t),
            types::ResourceBody::Blob(b) => base64(b),
        }
}

/// A tool result (MCP `CallToolResult`).
pub fn call_tool_result(r: &tools::CallToolResult) -> usize {
    OBJECT + r.content.iter().map(block).sum::<usize>() + opt(&r.structured_content) + opt(&r.meta)
}

/// The contents of a resource read (MCP `ReadResourceResult`).
pub fn read_resource_result(contents: &[types::ResourceContents]) -> usize {
    OBJECT + contents.iter().map(resource_contents).sum::<usize>()
}

/// A rendered prompt (MCP `GetPromptResult`).
pub fn prompt_result(r: &prompts::GetPromptResult) -> usize {
    OBJECT
        + opt(&r.description)
        + r.messages
            .iter()
            .map(|m| OBJECT + block(&m.content))
            .sum::<usize>()
}

/// Questions for the client (MCP `InputRequiredResult`): requests and the state, which travels
/// sealed and base64-encoded.
pub fn input_required(r: &types::InputRequired) -> usize {
    let request = |(key, request): &(String, types::InputRequest)| {
        OBJECT
            + json_string(key)
            + match request {
                types::InputRequest::Elicitation(p) | types::InputRequest::Sampling(p) => p.len(),
                types::InputRequest::ListRoots => 0,
            }
    };
    OBJECT + r.requests.iter().map(request).sum::<usize>() + r.state.as_deref().map_or(0, base64)
}

/// Suggestions (MCP `CompleteResult`).
pub fn completion(c: &completions::Completion) -> usize {
    OBJECT + c.values.iter().map(|v| json_string(v)).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> types::ContentBlock {
        types::ContentBlock::Text(types::TextContent {
            text: text.into(),
            annotations: None,
        })
    }

    #[test]
    fn strings_count_as_their_json_encoding() {
        for s in [
            "",
            "plain",
            "quote\" back\\slash",
            "new\nline\ttab",
            "\u{1}\u{1f}",
            "é ✓",
        ] {
            assert_eq!(
                json_string(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn every_field_of_a_result_counts() {
        let big = "x".repeat(10_000);
        let hidden = [
            types::ContentBlock::Text(types::TextContent {
                text: String::new(),
                annotations: Some(types::Annotations {
                    audience: None,
                    priority: None,
                    last_modified: Some(big.clone()),
                }),
            }),
            types::ContentBlock::Image(types::MediaContent {
                data: vec![],
                mime_type: big.clone(),
                annotations: None,
            }),
            types::ContentBlock::ResourceLink(types::ResourceLink {
                uri: "u://x".into(),
                name: "x".into(),
                title: None,
                description: Some(big.clone()),
                mime_type: None,
                size: None,
                annotations: None,
            }),
        ];
        for block in hidden {
            let result = tools::CallToolResult {
                content: vec![block],
                structured_content: None,
                is_error: false,
                meta: None,
            };
            assert!(call_tool_result(&result) > 10_000);
        }
        let many = tools::CallToolResult {
            content: (0..1000).map(|_| text("")).collect(),
            structured_content: None,
            is_error: false,
            meta: Some(big),
        };
        assert!(call_tool_result(&many) > 1000 * OBJECT + 10_000);
    }

    #[test]
    fn binary_data_counts_as_base64() {
        assert_eq!(base64(&[0; 3]), 2 + 4);
        assert_eq!(base64(&[0; 4]), 2 + 8);
    }
}
