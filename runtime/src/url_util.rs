//! URL parsing and query/form encoding with httpr's error messages.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::error::{Error, ErrorKind, Result};

/// application/x-www-form-urlencoded: everything but unreserved characters is escaped.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_form(&mut out, k);
        out.push('=');
        push_form(&mut out, v);
    }
    out
}

fn push_form(out: &mut String, s: &str) {
    for piece in utf8_percent_encode(s, FORM) {
        if piece == "%20" {
            out.push('+');
        } else {
            out.push_str(piece);
        }
    }
}

/// What `http::Uri` (and so the transport) accepts.
pub const MAX_URL: usize = 65534;

/// Parse a request URL: InvalidURL for garbage, UnsupportedProtocol for non-HTTP schemes.
/// The last few URLs parsed on this thread are remembered: programs request the same URLs
/// over and over, and parsing (IDNA host processing included) costs more than the lookup.
pub fn parse_url(raw: &str) -> Result<Url> {
    use std::cell::RefCell;
    const KEEP: usize = 8;
    thread_local!(static RECENT: RefCell<Vec<(Box<str>, Url)>> = const { RefCell::new(Vec::new()) });
    if let Some(hit) = RECENT.with(|r| r.borrow().iter().find(|(k, _)| **k == *raw).map(|(_, u)| u.clone())) {
        return Ok(hit);
    }
    let url = parse_uncached(raw)?;
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        if r.len() >= KEEP {
            r.remove(0);
        }
        r.push((raw.into(), url.clone()));
    });
    Ok(url)
}

fn parse_uncached(raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| Error::new(ErrorKind::InvalidURL, format!("invalid URL {raw:?}: {e}")))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(Error::new(
                ErrorKind::UnsupportedProtocol,
                format!("unsupported URL scheme {other:?} in {raw:?}: only http and https are supported"),
            ))
        }
    }
    if raw.len() > MAX_URL {
        return Err(Error::new(ErrorKind::InvalidURL, format!("URL is too long: {} bytes (HTTP request targets are limited to {MAX_URL})", raw.len())));
    }
    if url.host_str().map_or(true, str::is_empty) {
        return Err(Error::new(ErrorKind::InvalidURL, format!("invalid URL {raw:?}: no host")));
    }
    Ok(url)
}

/// `scheme://...`: a scheme (a letter, then letters, digits, `+`, `-`, `.`) before `://`, so
/// `/login?next=http://h/` stays relative.
fn has_scheme(raw: &str) -> bool {
    raw.split_once("://").is_some_and(|(scheme, _)| {
        scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// Resolve a request URL against `base_url` the way httpx does: an absolute URL is used as
/// is; anything else is appended to the base's path (so `/users` under `http://h/api` is
/// `http://h/api/users`, not `http://h/users` as RFC 3986 joining would give).
pub fn resolve(base: Option<&Url>, raw: &str) -> Result<Url> {
    let Some(base) = base else { return parse_url(raw) };
    if has_scheme(raw) {
        return parse_url(raw);
    }
    let mut joined = base.clone();
    let (path_part, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    let mut path = base.path().trim_end_matches('/').to_owned();
    path.push('/');
    path.push_str(path_part.trim_start_matches('/'));
    joined.set_path(&path);
    joined.set_query(query.or(if raw.is_empty() { base.query() } else { None }));
    joined.set_fragment(None);
    parse_url(joined.as_str())
}

/// Append params to the URL's query, keeping what the URL already had.
pub fn append_query(url: &mut Url, params: &[(String, String)]) {
    if params.is_empty() {
        return;
    }
    let mut q = url.query().map(str::to_owned).unwrap_or_default();
    if !q.is_empty() && !q.ends_with('&') {
        q.push('&');
    }
    q.push_str(&form_encode(params));
    url.set_query(Some(&q));
}

/// The user name and password in `url` (percent-decoded), if it has either: httpx and
/// requests send them as Basic auth when nothing else gives credentials.
pub fn credentials(url: &Url) -> Option<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let (user, password) = (url.username(), url.password().unwrap_or(""));
    (!user.is_empty() || !password.is_empty()).then(|| (decode(user), decode(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_its_path_prefix() {
        let base = Url::parse("http://h:8/api/v1?k=1").unwrap();
        let r = |u: &str| resolve(Some(&base), u).unwrap().to_string();
        assert_eq!(r("/users"), "http://h:8/api/v1/users");
        assert_eq!(r("users?x=2"), "http://h:8/api/v1/users?x=2");
        assert_eq!(r(""), "http://h:8/api/v1/?k=1");
        assert_eq!(r("https://other/x"), "https://other/x");
        assert_eq!(r("/login?next=http://h/"), "http://h:8/api/v1/login?next=http://h/");
        assert_eq!(resolve(None, "/x").unwrap_err().kind, ErrorKind::InvalidURL);
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        let pairs = vec![("a b".to_string(), "x&y=z".to_string()), ("é".into(), "".into())];
        assert_eq!(form_encode(&pairs), "a+b=x%26y%3Dz&%C3%A9=");
    }

    #[test]
    fn bad_urls_get_specific_kinds() {
        assert_eq!(parse_url("not a url").unwrap_err().kind, ErrorKind::InvalidURL);
        assert_eq!(parse_url("ftp://127.0.0.1/x").unwrap_err().kind, ErrorKind::UnsupportedProtocol);
        assert_eq!(parse_url("http://").unwrap_err().kind, ErrorKind::InvalidURL);
    }

    #[test]
    fn query_is_appended() {
        let mut u = Url::parse("http://h/p?x=1").unwrap();
        append_query(&mut u, &[("y".into(), "2".into())]);
        assert_eq!(u.as_str(), "http://h/p?x=1&y=2");
    }
}
