//! The network transport: hyper-util's connection pool over our connector (TCP, proxies,
//! TLS), with the headers every request carries and response decompression. It does one
//! request per call: redirects, retries, cookies and timeouts are the client's (`client`).

mod body;
mod connect;
mod decode;
mod h1;
mod stream;
mod tunnel;

use std::sync::Arc;

use http::header::{ACCEPT, ACCEPT_ENCODING, PROXY_AUTHORIZATION, RANGE, USER_AGENT};
use http::HeaderValue;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use body::{BodyError, ReqBody, Response};
pub use connect::ConnectFailure;
pub use h1::H1Error;
#[cfg(any(test, feature = "fuzzing"))]
pub use h1::differential as h1_differential;

use crate::config::ClientSettings;
use crate::error::{Error, ErrorKind, Result};
use crate::proxy::{ProxyKind, Proxies};
use crate::tls;

/// One connection pool and the settings it was built with. Cheap to clone (shared pool).
#[derive(Clone)]
pub struct Transport {
    client: Client<connect::Connector, ReqBody>,
    connector: connect::Connector,
    /// ALPN offers h2 (`http2=True`): an https connection may be h2, so https requests go
    /// through hyper's pool, which speaks whichever was negotiated.
    h2_over_tls: bool,
    /// The pool of the lean HTTP/1.1 path (`h1`); None when HTTP/1 is off (http2_only).
    h1: Option<Arc<h1::Pool>>,
    proxies: Arc<Proxies>,
}

/// Why a request could not be sent (or its response head not read).
#[derive(Debug)]
pub enum SendError {
    /// Through hyper's pool.
    Pool(hyper_util::client::legacy::Error),
    /// Making a connection for the lean HTTP/1.1 path.
    Connect(ConnectFailure),
    /// The lean HTTP/1.1 exchange.
    H1(H1Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Pool(e) => e.fmt(f),
            SendError::Connect(e) => e.fmt(f),
            SendError::H1(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Pool(e) => e.source(),
            SendError::Connect(e) => e.source(),
            SendError::H1(e) => e.source(),
        }
    }
}

const USER_AGENT_VALUE: HeaderValue = HeaderValue::from_static(crate::config::USER_AGENT);
const ANY: HeaderValue = HeaderValue::from_static("*/*");

impl Transport {
    pub fn build(s: &ClientSettings) -> Result<Self> {
        if s.tls.http1_only && s.tls.http2_only {
            return Err(Error::value("Only one of http1_only or http2_only may be set."));
        }
        let mut tls_opts = s.tls.clone();
        tls_opts.ca_cert_file = crate::config::effective_ca(&s.tls.ca_cert_file, s.trust_env);
        let tls = tls::client_config(&tls_opts)?;
        let proxies = Arc::new(Proxies::for_settings(s)?);
        let connector = connect::Connector::new(tls, proxies.clone(), s.timeout.connect);
        let mut b = Client::builder(TokioExecutor::new());
        b.pool_timer(TokioTimer::new()).pool_idle_timeout(s.pool_idle_timeout).http2_only(s.tls.http2_only);
        if let Some(n) = s.limits.max_idle_per_host() {
            b.pool_max_idle_per_host(n);
        }
        let h1 = (!s.tls.http2_only).then(|| Arc::new(h1::Pool::new(s.limits.max_idle_per_host(), s.pool_idle_timeout)));
        Ok(Transport { client: b.build(connector.clone()), connector, h1, proxies, h2_over_tls: s.tls.negotiates_h2() })
    }

    /// The configured URL of the proxy a request to `dst` goes through.
    pub fn proxy_for(&self, dst: &http::Uri) -> Option<&str> {
        self.proxies.for_uri(dst).map(|p| p.url.as_str())
    }

