//! A lean HTTP/1.1 exchange for requests driven on the calling thread (sync clients): the
//! request goes out in one write, the response head is parsed with httparse, and the body is
//! read from the socket only as the caller asks for it (straight into the caller's buffer when
//! its length is known: `Body::read_exact`). No connection task and no channel between it and
//! the caller, which is what a request through hyper's pool costs. Connections (TCP, or TLS
//! over it: without `http2_only` ALPN offers only HTTP/1.1) are pooled per transport, i.e. per
//! thread (`client::State`).
//!
//! hyper does everything this does not (`Transport::send` decides): proxies, HTTP/2, large
//! (tracked) uploads, user-set framing headers, and requests of async clients.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::body::ReqBody;
use super::stream::Stream;
use crate::error::ErrorKind;

/// Headers a response may have before it is refused (as hyper's default).
const MAX_HEADERS: usize = 100;
/// The largest response head accepted (hyper's default read-buffer limit, which applied before).
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// The least and most a single read asks the socket for.
const READ_MIN: usize = 16 * 1024;
const READ_MAX: usize = 512 * 1024;
/// An idle connection unused for this long is checked for a close by the server before
/// reuse (one non-blocking peek); a close more recent than that could not have arrived.
const CHECK_AFTER: Duration = Duration::from_millis(1);

/// Why an exchange failed.
#[derive(Debug)]
pub enum H1Error {
    /// Writing the request failed.
    Write(std::io::Error),
    /// Reading the response failed.
    Read(std::io::Error),
    /// The connection ended before the response did (`what` names the missing part).
    Closed(&'static str),
    /// The response is not valid HTTP/1.
    Invalid(String),
}

impl H1Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            H1Error::Write(_) => ErrorKind::WriteError,
            H1Error::Read(e) if e.kind() == std::io::ErrorKind::TimedOut => ErrorKind::ReadTimeout,
            H1Error::Read(_) => ErrorKind::ReadError,
            H1Error::Closed(_) | H1Error::Invalid(_) => ErrorKind::RemoteProtocolError,
        }
    }
}

impl std::fmt::Display for H1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            H1Error::Write(_) => f.write_str("error writing the request"),
            H1Error::Read(_) => f.write_str("error reading the response"),
            H1Error::Closed(what) => write!(f, "connection closed before {what} (unexpected end of file)"),
            H1Error::Invalid(why) => write!(f, "invalid HTTP response: {why}"),
        }
    }
}

impl std::error::Error for H1Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            H1Error::Write(e) | H1Error::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether `req` can take this path (the caller has already excluded proxies).
pub fn eligible(req: &Request<ReqBody>) -> bool {
    let h = req.headers();
    matches!(req.uri().scheme_str(), Some("http" | "https"))
        && !req.body().is_tracked()
        && req.method() != Method::CONNECT
        && !h.contains_key(TRANSFER_ENCODING)
        // A caller's own Content-Length: hyper checks it against the body.
        && !h.contains_key(CONTENT_LENGTH)
        && !h.contains_key(EXPECT)
        && !h.contains_key(UPGRADE)
}

/// A connection and its read buffer (bytes received but not yet consumed).
struct Conn {
    io: Stream,
    buf: BytesMut,
    host: Box<str>,
    port: u16,
    /// The thread whose runtime the socket is registered with: only that thread may use it
    /// again (a sync stream's body may be finished, and the connection returned, elsewhere).
    owner: ThreadId,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// The idle connections of one transport, newest last.
pub struct Pool {
    idle: Mutex<Vec<Idle>>,
    max_per_host: usize,
    idle_timeout: Option<Duration>,
}

impl Pool {
    pub fn new(max_per_host: Option<usize>, idle_timeout: Option<Duration>) -> Self {
        Pool { idle: Mutex::new(Vec::new()), max_per_host: max_per_host.unwrap_or(usize::MAX), idle_timeout }
    }

