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

mod chunked;
#[cfg(any(test, feature = "fuzzing"))]
pub mod differential;
mod head;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::body::ReqBody;
use super::stream::Stream;
use crate::error::ErrorKind;
use chunked::Step;
use head::{Framing, Parsed};
/// The least and most a single read asks the socket for.
const READ_MIN: usize = 16 * 1024;
const READ_MAX: usize = 512 * 1024;
/// An idle connection unused for this long is checked for a close by the server before an
/// idempotent request reuses it (one non-blocking peek); a more recent close is rare, and such
/// a request is sent again when it meets one (`send`). Any other request always checks: a
/// server may close right after its answer, and that request must not meet the close.
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
            // TLS closed without close_notify: a cut, as hyper's path classifies it.
            H1Error::Read(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => ErrorKind::RemoteProtocolError,
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

/// What a connection runs over: a socket (`Stream`), or bytes in memory in the differential
/// tests.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sized + 'static {
    /// Take back a connection whose response ended cleanly, to pool it (or not).
    fn checkin(pool: &Pool, conn: Conn<Self>);
}

impl Io for Stream {
    fn checkin(pool: &Pool, conn: Conn<Self>) {
        pool.checkin(conn)
    }
}

/// A connection and its read buffer (bytes received but not yet consumed).
pub struct Conn<S = Stream> {
    io: S,
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

    /// `always_check`: peek even at a connection idle for less than `CHECK_AFTER`.
    fn checkout(&self, tls: bool, host: &str, port: u16, always_check: bool) -> Option<Conn> {
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
            if (always_check || quiet >= CHECK_AFTER) && !still_open(tcp_of(&c.conn.io)) {
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
pub struct Head<S = Stream> {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Body<S>,
    /// The connection came from the pool (it had carried a request before).
    pub reused: bool,
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
    let close = head::asks_close(&parts.headers);
    let idempotent = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE);
    loop {
        let (conn, reused) = match pool.checkout(tls, host, port, !idempotent) {
            Some(c) => (c, true),
            None => {
                let io = connect(parts.uri.clone()).await.map_err(super::SendError::Connect)?;
                (Conn { io, buf: BytesMut::new(), host: host.into(), port, owner: std::thread::current().id() }, false)
            }
        };
        match respond(conn, &wire, &parts.method, close, pool).await {
            Ok(head) => return Ok(Head { reused, ..head }),
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

/// Send the request (`wire`) on `conn` and read the response head; the connection goes with
/// the body, which it carries. `close`: the request asked the server to close.
async fn respond<S: Io>(mut conn: Conn<S>, wire: &[u8], method: &Method, close: bool, pool: &Arc<Pool>) -> Result<Head<S>, Failure> {
    let head = exchange(&mut conn, wire).await?;
    let framing = head::framing(method, &head).map_err(|error| Failure { error, answered: true })?;
    let keep_alive = !close && head::reusable(&head) && !matches!(framing, Framing::Close);
    let Parsed { status, version, headers } = head;
    Ok(Head { status, version, headers, body: Body { conn: Some(conn), framing, keep_alive, pool: pool.clone() }, reused: false })
}

/// Write the request and read the response head, skipping interim (1xx) responses but a 101,
/// which ends the exchange (as in hyper).
async fn exchange<S: Io>(conn: &mut Conn<S>, wire: &[u8]) -> Result<Parsed, Failure> {
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
            match head::parse(&mut conn.buf).map_err(|error| Failure { error, answered })? {
                Some(head) if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS => continue,
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
async fn fill<S: Io>(conn: &mut Conn<S>, want: usize) -> std::io::Result<usize> {
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

/// A response body still (partly) on the wire. Dropped before its end, the connection closes.
pub struct Body<S = Stream> {
    conn: Option<Conn<S>>,
    framing: Framing,
    keep_alive: bool,
    pool: Arc<Pool>,
}

impl<S: Io> Body<S> {
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
                Framing::Chunked(dec) => match dec.step(&mut conn.buf)? {
                    Step::Data(b) => Some(b),
                    Step::End => None,
                    Step::NeedMore => {
                        let want = usize::try_from(dec.data_left()).unwrap_or(usize::MAX);
                        more_body(conn, want).await?;
                        continue;
                    }
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
                S::checkin(&self.pool, conn);
            }
        }
    }
}

/// Read more of a body that has not ended yet: the connection closing now cuts it short.
async fn more_body<S: Io>(conn: &mut Conn<S>, want: usize) -> Result<(), H1Error> {
    match fill(conn, want).await.map_err(H1Error::Read)? {
        0 => Err(H1Error::Closed("the end of the body")),
        _ => Ok(()),
    }
}

/// Up to `left` (> 0) bytes of body: what is buffered, else one read's worth; `left` is
/// counted down.
async fn take_counted<S: Io>(conn: &mut Conn<S>, left: &mut u64) -> Result<Bytes, H1Error> {
    let want = usize::try_from(*left).unwrap_or(usize::MAX);
    if conn.buf.is_empty() {
        more_body(conn, want).await?;
    }
    let take = conn.buf.len().min(want);
    *left -= take as u64;
    Ok(conn.buf.split_to(take).freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

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
