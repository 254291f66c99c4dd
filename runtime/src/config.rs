//! Client settings (plain Rust values taken from the constructor) and the transport
//! they build. The transport is rebuilt only when a connection-level setting changes.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::limits::PoolLimits;
use crate::proxy;
use crate::retry::RetryPolicy;
use crate::timeout::Timeouts;
use crate::tls::TlsOptions;

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
    /// Read proxies (HTTPR_PROXY, HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) from the environment.
    pub trust_env: bool,
    /// The proxy environment as read when the client was built (so rebuilding the transport
    /// for a new timeout never picks up a different one).
    pub env_proxies: Arc<proxy::EnvProxies>,
    /// requests' `proxies=` map (per scheme); `proxy=` wins over it, it wins over the environment.
    pub proxy_map: Option<Arc<proxy::EnvProxies>>,
    /// `.netrc` credentials (read when the client was built, with trust_env): Basic auth for
    /// requests that bring none of their own.
    pub netrc: Option<Arc<crate::netrc::Netrc>>,
    pub timeout: Timeouts,
    /// Relative request URLs resolve against it (its path is kept as a prefix).
    pub base_url: Option<url::Url>,
    pub limits: PoolLimits,
    /// How long an idle pooled connection is kept (None: forever).
    pub pool_idle_timeout: Option<Duration>,
    pub retry: Option<Arc<RetryPolicy>>,
    pub follow_redirects: bool,
    pub max_redirects: usize,
    pub https_only: bool,
    pub tls: TlsOptions,
    /// Answer requests with this instead of the network (tests).
    pub transport: Option<crate::mock::TransportHook>,
    /// httpx's `mounts=`: transports by URL pattern, tried before `transport`.
    pub mounts: Arc<crate::mounts::Mounts>,
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
            trust_env: true,
            env_proxies: Arc::default(),
            proxy_map: None,
            netrc: None,
            timeout: Timeouts::uniform(Some(Duration::from_secs_f64(DEFAULT_TIMEOUT))),
            base_url: None,
            limits: PoolLimits::default(),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            retry: None,
            follow_redirects: true,
            max_redirects: 20,
            https_only: false,
            tls: TlsOptions { verify: true, ..Default::default() },
            transport: None,
            mounts: Arc::default(),
        }
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

impl ClientSettings {
    /// The proxy every request goes through, if there is one: `proxy=`, else HTTPR_PROXY.
    pub fn proxy_in_use(&self) -> Option<String> {
        if self.proxy_disabled {
            None
        } else {
            self.proxy.clone().or_else(|| if self.trust_env { self.env_proxies.httpr.clone() } else { None })
        }
    }
}

/// The CA bundle (file or directory) in effect: the explicit argument, else HTTPR_CA_BUNDLE,
/// else, with `trust_env`, SSL_CERT_FILE and then SSL_CERT_DIR (as httpx and OpenSSL read them).
pub fn effective_ca(explicit: &Option<String>, trust_env: bool) -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    explicit.clone().or_else(|| var("HTTPR_CA_BUNDLE")).or_else(|| if trust_env { var("SSL_CERT_FILE").or_else(|| var("SSL_CERT_DIR")) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    fn build_transport(s: &ClientSettings) -> Result<Transport> {
        Transport::build(s)
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
            assert_eq!(build_transport(&s).err().unwrap().kind, ErrorKind::ProxyError, "{url}");
        }
    }

    #[test]
    fn both_http_versions_is_a_value_error() {
        let mut s = ClientSettings::default();
        s.tls.http1_only = true;
        s.tls.http2_only = true;
        let err = build_transport(&s).err().unwrap();
        assert!(err.message.contains("http1_only") && err.message.contains("http2_only"));
    }
}