    fn checkout(&self, tls: bool, host: &str, port: u16) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let me = std::thread::current().id();
        // A transport is per thread, but the slot of a thread that has exited is handed to
        // the next new thread (`thread_local`): the old thread's connections (its runtime is
        // gone) are dropped here.
        idle.retain(|c| c.conn.owner == me);
        while let Some(i) = idle.iter().rposition(|c| c.conn.same_origin(tls, host, port)) {
            let c = idle.remove(i);
            let quiet = c.since.elapsed();
            if self.idle_timeout.is_some_and(|t| quiet >= t) {
                continue;
            }
            if quiet >= CHECK_AFTER && !still_open(tcp_of(&c.conn.io)) {
                continue;
            }
            return Some(c.conn);
        }
        None
    }

    fn checkin(&self, mut conn: Conn) {
        if self.max_per_host == 0 {
            return;
        }
        // Empty (`finish` checks in only then); its memory is reused once the last response's
        // chunks are gone.
        conn.buf.clear();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let same = |c: &&Idle| c.conn.same_origin(conn.is_tls(), &conn.host, conn.port);
        if idle.iter().filter(same).count() >= self.max_per_host {
            if let Some(oldest) = idle.iter().position(|c| same(&c)) {
                idle.remove(oldest);
            }
        }
        idle.push(Idle { conn, since: Instant::now() });
    }
}

impl Conn {
    /// https (no proxy is involved on this path, so TLS means the origin's).
    fn is_tls(&self) -> bool {
        matches!(self.io, Stream::Tls(_))
    }

    fn same_origin(&self, tls: bool, host: &str, port: u16) -> bool {
        self.port == port && self.is_tls() == tls && &*self.host == host
    }
}

/// The TCP stream under a connection (under however many TLS layers).
fn tcp_of(io: &Stream) -> &TcpStream {
    match io {
        Stream::Tcp(t) => t,
        Stream::Tls(s) => tcp_of(s.get_ref().0),
    }
}

/// An idle connection is usable if reading it would block: no close (EOF), no stray bytes and
/// no TLS record (a close_notify) from the server are waiting. Asks the socket itself: tokio's readiness flags are only
/// refreshed while the runtime runs, and between two sync requests it does not.
#[cfg(unix)]
fn still_open(tcp: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: a one-byte peek into a local, on a socket `tcp` keeps open.
    let n = unsafe { libc::recv(tcp.as_raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
}

#[cfg(not(unix))]
fn still_open(tcp: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    let mut buf = tokio::io::ReadBuf::new(&mut byte);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    tcp.poll_peek(&mut cx, &mut buf).is_pending()
}

/// A response whose head has arrived.
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Body,
}

/// Send `req` over a pooled (or new) connection; resolves when the response head has arrived.
/// `connect` makes a new connection (the transport's connector, with its timeout).
pub async fn send<F, Fut>(pool: &Arc<Pool>, req: Request<ReqBody>, connect: F) -> Result<Head, super::SendError>
where
    F: Fn(Uri) -> Fut,
    Fut: std::future::Future<Output = Result<Stream, super::ConnectFailure>>,
{
    let (parts, body) = req.into_parts();
    let host = parts.uri.host().unwrap_or_default();
    let port = crate::proxy::port_of(&parts.uri);
    let tls = parts.uri.scheme_str() == Some("https");
    let wire = encode(&parts, body);
    let close = asks_close(&parts.headers);
    let idempotent = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE);
    loop {
        let (mut conn, reused) = match pool.checkout(tls, host, port) {
            Some(c) => (c, true),
            None => {
                let io = connect(parts.uri.clone()).await.map_err(super::SendError::Connect)?;
                (Conn { io, buf: BytesMut::new(), host: host.into(), port, owner: std::thread::current().id() }, false)
            }
        };
        match exchange(&mut conn, &wire, &parts.method).await {
            Ok((status, version, headers)) => {
                let framing = framing(&parts.method, status, &headers)?;
                let keep_alive = !close && version == Version::HTTP_11 && !asks_close(&headers) && !matches!(framing, Framing::Close);
                let body = Body { conn: Some(conn), framing, keep_alive, pool: pool.clone() };
                return Ok(Head { status, version, headers, body });
            }
            // A pooled connection the server closed just before (or as) the request went out:
            // nothing was received, so an idempotent request is sent again on a new one.
            Err(Failure { error, answered: false }) if reused && idempotent => drop(error),
            Err(Failure { error, .. }) => return Err(super::SendError::H1(error)),
        }
    }
}

