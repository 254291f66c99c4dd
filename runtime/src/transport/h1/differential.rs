//! Differential check of the lean HTTP/1.1 path against hyper's client connection: the same
//! response bytes, split into the same reads, go to both, and both must decide alike: accept
//! with the same status, version, headers and body bytes, or both refuse. Driven by the
//! proptest below (in `cargo test`) and by the cargo-fuzz target `fuzz/fuzz_targets/h1_vs_hyper.rs`;
//! the committed corpus (`fuzz/corpus/h1_vs_hyper/`) is replayed as a regression test.
//!
//! Neither side can hang here: the in-memory wire waits only for the request to be written,
//! then never again; it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{respond, Conn, Io, Pool};

/// One case: the request's method, the response bytes and how the reads split them.
#[derive(Clone, Debug)]
pub struct Case {
    pub method: Method,
    /// The size of each read in turn (0 counts as 1); once used up, reads take what is asked.
    pub reads: Vec<usize>,
    /// Read a body of known length into one buffer (`Body::read_exact`, as the sync client
    /// does for large bodies) instead of chunk by chunk.
    pub exact: bool,
    pub response: Vec<u8>,
}

impl Case {
    /// From fuzzer bytes: a flags byte (bit 0: HEAD, bit 1: exact), a count of read sizes, the
    /// sizes (one byte each), then the response.
    pub fn from_fuzz(data: &[u8]) -> Option<Case> {
        let (&flags, rest) = data.split_first()?;
        let (&count, rest) = rest.split_first()?;
        let count = usize::from(count % 32).min(rest.len());
        let (reads, response) = rest.split_at(count);
        Some(Case {
            method: if flags & 1 == 1 { Method::HEAD } else { Method::GET },
            reads: reads.iter().map(|&n| usize::from(n)).collect(),
            exact: flags & 2 == 2,
            response: response.to_vec(),
        })
    }

    /// The fuzzer bytes of this case (`from_fuzz` reads them back).
    pub fn to_fuzz(&self) -> Vec<u8> {
        let flags = u8::from(self.method == Method::HEAD) | (u8::from(self.exact) << 1);
        let reads: Vec<u8> = self.reads.iter().take(31).map(|&n| n.min(255) as u8).collect();
        let mut out = vec![flags, reads.len() as u8];
        out.extend_from_slice(&reads);
        out.extend_from_slice(&self.response);
        out
    }
}

/// What a client made of a response.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Accepted { status: u16, version: Version, headers: Vec<(String, Vec<u8>)>, body: Vec<u8> },
    /// Refused, with the client's reason (reasons are not compared).
    Refused(String),
}

