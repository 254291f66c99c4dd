//! The chunked transfer coding of a response body, decoded from a buffer (no I/O here: the
//! caller reads more when told to). It walks the same states, byte by byte, with the same
//! limits as hyper's decoder (hyper 1.x `proto/h1/decode.rs`), so a body hyper refuses is
//! refused here too: `differential.rs` feeds both the same bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderName, HeaderValue};

use super::H1Error;

/// Bytes of chunk extensions one body may carry, all chunks together.
const EXTENSIONS_LIMIT: u64 = 16 * 1024;
/// Bytes of the trailer section.
const TRAILERS_LIMIT: usize = 16 * 1024;
/// Trailer lines.
const MAX_TRAILERS: usize = 100;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum State {
    /// The first hex digit of a chunk size.
    #[default]
    Start,
    Size,
    /// Spaces or tabs after the size.
    SizeLws,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    Trailer,
    TrailerLf,
    /// After the last chunk's size line, or a trailer line: CR of the final CRLF, or a trailer.
    EndCr,
    EndLf,
    End,
}

/// Where a chunked body's decoder is.
#[derive(Default)]
pub struct Chunked {
    state: State,
    /// The chunk size being read, then the bytes of the chunk still to come.
    size: u64,
    extensions: u64,
    trailers: Option<BytesMut>,
    trailer_lines: usize,
}

/// What `Chunked::step` found.
pub enum Step {
    Data(Bytes),
    /// `buf` is used up before the body's end: read more, then step again.
    NeedMore,
    End,
}

impl Chunked {
    /// The bytes of the current chunk still to come (a hint for how much to read).
    pub fn data_left(&self) -> u64 {
        if self.state == State::Data {
            self.size
        } else {
            0
        }
    }

    /// Decode from the front of `buf`, consuming what it decodes.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, H1Error> {
        loop {
            match self.state {
                State::End => return Ok(Step::End),
                State::Data => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let take = usize::try_from(self.size).map_or(buf.len(), |left| left.min(buf.len()));
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Step::Data(buf.split_to(take).freeze()));
                }
                _ => {
                    let Some(&byte) = buf.first() else { return Ok(Step::NeedMore) };
                    buf.advance(1);
                    self.state = self.next(byte)?;
                    if self.state == State::End {
                        self.check_trailers()?;
                        return Ok(Step::End);
                    }
                }
            }
        }
    }

    /// The state after `byte` (never called in `Data` or `End`).
    fn next(&mut self, byte: u8) -> Result<State, H1Error> {
        use State::*;
        let invalid = |why: &str| Err(H1Error::Invalid(format!("invalid chunked body: {why}")));
        Ok(match (self.state, byte) {
            (Start, b) => match hex(b) {
                Some(d) => {
                    self.size = d;
                    Size
                }
                None => return invalid("a chunk size has no digits"),
            },
            (Size, b) if hex(b).is_some() => {
                let d = hex(b).unwrap_or_default();
                match self.size.checked_mul(16).and_then(|n| n.checked_add(d)) {
                    Some(n) => self.size = n,
                    None => return invalid("a chunk size overflows"),
                }
                Size
            }
            (Size | SizeLws, b'\t' | b' ') => SizeLws,
            (Size | SizeLws, b';') => Extension,
            (Size | SizeLws, b'\r') => SizeLf,
            (Size, _) => return invalid("a chunk size is not hexadecimal"),
            (SizeLws, _) => return invalid("text after a chunk size"),
            (Extension, b'\r') => SizeLf,
            (Extension, b'\n') => return invalid("a chunk extension contains a newline"),
            (Extension, _) => {
                self.extensions += 1;
                if self.extensions >= EXTENSIONS_LIMIT {
                    return invalid("the chunk extensions are too long");
                }
                Extension
            }
            (SizeLf, b'\n') if self.size == 0 => EndCr,
            (SizeLf, b'\n') => Data,
            (SizeLf, _) => return invalid("a chunk size line does not end with CRLF"),
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Start,
            (DataCr | DataLf, _) => return invalid("a chunk is not followed by CRLF"),
            (Trailer, b) => {
                self.push_trailer(b)?;
                match b {
                    b'\r' => TrailerLf,
                    // A bare LF ending a trailer line or the trailer section is refused (hyper
                    // 1.13), as some peers would take it for the end and others not.
                    b'\n' => return invalid("a trailer line ends with a bare LF"),
                    _ => Trailer,
                }
            }
            (TrailerLf, b'\n') => {
                if self.trailer_lines >= MAX_TRAILERS {
                    return invalid("too many trailers");
                }
                self.trailer_lines += 1;
                self.push_trailer(b'\n')?;
                EndCr
            }
            (TrailerLf, _) => return invalid("a trailer does not end with CRLF"),
            (EndCr, b'\r') => {
                if self.trailers.is_some() {
                    self.push_trailer(b'\r')?;
                }
                EndLf
            }
            (EndCr, b'\n') => return invalid("the trailer section ends with a bare LF"),
            (EndCr, b) => {
                match self.trailers.as_mut() {
                    None => self.trailers = Some(BytesMut::from(&[b][..])),
                    Some(_) => self.push_trailer(b)?,
                }
                Trailer
            }
            (EndLf, b'\n') => {
                if self.trailers.is_some() {
                    self.push_trailer(b'\n')?;
                }
                End
            }
            (EndLf, _) => return invalid("the body does not end with CRLF"),
            (Data | End, _) => unreachable!("Chunked::next is not called in {:?}", self.state),
        })
    }

    fn push_trailer(&mut self, byte: u8) -> Result<(), H1Error> {
        let t = self.trailers.get_or_insert_with(BytesMut::new);
        t.put_u8(byte);
        if t.len() >= TRAILERS_LIMIT {
            return Err(H1Error::Invalid("invalid chunked body: the trailers are too long".into()));
        }
        Ok(())
    }

    /// Trailers are not kept, but ones hyper would refuse are refused.
    fn check_trailers(&mut self) -> Result<(), H1Error> {
        let Some(raw) = self.trailers.take() else { return Ok(()) };
        let mut slots = vec![httparse::EMPTY_HEADER; self.trailer_lines];
        let bad = |why: String| Err(H1Error::Invalid(format!("invalid chunked body: {why}")));
        match httparse::parse_headers(&raw, &mut slots) {
            Ok(httparse::Status::Complete((_, headers))) => {
                for h in headers {
                    if HeaderName::from_bytes(h.name.as_bytes()).is_err() || HeaderValue::from_bytes(h.value).is_err() {
                        return bad(format!("invalid trailer {:?}", h.name));
                    }
                }
                Ok(())
            }
            Ok(httparse::Status::Partial) => bad("incomplete trailers".into()),
            Err(e) => bad(format!("invalid trailers: {e}")),
        }
    }
}