struct Failure {
    error: H1Error,
    /// Whether any byte of a response had arrived.
    answered: bool,
}

impl From<H1Error> for super::SendError {
    fn from(e: H1Error) -> Self {
        super::SendError::H1(e)
    }
}

/// Write the request and read the response head (skipping 1xx interim responses).
async fn exchange(conn: &mut Conn, wire: &[u8], method: &Method) -> Result<(StatusCode, Version, HeaderMap), Failure> {
    let unanswered = |error| Failure { error, answered: false };
    // (A flush is needed for TLS, whose writes may stay buffered; for TCP it does nothing.)
    let sent = async {
        conn.io.write_all(wire).await?;
        conn.io.flush().await
    };
    sent.await.map_err(|e| unanswered(H1Error::Write(e)))?;
    let mut answered = false;
    loop {
        if !conn.buf.is_empty() {
            answered = true;
            match parse_head(&mut conn.buf).map_err(|error| Failure { error, answered })? {
                Some((status, _, _)) if status.is_informational() => {
                    if status == StatusCode::SWITCHING_PROTOCOLS {
                        return Err(Failure { error: H1Error::Invalid(format!("unexpected {status} to {method}")), answered });
                    }
                    continue;
                }
                Some(head) => return Ok(head),
                None => {}
            }
        }
        let n = fill(conn, READ_MIN).await.map_err(|e| Failure { error: H1Error::Read(e), answered })?;
        if n == 0 {
            return Err(Failure { error: H1Error::Closed(if answered { "the response head was complete" } else { "a response arrived" }), answered });
        }
    }
}

/// Read once from the socket into the connection's buffer, asking for about `want` bytes.
async fn fill(conn: &mut Conn, want: usize) -> std::io::Result<usize> {
    conn.buf.reserve(want.clamp(READ_MIN, READ_MAX));
    conn.io.read_buf(&mut conn.buf).await
}