/// Run `case` through both clients: Err describes a disagreement.
pub fn compare(case: &Case) -> Result<(), String> {
    let (lean, hyper) = RUNTIME.with(|rt| rt.block_on(async { (lean(case).await, hyper(case).await) }));
    match (&lean, &hyper) {
        (Decision::Refused(_), Decision::Refused(_)) => Ok(()),
        (a, b) if a == b => Ok(()),
        _ => Err(format!("lean path: {lean:?}\nhyper:     {hyper:?}\nresponse:  {:?}\ncase: {case:?}", String::from_utf8_lossy(&case.response))),
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread().build().expect("a current-thread runtime");
}

/// The response bytes, handed out in the case's read sizes once the request has been written
/// (a server answers then), then the end of the stream.
struct Wire {
    data: Bytes,
    reads: std::vec::IntoIter<usize>,
    asked: bool,
    reader: Option<std::task::Waker>,
}

impl Wire {
    fn new(case: &Case) -> Self {
        Wire { data: Bytes::copy_from_slice(&case.response), reads: case.reads.clone().into_iter(), asked: false, reader: None }
    }
}

impl AsyncRead for Wire {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        if !me.asked {
            me.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let size = me.reads.next().map_or(usize::MAX, |n| n.max(1));
        let n = size.min(buf.remaining()).min(me.data.len());
        buf.put_slice(&me.data.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let me = self.get_mut();
        me.asked = true;
        if let Some(w) = me.reader.take() {
            w.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Io for Wire {
    fn checkin(_: &Pool, _: Conn<Self>) {}
}

fn headers_of(map: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter().map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec())).collect()
}

async fn lean(case: &Case) -> Decision {
    let pool = Arc::new(Pool::new(None, None));
    let conn = Conn { io: Wire::new(case), buf: BytesMut::new(), host: "fuzz.test".into(), port: 80, owner: std::thread::current().id() };
    let wire = format!("{} / HTTP/1.1\r\nhost: fuzz.test\r\n\r\n", case.method);
    let mut head = match respond(conn, wire.as_bytes(), &case.method, false, &pool).await {
        Ok(head) => head,
        Err(f) => return Decision::Refused(f.error.to_string()),
    };
    let mut body = Vec::new();
    match head.body.remaining() {
        // (Only a length the bytes could hold: a larger one fails either way, after a large allocation.)
        Some(n) if case.exact && n <= case.response.len() as u64 => {
            body.resize(n as usize, 0);
            if let Err(e) = head.body.read_exact(&mut body, None).await {
                return Decision::Refused(e.to_string());
            }
        }
        _ => loop {
            match head.body.chunk().await {
                Ok(Some(b)) => body.extend_from_slice(&b),
                Ok(None) => break,
                Err(e) => return Decision::Refused(e.to_string()),
            }
        },
    }
    Decision::Accepted { status: head.status.as_u16(), version: head.version, headers: headers_of(&head.headers), body }
}

async fn hyper(case: &Case) -> Decision {
    let io = hyper_util::rt::TokioIo::new(Wire::new(case));
    let (mut sender, conn) = match hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io).await {
        Ok(pair) => pair,
        Err(e) => return Decision::Refused(e.to_string()),
    };
    let driver = tokio::spawn(conn);
    let req = Request::builder().method(case.method.clone()).uri("/").header(http::header::HOST, "fuzz.test").body(Empty::new()).expect("a valid request");
    let decision = match sender.send_request(req).await {
        Err(e) => Decision::Refused(e.to_string()),
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(all) => Decision::Accepted { status: parts.status.as_u16(), version: parts.version, headers: headers_of(&parts.headers), body: all.to_bytes().to_vec() },
                Err(e) => Decision::Refused(e.to_string()),
            }
        }
    };
    driver.abort();
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn case(response: &[u8], reads: &[usize]) -> Case {
        Case { method: Method::GET, reads: reads.to_vec(), exact: false, response: response.to_vec() }
    }

    /// The committed fuzz corpus (seeds and anything the fuzzer found) replays clean.
    #[test]
    fn the_fuzz_corpus_agrees() {
        let mut n = 0;
        for entry in std::fs::read_dir(corpus()).expect("the committed corpus") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            if let Some(c) = Case::from_fuzz(&data) {
                compare(&c).unwrap();
                n += 1;
            }
        }
        assert!(n >= 29, "only {n} corpus files");
    }

    #[test]
    fn every_seed_agrees_at_every_split() {
        for seed in seeds() {
            for split in [1, 2, 3, 7, 64, 4096] {
                compare(&case(&seed, &vec![split; seed.len()])).unwrap();
            }
            compare(&Case { method: Method::HEAD, ..case(&seed, &[]) }).unwrap();
            compare(&Case { exact: true, ..case(&seed, &[5, 1]) }).unwrap();
        }
    }

    #[test]
    fn fuzz_bytes_round_trip() {
        let c = Case { method: Method::HEAD, reads: vec![3, 0, 9], exact: true, response: b"HTTP/1.1 200 OK\r\n\r\n".to_vec() };
        let back = Case::from_fuzz(&c.to_fuzz()).unwrap();
        assert_eq!((back.method, back.reads, back.exact, back.response), (c.method, c.reads, c.exact, c.response));
    }

    /// One header line of a response, valid or not.
    fn header() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..40).prop_map(|n| format!("Content-Length: {n}")),
            prop::sample::select(vec!["Content-Length: 5, 5", "Content-Length: +5", "Content-Length: 5,", "Content-Length:  5 ", "Content-Length: 0x5", "Content-Length: 99999999999999999999", "Content-Length:", "content-length: 3"]).prop_map(str::to_owned),
            prop::sample::select(vec!["Transfer-Encoding: chunked", "Transfer-Encoding: Chunked", "Transfer-Encoding: chunked, identity", "Transfer-Encoding: identity", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: chunked,", "Transfer-Encoding: \u{ff}chunked"]).prop_map(str::to_owned),
            prop::sample::select(vec!["Connection: close", "Connection: keep-alive", "X-Fold: a\r\n b", "X-Nul: a\0b", "X-Bare: lf\n", "X-Obs: \u{e9}", "Bad Name: x", ": empty", "X-Tab:\tv\t"]).prop_map(str::to_owned),
        ]
    }

    /// A chunked body: sizes right or wrong, extensions, trailers, line ends.
    fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
        let chunk = (prop::collection::vec(any::<u8>(), 1..12), prop::sample::select(vec!["", ";a=b", ";x", " ", "\t;q=\"1\"", ";\n", ";a\rb"]), prop::sample::select(vec!["{:x}", "{:X}", "0{:x}", " {:x}", "+{:x}", "{:x}  "]), 0i64..3);
        let trailers = prop::sample::select(vec!["", "Expires: never\r\n", "X-A: 1\r\nX-B: 2\r\n", "no colon\r\n", "X: \0\r\n"]);
        let end = prop::sample::select(vec!["0\r\n", "000\r\n", "0;e\r\n", "0\n"]);
        (prop::collection::vec(chunk, 0..4), end, trailers, prop::sample::select(vec!["\r\n", "\n", ""])).prop_map(|(chunks, end, trailers, last)| {
            let mut out = Vec::new();
            for (data, ext, fmt, skew) in chunks {
                let size = (data.len() as i64 + skew - 1).max(0) as usize;
                out.extend_from_slice(fmt.replace("{:x}", &format!("{size:x}")).replace("{:X}", &format!("{size:X}")).as_bytes());
                out.extend_from_slice(ext.as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(end.as_bytes());
            out.extend_from_slice(trailers.as_bytes());
            out.extend_from_slice(last.as_bytes());
            out
        })
    }

    /// A response from parts (an interim response first, maybe), then byte-level damage.
    fn response() -> impl Strategy<Value = Vec<u8>> {
        let status = prop::sample::select(vec![200u16, 200, 201, 101, 103, 204, 304, 404, 999, 99]);
        let version = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "http/1.1"]);
        let body = prop_oneof![prop::collection::vec(any::<u8>(), 0..40), chunked_body()];
        let interim = prop::sample::select(vec!["", "", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 102 Processing\r\nX: y\r\n\r\n"]);
        let damage = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..3);
        (interim, version, status, prop::collection::vec(header(), 0..5), body, damage).prop_map(|(interim, version, status, headers, body, damage)| {
            let mut out = interim.as_bytes().to_vec();
            out.extend_from_slice(format!("{version} {status} Whatever\r\n").as_bytes());
            for h in headers {
                out.extend_from_slice(h.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&body);
            for (at, byte, how) in damage {
                let i = at.index(out.len() + 1);
                match how {
                    0 => out.insert(i, byte),
                    1 if i < out.len() => out[i] = byte,
                    _ if i < out.len() => drop(out.remove(i)),
                    _ => {}
                }
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn both_paths_decide_alike(response in response(), reads in prop::collection::vec(0usize..24, 0..40), head in any::<bool>(), exact in any::<bool>()) {
            let method = if head { Method::HEAD } else { Method::GET };
            let c = Case { method, reads, exact, response };
            if let Err(why) = compare(&c) {
                prop_assert!(false, "{}", why);
            }
        }
    }

    /// The hand-written seeds of the corpus (`seed-*`): valid shapes and smuggling shapes.
    fn seeds() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(corpus()).expect("the committed corpus") {
            let path = entry.unwrap().path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-")) {
                out.push(Case::from_fuzz(&std::fs::read(path).unwrap()).unwrap().response);
            }
        }
        out
    }

    fn corpus() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/h1_vs_hyper")
    }
}
