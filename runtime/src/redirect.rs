//! Redirect policy, applied hop by hop by the client (not inside the transport) so that cookies,
//! credentials and Referer are decided per hop with httpr's rules.

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION, REFERER};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::request::Prepared;

pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// The request for the next hop, or None when `status`/`headers` are not a followable redirect.
pub fn next_hop(prev: &Prepared, status: StatusCode, headers: &HeaderMap, referer: bool) -> Result<Option<Prepared>> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = headers.get(LOCATION) else { return Ok(None) };
    let location = location.to_str().map_err(|_| {
        Error::new(ErrorKind::RemoteProtocolError, format!("redirect from {} has a non-ASCII Location header", prev.url))
    })?;
    let mut url = prev.url.join(location).map_err(|e| {
        Error::new(ErrorKind::RemoteProtocolError, format!("redirect from {} to invalid location {location:?}: {e}", prev.url))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::new(ErrorKind::UnsupportedProtocol, format!("redirect from {} to unsupported URL {url}", prev.url)));
    }
    if url.fragment().is_none() {
        url.set_fragment(prev.url.fragment());
    }

    let mut next = prev.clone();
    // 303 always becomes GET; 301/302 turn POST into GET as browsers do; 307/308 keep both.
    let to_get = match status.as_u16() {
        303 => prev.method != Method::HEAD,
        301 | 302 => prev.method == Method::POST,
        _ => false,
    };
    if to_get {
        next.method = Method::GET;
        next.body = None;
        next.headers.remove(CONTENT_TYPE);
        next.headers.remove(CONTENT_LENGTH);
    }
    if !same_origin(&prev.url, &url) {
        // Credentials never follow a redirect to another origin.
        next.headers.remove(AUTHORIZATION);
        next.headers.remove(COOKIE);
        next.explicit_cookies.clear();
    }
    next.headers.remove(REFERER);
    if referer && !(prev.url.scheme() == "https" && url.scheme() == "http") {
        let mut r = prev.url.clone();
        let _ = r.set_username("");
        let _ = r.set_password(None);
        r.set_fragment(None);
        if let Ok(v) = HeaderValue::from_str(r.as_str()) {
            next.headers.insert(REFERER, v);
        }
    }
    next.url = url;
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientSettings;
    use crate::request::{prepare, RequestOptions};

    fn redirect(status: u16, method: &str, from: &str, to: &str) -> Prepared {
        let mut opts = RequestOptions::default();
        opts.auth_bearer = Some("secret".into());
        opts.content = Some(crate::body::Body::raw(bytes::Bytes::from_static(b"body")));
        let p = prepare(&ClientSettings::default(), method, from, opts).unwrap();
        let mut h = HeaderMap::new();
        h.insert(LOCATION, to.parse().unwrap());
        next_hop(&p, StatusCode::from_u16(status).unwrap(), &h, true).unwrap().unwrap()
    }

    #[test]
    fn post_becomes_get_on_302_but_not_307() {
        let n = redirect(302, "POST", "http://a/x", "/y");
        assert_eq!((n.method, n.body.is_none(), n.url.as_str()), (Method::GET, true, "http://a/y"));
        let n = redirect(307, "POST", "http://a/x", "/y");
        assert_eq!((n.method, n.body.is_some()), (Method::POST, true));
    }

    #[test]
    fn credentials_are_dropped_across_origins() {
        assert!(redirect(302, "GET", "http://a/x", "http://b/y").headers.get(AUTHORIZATION).is_none());
        assert!(redirect(302, "GET", "http://a/x", "http://a/y").headers.get(AUTHORIZATION).is_some());
    }

    #[test]
    fn referer_is_set_without_credentials() {
        let n = redirect(302, "GET", "http://u:p@a/x#f", "/y");
        assert_eq!(n.headers[REFERER], "http://a/x");
    }
}
