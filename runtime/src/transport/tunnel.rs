//! An HTTP CONNECT tunnel through a proxy. Written here rather than taken from hyper-util so a
//! refusal can say what the proxy answered ("403 Forbidden"), not just "unsuccessful".

use http::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::stream::Stream;

/// A proxy's answer to CONNECT is a status line and a few headers; more is not an answer.
const MAX_ANSWER: usize = 16 * 1024;

/// Ask the proxy on `stream` for a tunnel to `authority` (`host:port`). The error text follows
/// "proxy <url> ".
pub async fn connect(mut stream: Stream, authority: &str, auth: Option<&HeaderValue>) -> Result<Stream, String> {
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(auth) = auth {
        req.extend_from_slice(b"Proxy-Authorization: ");
        req.extend_from_slice(auth.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    stream.write_all(&req).await.map_err(|e| format!("failed while sending CONNECT {authority}: {e}"))?;
    stream.flush().await.map_err(|e| format!("failed while sending CONNECT {authority}: {e}"))?;

    let mut buf = Vec::with_capacity(512);
    loop {
        let mut chunk = [0u8; 1024];
        // Byte-exact: nothing after the blank line may be consumed (it belongs to TLS).
        let want = if buf.ends_with(b"\r\n\r") { 1 } else if buf.ends_with(b"\r\n") { 2 } else if buf.ends_with(b"\r") { 3 } else { 4 };
        let n = stream.read(&mut chunk[..want]).await.map_err(|e| format!("failed while reading the answer to CONNECT {authority}: {e}"))?;
        if n == 0 {
            return Err(format!("closed the connection before answering CONNECT {authority}"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.ends_with(b"\r\n\r\n") {
            break;
        }
        if buf.len() > MAX_ANSWER {
            return Err(format!("answered CONNECT {authority} with more than {MAX_ANSWER} bytes of headers"));
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut answer = httparse::Response::new(&mut headers);
    match answer.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(format!("sent an invalid answer to CONNECT {authority}")),
    }
    let code = answer.code.unwrap_or(0);
    let reason = answer.reason.unwrap_or("");
    match code {
        200..=299 => Ok(stream),
        407 => Err(format!("refused the tunnel to {authority}: {code} {reason} (check the credentials in the proxy URL)")),
        _ => Err(format!("refused the tunnel to {authority}: {code} {reason}")),
    }
}
