//! Which proxy a request goes through. Precedence: the explicit `proxy=` (every request),
//! else, when `trust_env` is on, HTTPR_PROXY (every scheme), then HTTP_PROXY / HTTPS_PROXY by
//! the URL's scheme, then ALL_PROXY — the environment ones skipped for hosts in NO_PROXY.

use std::net::IpAddr;
use std::sync::Arc;

use url::Url;

use crate::error::{Error, ErrorKind, Result};

const SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

/// Proxies read from the environment once, when a transport is built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvProxies {
    /// HTTPR_PROXY: httpr's own variable, for every scheme.
    pub httpr: Option<String>,
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    pub no_proxy: NoProxy,
}

fn var(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// A proxy variable's URL; `host:port` without a scheme means http, as curl and requests read it.
fn proxy_var(names: &[&str]) -> Option<String> {
    var(names).map(|v| if v.contains("://") { v } else { format!("http://{v}") })
}

impl EnvProxies {
    pub fn from_env() -> Self {
        // Under CGI, HTTP_PROXY is a request header a client controls ("httpoxy"): ignore it.
        let cgi = std::env::var_os("REQUEST_METHOD").is_some();
        EnvProxies {
            httpr: proxy_var(&["HTTPR_PROXY"]),
            http: if cgi { proxy_var(&["http_proxy"]) } else { proxy_var(&["http_proxy", "HTTP_PROXY"]) },
            https: proxy_var(&["https_proxy", "HTTPS_PROXY"]),
            all: proxy_var(&["all_proxy", "ALL_PROXY"]),
            no_proxy: NoProxy::parse(&var(&["no_proxy", "NO_PROXY"]).unwrap_or_default()),
        }
    }

    /// requests' `proxies={"http": url, "https": url, "all": url, "no_proxy": hosts}` (httpx's
    /// mount keys `"http://"`, `"https://"`, `"all://"` too; None: connect directly).
    /// `no_proxy` defaults to `env_no_proxy` (the environment's, when trust_env is on).
    pub fn from_map(map: &[(String, Option<String>)], env_no_proxy: NoProxy) -> Result<Self> {
        let mut out = EnvProxies { no_proxy: env_no_proxy, ..Default::default() };
        for (key, value) in map {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
            let url = value.map(|v| if v.contains("://") { v.to_owned() } else { format!("http://{v}") });
            match key.trim_end_matches("://").to_ascii_lowercase().as_str() {
                "http" => out.http = url,
                "https" => out.https = url,
                "all" => out.all = url,
                "no_proxy" => out.no_proxy = NoProxy::parse(value.unwrap_or("")),
                _ => {
                    return Err(Error::value(format!(
                        "proxies keys are \"http\", \"https\", \"all\" (or \"http://\", \"https://\", \"all://\") and \"no_proxy\", not {key:?} (per-host proxies are not supported)"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// The map `from_map` was given, back as pairs (for `client.proxies`).
    pub fn to_map(&self) -> Vec<(String, String)> {
        [("http", &self.http), ("https", &self.https), ("all", &self.all)].into_iter().filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v))).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.httpr.is_none() && self.http.is_none() && self.https.is_none() && self.all.is_none()
    }

    /// The proxy for a destination, or None to connect directly.
    pub fn for_uri(&self, dst: &http::Uri) -> Option<&str> {
        if self.no_proxy.matches(dst) {
            return None;
        }
        let by_scheme = match dst.scheme_str() {
            Some("https") => self.https.as_deref(),
            _ => self.http.as_deref(),
        };
        self.httpr.as_deref().or(by_scheme).or(self.all.as_deref())
    }

    /// Every configured URL (validated when the transport is built).
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        [&self.httpr, &self.http, &self.https, &self.all].into_iter().filter_map(|o| o.as_deref())
    }
}

/// NO_PROXY: comma-separated hosts, domains (`example.com` also covers its subdomains, as
/// does `.example.com`), IP addresses, CIDR ranges (`10.0.0.0/8`), optional `:port`, or `*`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    Domain(String, Option<u16>),
    Net(IpAddr, u8, Option<u16>),
}

fn split_port(s: &str) -> (&str, Option<u16>) {
    // `[v6]:port`, `host:port`; a bare IPv6 address has several colons and no port.
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            return (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (s, None),
        },
        _ => (s, None),
    }
}

impl NoProxy {
    pub fn parse(spec: &str) -> Self {
        let mut np = NoProxy::default();
        for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if raw == "*" {
                np.all = true;
                continue;
            }
            let (net, bits) = match raw.split_once('/') {
                Some((n, b)) => (n, b.parse::<u8>().ok()),
                None => (raw, None),
            };
            if let Ok(ip) = net.trim_matches(['[', ']']).parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                np.entries.push(Entry::Net(ip, bits.unwrap_or(max).min(max), None));
                continue;
            }
            let (host, port) = split_port(raw);
            if let Ok(ip) = host.parse::<IpAddr>() {
                np.entries.push(Entry::Net(ip, if ip.is_ipv4() { 32 } else { 128 }, port));
            } else {
                np.entries.push(Entry::Domain(host.trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase(), port));
            }
        }
        np
    }

    /// Whether `dst` bypasses the proxy.
    pub fn matches(&self, dst: &http::Uri) -> bool {
        let (host, port) = (dst.host().unwrap_or_default(), Some(port_of(dst)));
        if self.all {
            return true;
        }
        if host.is_empty() {
            return false;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.matches_ip(ip, port);
        }
        self.entries.iter().any(|e| match e {
            Entry::Domain(d, p) => p.is_none_or(|p| Some(p) == port) && (host == *d || host.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.'))),
            Entry::Net(..) => false,
        })
    }

    fn matches_ip(&self, ip: IpAddr, port: Option<u16>) -> bool {
        self.entries.iter().any(|e| match e {
            Entry::Net(net, bits, p) => p.is_none_or(|p| Some(p) == port) && in_net(ip, *net, *bits),
            Entry::Domain(..) => false,
        })
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits as u32) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// Parse and check a proxy URL; an unknown scheme must never mean "connect directly".
pub fn parse(url: &str) -> Result<Url> {
    let bad = |why: String| Error::new(ErrorKind::ProxyError, format!("invalid proxy URL {:?}: {why}", redact(url)));
    let parsed = Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !SCHEMES.contains(&parsed.scheme()) {
        return Err(bad(format!("unsupported scheme {:?} (use one of {})", parsed.scheme(), SCHEMES.join(", "))));
    }
    Ok(parsed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Http,
    /// TLS to the proxy itself.
    Https,
    /// `socks5h`: the proxy resolves the destination's name.
    Socks5 { remote_dns: bool },
}

/// A parsed proxy: where it is and how to talk to it.
#[derive(Debug, Clone)]
pub struct ProxyTarget {
    /// As configured (with its password: redact before showing it).
    pub url: String,
    pub kind: ProxyKind,
    /// `scheme://host:port` of the proxy.
    pub uri: http::Uri,
    /// Basic credentials for an HTTP(S) proxy.
    pub auth: Option<http::HeaderValue>,
    pub socks_auth: Option<(String, String)>,
}

impl ProxyTarget {
    pub fn parse(url: &str) -> Result<Self> {
        let parsed = parse(url)?;
        let bad = |why: String| Error::new(ErrorKind::ProxyError, format!("invalid proxy URL {:?}: {why}", redact(url)));
        let kind = match parsed.scheme() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks5" => ProxyKind::Socks5 { remote_dns: false },
            _ => ProxyKind::Socks5 { remote_dns: true },
        };
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host".into()))?;
        let port = parsed.port().unwrap_or(match kind {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            ProxyKind::Socks5 { .. } => 1080,
        });
        let scheme = if kind == ProxyKind::Https { "https" } else { "http" };
        let uri = format!("{scheme}://{host}:{port}").parse::<http::Uri>().map_err(|e| bad(e.to_string()))?;
        // `user:@host` (an empty password) still sends credentials.
        let creds = crate::url_util::credentials(&parsed).filter(|(user, _)| !user.is_empty());
        let (auth, socks_auth) = match (kind, creds) {
            (_, None) => (None, None),
            (ProxyKind::Socks5 { .. }, Some(c)) => (None, Some(c)),
            (_, Some((user, pass))) => {
                use base64::Engine;
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                let mut v = http::HeaderValue::from_str(&format!("Basic {token}")).map_err(|e| bad(e.to_string()))?;
                v.set_sensitive(true);
                (Some(v), None)
            }
        };
        Ok(ProxyTarget { url: url.to_owned(), kind, uri, auth, socks_auth })
    }
}

/// Every proxy a transport may use, and which destination goes through which.
#[derive(Debug, Default)]
pub struct Proxies {
    /// `proxy=` or HTTPR_PROXY: every request.
    every: Option<ProxyTarget>,
    /// The environment's proxies by URL, chosen per destination; empty when not trusted.
    env: Option<Arc<EnvProxies>>,
    by_url: Vec<ProxyTarget>,
}

impl Proxies {
    pub fn for_settings(s: &crate::config::ClientSettings) -> Result<Self> {
        if s.proxy_disabled {
            return Ok(Proxies::default());
        }
        if let Some(p) = &s.proxy {
            return Ok(Proxies { every: Some(ProxyTarget::parse(p)?), ..Default::default() });
        }
        if let Some(map) = &s.proxy_map {
            return Self::by_scheme(map.clone());
        }
        if !s.trust_env || s.env_proxies.is_empty() {
            return Ok(Proxies::default());
        }
        Self::by_scheme(s.env_proxies.clone())
    }

    /// Proxies chosen per destination (the environment's, or a `proxies=` map).
    fn by_scheme(env: Arc<EnvProxies>) -> Result<Self> {
        if env.is_empty() {
            return Ok(Proxies::default());
        }
        let mut by_url: Vec<ProxyTarget> = Vec::new();
        for url in env.urls() {
            if !by_url.iter().any(|t| t.url == url) {
                by_url.push(ProxyTarget::parse(url)?);
            }
        }
        Ok(Proxies { every: None, env: Some(env), by_url })
    }

    pub fn is_empty(&self) -> bool {
        self.every.is_none() && self.env.is_none()
    }

    /// The proxy for a destination, or None to connect directly.
    pub fn for_uri(&self, dst: &http::Uri) -> Option<&ProxyTarget> {
        if let Some(p) = &self.every {
            return Some(p);
        }
        let url = self.env.as_ref()?.for_uri(dst)?;
        self.by_url.iter().find(|t| t.url == url)
    }
}

/// A destination's port, the scheme's default when the URI has none.
pub fn port_of(dst: &http::Uri) -> u16 {
    dst.port_u16().unwrap_or(if dst.scheme_str() == Some("https") { 443 } else { 80 })
}

/// A proxy URL without its password, for messages.
pub fn redact(proxy: &str) -> String {
    match Url::parse(proxy) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => proxy.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    #[test]
    fn no_proxy_hosts_domains_and_cidr() {
        let np = NoProxy::parse("example.com, .internal, 10.0.0.0/8, 127.0.0.2, localhost, api.test:8443, ::1");
        assert!(np.matches(&url("http://example.com/")));
        assert!(np.matches(&url("http://www.example.com/")));
        assert!(!np.matches(&url("http://notexample.com/")));
        assert!(np.matches(&url("http://a.internal/")));
        assert!(np.matches(&url("http://10.1.2.3/")));
        assert!(!np.matches(&url("http://11.0.0.1/")));
        assert!(np.matches(&url("http://127.0.0.2:8000/")));
        assert!(!np.matches(&url("http://127.0.0.3/")));
        assert!(np.matches(&url("http://localhost:1/")));
        assert!(np.matches(&url("https://api.test:8443/")));
        assert!(!np.matches(&url("https://api.test/")));
        assert!(np.matches(&url("http://[::1]:80/")));
        assert!(NoProxy::parse("*").matches(&url("http://anything/")));
        assert!(!NoProxy::parse("").matches(&url("http://anything/")));
    }

    #[test]
    fn scheme_specific_then_all() {
        let env = EnvProxies { http: Some("http://p1:1".into()), all: Some("socks5://p2:2".into()), no_proxy: NoProxy::parse("127.0.0.0/8"), ..Default::default() };
        assert_eq!(env.for_uri(&url("http://h/")), Some("http://p1:1"));
        assert_eq!(env.for_uri(&url("https://h/")), Some("socks5://p2:2"));
        assert_eq!(env.for_uri(&url("http://127.0.0.1/")), None);
    }

    #[test]
    fn unknown_schemes_are_refused() {
        for u in ["ftp://127.0.0.1:1", "not a url"] {
            assert_eq!(parse(u).unwrap_err().kind, ErrorKind::ProxyError);
        }
    }
}
