//! A response body read chunk by chunk (streaming), plus the incremental text decoder and
//! line splitter behind `iter_text` / `iter_lines`. Memory stays bounded by one chunk.

use std::time::Duration;

use bytes::Bytes;
use encoding_rs::{Decoder, Encoding};
use http::Method;
use url::Url;

use crate::error::Result;
use crate::limits::Slot;
use crate::timeout::Deadline;

pub struct BodyStream {
    response: Option<crate::transport::Response>,
    read: Option<Duration>,
    deadline: Deadline,
    method: Method,
    url: Url,
    /// The connection slot (pool limits) this response holds until it is read or closed.
    slot: Option<Slot>,
    /// The unreturned rest of a chunk larger than `MAX_CHUNK`.
    rest: Bytes,
}

/// Chunks are handed out at most this big. The transport reads up to ~400 KiB at once; a
/// Python `bytes` that large is mmap'ed and page-faulted afresh every time, while 64 KiB
/// ones reuse the same heap memory (less CPU, flat RSS).
const MAX_CHUNK: usize = 64 * 1024;

impl BodyStream {
    pub fn new(response: crate::transport::Response, read: Option<Duration>, deadline: Deadline, method: Method, url: Url, slot: Option<Slot>) -> Self {
        BodyStream { response: Some(response), read, deadline, method, url, slot, rest: Bytes::new() }
    }

    /// The next chunk as it came off the socket (decompressed), or None at the end.
    /// The read timeout bounds the wait for this one chunk.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if !self.rest.is_empty() {
            let n = self.rest.len().min(MAX_CHUNK);
            return Ok(Some(self.rest.split_to(n)));
        }
        let Some(resp) = self.response.as_mut() else { return Ok(None) };
        match crate::response::next_chunk(resp, self.read, self.deadline, &self.method, &self.url).await? {
            Some(mut c) => {
                if c.len() > MAX_CHUNK {
                    self.rest = c.split_off(MAX_CHUNK);
                }
                Ok(Some(c))
            }
            None => {
                self.close();
                Ok(None)
            }
        }
    }

    /// Drop the connection without reading the rest of the body.
    pub fn close(&mut self) {
        self.response = None;
        self.slot = None;
        self.rest = Bytes::new();
    }
}

/// Incremental decoding: a multi-byte character split across chunks decodes correctly.
pub struct TextDecoder {
    decoder: Decoder,
}

impl TextDecoder {
    pub fn new(encoding: &'static Encoding) -> Self {
        TextDecoder { decoder: encoding.new_decoder() }
    }

    pub fn decode(&mut self, chunk: &[u8], last: bool) -> String {
        let mut out = String::with_capacity(self.decoder.max_utf8_buffer_length(chunk.len()).unwrap_or(chunk.len() * 3));
        let _ = self.decoder.decode_to_string(chunk, &mut out, last);
        out
    }
}

/// Splits decoded text into lines (`\n`, `\r\n` or `\r`), across chunk boundaries.
/// Lines are yielded without their terminator, as httpx does.
#[derive(Default)]
pub struct LineSplitter {
    pending: String,
    /// The previous chunk ended in '\r': a leading '\n' in the next one belongs to it.
    after_cr: bool,
}

impl LineSplitter {
    pub fn push(&mut self, text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        if text.is_empty() {
            // Keep a pending '\r': the '\n' of its "\r\n" may come in the next piece.
            return lines;
        }
        let mut chars = text.char_indices().peekable();
        let mut start = 0;
        if self.after_cr && text.starts_with('\n') {
            chars.next();
            start = 1;
        }
        self.after_cr = false;
        while let Some((i, c)) = chars.next() {
            if c == '\n' || c == '\r' {
                self.pending.push_str(&text[start..i]);
                lines.push(std::mem::take(&mut self.pending));
                start = i + 1;
                if c == '\r' {
                    match chars.peek() {
                        Some((_, '\n')) => {
                            chars.next();
                            start = i + 2;
                        }
                        None => self.after_cr = true,
                        _ => {}
                    }
                }
            }
        }
        self.pending.push_str(&text[start..]);
        lines
    }

    pub fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

/// Turns body chunks into the pieces an iterator hands out (text, lines), the same way for the
/// sync and the async iterators: ask `ready()` first; when it has nothing, read a chunk and
/// `feed` it (None at the end of the body).
pub trait Assemble: Send + 'static {
    type Out: Send + 'static;
    /// Some(Some(piece)) to hand out, Some(None) when everything was handed out, None when
    /// another chunk is needed.
    fn ready(&mut self) -> Option<Option<Self::Out>>;
    fn feed(&mut self, chunk: Option<&[u8]>);
}

/// `iter_text`: decoded text, one piece per chunk (chunks that decode to nothing are skipped).
pub struct TextPieces {
    decoder: Option<TextDecoder>,
    ready: Option<String>,
}

impl TextPieces {
    pub fn new(encoding: &'static Encoding) -> Self {
        TextPieces { decoder: Some(TextDecoder::new(encoding)), ready: None }
    }
}