fn hex(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `raw` fed `split` bytes at a time: the body, or the error.
    fn decode(raw: &[u8], split: usize) -> Result<Vec<u8>, String> {
        let mut dec = Chunked::default();
        let (mut buf, mut rest, mut out) = (BytesMut::new(), raw, Vec::new());
        loop {
            match dec.step(&mut buf).map_err(|e| e.to_string())? {
                Step::Data(d) => out.extend_from_slice(&d),
                Step::End => return Ok(out),
                Step::NeedMore if rest.is_empty() => return Err("eof".into()),
                Step::NeedMore => {
                    let n = split.min(rest.len());
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                }
            }
        }
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers_at_any_split() {
        let raw = b"5;a=b\r\nhello\r\n1 ;x\r\n!\r\n0\r\nExpires: never\r\nX-T: 1\r\n\r\n";
        for split in 1..raw.len() {
            assert_eq!(decode(raw, split).unwrap(), b"hello!", "split {split}");
        }
        assert_eq!(decode(b"A\r\n0123456789\r\n0\r\n\r\n", 3).unwrap(), b"0123456789");
    }

    #[test]
    fn refuses_what_hyper_refuses() {
        for bad in [
            &b" 5\r\nhello\r\n0\r\n\r\n"[..],
            b"+5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5;a\nb\r\nhello\r\n0\r\n\r\n",
            b"5;a\rb\r\nhello\r\n0\r\n\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXY0\r\n\r\n",
            b"10000000000000000\r\n",
            b"0\r\nno colon\r\n\r\n",
            b"0\r\n\r\r",
            // Bare LF ending the trailer section or a trailer line (found by the fuzzer).
            b"0\r\n\n",
            b"0\r\nX-T: 1\n\r\n",
        ] {
            assert!(decode(bad, 4).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(decode(b"5\r\nhel", 2), Err("eof".into()));
    }

    #[test]
    fn bounds_extensions_and_trailers() {
        let long_ext = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(EXTENSIONS_LIMIT as usize));
        assert!(decode(long_ext.as_bytes(), 1000).is_err());
        let many = format!("0\r\n{}\r\n", "a: b\r\n".repeat(MAX_TRAILERS + 1));
        assert!(decode(many.as_bytes(), 1000).is_err());
        let fine = format!("0\r\n{}\r\n", "a: b\r\n".repeat(MAX_TRAILERS));
        assert_eq!(decode(fine.as_bytes(), 1000).unwrap(), b"");
    }
}