/// The request line and headers in wire form, the (small) body after them.
fn encode(parts: &http::request::Parts, body: ReqBody) -> Vec<u8> {
    let body = match body {
        ReqBody::Full(Some(b)) => b,
        _ => Bytes::new(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(HOST) {
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(parts.uri.host().unwrap_or_default().as_bytes());
        let default = if parts.uri.scheme_str() == Some("https") { 443 } else { 80 };
        if let Some(port) = parts.uri.port_u16().filter(|p| *p != default) {
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(port).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // As hyper: an empty body goes without a length (a caller's own takes the hyper path).
    if !body.is_empty() {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    out
}

/// Parse a complete response head off the front of `buf` (None: not all of it is here yet).
fn parse_head(buf: &mut BytesMut) -> Result<Option<(StatusCode, Version, HeaderMap)>, H1Error> {
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
    Ok(Some((status, version, headers)))
}

/// Whether a Connection header lists `close`.
fn asks_close(headers: &HeaderMap) -> bool {
    headers.get_all(CONNECTION).iter().any(|v| v.as_bytes().split(|b| *b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close")))
}

/// How the body's end is known.
enum Framing {
    /// This many bytes are left.
    Length(u64),
    Chunked(Chunk),
    /// Until the server closes the connection.
    Close,
}

/// Where a chunked body's reader is.
enum Chunk {
    Size,
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    Trailers,
}

fn framing(method: &Method, status: StatusCode, headers: &HeaderMap) -> Result<Framing, H1Error> {
    if method == Method::HEAD || status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok(Framing::Length(0));
    }
    if let Some(last) = headers.get_all(TRANSFER_ENCODING).iter().next_back() {
        let chunked = last.as_bytes().rsplit(|b| *b == b',').next().is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked { Framing::Chunked(Chunk::Size) } else { Framing::Close });
    }
    let mut length = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        // Digits only (u64's parser would also take a sign).
        let digits = v.as_bytes().trim_ascii();
        let n = if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) { std::str::from_utf8(digits).ok().and_then(|s| s.parse::<u64>().ok()) } else { None };
        match (n, length) {
            (Some(n), None) => length = Some(n),
            (Some(n), Some(m)) if n == m => {}
            _ => return Err(H1Error::Invalid(format!("invalid Content-Length {v:?}"))),
        }
    }
    Ok(length.map_or(Framing::Close, Framing::Length))
}

/// A response body still (partly) on the wire. Dropped before its end, the connection closes.
pub struct Body {
    conn: Option<Conn>,
    framing: Framing,
    keep_alive: bool,
    pool: Arc<Pool>,
}

impl Body {
    /// The number of bytes left, when the server said (Content-Length).
    pub fn remaining(&self) -> Option<u64> {
        match (&self.conn, &self.framing) {
            (None, _) => Some(0),
            (Some(_), Framing::Length(n)) => Some(*n),
            _ => None,
        }
    }

    /// The next piece of the body, or None at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, H1Error> {
        loop {
            let Some(conn) = self.conn.as_mut() else { return Ok(None) };
            let step = match &mut self.framing {
                Framing::Length(0) => None,
                Framing::Length(n) => Some(take_counted(conn, n).await?),
                Framing::Close => {
                    if conn.buf.is_empty() && fill(conn, READ_MAX).await.map_err(H1Error::Read)? == 0 {
                        // The end of the body; the connection is done with.
                        self.conn = None;
                        return Ok(None);
                    }
                    Some(conn.buf.split().freeze())
                }
                Framing::Chunked(state) => match chunked_step(conn, state).await? {
                    Step::Data(b) => Some(b),
                    Step::More => continue,
                    Step::End => None,
                },
            };
            match step {
                Some(b) => return Ok(Some(b)),
                None => {
                    self.finish();
                    return Ok(None);
                }
            }
        }
    }

    /// Read the rest of the body into `dst`, which must be exactly `remaining()` long. Each
    /// wait for the socket is bounded by `wait` (the read timeout).
    pub async fn read_exact(&mut self, dst: &mut [u8], wait: Option<Duration>) -> Result<(), H1Error> {
        debug_assert_eq!(self.remaining(), Some(dst.len() as u64));
        if let Some(conn) = self.conn.as_mut() {
            let have = conn.buf.len().min(dst.len());
            dst[..have].copy_from_slice(&conn.buf[..have]);
            conn.buf.advance(have);
            let mut at = have;
            while at < dst.len() {
                let read = conn.io.read(&mut dst[at..]);
                let n = match wait {
                    Some(w) => tokio::time::timeout(w, read).await.map_err(|_| H1Error::Read(std::io::ErrorKind::TimedOut.into()))?,
                    None => read.await,
                }
                .map_err(H1Error::Read)?;
                if n == 0 {
                    return Err(H1Error::Closed("the end of the body"));
                }
                at += n;
            }
            self.framing = Framing::Length(0);
        }
        self.finish();
        Ok(())
    }

    /// The body has ended: the connection goes back to the pool if it can be used again.
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Bytes past the end of the response are a server error; do not reuse that stream.
            if self.keep_alive && conn.buf.is_empty() {
                self.pool.checkin(conn);
            }
        }
    }
}

/// Read more of a body that has not ended yet: the connection closing now cuts it short.
async fn more_body(conn: &mut Conn, want: usize) -> Result<(), H1Error> {
    match fill(conn, want).await.map_err(H1Error::Read)? {
        0 => Err(H1Error::Closed("the end of the body")),
        _ => Ok(()),
    }
}

/// Up to `left` (> 0) bytes of body: what is buffered, else one read's worth; `left` is
/// counted down.
async fn take_counted(conn: &mut Conn, left: &mut u64) -> Result<Bytes, H1Error> {
    let want = usize::try_from(*left).unwrap_or(usize::MAX);
    if conn.buf.is_empty() {
        more_body(conn, want).await?;
    }
    let take = conn.buf.len().min(want);
    *left -= take as u64;
    Ok(conn.buf.split_to(take).freeze())
}

enum Step {
    Data(Bytes),
    /// Progress was made without data (a size line, a CRLF, a trailer): go on.
    More,
    End,
}

