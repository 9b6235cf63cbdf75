//! `plain_fetch`: a plain WebAssembly component (it does not export `capsule:plugin`) with one
//! function, `fetch(url) -> result<string, string>`, an HTTP GET over `wasi:http/outgoing-handler`,
//! for the network-grant tests of plain components (issue #16, `tests/e2e/test_plain_components.py`).
//! It follows no redirects and reads at most [`MAX_BODY`] bytes; a request the host refuses comes
//! back as the `err` of the result, with the WASI error code.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, IncomingResponse, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

wit_bindgen::generate!({
    path: "wit",
    world: "plain-fetch",
});

/// Body bytes read at most.
const MAX_BODY: usize = 1024 * 1024;

struct PlainFetch;

impl Guest for PlainFetch {
    fn fetch(url: String) -> Result<String, String> {
        let (scheme, authority, path) = split(&url)?;
        let request = OutgoingRequest::new(Fields::new());
        let invalid = |what: &str| format!("cannot request {url}: invalid {what}");
        request
            .set_method(&Method::Get)
            .map_err(|()| invalid("method"))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| invalid("scheme"))?;
        request
            .set_authority(Some(authority))
            .map_err(|()| invalid("authority"))?;
        request
            .set_path_with_query(Some(&path))
            .map_err(|()| invalid("path"))?;
        let pending = outgoing_handler::handle(request, None).map_err(|e| failed(&url, e))?;
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(failed(&url, code)),
            Some(Err(())) | None => return Err(format!("the response to {url} was lost")),
        };
        let status = response.status();
        let body = read_body(&url, response)?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            let start: String = body.chars().take(200).collect();
            Err(format!("{url} answered HTTP {status}: {start}"))
        }
    }
}

/// `http://host:port/path?query` -> (scheme, authority, path and query).
fn split(url: &str) -> Result<(Scheme, &str, String), String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return Err(format!("{url} is not an http:// or https:// URL"));
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if authority.is_empty() {
        return Err(format!("{url} has no host"));
    }
    let tail = tail.split('#').next().unwrap_or_default();
    let path = if tail.starts_with('/') {
        tail.to_string()
    } else {
        format!("/{tail}")
    };
    Ok((scheme, authority, path))
}

fn failed(url: &str, code: ErrorCode) -> String {
    match code {
        ErrorCode::HttpRequestDenied => {
            format!("the host refused the request to {url} (HTTP-request-denied)")
        }
        other => format!("fetching {url} failed: {other:?}"),
    }
}

fn read_body(url: &str, response: IncomingResponse) -> Result<String, String> {
    let lost = |what: &str| format!("reading the body of {url} failed: {what}");
    let body = response.consume().map_err(|()| lost("no body"))?;
    let stream = body.stream().map_err(|()| lost("no body stream"))?;
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY {
        match stream.blocking_read((MAX_BODY - bytes.len()) as u64) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(lost(&e.to_debug_string())),
        }
    }
    drop(stream);
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

export!(PlainFetch);
