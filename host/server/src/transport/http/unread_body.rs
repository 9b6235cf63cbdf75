//! `Connection: close` on HTTP/1.1 responses sent before the request body was read to its end.
//!
//! Many refusals are decided from the head alone: `401`/`403` from the authentication layer, `403`
//! from the Host/Origin guard, `413` at the size limit, `429` from the rate limiter. hyper then
//! cannot reuse the connection unless the unread body is already in its buffer (a client often
//! writes the head and the body separately), so it closes the connection right after the
//! response. Without a `Connection: close` header (RFC 9112 §9.6) the client believes the
//! connection is still good, puts it back in its pool, and its next request — for an OAuth
//! client, the metadata discovery right after the `401` — races the close and fails with "server
//! disconnected without sending a response". [`close_when_unread`] tells the client the truth.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};

/// Middleware (`axum::middleware::from_fn`): run the request with its body wrapped so that reading
/// it to the end is recorded, and mark the response `Connection: close` when the body was not read
/// to the end. Requests without a body (a `GET`, `Content-Length: 0`) and HTTP/2 requests (whose
/// streams do not share a connection's framing) pass through untouched.
pub async fn close_when_unread(request: Request, next: Next) -> Response {
    if request.version() >= Version::HTTP_2 || request.body().is_end_stream() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let finished = Arc::new(AtomicBool::new(false));
    let body = Body::new(Tracked {
        inner: body,
        finished: finished.clone(),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that sets `finished` once it has yielded its last frame.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // The end: no more frames, or (with a known length) the last frame just read.
        if matches!(polled, Poll::Ready(None))
            || (matches!(polled, Poll::Ready(Some(Ok(_)))) && self.inner.is_end_stream())
        {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    fn app() -> Router {
        Router::new()
            .route("/refuse", post(|| async { StatusCode::UNAUTHORIZED }))
            .route(
                "/read",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .route(
                "/stream",
                post(|body: Body| async move {
                    let collected = body.collect().await.map(|c| c.to_bytes().len());
                    collected.unwrap_or(0).to_string()
                }),
            )
            .layer(axum::middleware::from_fn(close_when_unread))
    }

    /// A body of unknown length (chunked), so the end is only known after the last frame.
    fn chunked(text: &'static str) -> Body {
        Body::from_stream(futures::stream::iter([Ok::<_, std::io::Error>(
            Bytes::from_static(text.as_bytes()),
        )]))
    }

    async fn connection_header(path: &str, body: Body, version: Version) -> Option<String> {
        let request = Request::post(path)
            .version(version)
            .body(body)
            .expect("request");
        let response = app().oneshot(request).await.expect("infallible");
        response
            .headers()
            .get(header::CONNECTION)
            .map(|v| v.to_str().expect("ascii").to_string())
    }

    #[tokio::test]
    async fn a_refusal_before_the_body_is_read_closes_the_connection() {
        for body in [Body::from("{\"jsonrpc\":\"2.0\"}"), chunked("{}")] {
            assert_eq!(
                connection_header("/refuse", body, Version::HTTP_11).await,
                Some("close".into())
            );
        }
    }

    #[tokio::test]
    async fn a_body_read_to_the_end_keeps_the_connection() {
        for path in ["/read", "/stream"] {
            assert_eq!(
                connection_header(path, Body::from("{}"), Version::HTTP_11).await,
                None
            );
            assert_eq!(
                connection_header(path, chunked("{}"), Version::HTTP_11).await,
                None
            );
        }
    }

    #[tokio::test]
    async fn requests_without_a_body_and_http2_pass_through() {
        assert_eq!(
            connection_header("/refuse", Body::empty(), Version::HTTP_11).await,
            None
        );
        assert_eq!(
            connection_header("/refuse", Body::from("{}"), Version::HTTP_2).await,
            None
        );
    }
}
