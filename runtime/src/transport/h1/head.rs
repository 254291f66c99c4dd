//! A response head, and what it says about its body and its connection. Every decision here
//! follows the rules of hyper's HTTP/1 client (hyper 1.x, `proto/h1/role.rs`: `Client::parse`,
//! `Client::decoder`; `headers.rs`), which the pooled path uses: the two paths must never
//! disagree on where a response ends. `differential.rs` checks that they do not.

use bytes::BytesMut;
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::chunked::Chunked;
use super::H1Error;

/// Headers a response may have before it is refused (hyper's default).
const MAX_HEADERS: usize = 100;
/// The largest response head accepted (hyper's default read-buffer limit).
pub(super) const MAX_HEAD: usize = 8192 + 4096 * 100;
/// The largest Content-Length hyper takes (`DecodedLength::MAX_LEN`).
const MAX_LENGTH: u64 = u64::MAX - 2;

/// A parsed response head.
pub(super) struct Parsed {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
}

/// Parse a complete response head off the front of `buf` (None: not all of it is here yet).
pub(super) fn parse(buf: &mut BytesMut) -> Result<Option<Parsed>, H1Error> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => return Err(H1Error::Invalid(format!("the response head is larger than {MAX_HEAD} bytes"))),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(H1Error::Invalid(format!("could not parse the response head: {e}"))),
    };
    let code = resp.code.unwrap_or_default();
    let status = StatusCode::from_u16(code).map_err(|_| H1Error::Invalid(format!("invalid status code {code}")))?;
    let version = if resp.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    // Header values become slices of the head (no copy each): note where each one lies.
    let base = buf.as_ptr() as usize;
    let mut found: Vec<(HeaderName, usize, usize)> = Vec::with_capacity(resp.headers.len());
    for h in resp.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| H1Error::Invalid(format!("invalid header name {:?}", h.name)))?;
        let start = h.value.as_ptr() as usize - base;
        found.push((name, start, start + h.value.len()));
    }
    let head = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(found.len());
    for (name, start, end) in found {
        let value = HeaderValue::from_maybe_shared(head.slice(start..end)).map_err(|_| H1Error::Invalid(format!("invalid value for header {name}")))?;
        headers.append(name, value);
    }
    // Transfer-Encoding overrides Content-Length (RFC 9112 6.3): hyper drops the length so the
    // headers a caller sees say how the body was framed; so does this path.
    if headers.contains_key(TRANSFER_ENCODING) {
        headers.remove(CONTENT_LENGTH);
    }
    Ok(Some(Parsed { status, version, headers }))
}

/// How the body's end is known.
pub(super) enum Framing {
    /// This many bytes are left.
    Length(u64),
    Chunked(Box<Chunked>),
    /// Until the server closes the connection.
    Close,
}

/// The body framing of a (final) response to `method`, as hyper's `Client::decoder` decides.
pub(super) fn framing(method: &Method, head: &Parsed) -> Result<Framing, H1Error> {
    let status = head.status;
    if status == StatusCode::SWITCHING_PROTOCOLS || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED || method == Method::HEAD {
        return Ok(Framing::Length(0));
    }
    let headers = &head.headers;
    if headers.contains_key(TRANSFER_ENCODING) {
        if head.version == Version::HTTP_10 {
            return Err(H1Error::Invalid("Transfer-Encoding in an HTTP/1.0 response".into()));
        }
        // Only the last coding of the last header counts (and only in a text value).
        let last = headers.get_all(TRANSFER_ENCODING).iter().next_back().and_then(|v| v.to_str().ok());
        let chunked = last.and_then(|s| s.rsplit(',').next()).is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        return Ok(if chunked { Framing::Chunked(Box::default()) } else { Framing::Close });
    }
    match content_length(headers) {
        Some(n) if n <= MAX_LENGTH => Ok(Framing::Length(n)),
        Some(n) => Err(H1Error::Invalid(format!("Content-Length {n} is too large"))),
        None if headers.contains_key(CONTENT_LENGTH) => {
            let values: Vec<_> = headers.get_all(CONTENT_LENGTH).iter().collect();
            Err(H1Error::Invalid(format!("invalid Content-Length {values:?}")))
        }
        None => Ok(Framing::Close),
    }
}

/// The Content-Length: every value (and every comma-separated item in one) must be digits and
/// all must agree; None if any is not, or there is none.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for item in value.to_str().ok()?.split(',') {
            let n = digits(item.trim().as_bytes())?;
            if length.is_some_and(|m| m != n) {
                return None;
            }
            length = Some(n);
        }
    }
    length
}

/// A decimal number of digits only (u64's parser would also take a sign).
fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None })
}

