//! Pagination of `tools/list`, `resources/list`, `resources/templates/list` and `prompts/list`
//! (MCP 2025-11-25 and 2026-07-28, "Utilities → Pagination").
//!
//! Lists are sorted by their key (tool or prompt name, resource URI, URI template). A page holds
//! at most `page_size` items; `nextCursor` is opaque to clients: base64url (no padding) of
//! `v1:` + the key of the last item returned. The next page starts strictly after that key, so a
//! cursor stays meaningful when hot reload changes the list between two pages: nothing is
//! repeated, and items added after the key are included. A cursor that does not decode is an
//! invalid-params error (`-32602`), as the spec requires.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Items per page unless configured (`--page-size`).
pub const DEFAULT_PAGE_SIZE: usize = 100;

const CURSOR_PREFIX: &str = "v1:";

/// One page of a list.
#[derive(Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next_cursor: Option<String>,
}

/// The cursor a client sent does not come from this server.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "invalid cursor '{0}': pass back a nextCursor exactly as received, or omit it for the first page"
)]
pub struct InvalidCursor(pub String);

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{key}"))
}

fn decode(cursor: &str) -> Result<String, InvalidCursor> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| InvalidCursor(cursor.to_owned()))?;
    let text = String::from_utf8(bytes).map_err(|_| InvalidCursor(cursor.to_owned()))?;
    text.strip_prefix(CURSOR_PREFIX)
        .map(str::to_owned)
        .ok_or_else(|| InvalidCursor(cursor.to_owned()))
}

/// The page of `items` (sorted by `key`, ascending) that follows `cursor`; `page_size` ≥ 1.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Page<T>, InvalidCursor> {
    let page_size = page_size.max(1);
    let after = cursor.map(decode).transpose()?;
    let mut rest = items
        .into_iter()
        .skip_while(|item| after.as_deref().is_some_and(|after| key(item) <= after))
        .peekable();
    let mut page = Vec::with_capacity(page_size.min(64));
    while page.len() < page_size {
        match rest.next() {
            Some(item) => page.push(item),
            None => break,
        }
    }
    let next_cursor = match (rest.peek(), page.last()) {
        (Some(_), Some(last)) => Some(encode(key(last))),
        _ => None,
    };
    Ok(Page {
        items: page,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("tool_{i:02}")).collect()
    }

    fn all_pages(items: Vec<String>, size: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let page = page(items.clone(), String::as_str, cursor.as_deref(), size).unwrap();
            pages.push(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_cover_the_list_once_in_order() {
        let pages = all_pages(names(7), 3);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(pages.concat(), names(7));
        // Exactly a multiple of the page size: no empty trailing page.
        assert_eq!(all_pages(names(6), 3).len(), 2);
        assert_eq!(all_pages(Vec::new(), 3), vec![Vec::<String>::new()]);
    }

    #[test]
    fn a_cursor_survives_a_changed_list() {
        let first = page(names(6), String::as_str, None, 3).unwrap();
        let cursor = first.next_cursor.unwrap();
        // tool_01 removed and tool_02a added before the second page is asked for.
        let mut changed: Vec<String> = names(6).into_iter().filter(|n| n != "tool_01").collect();
        changed.push("tool_02a".into());
        changed.sort();
        let second = page(changed, String::as_str, Some(&cursor), 3).unwrap();
        assert_eq!(second.items, ["tool_02a", "tool_03", "tool_04"]);
    }

    #[test]
    fn foreign_cursors_are_invalid() {
        for bad in [
            "",
            "!!!",
            "dG9vbF8wMQ",
            &URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            assert!(
                page(names(3), String::as_str, Some(bad), 2).is_err(),
                "{bad}"
            );
        }
    }
}
