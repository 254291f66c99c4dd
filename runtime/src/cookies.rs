//! The client's persistent cookie jar (cookie_store: domain/path/expiry/secure rules) and
//! Cookie/Set-Cookie helpers.

use std::sync::Mutex;

use cookie_store::CookieStore;
use http::HeaderMap;
use url::Url;

#[derive(Debug, Default)]
pub struct Jar {
    store: Mutex<CookieStore>,
}

impl Jar {
    pub fn store_response(&self, headers: &HeaderMap, url: &Url) {
        if !headers.contains_key(http::header::SET_COOKIE) {
            return;
        }
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        for value in headers.get_all(http::header::SET_COOKIE) {
            if let Ok(s) = value.to_str() {
                let _ = store.parse(s, url);
            }
        }
    }

    /// (name, value) pairs the jar would send to `url`.
    pub fn matching(&self, url: &Url) -> Vec<(String, String)> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        // Most jars are empty: skip the domain and path matching.
        if store.iter_any().next().is_none() {
            return Vec::new();
        }
        store.get_request_values(url).map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
    }

    /// Every unexpired cookie, whatever its domain.
    pub fn all(&self) -> Vec<(String, String)> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.iter_unexpired().map(|c| (c.name().to_owned(), c.value().to_owned())).collect()
    }

    /// Store cookies by `(name, value, domain, path)` (an `httpr.Cookies` jar's records), to be
    /// sent where that domain and path match, as if the domain had set them.
    pub fn seed(&self, records: &[(String, String, String, String)]) {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        for (name, value, domain, path) in records {
            let host = domain.trim_start_matches('.');
            let Ok(url) = Url::parse(&format!("http://{host}/")) else { continue };
            let path = if path.is_empty() { "/" } else { path.as_str() };
            let _ = store.parse(&format!("{name}={value}; Domain={host}; Path={path}"), &url);
        }
    }

    pub fn clear(&self) {
        self.store.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Merge cookie lists; later lists win on the same name, first-seen order is kept.
pub fn merge(lists: &[&[(String, String)]]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for list in lists {
        for (k, v) in list.iter() {
            match out.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((k.clone(), v.clone())),
            }
        }
    }
    out
}

/// Reject a cookie that would smuggle another one into the header (`;`), or break its
/// `name=value` shape (`=` in the name), or the header itself (control characters).
pub fn validate(name: &str, value: &str) -> crate::error::Result<()> {
    let bad_name = name.is_empty() || name.chars().any(|c| c == '=' || c == ';' || c == ',' || c.is_whitespace() || c.is_control());
    let bad_value = value.chars().any(|c| c == ';' || c.is_control());
    if bad_name || bad_value {
        return Err(crate::error::Error::value(format!(
            "invalid cookie {name:?}={value:?}: names cannot contain '=', ';', ',' or spaces, and values cannot contain ';' or control characters"
        )));
    }
    Ok(())
}

/// The Cookie header value: `a=1; b=2`.
/// The pairs of a `Cookie` header value (`a=1; b=2`); parts without `=` are skipped.
pub fn parse_header(value: &str) -> Vec<(String, String)> {
    value.split(';').filter_map(|part| part.trim().split_once('=')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect()
}

pub fn header_value(cookies: &[(String, String)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in cookies.iter().enumerate() {
        if i > 0 {
            s.push_str("; ");
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

/// name -> value from a response's Set-Cookie headers.
pub fn from_set_cookie(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|s| cookie::Cookie::parse(s).ok())
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_lists_win() {
        let a = vec![("x".to_string(), "1".to_string()), ("y".into(), "2".into())];
        let b = vec![("x".to_string(), "3".to_string())];
        assert_eq!(header_value(&merge(&[&a, &b])), "x=3; y=2");
    }

    #[test]
    fn cookie_injection_is_rejected() {
        assert!(validate("a", "1; admin=1").is_err());
        assert!(validate("a=b", "1").is_err());
        assert!(validate("session", "abc123").is_ok());
    }

    #[test]
    fn jar_respects_domain() {
        let jar = Jar::default();
        let mut h = HeaderMap::new();
        h.append(http::header::SET_COOKIE, "s=1; Path=/".parse().unwrap());
        jar.store_response(&h, &Url::parse("http://127.0.0.1:1/a").unwrap());
        assert_eq!(jar.matching(&Url::parse("http://127.0.0.1:1/b").unwrap()), vec![("s".into(), "1".into())]);
        assert!(jar.matching(&Url::parse("http://127.0.0.2:1/b").unwrap()).is_empty());
    }
}
