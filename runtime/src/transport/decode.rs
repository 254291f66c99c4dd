//! Content-Encoding: gzip, deflate, br and zstd bodies decoded chunk by chunk as they arrive,
//! so a streamed response stays streamed. Each input chunk yields what it decodes to.

use std::io::Write;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH};
use http::HeaderMap;

/// What the client offers unless the request sets Accept-Encoding itself.
pub const ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("gzip, deflate, br, zstd");

/// Undoes every coding a response lists, last applied first (`Content-Encoding: deflate, gzip`
/// was deflated, then gzipped).
pub struct Decoder {
    stages: Vec<Stage>,
}

/// One coding's decoder.
struct Stage {
    inner: Inner,
    /// Whether any input arrived: an empty body with a Content-Encoding (a 204, a HEAD
    /// answer) decodes to nothing rather than to an error.
    fed: bool,
}

enum Inner {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    /// Deflate before its first two bytes arrived: they tell zlib-wrapped (as the RFC says)
    /// from a bare deflate stream (some servers send that, and browsers accept it).
    Sniff(Vec<u8>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    Raw(flate2::write::DeflateDecoder<Vec<u8>>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
    /// The raw decoder, for its end-of-frame signal: `ended` is whether the input so far
    /// finishes a frame (the write adapter would hide a body cut short).
    Zstd { dec: Box<zstd::stream::raw::Decoder<'static>>, ended: bool },
}

impl Decoder {
    /// A decoder for the response's Content-Encoding, if it lists only codings we decode. The
    /// headers then describe the decoded body: Content-Encoding and Content-Length are removed.
    /// Otherwise the body is passed on as it came, with its headers.
    pub fn for_response(headers: &mut HeaderMap) -> Option<Decoder> {
        let value = headers.get(CONTENT_ENCODING)?.to_str().ok()?;
        let mut stages = value.split(',').map(str::trim).filter(|c| !c.eq_ignore_ascii_case("identity")).rev().map(Stage::new).collect::<Option<Vec<_>>>()?;
        stages.shrink_to_fit();
        if stages.is_empty() {
            return None;
        }
        headers.remove(CONTENT_ENCODING);
        headers.remove(CONTENT_LENGTH);
        Some(Decoder { stages })
    }

    /// Decode one chunk of the body; the result may be empty (more input needed).
    pub fn feed(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        let (first, rest) = self.stages.split_first_mut().expect("a decoder has a stage");
        let mut data = first.feed(chunk)?;
        for stage in rest {
            data = stage.feed(&data)?;
        }
        Ok(data)
    }

    /// The end of the body: what is still buffered, or an error if the stream was cut short.
    pub fn finish(&mut self) -> std::io::Result<Bytes> {
        // What one stage still held goes through the next before that one finishes.
        let mut carry = Bytes::new();
        for stage in &mut self.stages {
            let fed = stage.feed(&carry)?;
            let end = stage.finish()?;
            carry = if fed.is_empty() { end } else { [fed, end].concat().into() };
        }
        Ok(carry)
    }
}

impl Stage {
    fn new(coding: &str) -> Option<Stage> {
        let inner = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            Inner::Gzip(flate2::write::GzDecoder::new(Vec::new()))
        } else if coding.eq_ignore_ascii_case("deflate") {
            Inner::Sniff(Vec::new())
        } else if coding.eq_ignore_ascii_case("br") {
            Inner::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(Vec::new(), 8 * 1024)))
        } else if coding.eq_ignore_ascii_case("zstd") {
            Inner::Zstd { dec: Box::new(zstd::stream::raw::Decoder::new().ok()?), ended: false }
        } else {
            return None;
        };
        Some(Stage { inner, fed: false })
    }

    fn feed(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        if chunk.is_empty() {
            return Ok(Bytes::new());
        }
        self.fed = true;
        if let Inner::Sniff(seen) = &mut self.inner {
            seen.extend_from_slice(chunk);
            if seen.len() < 2 {
                return Ok(Bytes::new());
            }
            return self.sniffed();
        }
        match &mut self.inner {
            Inner::Gzip(d) => decode(d, chunk, |d| d.get_mut()),
            Inner::Sniff(_) => Ok(Bytes::new()),
            Inner::Zlib(d) => decode(d, chunk, |d| d.get_mut()),
            Inner::Raw(d) => decode(d, chunk, |d| d.get_mut()),
            Inner::Brotli(d) => decode(d.as_mut(), chunk, |d| d.get_mut()),
            Inner::Zstd { dec, ended } => zstd_feed(dec, ended, chunk),
        }
    }

    fn finish(&mut self) -> std::io::Result<Bytes> {
        if !self.fed {
            return Ok(Bytes::new());
        }
        let truncated = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the compressed body ended before its end marker");
        let mut head = Bytes::new();
        if let Inner::Sniff(_) = self.inner {
            head = self.sniffed()?;
        }
        match &mut self.inner {
            Inner::Gzip(d) => d.try_finish()?,
            Inner::Zlib(d) => d.try_finish()?,
            Inner::Raw(d) => d.try_finish()?,
            Inner::Brotli(d) => d.close().map_err(|_| truncated())?,
            Inner::Zstd { ended, .. } => {
                if !*ended {
                    return Err(truncated());
                }
            }
            Inner::Sniff(_) => {}
        }
        let rest = match &mut self.inner {
            Inner::Gzip(d) => take(d.get_mut()),
            Inner::Zlib(d) => take(d.get_mut()),
            Inner::Raw(d) => take(d.get_mut()),
            Inner::Brotli(d) => take(d.get_mut()),
            Inner::Zstd { .. } => Bytes::new(),
            Inner::Sniff(_) => Bytes::new(),
        };
        Ok(if head.is_empty() { rest } else { [head, rest].concat().into() })
    }

