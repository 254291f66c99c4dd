//! Request bodies handed to hyper, and responses whose body is read chunk by chunk (decoded
//! on the way when the server compressed it).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use super::decode::Decoder;
use crate::connect_phase::ConnectPhase;

/// Bodies larger than this are handed over in slices, so the request's phase learns when all
/// of it was taken (see `client::await_headers`: the write timeout runs until then).
const SLICE: usize = 64 * 1024;

pub enum ReqBody {
    Empty,
    Full(Option<Bytes>),
    Tracked { rest: Bytes, phase: Arc<ConnectPhase> },
    /// Read while it is sent (`crate::upload`): files, iterators. Boxed: rare and larger.
    Streamed(Box<Streamed>),
}

pub struct Streamed {
    reader: crate::upload::UploadReader,
    len: Option<u64>,
    phase: Arc<ConnectPhase>,
}

/// A request body's error: reading a streamed upload failed (its `crate::error::Error` is
/// found in the chain of the error hyper reports).
pub type BodyReadError = Box<dyn std::error::Error + Send + Sync>;

impl ReqBody {
    /// A body for a request whose progress `phase` tracks (only large bodies report to it).
    pub fn new(bytes: Bytes, phase: &Arc<ConnectPhase>) -> Self {
        if bytes.len() > SLICE {
            ReqBody::Tracked { rest: bytes, phase: phase.clone() }
        } else {
            ReqBody::Full(Some(bytes))
        }
    }

    /// A body read while it is sent.
    pub fn streamed(upload: &crate::upload::Upload, phase: &Arc<ConnectPhase>) -> Self {
        ReqBody::Streamed(Box::new(Streamed { reader: upload.reader(), len: upload.size(), phase: phase.clone() }))
    }

    /// Whether sending it is tracked (it is large, or streamed).
    pub fn is_tracked(&self) -> bool {
        matches!(self, ReqBody::Tracked { .. } | ReqBody::Streamed(_))
    }
}

impl http_body::Body for ReqBody {
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        Poll::Ready(match this {
            ReqBody::Empty => None,
            ReqBody::Full(b) => b.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b))),
            ReqBody::Tracked { rest, phase } => {
                if rest.is_empty() {
                    phase.body_sent();
                    None
                } else {
                    let n = rest.len().min(SLICE);
                    Some(Ok(Frame::data(rest.split_to(n))))
                }
            }
            // A source read blocks only briefly (a file, a Python iterator's next()); an
            // async iterator's chunks arrive from the event loop.
            ReqBody::Streamed(s) => match s.reader.poll_chunk(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(chunk))) => Some(Ok(Frame::data(chunk))),
                Poll::Ready(Ok(None)) => {
                    s.phase.body_sent();
                    None
                }
                Poll::Ready(Err(e)) => Some(Err(Box::new(e))),
            },
        })
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReqBody::Empty => true,
            ReqBody::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            // Not until `poll_frame` has said so (and told the phase).
            ReqBody::Tracked { .. } | ReqBody::Streamed(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        let n = match self {
            ReqBody::Empty => 0,
            ReqBody::Full(b) => b.as_ref().map_or(0, Bytes::len),
            ReqBody::Tracked { rest, .. } => rest.len(),
            // Unknown: sent chunked.
            ReqBody::Streamed(s) => return s.len.map(SizeHint::with_exact).unwrap_or_default(),
        };
        SizeHint::with_exact(n as u64)
    }
}

/// Why reading a body failed.
#[derive(Debug)]
pub enum BodyError {
    /// The connection: reset, cut short, a protocol violation.
    Wire(hyper::Error),
    /// The compressed data would not decode.
    Decode(std::io::Error),
    /// The lean HTTP/1.1 path's connection.
    H1(super::H1Error),
}

impl BodyError {
    /// A wait for the socket ran out (the read timeout of `Response::read_exact`).
    pub fn is_timeout(&self) -> bool {
        matches!(self, BodyError::H1(super::H1Error::Read(e)) if e.kind() == std::io::ErrorKind::TimedOut)
    }
}

