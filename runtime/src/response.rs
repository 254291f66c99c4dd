//! A fully received response: status, headers, final URL and the (decompressed) body.

use std::sync::{Arc, OnceLock};
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
    pub trail: Trail,
}

/// What led to a response besides the response itself: the request as sent, the redirect
/// responses followed to reach it, and the request an unfollowed redirect points at. Moved,
/// never copied, on the way from the request loop to Python; empty (no allocation) for the
/// common request without redirects.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    pub request_headers: HeaderMap,
    pub request_body: Option<Bytes>,
    /// Oldest first.
    pub history: Vec<Hop>,
    /// Set when redirects were not followed and this response is a followable redirect.
    pub next: Option<Box<crate::request::Prepared>>,
}

/// A redirect response that was followed: its head (its body was not read).
#[derive(Debug, Clone)]
pub struct Hop {
    pub status: StatusCode,
    pub version: Version,
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub request_headers: HeaderMap,
    pub elapsed: Duration,
}

impl Hop {
    /// The redirect as a (bodiless) response of its own, for `response.history`.
    pub fn to_data(&self) -> ResponseData {
        ResponseData {
            status: self.status,
            version: self.version,
            method: self.method.clone(),
            url: self.url.clone(),
            cookies: crate::cookies::from_set_cookie(&self.headers),
            headers: self.headers.clone(),
            body: Body::default(),
            elapsed: self.elapsed,
            trail: Trail { request_headers: self.request_headers.clone(), ..Default::default() },
        }
    }
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
/// copy into a Python `bytes` (or a contiguous buffer for decoding) happens on demand. Or,
/// for a large body of known length, the buffer it was read into directly (`Direct`).
#[derive(Debug, Clone, Default)]
pub struct Body {
    chunks: Vec<Bytes>,
    len: usize,
    joined: OnceLock<Bytes>,
    direct: Option<Arc<Direct>>,
}

/// Makes a buffer of the given length for a body to be read into (the Python layer's: a
/// `bytes` object under construction), or None to read it as chunks.
pub type BufferFn = fn(usize) -> Option<Direct>;

/// Bodies at least this long (and of known length, not compressed) are read straight into a
/// buffer from a `BufferFn`: that saves copying them once more, which for large bodies costs
/// more than the extra step to make the buffer (taking the GIL). Measured on sync_50k, A/B in
/// one interleaved series of five: median 0.046 ms/request with 64 KiB here, 0.037 with 32.
pub const DIRECT_MIN: u64 = 32 * 1024;

/// A buffer owned by another layer, written once by the body read and then only read.
pub struct Direct {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    owner: Box<dyn std::any::Any + Send + Sync>,
}

// The memory is `owner`'s, which is Send + Sync; it is written only while the Direct is
// uniquely held (`as_mut_slice` takes `&mut self`), before it is shared.
unsafe impl Send for Direct {}
unsafe impl Sync for Direct {}

impl Direct {
    /// # Safety
    /// `ptr` must point at `len` writable bytes that stay valid, and are not used by anyone
    /// else, for as long as `owner` lives.
    pub unsafe fn new(ptr: *mut u8, len: usize, owner: Box<dyn std::any::Any + Send + Sync>) -> Option<Self> {
        Some(Direct { ptr: std::ptr::NonNull::new(ptr)?, len, owner })
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: see `new`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: see `new`; `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The owner, if it is a `T` (else the buffer back).
    pub fn into_owner<T: 'static>(self) -> std::result::Result<Box<T>, Self> {
        let Direct { ptr, len, owner } = self;
        owner.downcast::<T>().map_err(|owner| Direct { ptr, len, owner })
    }
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Direct({} bytes)", self.len)
    }
}

impl Body {
    pub fn from_chunks(chunks: Vec<Bytes>) -> Self {
        let len = chunks.iter().map(Bytes::len).sum();
        Body { chunks, len, joined: OnceLock::new(), direct: None }
    }

    fn from_direct(direct: Direct) -> Self {
        Body { chunks: Vec::new(), len: direct.len, joined: OnceLock::new(), direct: Some(Arc::new(direct)) }
    }

    /// The owner of the buffer the body was read into, if it was, is a `T`, and nothing else
    /// refers to it. The body is empty then.
    pub fn take_direct<T: 'static>(&mut self) -> Option<Box<T>> {
        let direct = self.direct.take()?;
        let back = match Arc::try_unwrap(direct) {
            Ok(d) => match d.into_owner::<T>() {
                Ok(owner) => {
                    self.len = 0;
                    return Some(owner);
                }
                Err(d) => Arc::new(d),
            },
            Err(shared) => shared,
        };
        self.direct = Some(back);
        None
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body as one slice (joined once if it came in several chunks).
    pub fn as_slice(&self) -> &[u8] {
        if let Some(d) = &self.direct {
            return d.as_slice();
        }
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
        if let Some(d) = &self.direct {
            return Bytes::copy_from_slice(d.as_slice());
        }
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
        if let Some(d) = &self.direct {
            return vec![d.as_slice()];
        }
        match self.joined.get() {
            Some(j) => vec![j.as_ref()],
            None => self.chunks.iter().map(|c| c.as_ref()).collect(),
        }
    }
}

/// Read the whole body. The read timeout bounds each wait for a chunk (a stall), not the
/// whole transfer (a `total` timeout wraps the whole request: `client::within`).
/// `buffer`: where a large body of known length goes (see `DIRECT_MIN`).
pub async fn read_body(mut resp: Response, read: Option<Duration>, method: &Method, url: &Url, buffer: Option<BufferFn>) -> Result<Body> {
    if let (Some(make), Some(n)) = (buffer, resp.exact_remaining()) {
        if n >= DIRECT_MIN {
            if let Some(mut direct) = usize::try_from(n).ok().and_then(make) {
                resp.read_exact(direct.as_mut_slice(), read).await.map_err(|e| match (e.is_timeout(), read) {
                    (true, Some(wait)) => body_stalled(wait, method, url),
                    _ => crate::transport::body_error(&e, method.as_str(), url.as_str()),
                })?;
                return Ok(Body::from_direct(direct));
            }
        }
    }
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
                body_stalled(wait, method, url)
            }
        })?,
        (None, _) => resp.chunk().await,
    };
    next.map_err(|e| crate::transport::body_error(&e, method.as_str(), url.as_str()))
}

/// The error for a body whose next bytes did not come within the read timeout (`wait`).
fn body_stalled(wait: Duration, method: &Method, url: &Url) -> Error {
    Error::new(ErrorKind::ReadTimeout, format!("timed out after {:.3}s waiting for the response body of {method} {url}", wait.as_secs_f64())).with_request(method.as_str(), url.as_str())
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