impl Assemble for TextPieces {
    type Out = String;
    fn ready(&mut self) -> Option<Option<String>> {
        match self.ready.take() {
            Some(text) => Some(Some(text)),
            None if self.decoder.is_none() => Some(None),
            None => None,
        }
    }
    fn feed(&mut self, chunk: Option<&[u8]>) {
        let Some(d) = self.decoder.as_mut() else { return };
        let text = match chunk {
            Some(c) => d.decode(c, false),
            None => {
                let tail = d.decode(&[], true);
                self.decoder = None;
                tail
            }
        };
        if !text.is_empty() {
            self.ready = Some(text);
        }
    }
}

/// `iter_bytes(chunk_size=n)` / requests' `iter_content(n)`: pieces of exactly `n` bytes (the
/// last one may be shorter), however the body arrived.
pub struct SizedPieces {
    size: usize,
    buf: bytes::BytesMut,
    done: bool,
}

impl SizedPieces {
    pub fn new(size: usize) -> Self {
        SizedPieces { size: size.max(1), buf: bytes::BytesMut::new(), done: false }
    }
}

impl Assemble for SizedPieces {
    type Out = bytes::Bytes;
    fn ready(&mut self) -> Option<Option<bytes::Bytes>> {
        if self.buf.len() >= self.size {
            return Some(Some(self.buf.split_to(self.size).freeze()));
        }
        if self.done {
            return Some((!self.buf.is_empty()).then(|| self.buf.split().freeze()));
        }
        None
    }
    fn feed(&mut self, chunk: Option<&[u8]>) {
        match chunk {
            Some(c) => self.buf.extend_from_slice(c),
            None => self.done = true,
        }
    }
}

/// `iter_lines`: lines without their terminators.
pub struct LinePieces {
    decoder: Option<TextDecoder>,
    splitter: LineSplitter,
    ready: std::collections::VecDeque<String>,
}

impl LinePieces {
    pub fn new(encoding: &'static Encoding) -> Self {
        LinePieces { decoder: Some(TextDecoder::new(encoding)), splitter: LineSplitter::default(), ready: Default::default() }
    }
}

impl Assemble for LinePieces {
    type Out = String;
    fn ready(&mut self) -> Option<Option<String>> {
        match self.ready.pop_front() {
            Some(line) => Some(Some(line)),
            None if self.decoder.is_none() => Some(None),
            None => None,
        }
    }
    fn feed(&mut self, chunk: Option<&[u8]>) {
        let Some(d) = self.decoder.as_mut() else { return };
        let text = match chunk {
            Some(c) => d.decode(c, false),
            None => d.decode(&[], true),
        };
        let lines = self.splitter.push(&text);
        self.ready.extend(lines);
        if chunk.is_none() {
            self.decoder = None;
            self.ready.extend(self.splitter.finish());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_pieces_rechunk_exactly() {
        let mut p = SizedPieces::new(3);
        let mut out = Vec::new();
        for chunk in [&b"ab"[..], b"cdefg", b"h"] {
            p.feed(Some(chunk));
            while let Some(Some(piece)) = p.ready() {
                out.push(piece);
            }
        }
        p.feed(None);
        while let Some(Some(piece)) = p.ready() {
            out.push(piece);
        }
        assert_eq!(out, vec![&b"abc"[..], b"def", b"gh"]);
        assert_eq!(p.ready(), Some(None));
    }

    #[test]
    fn split_utf8_character_decodes() {
        let mut d = TextDecoder::new(encoding_rs::UTF_8);
        let bytes = "é".as_bytes();
        let a = d.decode(&bytes[..1], false);
        let b = d.decode(&bytes[1..], true);
        assert_eq!(format!("{a}{b}"), "é");
        assert_eq!(a, "");
    }

    #[test]
    fn lines_across_chunks_and_terminators() {
        let mut s = LineSplitter::default();
        let mut out = s.push("a\r");
        out.extend(s.push("\nb\nc"));
        out.extend(s.push("d\re\n"));
        out.extend(s.finish());
        assert_eq!(out, vec!["a", "b", "cd", "e"]);
    }

    #[test]
    fn trailing_text_without_newline_is_a_line() {
        let mut s = LineSplitter::default();
        assert!(s.push("x").is_empty());
        assert_eq!(s.finish(), Some("x".into()));
    }

    fn drain<A: Assemble>(a: &mut A, chunks: &[&[u8]]) -> Vec<A::Out> {
        let mut out = Vec::new();
        let mut chunks = chunks.iter();
        loop {
            match a.ready() {
                Some(Some(p)) => out.push(p),
                Some(None) => return out,
                None => a.feed(chunks.next().copied()),
            }
        }
    }

    #[test]
    fn text_pieces_skip_empty_decodes_and_keep_the_tail() {
        let e = "é".as_bytes();
        let out = drain(&mut TextPieces::new(encoding_rs::UTF_8), &[b"a", &e[..1], &e[1..], b"\xff"]);
        assert_eq!(out, vec!["a", "é", "\u{fffd}"]);
    }

    #[test]
    fn line_pieces_split_across_chunks() {
        let out = drain(&mut LinePieces::new(encoding_rs::UTF_8), &[b"a\r", b"\nb\nc", b"d"]);
        assert_eq!(out, vec!["a", "b", "cd"]);
    }
}