enum Source {
    Wire(hyper::body::Incoming),
    /// Read by the lean HTTP/1.1 path.
    H1(Box<super::h1::Body>),
    /// A body already in memory (a MockTransport answer).
    Fixed(Option<Bytes>),
}

/// A response whose headers have arrived.
pub struct Response {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    source: Source,
    /// Boxed: rarely there, and responses are moved around inside request futures.
    decoder: Option<Box<Decoder>>,
    done: bool,
    /// Whether the connection had carried a request before this one (None: not a network
    /// response). For the `httpr` logger.
    pub reused: Option<bool>,
}

impl Response {
    /// From the network: decoded per Content-Encoding (the headers then describe the decoded
    /// body).
    pub fn from_wire(resp: http::Response<hyper::body::Incoming>) -> Self {
        let (parts, body) = resp.into_parts();
        let reused = parts.extensions.get::<super::connect::Served>().map(super::connect::Served::count_one);
        let mut headers = parts.headers;
        let decoder = Decoder::for_response(&mut headers).map(Box::new);
        Response { status: parts.status, version: parts.version, headers, source: Source::Wire(body), decoder, done: false, reused }
    }

    /// From the lean HTTP/1.1 path; decoded like `from_wire`.
    pub fn from_h1(head: super::h1::Head) -> Self {
        let mut headers = head.headers;
        let decoder = Decoder::for_response(&mut headers).map(Box::new);
        Response { status: head.status, version: head.version, headers, source: Source::H1(Box::new(head.body)), decoder, done: false, reused: Some(head.reused) }
    }

    /// A body already in memory, used as is.
    pub fn fixed(resp: http::Response<Bytes>) -> Self {
        let (parts, body) = resp.into_parts();
        Response { status: parts.status, version: parts.version, headers: parts.headers, source: Source::Fixed(Some(body)), decoder: None, done: false, reused: None }
    }

    /// How many bytes of body are left, if the server said and they arrive as they are (not
    /// decoded) on the lean HTTP/1.1 path: then `read_exact` can take them.
    pub fn exact_remaining(&self) -> Option<u64> {
        match (&self.source, &self.decoder, self.done) {
            (Source::H1(b), None, false) => b.remaining(),
            _ => None,
        }
    }

    /// Read the rest of the body into `dst` (exactly `exact_remaining()` long); each wait for
    /// the socket is bounded by `wait`.
    pub async fn read_exact(&mut self, dst: &mut [u8], wait: Option<std::time::Duration>) -> Result<(), BodyError> {
        match &mut self.source {
            Source::H1(b) if self.decoder.is_none() && b.remaining() == Some(dst.len() as u64) => {
                b.read_exact(dst, wait).await.map_err(BodyError::H1)?;
                self.done = true;
                Ok(())
            }
            _ => Err(BodyError::H1(super::H1Error::Invalid("internal: the body cannot be read into a buffer".into()))),
        }
    }

    /// The next chunk of the (decoded) body, or None at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let data = match &mut self.source {
                Source::Fixed(b) => b.take().filter(|b| !b.is_empty()),
                Source::H1(body) => body.chunk().await.map_err(BodyError::H1)?,
                Source::Wire(body) => loop {
                    match body.frame().await {
                        Some(Ok(frame)) => match frame.into_data() {
                            Ok(d) => break Some(d),
                            Err(_trailers) => continue,
                        },
                        Some(Err(e)) => return Err(BodyError::Wire(e)),
                        None => break None,
                    }
                },
            };
            let Some(data) = data else {
                self.done = true;
                return match self.decoder.as_mut() {
                    Some(d) => d.finish().map(|b| Some(b).filter(|b| !b.is_empty())).map_err(BodyError::Decode),
                    None => Ok(None),
                };
            };
            match self.decoder.as_mut() {
                None => return Ok(Some(data)),
                Some(d) => {
                    let out = d.feed(&data).map_err(BodyError::Decode)?;
                    if !out.is_empty() {
                        return Ok(Some(out));
                    }
                }
            }
        }
    }
}
