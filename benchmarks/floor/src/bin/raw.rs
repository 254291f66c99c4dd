//! The raw-socket floor: one kept-alive blocking TCP connection, each request one write and
//! (for a small body) one read, the head parsed with httparse. No pool, no runtime, no
//! decoding: the least a client can do for a sequential GET on this machine.

use std::io::{Read, Write};
use std::net::TcpStream;

use httpr_bench_floor::{args, die, path_of, sequential, served, skip};

const CLIENT: &str = "raw-floor";

/// One GET on `conn`; the body is left in `buf[start..]`. -> (status, body start, body length)
fn get(conn: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> (u16, usize, usize) {
    conn.write_all(request)
        .unwrap_or_else(|e| die(&format!("write: {e}")));
    buf.clear();
    let mut chunk = [0u8; 256 * 1024];
    loop {
        let k = conn
            .read(&mut chunk)
            .unwrap_or_else(|e| die(&format!("read: {e}")));
        if k == 0 {
            die("connection closed before the response ended");
        }
        buf.extend_from_slice(&chunk[..k]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = resp
            .parse(buf)
            .unwrap_or_else(|e| die(&format!("parse: {e}")))
        {
            let len = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                .unwrap_or_else(|| die("no Content-Length"));
            let status = resp.code.unwrap_or(0);
            while buf.len() < head + len {
                let k = conn
                    .read(&mut chunk)
                    .unwrap_or_else(|e| die(&format!("read: {e}")));
                if k == 0 {
                    die("connection closed inside the body");
                }
                buf.extend_from_slice(&chunk[..k]);
            }
            return (status, head, len);
        }
    }
}

fn main() {
    let (scenario, n) = args();
    if scenario == "--info" {
        println!("{{\"lib\":\"std::net + httparse\",\"lib_version\":null,\"python\":null}}");
        return;
    }
    let Some(path) = path_of(&scenario).filter(|_| scenario.starts_with("sync_")) else {
        skip(
            CLIENT,
            &scenario,
            "the raw floor runs the plain-HTTP sequential GETs only",
        );
    };
    let addr = std::env::var("FLOOR_HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:18280".to_string());
    let mut conn =
        TcpStream::connect(&addr).unwrap_or_else(|e| die(&format!("connect {addr}: {e}")));
    conn.set_nodelay(true).ok();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: raw-floor\r\nAccept: */*\r\n\r\n"
    );
    let want = served(path);
    let mut buf = Vec::with_capacity(want.len() + 4096);
    let (status, start, len) = get(&mut conn, request.as_bytes(), &mut buf);
    if status != 200 || buf[start..start + len] != want[..] {
        die(&format!(
            "{path}: status {status}, body differs from the served file"
        ));
    }
    sequential(CLIENT, &scenario, n, || {
        let (status, _, len) = get(&mut conn, request.as_bytes(), &mut buf);
        status == 200 && len == want.len()
    });
}
