//! The error taxonomy. Each kind maps 1:1 to a Python exception class of the same name
//! (declared in api.yaml); `classify` picks the most specific kind for a transport failure.

use std::error::Error as StdError;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    ConnectError,
    /// The TLS handshake failed (a ConnectError in Python).
    SSLError,
    ReadError,
    WriteError,
    ConnectTimeout,
    ReadTimeout,
    WriteTimeout,
    PoolTimeout,
    LocalProtocolError,
    RemoteProtocolError,
    UnsupportedProtocol,
    ProxyError,
    TooManyRedirects,
    DecodingError,
    JSONDecodeError,
    InvalidURL,
    /// A request method's own URL did not parse (also a RequestError in Python).
    InvalidRequestURL,
    RequestError,
    ValueError,
    TypeError,
    StreamClosed,
    StreamConsumed,
    /// The `total` timeout of `Timeout(...)` elapsed (the base class: no single phase stalled).
    Timeout,
    ClientClosed,
    ResponseNotRead,
    /// A `files=` path could not be read (also an OSError in Python).
    UploadFileError,
    UploadFileNotFound,
    UploadFilePermissionError,
    /// `iter_sse()` on a response that is not `text/event-stream` (httpx-sse's SSEError).
    SSEError,
}

impl ErrorKind {
    /// The Python exception class name (builtins for ValueError/TypeError).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ConnectError => "ConnectError",
            ErrorKind::SSLError => "SSLError",
            ErrorKind::ReadError => "ReadError",
            ErrorKind::WriteError => "WriteError",
            ErrorKind::ConnectTimeout => "ConnectTimeout",
            ErrorKind::ReadTimeout => "ReadTimeout",
            ErrorKind::WriteTimeout => "WriteTimeout",
            ErrorKind::PoolTimeout => "PoolTimeout",
            ErrorKind::LocalProtocolError => "LocalProtocolError",
            ErrorKind::RemoteProtocolError => "RemoteProtocolError",
            ErrorKind::UnsupportedProtocol => "UnsupportedProtocol",
            ErrorKind::ProxyError => "ProxyError",
            ErrorKind::TooManyRedirects => "TooManyRedirects",
            ErrorKind::DecodingError => "DecodingError",
            ErrorKind::JSONDecodeError => "JSONDecodeError",
            ErrorKind::InvalidURL => "InvalidURL",
            ErrorKind::InvalidRequestURL => "InvalidRequestURL",
            ErrorKind::RequestError => "RequestError",
            ErrorKind::ValueError => "ValueError",
            ErrorKind::TypeError => "TypeError",
            ErrorKind::StreamClosed => "StreamClosed",
            ErrorKind::StreamConsumed => "StreamConsumed",
            ErrorKind::Timeout => "TimeoutException",
            ErrorKind::ClientClosed => "ClientClosed",
            ErrorKind::ResponseNotRead => "ResponseNotRead",
            ErrorKind::UploadFileError => "UploadFileError",
            ErrorKind::UploadFileNotFound => "UploadFileNotFound",
            ErrorKind::UploadFilePermissionError => "UploadFilePermissionError",
            ErrorKind::SSEError => "SSEError",
        }
    }

    /// Whether the Python class is an HTTPError (and so takes `request=`).
    pub fn carries_request(self) -> bool {
        !matches!(self, ErrorKind::InvalidURL | ErrorKind::StreamClosed | ErrorKind::StreamConsumed | ErrorKind::ClientClosed | ErrorKind::ResponseNotRead | ErrorKind::ValueError | ErrorKind::TypeError)
    }

    pub const ALL: [ErrorKind; 29] = [
        ErrorKind::ConnectError,
        ErrorKind::SSLError,
        ErrorKind::ReadError,
        ErrorKind::WriteError,
        ErrorKind::ConnectTimeout,
        ErrorKind::ReadTimeout,
        ErrorKind::WriteTimeout,
        ErrorKind::PoolTimeout,
        ErrorKind::LocalProtocolError,
        ErrorKind::RemoteProtocolError,
        ErrorKind::UnsupportedProtocol,
        ErrorKind::ProxyError,
        ErrorKind::TooManyRedirects,
        ErrorKind::DecodingError,
        ErrorKind::JSONDecodeError,
        ErrorKind::InvalidURL,
        ErrorKind::InvalidRequestURL,
        ErrorKind::RequestError,
        ErrorKind::ValueError,
        ErrorKind::TypeError,
        ErrorKind::StreamClosed,
        ErrorKind::StreamConsumed,
        ErrorKind::Timeout,
        ErrorKind::ClientClosed,
        ErrorKind::ResponseNotRead,
        ErrorKind::UploadFileError,
        ErrorKind::UploadFileNotFound,
        ErrorKind::UploadFilePermissionError,
        ErrorKind::SSEError,
    ];
}

