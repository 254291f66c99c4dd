//! Per-request options (already converted from Python) and how they merge over the client's
//! defaults into one prepared request.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method};
use url::Url;

use crate::body::Body;
use crate::config::{self, ClientSettings};
use crate::cookies;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::timeout::Timeouts;
use crate::url_util;

/// A value the caller may leave out (inherit the client's) or set, including to None.
#[derive(Debug, Clone, Copy, Default)]
pub enum Maybe<T> {
    #[default]
    Unset,
    Set(T),
}

impl<T> Maybe<T> {
    pub fn or(self, fallback: T) -> T {
        match self {
            Maybe::Unset => fallback,
            Maybe::Set(v) => v,
        }
    }

    pub fn or_else(self, fallback: impl FnOnce() -> T) -> T {
        match self {
            Maybe::Unset => fallback(),
            Maybe::Set(v) => v,
        }
    }
}

/// A JSON-ish request body already serialised by the conversion layer.
#[derive(Debug, Clone)]
pub struct JsonBody {
    pub json: Bytes,
    /// The same value as CBOR, produced only when the request asks for CBOR.
    pub cbor: Option<Bytes>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    pub params: Option<Vec<(String, String)>>,
    pub headers: Option<Vec<(String, String)>>,
    pub cookies: Option<Vec<(String, String)>>,
    pub auth: Option<(String, Option<String>)>,
    pub auth_bearer: Option<String>,
    pub timeout: Maybe<Timeouts>,
    pub retry: Maybe<Option<Arc<RetryPolicy>>>,
    pub content: Option<Body>,
    pub data: Option<Vec<(String, String)>>,
    pub json: Option<JsonBody>,
    pub files: Option<Vec<crate::body::FilePart>>,
    /// httpx's per-request `follow_redirects=` (requests' `allow_redirects=`); None: the client's.
    pub follow_redirects: Option<bool>,
    /// An auth flow runs this request: it brings its own credentials, so no `.netrc` ones.
    pub auth_flow: bool,
}

/// Everything needed to send (and resend on redirect) one request.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// Cookies given explicitly (client defaults + this request), sent to the first origin.
    pub explicit_cookies: Vec<(String, String)>,
    pub body: Option<Body>,
    pub timeout: Timeouts,
    pub retry: Option<Arc<RetryPolicy>>,
    pub follow_redirects: bool,
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

pub fn parse_method(m: &str) -> Result<Method> {
    let upper = m.to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(Error::value(format!("Unsupported HTTP method: {m:?} (expected one of {})", METHODS.join(", "))));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| Error::value(format!("Unsupported HTTP method: {m:?}")))
}

pub fn basic_auth(user: &str, password: Option<&str>) -> String {
    use base64::Engine;
    let raw = format!("{user}:{}", password.unwrap_or(""));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
}

fn merge_pairs(base: &[(String, String)], over: &[(String, String)]) -> Vec<(String, String)> {
    // Request values replace the client's for the same key; repeated keys within one source
    // (list values) are kept.
    let mut out: Vec<(String, String)> = base.iter().filter(|(k, _)| !over.iter().any(|(o, _)| o == k)).cloned().collect();
    out.extend(over.iter().cloned());
    out
}

pub fn prepare(settings: &ClientSettings, method: &str, url: &str, opts: RequestOptions) -> Result<Prepared> {
    let method = parse_method(method)?;
    // The request's own URL: an InvalidURL that is also a RequestError (as 0.7.8 raised).
    let as_request_url = |mut e: Error| {
        if e.kind == crate::ErrorKind::InvalidURL {
            e.kind = crate::ErrorKind::InvalidRequestURL;
        }
        e
    };
    let mut url = url_util::resolve(settings.base_url.as_ref(), url).map_err(as_request_url)?;
    if settings.https_only && url.scheme() != "https" {
        return Err(Error::new(crate::ErrorKind::UnsupportedProtocol, format!("https_only is set: refusing to send {method} {url} over plain HTTP")));
    }

    let params = match &opts.params {
        Some(p) => merge_pairs(&settings.params, p),
        None => settings.params.clone(),
    };
    url_util::append_query(&mut url, &params);
    if url.as_str().len() > url_util::MAX_URL {
        return Err(Error::new(crate::ErrorKind::InvalidRequestURL, format!("URL is too long once the params are added: {} bytes (the limit is {})", url.as_str().len(), url_util::MAX_URL)));
    }

    let mut headers = settings.headers.read().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(h) = &opts.headers {
        // A request header replaces the client's of that name; repeating a name in the
        // request's own list sends each value (as httpx does).
        // (Request header lists are short: looking back costs less than a set.)
        for (i, (k, v)) in h.iter().enumerate() {
            let name = config::header_name(k)?;
            let value = config::header_value(k, v)?;
            if h[..i].iter().any(|(earlier, _)| earlier.eq_ignore_ascii_case(k)) {
                headers.append(name, value);
            } else {
                headers.insert(name, value);
            }
        }
    }

    if !headers.contains_key(AUTHORIZATION) {
        let auth = if let Some(token) = &opts.auth_bearer {
            Some(format!("Bearer {token}"))
        } else if let Some((u, p)) = &opts.auth {
            Some(basic_auth(u, p.as_deref()))
        } else if let Some(token) = &settings.auth_bearer {
            Some(format!("Bearer {token}"))
        } else if let Some((u, p)) = &settings.auth {
            Some(basic_auth(u, p.as_deref()))
        } else if let Some((u, p)) = url_util::credentials(&url).filter(|_| !opts.auth_flow) {
            // `http://user:pass@host/` (httpx, requests and httpr 0.7.8 send them).
            Some(basic_auth(&u, Some(&p)))
        } else {
            // trust_env's `.netrc`, as requests: only when nothing else gave credentials.
            settings.netrc.as_ref().filter(|_| !opts.auth_flow).zip(url.host_str()).and_then(|(n, host)| n.lookup(host)).map(|(u, p)| basic_auth(&u, Some(&p)))
        };
        if let Some(a) = auth {
            headers.insert(AUTHORIZATION, config::header_value("Authorization", &a)?);
        }
    }

    let explicit_cookies = cookies::merge(&[&settings.cookies, opts.cookies.as_deref().unwrap_or(&[])]);
    for (name, value) in &explicit_cookies {
        cookies::validate(name, value)?;
    }
    // Validate now so a bad cookie fails before anything is sent.
    if !explicit_cookies.is_empty() {
        config::header_value("Cookie", &cookies::header_value(&explicit_cookies))?;
    }

    let body = build_body(&headers, opts.content, opts.data, opts.json, opts.files)?;
    if let Some(Body { content_type: Some(ct), .. }) = &body {
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).map_err(|_| Error::value("invalid content type"))?);
        }
    }

    let timeout = opts.timeout.or(settings.timeout);
    let retry = opts.retry.or_else(|| settings.retry.clone());
    let follow_redirects = opts.follow_redirects.unwrap_or(settings.follow_redirects);
    Ok(Prepared { method, url, headers, explicit_cookies, body, timeout, retry, follow_redirects })
}

