//! httpx's `mounts={"https://api.example.com": transport, "all://*.internal": None}`: the
//! transport a request goes to, chosen by URL pattern. Patterns and their priority follow
//! httpx's `URLPattern`: `scheme://host:port` where `all` is any scheme, an empty host or `*`
//! any host, `*.example.com` its subdomains only, `*example.com` the domain and its
//! subdomains; a pattern with a port beats one without, then longer hosts, then schemes.

use url::Url;

use crate::error::{Error, Result};
use crate::mock::TransportHook;

#[derive(Debug, Clone, PartialEq)]
enum Host {
    Any,
    Exact(String),
    /// `*.example.com`: subdomains, not the domain itself.
    Subdomains(String),
    /// `*example.com`: the domain and its subdomains.
    DomainAndSubdomains(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    scheme: Option<String>,
    host: Host,
    port: Option<u16>,
}

impl Pattern {
    pub fn parse(pattern: &str) -> Result<Pattern> {
        let bad = || Error::value(format!("invalid mounts key {pattern:?}: expected \"scheme://\", \"scheme://host\" or \"scheme://host:port\" (scheme \"all\" for any)"));
        let (scheme, rest) = pattern.split_once("://").ok_or_else(bad)?;
        if scheme.is_empty() || rest.contains('/') {
            return Err(bad());
        }
        // `[v6]:port` keeps its brackets (as `Url::host_str` gives them); else `host:port`.
        let split = match rest.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map(|(h, tail)| (&rest[..h.len() + 2], tail.strip_prefix(':'))).ok_or_else(bad)?,
            None => match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            },
        };
        let (host, port) = (split.0, split.1.map(|p| p.parse::<u16>().map_err(|_| bad())).transpose()?);
        let host = host.to_ascii_lowercase();
        let host = match host.as_str() {
            "" | "*" => Host::Any,
            h if h.starts_with("*.") => Host::Subdomains(h[2..].to_owned()),
            h if h.starts_with('*') => Host::DomainAndSubdomains(h[1..].to_owned()),
            h => Host::Exact(h.to_owned()),
        };
        let scheme = (!scheme.eq_ignore_ascii_case("all")).then(|| scheme.to_ascii_lowercase());
        Ok(Pattern { scheme, host, port })
    }

    pub fn matches(&self, url: &Url) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != url.scheme()) {
            return false;
        }
        let host = url.host_str().unwrap_or("");
        let host_ok = match &self.host {
            Host::Any => true,
            Host::Exact(h) => host == h,
            Host::Subdomains(d) => host.len() > d.len() + 1 && host.ends_with(d.as_str()) && host.as_bytes()[host.len() - d.len() - 1] == b'.',
            Host::DomainAndSubdomains(d) => host == d || (host.ends_with(d.as_str()) && host.as_bytes().get(host.len().wrapping_sub(d.len() + 1)) == Some(&b'.')),
        };
        host_ok && self.port.is_none_or(|p| url.port() == Some(p))
    }

    /// httpx's order: lower sorts first.
    fn priority(&self) -> (u8, isize, isize) {
        let host_len = match &self.host {
            Host::Any => 0,
            Host::Exact(h) => h.len(),
            Host::Subdomains(d) => d.len() + 2,
            Host::DomainAndSubdomains(d) => d.len() + 1,
        };
        (u8::from(self.port.is_none()), -(host_len as isize), -(self.scheme.as_ref().map_or(0, String::len) as isize))
    }
}

/// The mounted transports, most specific first. A None transport means "the client's own".
#[derive(Debug, Clone, Default)]
pub struct Mounts(Vec<(Pattern, Option<TransportHook>)>);

impl Mounts {
    pub fn new(mut mounts: Vec<(Pattern, Option<TransportHook>)>) -> Mounts {
        mounts.sort_by_key(|(p, _)| p.priority());
        Mounts(mounts)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The transport mounted for `url`: None when no pattern matches, Some(None) when the
    /// matching mount is None (the client's own transport).
    pub fn route(&self, url: &Url) -> Option<Option<&TransportHook>> {
        self.0.iter().find(|(p, _)| p.matches(url)).map(|(_, t)| t.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, url: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(&Url::parse(url).unwrap())
    }

    #[test]
    fn patterns_match_as_httpx_documents() {
        assert!(m("all://", "https://x.example/"));
        assert!(m("http://", "http://x/") && !m("http://", "https://x/"));
        assert!(m("all://example.com", "https://example.com/a") && !m("all://example.com", "https://www.example.com/"));
        assert!(m("all://*.example.com", "https://www.example.com/") && !m("all://*.example.com", "https://example.com/"));
        assert!(m("all://*example.com", "https://example.com/") && m("all://*example.com", "http://a.b.example.com/"));
        assert!(!m("all://*example.com", "http://badexample.com/"));
        assert!(m("https://example.com:1234", "https://example.com:1234/") && !m("https://example.com:1234", "https://example.com/"));
        assert!(m("all://*", "http://anything/"));
    }

    #[test]
    fn bad_patterns_are_value_errors() {
        for bad in ["example.com", "://x", "http://x/path", "http://x:port"] {
            let e = Pattern::parse(bad).unwrap_err();
            assert!(e.message.contains("invalid mounts key"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn more_specific_patterns_win() {
        let ps = ["all://", "https://", "all://example.com", "all://example.com:8443"].map(|p| Pattern::parse(p).unwrap());
        let mut sorted = ps.to_vec();
        sorted.sort_by_key(Pattern::priority);
        assert_eq!(sorted, vec![ps[3].clone(), ps[2].clone(), ps[1].clone(), ps[0].clone()]);
    }
}
