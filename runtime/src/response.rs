//! A fully received response: status, headers, final URL and the (decompressed) body.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Version};
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::timeout::Deadline;
use crate::transport::Response;

#[derive(Debug, Clone)]
pub struct ResponseData {
    pub status: StatusCode,
    pub version: Version,
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// Cookies set by this response and by the redirects that led to it (later wins).
    pub cookies: Vec<(String, String)>,
    pub body: Body,
    pub elapsed: Duration,
}

pub fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// A received body as the chunks it arrived in: nothing is copied while reading, and the one
/// copy into a Python `bytes` (or a contiguous buffer for decoding) happens on demand.
#[derive(Debug, Clone, Default)]
pub struct Body {
    chunks: Vec<Bytes>,
    len: usize,
    joined: OnceLock<Bytes>,
}

impl Body {
    pub fn from_chunks(chunks: Vec<Bytes>) -> Self {
        let len = chunks.iter().map(Bytes::len).sum();
        Body { chunks, len, joined: OnceLock::new() }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body as one slice (joined once if it came in several chunks).
    pub fn as_slice(&self) -> &[u8] {
        match self.chunks.as_slice() {
            [] => &[],
            [one] => one,
            many => self.joined.get_or_init(|| {
                let mut buf = BytesMut::with_capacity(self.len);
                for c in many {
                    buf.extend_from_slice(c);
                }
                buf.freeze()
            }),
        }
    }

    /// The body as one `Bytes` (a reference to the received chunk, or the joined copy).
    pub fn bytes(&self) -> Bytes {
        match self.chunks.as_slice() {
            [one] => one.clone(),
            [] => Bytes::new(),
            _ => {
                self.as_slice();
                self.joined.get().cloned().unwrap_or_default()
            }
        }
    }

    /// The body's pieces in order (one piece once joined).
    pub fn pieces(&self) -> Vec<&[u8]> {
        match self.joined.get() {
            Some(j) => vec![j.as_ref()],
            None => self.chunks.iter().map(|c| c.as_ref()).collect(),
        }
    }
}

/// Read the whole body. The read timeout bounds each wait for a chunk (a stall), not the
/// whole transfer (a `total` timeout wraps the whole request: `client::within`).
pub async fn read_body(mut resp: Response, read: Option<Duration>, method: &Method, url: &Url) -> Result<Body> {
    let mut chunks = Vec::new();
    while let Some(chunk) = next_chunk(&mut resp, read, Deadline::start(None), method, url).await? {
        chunks.push(chunk);
    }
    Ok(Body::from_chunks(chunks))
}

/// The next body chunk, waiting at most `read` (and never past the deadline).
pub async fn next_chunk(resp: &mut Response, read: Option<Duration>, deadline: Deadline, method: &Method, url: &Url) -> Result<Option<Bytes>> {
    let next = match deadline.bound(read) {
        (Some(wait), total) => tokio::time::timeout(wait, resp.chunk()).await.map_err(|_| {
            if total {
                total_elapsed(deadline, method, url)
            } else {
                Error::new(ErrorKind::ReadTimeout, format!("timed out after {:.3}s waiting for the response body of {method} {url}", wait.as_secs_f64()))
                    .with_request(method.as_str(), url.as_str())
            }
        })?,
        (None, _) => resp.chunk().await,
    };
    next.map_err(|e| crate::transport::body_error(&e, method.as_str(), url.as_str()))
}

/// The error for a request that ran past its `total` timeout.
pub fn total_elapsed(deadline: Deadline, method: &Method, url: &Url) -> Error {
    let secs = deadline.total().map(|t| t.as_secs_f64()).unwrap_or_default();
    Error::new(ErrorKind::Timeout, format!("the total timeout of {secs:.3}s elapsed for {method} {url}")).with_request(method.as_str(), url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_and_copy_identically() {
        let b = Body::from_chunks(vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cde")]);
        assert_eq!(b.pieces().concat(), b"abcde");
        assert_eq!(b.as_slice(), b"abcde");
        assert_eq!(Body::from_chunks(vec![]).as_slice(), b"");
    }
}
