//! Client settings (plain Rust values taken from the constructor) and the reqwest transport
//! they build. The transport is rebuilt only when a connection-level setting changes.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, ErrorKind, Result};
use crate::tls::{self, TlsOptions};

pub const DEFAULT_TIMEOUT: f64 = 30.0;

pub type SharedHeaders = std::sync::Arc<std::sync::RwLock<HeaderMap>>;

pub fn shared_headers(map: HeaderMap) -> SharedHeaders {
    std::sync::Arc::new(std::sync::RwLock::new(map))
}
pub const USER_AGENT: &str = concat!("httpr/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub auth: Option<(String, Option<String>)>,
    pub auth_bearer: Option<String>,
    pub params: Vec<(String, String)>,
    /// Default headers, shared with the `client.headers` object so in-place edits are live.
    pub headers: SharedHeaders,
    pub cookies: Vec<(String, String)>,
    pub cookie_store: bool,
    pub referer: bool,
    pub proxy: Option<String>,
    /// Set by `client.proxy = None`: no proxy at all, not even HTTPR_PROXY.
    pub proxy_disabled: bool,
    pub timeout: Option<Duration>,
    pub follow_redirects: bool,
    pub max_redirects: usize,
    pub https_only: bool,
    pub tls: TlsOptions,
    /// Answer requests with this instead of the network (tests).
    pub transport: Option<crate::mock::TransportHook>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            auth: None,
            auth_bearer: None,
            params: Vec::new(),
            headers: SharedHeaders::default(),
            cookies: Vec::new(),
            cookie_store: true,
            referer: true,
            proxy: None,
            proxy_disabled: false,
            timeout: Some(Duration::from_secs_f64(DEFAULT_TIMEOUT)),
            follow_redirects: true,
            max_redirects: 20,
            https_only: false,
            tls: TlsOptions { verify: true, ..Default::default() },
            transport: None,
        }
    }
}

/// Seconds from Python into a Duration; negative or NaN is a ValueError.
pub fn timeout_from_secs(secs: Option<f64>) -> Result<Option<Duration>> {
    match secs {
        None => Ok(None),
        Some(s) if s.is_nan() || s < 0.0 => Err(Error::value(format!("timeout must be a non-negative number of seconds or None, got {s}"))),
        // Beyond a year it is "no timeout" (and Instant + it could overflow).
        Some(s) if s.is_infinite() || s > 365.0 * 86400.0 => Ok(None),
        Some(s) => Ok(Some(Duration::from_secs_f64(s))),
    }
}

pub fn header_name(name: &str) -> Result<HeaderName> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        Error::new(ErrorKind::LocalProtocolError, format!("invalid header name {name:?}: header names must be visible ASCII without separators"))
    })
}

pub fn header_value(name: &str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| {
        Error::new(ErrorKind::LocalProtocolError, format!("invalid value for header {name:?}: {value:?} (CR, LF and NUL are not allowed)"))
    })
}

/// Build a validated header map; later entries replace earlier ones with the same name.
pub fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        map.insert(header_name(k)?, header_value(k, v)?);
    }
    Ok(map)
}

/// The proxy in effect: the explicit argument, else HTTPR_PROXY.
pub fn effective_proxy(explicit: &Option<String>) -> Option<String> {
    explicit.clone().or_else(|| std::env::var("HTTPR_PROXY").ok().filter(|s| !s.is_empty()))
}

impl ClientSettings {
    pub fn proxy_in_use(&self) -> Option<String> {
        if self.proxy_disabled {
            None
        } else {
            effective_proxy(&self.proxy)
        }
    }
}

const PROXY_SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

/// Parse and check a proxy URL; an unknown scheme must never mean "connect directly".
fn proxy(url: &str) -> Result<reqwest::Proxy> {
    let bad = |why: String| Error::new(ErrorKind::ProxyError, format!("invalid proxy URL {url:?}: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !PROXY_SCHEMES.contains(&parsed.scheme()) {
        return Err(bad(format!("unsupported scheme {:?} (use one of {})", parsed.scheme(), PROXY_SCHEMES.join(", "))));
    }
    reqwest::Proxy::all(url).map_err(|e| bad(e.to_string()))
}

/// The CA bundle in effect: the explicit argument, else HTTPR_CA_BUNDLE.
pub fn effective_ca(explicit: &Option<String>) -> Option<String> {
    explicit.clone().or_else(|| std::env::var("HTTPR_CA_BUNDLE").ok().filter(|s| !s.is_empty()))
}

pub fn build_transport(s: &ClientSettings) -> Result<reqwest::Client> {
    if s.tls.http1_only && s.tls.http2_only {
        return Err(Error::value("http1_only and http2_only cannot both be True"));
    }
    let mut tls_opts = s.tls.clone();
    tls_opts.ca_cert_file = effective_ca(&s.tls.ca_cert_file);
    let tls = tls::client_config(&tls_opts)?;
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .tcp_nodelay(true)
        .user_agent(USER_AGENT)
        .no_proxy();
    if s.tls.http2_only {
        b = b.http2_prior_knowledge();
    } else {
        b = b.http1_only();
    }
    if let Some(t) = s.timeout {
        b = b.connect_timeout(t);
    }
    if let Some(p) = s.proxy_in_use() {
        b = b.proxy(proxy(&p)?);
    }
    b.build().map_err(|e| Error::new(ErrorKind::RequestError, format!("could not build the HTTP client: {}", crate::error::cause_chain(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_and_nan_timeouts_are_rejected() {
        assert!(timeout_from_secs(Some(-1.0)).unwrap_err().message.contains("non-negative"));
        assert!(timeout_from_secs(Some(f64::NAN)).is_err());
        assert_eq!(timeout_from_secs(Some(1.5)).unwrap(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn crlf_in_header_value_is_rejected() {
        let err = header_map(&[("x".into(), "a\r\nb: c".into())]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::LocalProtocolError);
    }

    #[test]
    fn unknown_proxy_schemes_are_refused() {
        for url in ["ftp://127.0.0.1:1", "htp://127.0.0.1:1", "not a url"] {
            let s = ClientSettings { proxy: Some(url.into()), ..Default::default() };
            assert_eq!(build_transport(&s).unwrap_err().kind, ErrorKind::ProxyError, "{url}");
        }
    }

    #[test]
    fn both_http_versions_is_a_value_error() {
        let mut s = ClientSettings::default();
        s.tls.http1_only = true;
        s.tls.http2_only = true;
        let err = build_transport(&s).unwrap_err();
        assert!(err.message.contains("http1_only") && err.message.contains("http2_only"));
    }
}