    /// Send one request; resolves when the response headers have arrived. `local`: the
    /// request is driven on the calling thread (a sync client), so an HTTP/1.1 request without
    /// a proxy can take the lean path (`h1`), whose connections belong to this thread's runtime.
    pub fn send(&self, mut req: http::Request<ReqBody>, local: bool) -> impl std::future::Future<Output = std::result::Result<Response, SendError>> + Send + 'static {
        use futures_util::future::{Either, FutureExt};
        add_default_headers(req.headers_mut(), true);
        let proxy = if self.proxies.is_empty() { None } else { self.proxies.for_uri(req.uri()) };
        if let (true, None, Some(pool)) = (local, proxy, &self.h1) {
            if h1::eligible(&req) && !(self.h2_over_tls && req.uri().scheme_str() == Some("https")) {
                let (pool, connector) = (pool.clone(), self.connector.clone());
                let connect = move |uri| connector.clone().connect_h1(uri);
                // Boxed: hyper's future below is, and a request's future should stay small.
                return Either::Left(Box::pin(async move { h1::send(&pool, req, connect).await.map(Response::from_h1) }));
            }
        }
        if let (Some(p), Some("http")) = (proxy, req.uri().scheme_str()) {
            // Through a plain HTTP proxy the request itself carries the proxy credentials
            // (a tunnel sends them with CONNECT).
            if matches!(p.kind, ProxyKind::Http | ProxyKind::Https) {
                if let Some(auth) = &p.auth {
                    req.headers_mut().entry(PROXY_AUTHORIZATION).or_insert_with(|| auth.clone());
                }
            }
        }
        Either::Right(self.client.request(req).map(|r| r.map(Response::from_wire).map_err(SendError::Pool)))
    }
}

/// The headers a request carries unless it sets them itself: User-Agent, Accept and, where the
/// response will be decompressed (`decompresses`), Accept-Encoding.
pub fn add_default_headers(h: &mut http::HeaderMap, decompresses: bool) {
    if !h.contains_key(USER_AGENT) {
        h.insert(USER_AGENT, USER_AGENT_VALUE);
    }
    if !h.contains_key(ACCEPT) {
        h.insert(ACCEPT, ANY);
    }
    // A range of the encoded body is not a range of the content: ask for identity then.
    if decompresses && !h.contains_key(ACCEPT_ENCODING) && !h.contains_key(RANGE) {
        h.insert(ACCEPT_ENCODING, decode::ACCEPT_ENCODING);
    }
}

/// The error for a request the transport could not complete (before the headers arrived).
pub fn send_error(err: &SendError, method: &str, url: &str) -> Error {
    let pool = match err {
        SendError::H1(e) => return Error::from_transport(e, false, method, url),
        SendError::Connect(f) => return connect_error(f, method, url),
        SendError::Pool(e) => e,
    };
    // Reading a streamed upload failed: that error, as it was.
    if let Some(e) = crate::error::find_in_chain::<Error>(pool) {
        return e.clone().with_request(method, url);
    }
    match crate::error::find_in_chain::<ConnectFailure>(pool) {
        Some(f) => connect_error(f, method, url),
        None => Error::from_transport(pool, pool.is_connect(), method, url),
    }
}

fn connect_error(f: &ConnectFailure, method: &str, url: &str) -> Error {
    let what = match f.kind {
        ErrorKind::ConnectTimeout => "timed out while connecting",
        ErrorKind::ProxyError => "proxy error",
        _ => "connection failed",
    };
    Error::new(f.kind, format!("{what} for {method} {url}: {}", f.message)).with_request(method, url)
}

/// The error for a failed body read.
pub fn body_error(err: &BodyError, method: &str, url: &str) -> Error {
    match err {
        BodyError::Wire(e) => Error::from_transport(e, false, method, url),
        BodyError::H1(e) => Error::from_transport(e, false, method, url),
        BodyError::Decode(e) => {
            let kind = if e.kind() == std::io::ErrorKind::UnexpectedEof { ErrorKind::RemoteProtocolError } else { ErrorKind::DecodingError };
            Error::new(kind, format!("error decoding the response body for {method} {url}: {e}")).with_request(method, url)
        }
    }
}
