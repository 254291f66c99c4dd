//! A fully received response: status, headers, final URL and the (decompressed) body.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Version};
use url::Url;

use crate::error::{Error, ErrorKind, Result};

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

    /// Copy the body into `out` (exactly `len()` bytes) without joining it first.
    pub fn copy_to(&self, out: &mut [u8]) {
        if let Some(j) = self.joined.get() {
            out.copy_from_slice(j);
            return;
        }
        let mut off = 0;
        for c in &self.chunks {
            out[off..off + c.len()].copy_from_slice(c);
            off += c.len();
        }
    }
}

/// Read the whole body. The timeout bounds each wait for a chunk (a stall), not the whole
/// transfer.
pub async fn read_body(mut resp: reqwest::Response, timeout: Option<Duration>, method: &Method, url: &Url) -> Result<Body> {
    let mut chunks = Vec::new();
    loop {
        let next = match timeout {
            Some(t) => tokio::time::timeout(t, resp.chunk()).await.map_err(|_| {
                Error::new(ErrorKind::ReadTimeout, format!("timed out after {:.3}s waiting for the response body of {method} {url}", t.as_secs_f64()))
                    .with_request(method.as_str(), url.as_str())
            })?,
            None => resp.chunk().await,
        };
        match next.map_err(|e| Error::from_reqwest(&e, method.as_str(), url.as_str()))? {
            None => break,
            Some(chunk) => chunks.push(chunk),
        }
    }
    Ok(Body::from_chunks(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_and_copy_identically() {
        let b = Body::from_chunks(vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cde")]);
        let mut out = vec![0u8; b.len()];
        b.copy_to(&mut out);
        assert_eq!(out, b"abcde");
        assert_eq!(b.as_slice(), b"abcde");
        assert_eq!(Body::from_chunks(vec![]).as_slice(), b"");
    }
}
