//! `fetch`: fetch a URL over `wasi:http` and return its text — the example plugin for network
//! grants.
//!
//! It requests `*` ("whatever the operator grants"): a generic fetcher cannot know its origins
//! in advance, so the operator's `[network] allow` list in `fetch.toml` decides alone. Redirects
//! are followed here, up to [`MAX_REDIRECTS`], each hop a new request that the host checks again.
//! Bodies are cut at [`MAX_BODY`] bytes. When the host refuses a request the tool answers with an
//! error that says so; the host adds its own line naming the policy entry that would allow it.

mod url;

use capsule_plugin::prelude::*;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, IncomingResponse, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

use crate::url::Url;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;
/// Body bytes kept; the rest is not read.
const MAX_BODY: usize = 256 * 1024;

#[derive(Deserialize, JsonSchema)]
struct FetchArgs {
    /// An absolute http:// or https:// URL
    url: String,
}

#[derive(Serialize, JsonSchema)]
struct Fetched {
    /// The URL finally fetched, after redirects
    url: String,
    /// HTTP status code of the final response
    status: u16,
    /// The `Content-Type` header, if any
    content_type: Option<String>,
    /// The body as text (invalid UTF-8 replaced), at most 256 KiB
    text: String,
    /// Whether the body was longer than 256 KiB and cut
    truncated: bool,
}

fn fetch(args: FetchArgs) -> Result<Fetched, ToolError> {
    let mut url = Url::parse(&args.url).map_err(ToolError::invalid_arguments)?;
    for _ in 0..=MAX_REDIRECTS {
        let response = send(&url)?;
        let status = response.status();
        let location = header(&response, "location");
        match (status, location) {
            (301 | 302 | 303 | 307 | 308, Some(location)) => {
                url = url.join(&location).map_err(|e| {
                    ToolError::internal(format!(
                        "{url} redirected to '{location}', which is not a usable URL: {e}"
                    ))
                })?;
            }
            _ => return read(url, status, response),
        }
    }
    Err(ToolError::internal(format!(
        "more than {MAX_REDIRECTS} redirects, stopped at {url}"
    )))
}

/// One GET request, without following redirects.
fn send(url: &Url) -> Result<IncomingResponse, ToolError> {
    let failed =
        |what: &str| ToolError::internal(format!("cannot build the request to {url}: {what}"));
    let agent = format!("capsule-fetch/{}", env!("CARGO_PKG_VERSION"));
    let headers = Fields::from_list(&[("user-agent".into(), agent.into_bytes())])
        .map_err(|e| failed(&format!("{e:?}")))?;
    let request = OutgoingRequest::new(headers);
    request
        .set_method(&Method::Get)
        .map_err(|()| failed("method"))?;
    let scheme = if url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| failed("scheme"))?;
    request
        .set_authority(Some(&url.authority))
        .map_err(|()| failed("invalid host or port"))?;
    request
        .set_path_with_query(Some(&url.path_and_query))
        .map_err(|()| failed("invalid path"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| refused(url, e))?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(refused(url, code)),
        Some(Err(())) | None => Err(ToolError::internal(format!(
            "the response to {url} was lost"
        ))),
    }
}

/// A tool error for a request the host refused or that failed on the way.
fn refused(url: &Url, code: ErrorCode) -> ToolError {
    let origin = url.origin();
    match code {
        ErrorCode::HttpRequestDenied => ToolError::denied(format!(
            "network access to {origin} is not granted to this plugin, so {url} was not fetched; \
             the operator can allow it by adding \"{origin}\" to [network] allow in the plugin's \
             policy file"
        )),
        ErrorCode::DestinationIpProhibited => ToolError::denied(format!(
            "{origin} is granted but its host resolves to a loopback, private, link-local or \
             cloud-metadata address, which the host refuses; {url} was not fetched"
        )),
        ErrorCode::DnsError(_) => {
            ToolError::not_found(format!("the host of {url} could not be resolved"))
        }
        ErrorCode::DnsTimeout => {
            ToolError::internal(format!("resolving the host of {url} timed out"))
        }
        ErrorCode::ConnectionRefused => {
            ToolError::internal(format!("{origin} refused the connection"))
        }
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout => {
            ToolError::internal(format!("{origin} did not answer in time"))
        }
        ErrorCode::TlsCertificateError | ErrorCode::TlsProtocolError => {
            ToolError::internal(format!("the TLS connection to {origin} failed ({code:?})"))
        }
        other => ToolError::internal(format!("fetching {url} failed: {other:?}")),
    }
}

/// The first value of header `name`, as text.
fn header(response: &IncomingResponse, name: &str) -> Option<String> {
    let fields = response.headers();
    let values = fields.get(name);
    values
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Read at most [`MAX_BODY`] bytes of the body of the final response.
fn read(url: Url, status: u16, response: IncomingResponse) -> Result<Fetched, ToolError> {
    let content_type = header(&response, "content-type");
    let lost =
        |what: &str| ToolError::internal(format!("reading the body of {url} failed: {what}"));
    let body = response.consume().map_err(|()| lost("no body"))?;
    let stream = body.stream().map_err(|()| lost("no body stream"))?;
    let mut bytes = Vec::new();
    let mut truncated = false;
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                let room = MAX_BODY - bytes.len();
                if chunk.len() > room {
                    bytes.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(lost(&e.to_debug_string())),
        }
    }
    drop(stream);
    drop(body);
    Ok(Fetched {
        url: url.to_string(),
        status,
        content_type,
        text: text(bytes, truncated),
        truncated,
    })
}

/// The body as text: invalid UTF-8 is replaced, except a character cut in half at the end of a
/// truncated body, which is dropped.
fn text(mut bytes: Vec<u8>, truncated: bool) -> String {
    if truncated
        && let Err(e) = std::str::from_utf8(&bytes)
        && e.error_len().is_none()
    {
        bytes.truncate(e.valid_up_to());
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

capsule_plugin::plugin! {
    metadata: Metadata::new("fetch", env!("CARGO_PKG_VERSION"))
        .description("Fetches a URL over HTTP(S) and returns its text")
        .network("*"),
    tools: [
        tool(
            "fetch",
            "Fetch an http(s) URL (GET, following up to 5 redirects) and return the status, content \
             type and body text (at most 256 KiB). Only origins the operator granted are reachable.",
            fetch,
        )
        .read_only()
        .open_world(true),
    ],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_characters_are_dropped_only_at_the_end() {
        let mut bytes = "héllo".as_bytes().to_vec();
        bytes.truncate(2); // "h" + half of "é"
        assert_eq!(text(bytes.clone(), true), "h");
        assert_eq!(text(bytes, false), "h\u{fffd}");
        assert_eq!(text(vec![0xff, b'a'], true), "\u{fffd}a");
    }
}