/// The request an error belongs to, so Python exceptions can carry `.request`.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub method: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// Boxed: errors are returned by value everywhere, so `Error` is kept small.
    pub request: Option<Box<RequestInfo>>,
    /// Byte offset for decoding errors (JSON position).
    pub position: Option<usize>,
    /// The document that failed to decode (JSON errors expose it as `.doc`).
    pub doc: Option<String>,
    /// The OS error behind an UploadFile* kind (Python sets `errno`, `strerror`, `filename`).
    pub os: Option<Box<OsError>>,
    /// An error raised by foreign code the runtime called (a mock handler's Python
    /// exception), carried opaquely so the binding layer re-raises that very object.
    pub foreign: Option<Foreign>,
}

#[derive(Debug, Clone)]
pub struct OsError {
    pub errno: i32,
    pub strerror: String,
    pub filename: String,
}

/// A thin pointer, so `Error` stays as small as it was.
#[derive(Clone)]
pub struct Foreign(std::sync::Arc<Box<dyn std::any::Any + Send + Sync>>);

impl Foreign {
    pub fn new(value: impl std::any::Any + Send + Sync) -> Self {
        Foreign(std::sync::Arc::new(Box::new(value)))
    }

    pub fn get<T: 'static>(&self) -> Option<&T> {
        let any: &(dyn std::any::Any + Send + Sync) = &**self.0;
        any.downcast_ref::<T>()
    }
}