    /// Pick the deflate flavour from the bytes seen so far and decode them.
    fn sniffed(&mut self) -> std::io::Result<Bytes> {
        let Inner::Sniff(seen) = &mut self.inner else { return Ok(Bytes::new()) };
        let seen = std::mem::take(seen);
        self.inner = if is_zlib_header(&seen) { Inner::Zlib(flate2::write::ZlibDecoder::new(Vec::new())) } else { Inner::Raw(flate2::write::DeflateDecoder::new(Vec::new())) };
        self.fed = false;
        self.feed(&seen)
    }
}

fn decode<D: Write>(d: &mut D, chunk: &[u8], out: impl Fn(&mut D) -> &mut Vec<u8>) -> std::io::Result<Bytes> {
    d.write_all(chunk)?;
    d.flush()?;
    Ok(take(out(d)))
}

fn zstd_feed(dec: &mut zstd::stream::raw::Decoder<'static>, ended: &mut bool, chunk: &[u8]) -> std::io::Result<Bytes> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
    let mut input = InBuffer::around(chunk);
    let mut out: Vec<u8> = Vec::with_capacity((chunk.len() * 4).max(16 * 1024));
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity());
        }
        let at = out.len();
        let mut buf = OutBuffer::around_pos(&mut out, at);
        // 0: the input so far ends a frame (and all of it has been output).
        *ended = dec.run(&mut input, &mut buf)? == 0;
        let full = buf.pos() == buf.capacity();
        drop(buf);
        if input.pos() == chunk.len() && !full {
            return Ok(Bytes::from(out));
        }
    }
}

fn take(v: &mut Vec<u8>) -> Bytes {
    Bytes::from(std::mem::take(v))
}

/// RFC 1950: compression method 8, window ≤ 32K, header checksum a multiple of 31.
fn is_zlib_header(b: &[u8]) -> bool {
    match b {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (cmf >> 4) <= 7 && ((*cmf as u16) << 8 | *flg as u16) % 31 == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, HeaderValue::from_str(encoding).unwrap());
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
        h
    }

    fn roundtrip(encoding: &str, compressed: &[u8], split: usize) -> Vec<u8> {
        let mut h = headers(encoding);
        let mut d = Decoder::for_response(&mut h).unwrap();
        assert!(h.is_empty(), "encoding headers removed");
        let mut out = Vec::new();
        for piece in compressed.chunks(split) {
            out.extend_from_slice(&d.feed(piece).unwrap());
        }
        out.extend_from_slice(&d.finish().unwrap());
        out
    }

    #[test]
    fn every_encoding_decodes_in_any_split() {
        let plain: Vec<u8> = (0..50_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        let zlib = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        let raw = {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        let zstd = zstd::bulk::compress(&plain, 3).unwrap();
        // zlib-deflated, then gzipped (and a zstd frame of that, for three stages).
        let deflate_gzip = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&zlib).unwrap();
            e.finish().unwrap()
        };
        let three = zstd::bulk::compress(&deflate_gzip, 3).unwrap();
        for split in [1, 7, 4096, 1 << 20] {
            assert_eq!(roundtrip("deflate, gzip", &deflate_gzip, split), plain);
            assert_eq!(roundtrip("deflate,identity,GZIP , zstd", &three, split), plain);
            assert_eq!(roundtrip("gzip", &gz, split), plain);
            assert_eq!(roundtrip("deflate", &zlib, split), plain);
            assert_eq!(roundtrip("deflate", &raw, split), plain);
            assert_eq!(roundtrip("zstd", &zstd, split), plain);
        }
    }

    #[test]
    fn a_body_cut_short_is_an_error() {
        let plain = b"hello hello hello hello hello".repeat(100);
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        let zstd = zstd::bulk::compress(&plain, 3).unwrap();
        for (encoding, data) in [("gzip", gz), ("zstd", zstd)] {
            let mut h = headers(encoding);
            let mut d = Decoder::for_response(&mut h).unwrap();
            let fed = d.feed(&data[..data.len() / 2]);
            let err = fed.and_then(|_| d.finish()).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{encoding}: {err}");
        }
    }

    #[test]
    fn garbage_is_an_error_and_empty_is_nothing() {
        let mut h = headers("gzip");
        let mut d = Decoder::for_response(&mut h).unwrap();
        assert!(d.feed(b"definitely not gzip").is_err());
        let mut h = headers("br");
        assert!(Decoder::for_response(&mut h).unwrap().finish().unwrap().is_empty());
        let mut h = headers("identity");
        assert!(Decoder::for_response(&mut h).is_none());
        assert!(h.contains_key(CONTENT_ENCODING));
        // One coding we do not know: the body is passed on as it came, headers and all.
        let mut h = headers("gzip, compress");
        assert!(Decoder::for_response(&mut h).is_none());
        assert!(h.contains_key(CONTENT_ENCODING) && h.contains_key(CONTENT_LENGTH));
    }
}