fn wants_cbor(headers: &HeaderMap) -> bool {
    headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/cbor"))
}

fn build_body(
    headers: &HeaderMap,
    content: Option<Body>,
    data: Option<Vec<(String, String)>>,
    json: Option<JsonBody>,
    files: Option<Vec<crate::body::FilePart>>,
) -> Result<Option<Body>> {
    let given = [content.is_some(), data.is_some(), json.is_some(), files.is_some()];
    let count = given.iter().filter(|g| **g).count();
    if count > 1 && !(count == 2 && data.is_some() && files.is_some()) {
        return Err(Error::value("pass only one of content, data, json or files (data may be combined with files)"));
    }
    Ok(if let Some(f) = files {
        Some(Body::multipart(data.as_deref().unwrap_or(&[]), &f)?)
    } else if let Some(d) = data {
        Some(Body::form(&d))
    } else if let Some(j) = json {
        Some(match (wants_cbor(headers), j.cbor) {
            (true, Some(cbor)) => Body::typed(cbor, "application/cbor"),
            _ => Body::typed(j.json, "application/json"),
        })
    } else {
        content
    })
}

/// Whether the conversion layer must also produce CBOR for a `json=` body.
pub fn request_wants_cbor(settings: &ClientSettings, headers: Option<&[(String, String)]>) -> bool {
    let in_request = headers.is_some_and(|h| h.iter().any(|(k, v)| k.eq_ignore_ascii_case("accept") && v.contains("application/cbor")));
    in_request || wants_cbor(&settings.headers.read().unwrap_or_else(|p| p.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_params_replace_client_params() {
        let s = ClientSettings { params: vec![("a".into(), "1".into()), ("b".into(), "2".into())], ..Default::default() };
        let p = prepare(&s, "get", "http://h/x", RequestOptions { params: Some(vec![("b".into(), "3".into())]), ..Default::default() }).unwrap();
        assert_eq!(p.url.as_str(), "http://h/x?a=1&b=3");
        assert_eq!(p.method, Method::GET);
    }

    #[test]
    fn unknown_method_is_rejected() {
        let err = prepare(&ClientSettings::default(), "BREW", "http://h/", RequestOptions::default()).unwrap_err();
        assert!(err.message.contains("Unsupported HTTP method"));
    }

    #[test]
    fn request_bearer_overrides_client_basic() {
        let s = ClientSettings { auth: Some(("u".into(), None)), ..Default::default() };
        let p = prepare(&s, "GET", "http://h/", RequestOptions { auth_bearer: Some("t".into()), ..Default::default() }).unwrap();
        assert_eq!(p.headers[AUTHORIZATION], "Bearer t");
        let p = prepare(&s, "GET", "http://h/", RequestOptions::default()).unwrap();
        assert_eq!(p.headers[AUTHORIZATION], "Basic dTo=");
    }

    #[test]
    fn url_credentials_are_basic_auth_unless_auth_is_given() {
        let p = prepare(&ClientSettings::default(), "GET", "http://us%40er:p%3Ass@h/", RequestOptions::default()).unwrap();
        assert_eq!(p.headers[AUTHORIZATION], basic_auth("us@er", Some("p:ss")));
        let p = prepare(&ClientSettings::default(), "GET", "http://u:pw@h/", RequestOptions { auth: Some(("other".into(), None)), ..Default::default() }).unwrap();
        assert_eq!(p.headers[AUTHORIZATION], basic_auth("other", None));
        let p = prepare(&ClientSettings::default(), "GET", "http://h/", RequestOptions::default()).unwrap();
        assert!(!p.headers.contains_key(AUTHORIZATION));
    }

    #[test]
    fn two_bodies_are_rejected() {
        let opts = RequestOptions { content: Some(Body::raw(Bytes::from_static(b"x"))), data: Some(vec![]), ..Default::default() };
        assert!(prepare(&ClientSettings::default(), "POST", "http://h/", opts).is_err());
    }
}
