//! The four list requests: `tools/list`, `prompts/list`, `resources/list` and
//! `resources/templates/list` (MCP 2025-11-25 and 2026-07-28, "Utilities → Pagination").
//!
//! Each is answered the same way: the catalog's sorted list, filtered to what the caller may see
//! (MCP allows a list to vary with the authorization), cut into the page the request's cursor
//! asks for ([`crate::pagination`]), with `nextCursor` when more follows. [`list_page`] does that
//! for every list; [`Listing`] says what each list holds and how its result is made.

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, Prompt, Resource, ResourceTemplate, Tool,
};

use crate::pagination;

/// An MCP list result and the items it lists.
pub trait Listing: Sized {
    /// What the list holds (a tool, a prompt, a resource, a resource template).
    type Item;

    /// The key the list is sorted and paged by: tool or prompt name, resource URI, URI template.
    fn key(item: &Self::Item) -> &str;

    /// The result holding one page, `next_cursor` set when more items follow.
    fn page(items: Vec<Self::Item>, next_cursor: Option<String>) -> Self;
}

macro_rules! listing {
    ($result:ty, $item:ty, |$it:ident| $key:expr) => {
        impl Listing for $result {
            type Item = $item;

            fn key($it: &$item) -> &str {
                $key
            }

            fn page(items: Vec<$item>, next_cursor: Option<String>) -> Self {
                let mut result = <$result>::with_all_items(items);
                result.next_cursor = next_cursor;
                result
            }
        }
    };
}

listing!(ListToolsResult, Tool, |t| t.name.as_ref());
listing!(ListPromptsResult, Prompt, |p| p.name.as_str());
listing!(ListResourcesResult, Resource, |r| r.uri.as_str());
listing!(ListResourceTemplatesResult, ResourceTemplate, |t| t
    .uri_template
    .as_str());

/// The page of `items` (sorted by [`Listing::key`]) that `request`'s cursor asks for, keeping
/// only the items `visible` accepts, at most `page_size` (≥ 1) of them.
///
/// # Errors
/// JSON-RPC `-32602` (invalid params) when the cursor was not issued by this server, as the
/// specification requires ("Pagination → Error Handling").
pub fn list_page<L: Listing>(
    items: Vec<L::Item>,
    visible: impl FnMut(&L::Item) -> bool,
    request: Option<&PaginatedRequestParams>,
    page_size: usize,
) -> Result<L, McpError> {
    let items: Vec<L::Item> = items.into_iter().filter(visible).collect();
    let cursor = request.and_then(|r| r.cursor.as_deref());
    let page = pagination::page(items, L::key, cursor, page_size)
        .map_err(|e| McpError::invalid_params(e.to_string(), None))?;
    Ok(L::page(page.items, page.next_cursor))
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ErrorCode, JsonObject};

    use super::*;

    fn tools(n: usize) -> Vec<Tool> {
        (0..n)
            .map(|i| Tool::new(format!("t_{i:02}"), "", JsonObject::new()))
            .collect()
    }

    fn names(result: &ListToolsResult) -> Vec<&str> {
        result.tools.iter().map(|t| t.name.as_ref()).collect()
    }

    fn cursor(cursor: Option<String>) -> PaginatedRequestParams {
        let mut params = PaginatedRequestParams::default();
        params.cursor = cursor;
        params
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end() {
        let first: ListToolsResult = list_page(tools(5), |_| true, None, 2).unwrap();
        assert_eq!(names(&first), ["t_00", "t_01"]);
        let next = cursor(first.next_cursor.clone());
        let second: ListToolsResult = list_page(tools(5), |_| true, Some(&next), 2).unwrap();
        assert_eq!(names(&second), ["t_02", "t_03"]);
        let next = cursor(second.next_cursor.clone());
        let last: ListToolsResult = list_page(tools(5), |_| true, Some(&next), 2).unwrap();
        assert_eq!(names(&last), ["t_04"]);
        assert_eq!(last.next_cursor, None);
        // No cursor in the params is the first page too.
        let again: ListToolsResult = list_page(tools(5), |_| true, Some(&cursor(None)), 2).unwrap();
        assert_eq!(again, first);
    }

    #[test]
    fn hidden_items_take_no_room_on_a_page() {
        let odd = |t: &Tool| t.name.ends_with(['1', '3', '5', '7']);
        let first: ListToolsResult = list_page(tools(8), odd, None, 2).unwrap();
        assert_eq!(names(&first), ["t_01", "t_03"]);
        let next = cursor(first.next_cursor.clone());
        let second: ListToolsResult = list_page(tools(8), odd, Some(&next), 2).unwrap();
        assert_eq!(names(&second), ["t_05", "t_07"]);
        assert_eq!(second.next_cursor, None);
    }

    #[test]
    fn a_foreign_cursor_is_invalid_params() {
        let bad = cursor(Some("not-a-cursor".into()));
        let error = list_page::<ListToolsResult>(tools(3), |_| true, Some(&bad), 2).unwrap_err();
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
        assert_eq!(error.code.0, -32602);
        assert!(
            error.message.contains("invalid cursor 'not-a-cursor'"),
            "{}",
            error.message
        );
    }

    #[test]
    fn every_list_pages_by_its_key() {
        let resources = vec![Resource::new("a://1", "one"), Resource::new("b://2", "two")];
        let page: ListResourcesResult = list_page(resources, |_| true, None, 1).unwrap();
        assert_eq!(page.resources[0].uri, "a://1");
        assert!(page.next_cursor.is_some());
        let templates = vec![ResourceTemplate::new("a://{x}", "a")];
        let page: ListResourceTemplatesResult = list_page(templates, |_| true, None, 1).unwrap();
        assert_eq!(page.resource_templates[0].uri_template, "a://{x}");
        assert_eq!(page.next_cursor, None);
        let prompts = vec![
            Prompt::new("p_a", None::<String>, None),
            Prompt::new("p_b", None::<String>, None),
        ];
        let next = cursor(
            list_page::<ListPromptsResult>(prompts.clone(), |_| true, None, 1)
                .unwrap()
                .next_cursor,
        );
        let page: ListPromptsResult = list_page(prompts, |_| true, Some(&next), 1).unwrap();
        assert_eq!(page.prompts[0].name, "p_b");
    }
}
