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

#[cfg(test)]
mod tests {
    use super::*;

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
}
