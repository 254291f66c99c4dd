//! Mock transports: instead of the network, a request goes to a handler that answers it.
//! The hook sits at the bottom of the request path (`client::send_once`), so everything
//! above it (params, default headers, auth, cookies, body encoding, redirects, the cookie
//! store, body reading, streaming) is the code real requests run. Plain Rust: the Python
//! handler lives behind the `Transport` trait (see `py::mock`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method};
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::request::Prepared;

/// What a mock handler sees: the request as it would have been written to the wire.
#[derive(Debug, Clone)]
pub struct MockRequest {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub timeout: crate::timeout::Timeouts,
}

pub type Reply = Pin<Box<dyn Future<Output = Result<http::Response<Bytes>>> + Send>>;

/// Answers requests without a network.
pub trait Transport: Send + Sync {
    /// `asynchronous`: the request runs under an asyncio event loop (AsyncClient), so the
    /// handler may be awaited there; otherwise it must answer synchronously.
    fn handle(&self, request: MockRequest, asynchronous: bool) -> Reply;
}

/// A transport as carried by the client settings (cheap to clone).
#[derive(Clone)]
pub struct TransportHook(pub Arc<dyn Transport>);

impl fmt::Debug for TransportHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransportHook(..)")
    }
}

/// The transport installed for every client without its own (`MockTransport.install()`).
static INSTALLED: RwLock<Option<TransportHook>> = RwLock::new(None);
/// Whether one is installed: the only cost real requests pay for this feature.
static ANY_INSTALLED: AtomicBool = AtomicBool::new(false);

/// The installed transport, if any.
pub fn installed() -> Option<TransportHook> {
    if !ANY_INSTALLED.load(Ordering::Acquire) {
        return None;
    }
    INSTALLED.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Install `hook` for every client without a transport of its own (replacing any other).
pub fn install(hook: TransportHook) {
    *INSTALLED.write().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    ANY_INSTALLED.store(true, Ordering::Release);
}

/// Uninstall `hook`; nothing happens if another transport was installed since.
pub fn uninstall(hook: &TransportHook) {
    let mut slot = INSTALLED.write().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|h| h.same(hook)) {
        *slot = None;
        ANY_INSTALLED.store(false, Ordering::Release);
    }
}

pub fn is_installed(hook: &TransportHook) -> bool {
    installed().is_some_and(|h| h.same(hook))
}

impl TransportHook {
    /// The same transport (not merely an equal one).
    pub fn same(&self, other: &TransportHook) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.0), Arc::as_ptr(&other.0))
    }

    /// Hand `p` (with the headers `send_once` built: defaults, auth, cookies) to the
    /// handler and turn its answer into the response the rest of the pipeline reads.
    pub async fn send(&self, p: &Prepared, mut headers: HeaderMap, asynchronous: bool) -> Result<crate::transport::Response> {
        // What the network transport would add on its own, so the handler sees it too.
        if let Some(host) = p.url.host_str() {
            let host = match p.url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            if let Ok(v) = HeaderValue::from_str(&host) {
                headers.entry(HOST).or_insert(v);
            }
        }
        // No Accept-Encoding: mocked bodies are not decompressed.
        crate::transport::add_default_headers(&mut headers, false);
        let body = match &p.body {
            // A handler gets the body whole: a streamed upload is read here.
            Some(crate::body::Body { upload: Some(u), .. }) => u.read_all_async().await.map_err(|e| e.with_request(p.method.as_str(), p.url.as_str()))?,
            Some(b) => b.bytes.clone(),
            None => Bytes::new(),
        };
        if !body.is_empty() || p.method == Method::POST || p.method == Method::PUT || p.method == Method::PATCH {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let request = MockRequest { method: p.method.clone(), url: p.url.clone(), headers, body, timeout: p.timeout };
        let reply = self.0.handle(request, asynchronous);
        let reply = match p.timeout.read {
            // Bounds a handler that awaits (as it would a silent server); a sync handler
            // answers within the first poll, so it is never cut short.
            Some(t) => tokio::time::timeout(t, reply).await.map_err(|_| {
                Error::new(ErrorKind::ReadTimeout, format!("timed out after {:.3}s waiting for the MockTransport handler to answer {} {}", t.as_secs_f64(), p.method, p.url))
                    .with_request(p.method.as_str(), p.url.as_str())
            })?,
            None => reply.await,
        };
        let mut reply = reply.map_err(|e| e.with_request(p.method.as_str(), p.url.as_str()))?;
        if p.method == Method::HEAD {
            // A HEAD response has no body on the wire, whatever the handler put in it.
            *reply.body_mut() = Bytes::new();
        }
        Ok(crate::transport::Response::fixed(reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::USER_AGENT;
    use crate::config::ClientSettings;
    use crate::request::{prepare, RequestOptions};

    /// Echoes the request line and body back, so the test sees what was "sent".
    struct Echo;

    impl Transport for Echo {
        fn handle(&self, request: MockRequest, _asynchronous: bool) -> Reply {
            Box::pin(async move {
                let line = format!("{} {} ua={:?} ", request.method, request.url, request.headers.get(USER_AGENT));
                let body = [line.as_bytes(), &request.body].concat();
                Ok(http::Response::builder().status(201).header("x-echo", "1").body(Bytes::from(body)).expect("valid response"))
            })
        }
    }

    #[test]
    fn a_prepared_request_reaches_the_handler_and_comes_back_as_a_response() {
        let p = prepare(&ClientSettings::default(), "POST", "http://h/x", RequestOptions { content: Some(crate::body::Body::raw(Bytes::from_static(b"hi"))), ..Default::default() }).unwrap();
        let hook = TransportHook(Arc::new(Echo));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut resp = rt.block_on(hook.send(&p, HeaderMap::new(), false)).unwrap();
        assert_eq!(resp.status, 201);
        assert_eq!(resp.headers["x-echo"], "1");
        let body = rt.block_on(resp.chunk()).unwrap().unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with("POST http://h/x ua=Some(\"httpr/"), "{text}");
        assert!(text.ends_with("hi"), "{text}");
    }
}