/// Whether the connection may carry another request after this response: HTTP/1.1 unless a
/// Connection header says `close`; HTTP/1.0 only if one says `keep-alive` (and none `close`
/// before it). A 101 hands the connection over, so never.
pub(super) fn reusable(head: &Parsed) -> bool {
    if head.status == StatusCode::SWITCHING_PROTOCOLS {
        return false;
    }
    let mut keep_alive = head.version == Version::HTTP_11;
    for value in head.headers.get_all(CONNECTION) {
        if has_token(value, "close") {
            return false;
        }
        if !keep_alive {
            keep_alive = has_token(value, "keep-alive");
        }
    }
    keep_alive
}

/// Whether a Connection header lists `close` (a request's own headers ask for it so).
pub(super) fn asks_close(headers: &HeaderMap) -> bool {
    headers.get_all(CONNECTION).iter().any(|v| has_token(v, "close"))
}

fn has_token(value: &HeaderValue, token: &str) -> bool {
    value.to_str().is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<Parsed>, H1Error> {
        parse(&mut BytesMut::from(raw))
    }

    fn with(version: Version, pairs: &[(&str, &str)]) -> Parsed {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        Parsed { status: StatusCode::OK, version, headers }
    }

    fn frame(pairs: &[(&str, &str)]) -> Result<Framing, H1Error> {
        framing(&Method::GET, &with(Version::HTTP_11, pairs))
    }

    #[test]
    fn parses_a_head_and_leaves_the_body() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nok"[..]);
        let p = parse(&mut buf).unwrap().unwrap();
        assert_eq!((p.status, p.version), (StatusCode::OK, Version::HTTP_11));
        assert_eq!(p.headers.get_all("x-a").iter().collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(&buf[..], b"ok");
        assert!(head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
        // Both framings named: the length is dropped, whichever comes first (hyper 1.13).
        for raw in [&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..], b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"] {
            let p = head(raw).unwrap().unwrap();
            assert!(!p.headers.contains_key(CONTENT_LENGTH) && p.headers.contains_key(TRANSFER_ENCODING));
        }
        assert!(matches!(head(b"SSH-2.0-OpenSSH\r\n\r\n"), Err(H1Error::Invalid(_))));
    }

    #[test]
    fn content_length_is_digits_and_agrees() {
        assert!(matches!(frame(&[("content-length", "5")]), Ok(Framing::Length(5))));
        // As hyper: a list of equal values, in one header or several, is one length.
        assert!(matches!(frame(&[("content-length", "5, 5"), ("content-length", "5")]), Ok(Framing::Length(5))));
        for bad in ["+5", "-5", "", "5 5", "0x5", "5,", "5, 6", "18446744073709551616"] {
            assert!(matches!(frame(&[("content-length", bad)]), Err(H1Error::Invalid(_))), "{bad:?}");
        }
        assert!(matches!(frame(&[("content-length", "5"), ("content-length", "6")]), Err(H1Error::Invalid(_))));
        assert!(matches!(frame(&[("content-length", "18446744073709551614")]), Err(H1Error::Invalid(_))));
    }

    #[test]
    fn framing_follows_the_method_status_and_codings() {
        let cl = with(Version::HTTP_11, &[("content-length", "5")]);
        assert!(matches!(framing(&Method::HEAD, &cl), Ok(Framing::Length(0))));
        for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED, StatusCode::SWITCHING_PROTOCOLS] {
            assert!(matches!(framing(&Method::GET, &Parsed { status, ..with(Version::HTTP_11, &[("content-length", "5")]) }), Ok(Framing::Length(0))));
        }
        assert!(matches!(frame(&[("transfer-encoding", "gzip, chunked"), ("content-length", "5")]), Ok(Framing::Chunked(_))));
        assert!(matches!(frame(&[("transfer-encoding", "chunked"), ("transfer-encoding", "identity")]), Ok(Framing::Close)));
        assert!(matches!(frame(&[("transfer-encoding", "chunked, identity")]), Ok(Framing::Close)));
        assert!(matches!(frame(&[]), Ok(Framing::Close)));
        assert!(matches!(framing(&Method::GET, &with(Version::HTTP_10, &[("transfer-encoding", "chunked")])), Err(H1Error::Invalid(_))));
    }

    #[test]
    fn reuse_follows_version_and_connection() {
        assert!(reusable(&with(Version::HTTP_11, &[])));
        assert!(!reusable(&with(Version::HTTP_11, &[("connection", "keep-alive, Close")])));
        assert!(!reusable(&with(Version::HTTP_10, &[])));
        assert!(reusable(&with(Version::HTTP_10, &[("connection", "keep-alive")])));
        assert!(!reusable(&with(Version::HTTP_10, &[("connection", "close"), ("connection", "keep-alive")])));
    }
}
