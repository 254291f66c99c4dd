//! A fully received response: status, headers, final URL and the (decompressed) body.

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
    pub body: Bytes,
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

/// Read the whole body. The timeout bounds each wait for a chunk (a stall), not the whole
/// transfer. A body that arrives in one chunk is passed on without copying.
pub async fn read_body(mut resp: reqwest::Response, timeout: Option<Duration>, method: &Method, url: &Url) -> Result<Bytes> {
    let cap = resp.content_length().unwrap_or(0).min(64 << 20) as usize;
    let mut first: Option<Bytes> = None;
    let mut buf: Option<BytesMut> = None;
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
            Some(chunk) => match (&mut first, &mut buf) {
                (None, None) => first = Some(chunk),
                (Some(f), None) => {
                    let mut b = BytesMut::with_capacity(cap.max(f.len() + chunk.len()));
                    b.extend_from_slice(f);
                    b.extend_from_slice(&chunk);
                    buf = Some(b);
                }
                (_, Some(b)) => b.extend_from_slice(&chunk),
            },
        }
    }
    Ok(match (first, buf) {
        (_, Some(b)) => b.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}
