//! The bridge's bodies: [`Body`] (whole, or streamed by an exchange as it
//! translates), for its answers to Codex and its requests to the gateway,
//! and the helpers that build an answer.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// A body produced as it is sent (an answer translated as the gateway's
/// stream comes).
pub type Frames = Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = Infallible> + Send>>;

/// A body: all at once, or streamed.
pub enum Body {
    Full(Option<Bytes>),
    Stream(Frames),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(frames) => frames.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_none(),
            Body::Stream(frames) => frames.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// A complete answer with a content type.
pub fn full(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Body::Full(Some(body.into())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `{"error":{"message":…}}`, the form Codex shows to the user.
pub fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    full(status, "application/json", error_body(message))
}

/// The body of [`json_error`].
pub fn error_body(message: &str) -> Vec<u8> {
    serde_json::json!({"error": {"message": message, "type": "bridge_error"}})
        .to_string()
        .into_bytes()
}

/// A streamed `text/event-stream` answer.
pub fn event_stream(frames: Frames) -> Response<Body> {
    let mut response = Response::new(Body::Stream(frames));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