/// One step of reading a chunked body.
async fn chunked_step(conn: &mut Conn, state: &mut Chunk) -> Result<Step, H1Error> {
    match state {
        Chunk::Data(n) => {
            let data = take_counted(conn, n).await?;
            if *n == 0 {
                *state = Chunk::DataEnd;
            }
            Ok(Step::Data(data))
        }
        Chunk::DataEnd => {
            while conn.buf.len() < 2 {
                more_body(conn, READ_MIN).await?;
            }
            if &conn.buf[..2] != b"\r\n" {
                return Err(H1Error::Invalid("a chunk is not followed by CRLF".into()));
            }
            conn.buf.advance(2);
            *state = Chunk::Size;
            Ok(Step::More)
        }
        Chunk::Size | Chunk::Trailers => {
            let line = loop {
                if let Some(i) = conn.buf.windows(2).position(|w| w == b"\r\n") {
                    let line = conn.buf.split_to(i + 2);
                    break line;
                }
                if conn.buf.len() > 8 * 1024 {
                    return Err(H1Error::Invalid("a chunk size or trailer line is too long".into()));
                }
                more_body(conn, READ_MIN).await?;
            };
            let line = &line[..line.len() - 2];
            if matches!(state, Chunk::Trailers) {
                return Ok(if line.is_empty() { Step::End } else { Step::More });
            }
            let size = line.split(|b| *b == b';').next().unwrap_or_default().trim_ascii();
            let size = std::str::from_utf8(size).ok().and_then(|s| u64::from_str_radix(s, 16).ok()).ok_or_else(|| H1Error::Invalid(format!("invalid chunk size {:?}", String::from_utf8_lossy(line))))?;
            *state = if size == 0 { Chunk::Trailers } else { Chunk::Data(size) };
            Ok(Step::More)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<(StatusCode, Version, HeaderMap)>, H1Error> {
        parse_head(&mut BytesMut::from(raw))
    }

    #[test]
    fn parses_a_head_and_leaves_the_body() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nok"[..]);
        let (status, version, headers) = parse_head(&mut buf).unwrap().unwrap();
        assert_eq!((status, version), (StatusCode::OK, Version::HTTP_11));
        assert_eq!(headers.get_all("x-a").iter().collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(&buf[..], b"ok");
        assert!(head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
        assert!(matches!(head(b"SSH-2.0-OpenSSH\r\n\r\n"), Err(H1Error::Invalid(_))));
    }

    #[test]
    fn framing_follows_the_headers_and_the_method() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert!(matches!(framing(&Method::GET, StatusCode::OK, &h), Ok(Framing::Length(5))));
        assert!(matches!(framing(&Method::HEAD, StatusCode::OK, &h), Ok(Framing::Length(0))));
        assert!(matches!(framing(&Method::GET, StatusCode::NOT_MODIFIED, &h), Ok(Framing::Length(0))));
        h.append(CONTENT_LENGTH, HeaderValue::from_static("6"));
        assert!(matches!(framing(&Method::GET, StatusCode::OK, &h), Err(H1Error::Invalid(_))));
        for bad in ["+5", "-5", "", "5 5", "0x5"] {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_LENGTH, HeaderValue::from_str(bad).unwrap());
            assert!(matches!(framing(&Method::GET, StatusCode::OK, &h), Err(H1Error::Invalid(_))), "{bad:?}");
        }
        h.insert(TRANSFER_ENCODING, HeaderValue::from_static("gzip, chunked"));
        assert!(matches!(framing(&Method::GET, StatusCode::OK, &h), Ok(Framing::Chunked(_))));
        assert!(matches!(framing(&Method::GET, StatusCode::OK, &HeaderMap::new()), Ok(Framing::Close)));
    }

    #[test]
    fn encodes_host_length_and_body() {
        let req = Request::post("http://example.com:8080/a?b=1").header("x-y", "z").body(ReqBody::Full(Some(Bytes::from_static(b"hi")))).unwrap();
        let (parts, body) = req.into_parts();
        let wire = String::from_utf8(encode(&parts, body)).unwrap();
        assert_eq!(wire, "POST /a?b=1 HTTP/1.1\r\nhost: example.com:8080\r\nx-y: z\r\ncontent-length: 2\r\n\r\nhi");
        let (parts, body) = Request::get("http://example.com/").body(ReqBody::Empty).unwrap().into_parts();
        assert_eq!(String::from_utf8(encode(&parts, body)).unwrap(), "GET / HTTP/1.1\r\nhost: example.com\r\n\r\n");
    }
}