impl fmt::Debug for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Foreign(..)")
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), request: None, position: None, doc: None, os: None, foreign: None }
    }

    /// `files=` named a file that could not be read: a RequestError that is also the OSError
    /// `open()` would have raised.
    pub fn upload_file(err: &std::io::Error, path: &str, field: &str) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::UploadFileNotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::UploadFilePermissionError,
            _ => ErrorKind::UploadFileError,
        };
        let os_text = err.to_string();
        let os_text = os_text.split(" (os error").next().unwrap_or(&os_text);
        let mut e = Error::new(kind, format!("could not read file {path:?} for field {field:?}: {os_text}"));
        // str() of an OSError is "[Errno N] strerror: 'filename'": name the field there too.
        let strerror = format!("{os_text} (files= field {field:?})");
        e.os = Some(Box::new(OsError { errno: err.raw_os_error().unwrap_or(0), strerror, filename: path.to_owned() }));
        e
    }

    pub fn value(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::ValueError, message)
    }

    pub fn type_error(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::TypeError, message)
    }

    /// Attach the request and make sure the message names it.
    pub fn for_request(mut self, method: &str, url: &str) -> Self {
        if !self.message.contains(url) {
            self.message = format!("{} (in {method} {url})", self.message);
        }
        self.with_request(method, url)
    }

    pub fn with_request(mut self, method: &str, url: &str) -> Self {
        if self.request.is_none() {
            self.request = Some(Box::new(RequestInfo { method: method.to_owned(), url: url.to_owned() }));
        }
        self
    }

    /// Map a transport failure to the most specific kind; the message names the request and
    /// the whole cause chain (hyper's top-level text alone hides the useful part).
    /// `connect`: the failure happened while making the connection.
    pub fn from_transport(err: &(dyn StdError + 'static), connect: bool, method: &str, url: &str) -> Self {
        let kind = classify(err, connect);
        let chain = cause_chain(err);
        let what = match kind {
            ErrorKind::ConnectError => "connection failed",
            ErrorKind::ReadTimeout => "timed out waiting for the response",
            ErrorKind::RemoteProtocolError => "the server broke the HTTP protocol",
            ErrorKind::LocalProtocolError => "invalid request",
            ErrorKind::ReadError => "error reading the response",
            ErrorKind::WriteError => "error sending the request",
            _ => "request failed",
        };
        Error::new(kind, format!("{what} for {method} {url}: {chain}")).with_request(method, url)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Error {}

/// "a: b: c" from an error and its sources, skipping repeats.
pub fn cause_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// The first error of type `T` in `err`'s source chain (`err` included).
pub fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

fn io_kind(err: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    find_in_chain::<std::io::Error>(err).map(std::io::Error::kind)
}

fn chain_mentions(err: &(dyn StdError + 'static), needle: &str) -> bool {
    cause_chain(err).to_ascii_lowercase().contains(needle)
}

/// The kind of a failure reported by hyper (connection failures of our own connector carry
/// their kind already: `transport::ConnectFailure`).
pub fn classify(err: &(dyn StdError + 'static), connect: bool) -> ErrorKind {
    // A TLS alert after the handshake (e.g. the server rejecting a client certificate under
    // TLS 1.3) is still a failure to establish the connection: a TLS one.
    if chain_mentions(err, "alert") || chain_mentions(err, "certificate") {
        return ErrorKind::SSLError;
    }
    if connect {
        return ErrorKind::ConnectError;
    }
    if let Some(h) = find_in_chain::<crate::transport::H1Error>(err) {
        return h.kind();
    }
    if let Some(h) = find_in_chain::<hyper::Error>(err) {
        if h.is_timeout() {
            return ErrorKind::ReadTimeout;
        }
        if h.is_parse() || h.is_parse_status() || h.is_incomplete_message() {
            return ErrorKind::RemoteProtocolError;
        }
        if h.is_body_write_aborted() {
            return ErrorKind::WriteError;
        }
        if h.is_user() {
            return ErrorKind::LocalProtocolError;
        }
    }
    match io_kind(err) {
        Some(std::io::ErrorKind::TimedOut) => return ErrorKind::ReadTimeout,
        Some(std::io::ErrorKind::BrokenPipe) => return ErrorKind::WriteError,
        Some(std::io::ErrorKind::ConnectionRefused) => return ErrorKind::ConnectError,
        Some(std::io::ErrorKind::UnexpectedEof) => return ErrorKind::RemoteProtocolError,
        // Bytes that break the framing (hyper's chunked decoder reports them so): the server
        // broke the protocol, as the lean HTTP/1.1 path says of the same bytes.
        Some(std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData) => return ErrorKind::RemoteProtocolError,
        Some(_) => return ErrorKind::ReadError,
        None => {}
    }
    if chain_mentions(err, "incomplete") || chain_mentions(err, "closed") || chain_mentions(err, "parse") || chain_mentions(err, "invalid") {
        return ErrorKind::RemoteProtocolError;
    }
    ErrorKind::ReadError
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn every_kind_is_declared_in_api_yaml() {
        let yaml = include_str!("../../api.yaml");
        for k in ErrorKind::ALL {
            if matches!(k, ErrorKind::ValueError | ErrorKind::TypeError) {
                continue;
            }
            assert!(yaml.contains(&format!("name: {}\n", k.name())), "{} missing from api.yaml", k.name());
        }
    }
}
