//! Request bodies read while they are sent, instead of into memory first: files given to
//! `files=` (paths and open files) and iterators given as `content=`. An upload is a list of
//! segments (bytes in memory, and sources read chunk by chunk); each attempt (a retry, a
//! 307/308 redirect) starts a fresh reader, which rewinds every source, and a source that
//! cannot rewind (an iterator) refuses a second attempt with StreamConsumed.

use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};

/// How much is read from a source at a time.
pub const CHUNK: usize = 64 * 1024;

/// Bytes produced while sending.
pub trait Chunks: Send + Sync + fmt::Debug {
    /// Go back to the start, for an attempt after the first; Err when that is impossible.
    fn rewind(&self) -> Result<()>;
    /// The next chunk (None at the end). May block briefly (a file read).
    fn next_chunk(&self) -> Result<Option<Bytes>>;
    /// The total length, when known up front (then it is sent as Content-Length).
    fn size(&self) -> Option<u64>;
    /// The next chunk without blocking, for a source fed from elsewhere (an async iterator
    /// pumped by the event loop). Sources that read in place answer at once.
    fn poll_chunk(&self, _cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>>> {
        Poll::Ready(self.next_chunk())
    }
    /// Whether `rewind` would succeed now (a one-shot source that was read cannot).
    fn can_rewind(&self) -> bool {
        true
    }
}

#[derive(Clone)]
pub enum Segment {
    Bytes(Bytes),
    Source(Arc<dyn Chunks>),
}

/// A body of segments, shared (cheaply cloned) by every attempt of the request.
#[derive(Clone)]
pub struct Upload {
    segments: Arc<Vec<Segment>>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upload({} segments, {:?} bytes)", self.segments.len(), self.size())
    }
}

impl Upload {
    pub fn new(segments: Vec<Segment>) -> Self {
        Upload { segments: Arc::new(segments) }
    }

    /// The total length, if every source knows its own.
    pub fn size(&self) -> Option<u64> {
        self.segments.iter().try_fold(0u64, |n, s| match s {
            Segment::Bytes(b) => Some(n + b.len() as u64),
            Segment::Source(c) => c.size().map(|l| n + l),
        })
    }

    /// Whether another attempt can send it again (every source can rewind).
    pub fn replayable(&self) -> bool {
        self.segments.iter().all(|s| match s {
            Segment::Bytes(_) => true,
            Segment::Source(c) => c.can_rewind(),
        })
    }

    /// A reader from the start (rewinding the sources an earlier attempt read).
    pub fn reader(&self) -> UploadReader {
        UploadReader { upload: self.clone(), next: 0, current: None }
    }

    /// `read_all` for async code (a source may be fed by the event loop).
    pub async fn read_all_async(&self) -> Result<Bytes> {
        let mut reader = self.reader();
        let mut out = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| reader.poll_chunk(cx)).await? {
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }

    /// Every byte, for a transport that wants the body whole (a MockTransport handler).
    pub fn read_all(&self) -> Result<Bytes> {
        let mut reader = self.reader();
        let mut out = Vec::new();
        while let Some(chunk) = reader.next_chunk()? {
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }
}

pub struct UploadReader {
    upload: Upload,
    /// The next segment to start.
    next: usize,
    /// The source being read.
    current: Option<Arc<dyn Chunks>>,
}

impl UploadReader {
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.poll_chunk(&mut cx) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(Error::new(ErrorKind::TypeError, "this upload is fed asynchronously: it can only be sent by AsyncClient")),
        }
    }

    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>>> {
        loop {
            if let Some(src) = &self.current {
                match src.poll_chunk(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(Some(c))) if c.is_empty() => continue,
                    Poll::Ready(Ok(Some(c))) => return Poll::Ready(Ok(Some(c))),
                    Poll::Ready(Ok(None)) => self.current = None,
                }
            }
            let Some(seg) = self.upload.segments.get(self.next) else { return Poll::Ready(Ok(None)) };
            self.next += 1;
            match seg {
                Segment::Bytes(b) if b.is_empty() => {}
                Segment::Bytes(b) => return Poll::Ready(Ok(Some(b.clone()))),
                Segment::Source(src) => {
                    // Every source starts from its beginning (a fresh file, a seek back).
                    if let Err(e) = src.rewind() {
                        return Poll::Ready(Err(e));
                    }
                    self.current = Some(src.clone());
                }
            }
        }
    }
}

/// A file by path: opened (again) for each attempt, read in `CHUNK`s.
#[derive(Debug)]
pub struct PathChunks {
    path: String,
    field: String,
    len: Option<u64>,
    file: Mutex<Option<std::fs::File>>,
}

impl PathChunks {
    /// Checks now that the file can be opened, so a wrong path fails before sending.
    pub fn open(path: &str, field: &str) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::upload_file(&e, path, field))?;
        let meta = file.metadata().ok();
        if meta.as_ref().is_some_and(|m| m.is_dir()) {
            // Opening a directory works; reading it fails: get that error (EISDIR) now.
            let e = std::fs::read(path).err().unwrap_or_else(|| std::io::Error::other("is a directory"));
            return Err(Error::upload_file(&e, path, field));
        }
        let len = meta.filter(|m| m.is_file()).map(|m| m.len());
        Ok(PathChunks { path: path.to_owned(), field: field.to_owned(), len, file: Mutex::new(Some(file)) })
    }
}

impl Chunks for PathChunks {
    fn rewind(&self) -> Result<()> {
        let mut slot = self.file.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(std::fs::File::open(&self.path).map_err(|e| Error::upload_file(&e, &self.path, &self.field))?);
        Ok(())
    }
    fn next_chunk(&self) -> Result<Option<Bytes>> {
        let mut slot = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let Some(file) = slot.as_mut() else { return Ok(None) };
        let mut buf = vec![0u8; CHUNK];
        let n = file.read(&mut buf).map_err(|e| Error::new(ErrorKind::WriteError, format!("could not read {:?} (files[{:?}]) while sending it: {e}", self.path, self.field)))?;
        if n == 0 {
            *slot = None;
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(Bytes::from(buf)))
    }
    fn size(&self) -> Option<u64> {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_read_in_order_and_again_after_a_rewind() {
        let dir = std::env::temp_dir().join(format!("httpr-upload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("big.bin");
        let data: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let src = Arc::new(PathChunks::open(&p.to_string_lossy(), "f").unwrap());
        let up = Upload::new(vec![Segment::Bytes(Bytes::from_static(b"<")), Segment::Source(src), Segment::Bytes(Bytes::from_static(b">"))]);
        assert_eq!(up.size(), Some(data.len() as u64 + 2));
        for _ in 0..2 {
            let all = up.read_all().unwrap();
            assert_eq!(all.len(), data.len() + 2);
            assert_eq!(&all[1..all.len() - 1], &data[..]);
        }
    }

    #[test]
    fn a_missing_file_fails_when_the_body_is_built() {
        let err = PathChunks::open("/no/such/upload", "f").err().unwrap();
        assert!(err.message.contains("/no/such/upload"), "{}", err.message);
    }
}
