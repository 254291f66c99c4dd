//! Making a connection for the pool: TCP (hyper-util's connector: DNS, happy eyeballs), then
//! a proxy hop if the destination has one (HTTP CONNECT tunnel, SOCKS5, or a plain HTTP proxy
//! that takes absolute-form requests), then TLS for https. The connect timeout bounds all of
//! it, and the request's `ConnectPhase` learns when it starts and ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::connect::proxy::SocksV5;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tower_service::Service;

use super::stream::Stream;
use super::tunnel;
use crate::connect_phase;
use crate::error::{cause_chain, ErrorKind};
use crate::proxy::{port_of, redact, Proxies, ProxyKind};

/// Why a connection could not be made, already classified: the transport's error chain
/// carries it to `error::classify_transport`.
#[derive(Debug)]
pub struct ConnectFailure {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectFailure {}

fn fail(kind: ErrorKind, message: String) -> ConnectFailure {
    ConnectFailure { kind, message }
}

/// A pooled connection: the byte stream plus what hyper-util needs to know about it.
pub struct Conn {
    io: TokioIo<Stream>,
    /// Talks to an HTTP proxy that takes absolute-form requests.
    proxied: bool,
    h2: bool,
    served: Served,
}

/// The responses a pooled connection has carried: hyper-util puts it in each response's
/// extensions (`Connected::extra`), so a response knows whether its connection was reused.
#[derive(Clone, Default)]
pub struct Served(Arc<std::sync::atomic::AtomicU64>);

impl Served {
    /// Count one more response; whether there was one before.
    pub fn count_one(&self) -> bool {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let c = Connected::new().proxy(self.proxied).extra(self.served.clone());
        if self.h2 {
            c.negotiated_h2()
        } else {
            c
        }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: hyper::rt::ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// The connector service handed to hyper-util's pool.
#[derive(Clone)]
pub struct Connector {
    tcp: HttpConnector,
    tls: Arc<ClientConfig>,
    proxies: Arc<Proxies>,
    timeout: Option<Duration>,
}

impl Connector {
    pub fn new(tls: Arc<ClientConfig>, proxies: Arc<Proxies>, timeout: Option<Duration>) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        // TCP keepalive probes after 15 s idle, every 15 s, 3 of them (as reqwest, which httpr
        // used before): a pooled connection a NAT or firewall dropped is noticed.
        tcp.set_keepalive(Some(Duration::from_secs(15)));
        tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
        tcp.set_keepalive_retries(Some(3));
        Connector { tcp, tls, proxies, timeout }
    }
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = ConnectFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, ConnectFailure>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectFailure>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let this = self.clone();
        let phase = connect_phase::current();
        Box::pin(async move {
            if let Some(p) = &phase {
                p.connecting();
            }
            let started = Instant::now();
            let out = match this.timeout {
                Some(t) => match tokio::time::timeout(t, this.connect(&dst)).await {
                    Ok(r) => r,
                    Err(_) => Err(fail(ErrorKind::ConnectTimeout, format!("connecting to {} took longer than {:.3}s", authority(&dst), started.elapsed().as_secs_f64()))),
                },
                None => this.connect(&dst).await,
            };
            if let Some(p) = &phase {
                p.connected();
            }
            out
        })
    }
}

impl Connector {
    /// A connection to `dst` for the lean HTTP/1.1 path (no proxy applies to it), made like
    /// the pool's: TLS for https, the connect timeout and the request's phase included.
    pub async fn connect_h1(mut self, dst: Uri) -> Result<Stream, ConnectFailure> {
        let conn = self.call(dst.clone()).await?;
        if conn.h2 {
            // Not offered (ALPN lists only HTTP/1.1 unless http2_only, which skips this path).
            return Err(fail(ErrorKind::RemoteProtocolError, format!("{} chose HTTP/2, which was not offered", authority(&dst))));
        }
        Ok(TokioIo::into_inner(conn.io))
    }
}

/// `host:port` of a destination, the port made explicit.
fn authority(dst: &Uri) -> String {
    let host = dst.host().unwrap_or_default();
    format!("{host}:{}", port_of(dst))
}


impl Connector {
    async fn connect(&self, dst: &Uri) -> Result<Conn, ConnectFailure> {
        let https = dst.scheme_str() == Some("https");
        let conn = |stream, proxied| Conn { h2: stream_is_h2(&stream), io: TokioIo::new(stream), proxied, served: Served::default() };
        let Some(proxy) = self.proxies.for_uri(dst) else {
            let tcp = self.tcp(dst).await.map_err(|e| fail(ErrorKind::ConnectError, format!("could not connect to {}: {e}", authority(dst))))?;
            let stream = if https { self.tls(tcp, dst).await? } else { tcp };
            return Ok(conn(stream, false));
        };
        let refused = |e: String| fail(ErrorKind::ProxyError, format!("could not connect through proxy {}: {e}", redact(&proxy.url)));
        let stream = match proxy.kind {
            ProxyKind::Socks5 { remote_dns } => {
                // hyper-util's SOCKS client defaults a missing port to 443: always pass one.
                let mut target = authority(dst);
                if !remote_dns {
                    // Resolved here, on tokio's blocking pool: hyper-util's SOCKS client would
                    // call getaddrinfo on the runtime thread. It then gets an address.
                    let host = dst.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
                    let mut addrs = tokio::net::lookup_host((host, port_of(dst))).await.map_err(|e| refused(format!("could not resolve {host}: {e}")))?;
                    let addr = addrs.next().ok_or_else(|| refused(format!("could not resolve {host}: no addresses")))?;
                    target = addr.to_string();
                }
                let target: Uri = format!("http://{target}").parse().map_err(|e| refused(format!("{e}")))?;
                let mut socks = SocksV5::new(proxy.uri.clone(), self.tcp.clone()).local_dns(!remote_dns);
                if let Some((user, pass)) = &proxy.socks_auth {
                    socks = socks.with_auth(user.clone(), pass.clone());
                }
                let io = socks.call(target).await.map_err(|e| refused(cause_chain(&e)))?;
                Stream::Tcp(io.into_inner())
            }
            ProxyKind::Http | ProxyKind::Https => {
                let tcp = self.tcp(&proxy.uri).await.map_err(|e| refused(e.to_string()))?;
                // A certificate the proxy's TLS fails on stays a ConnectError (as for a target).
                let stream = if proxy.kind == ProxyKind::Https {
                    self.tls(tcp, &proxy.uri).await.map_err(|e| fail(e.kind, format!("could not connect through proxy {}: {}", redact(&proxy.url), e.message)))?
                } else {
                    tcp
                };
                if !https {
                    // A plain-HTTP destination: the proxy takes the request itself.
                    return Ok(conn(stream, true));
                }
                tunnel::connect(stream, &authority(dst), proxy.auth.as_ref()).await.map_err(|e| fail(ErrorKind::ProxyError, format!("proxy {} {e}", redact(&proxy.url))))?
            }
        };
        let stream = if https { self.tls(stream, dst).await? } else { stream };
        Ok(conn(stream, false))
    }

    async fn tcp(&self, dst: &Uri) -> Result<Stream, String> {
        match self.tcp.clone().call(dst.clone()).await {
            Ok(io) => Ok(Stream::Tcp(io.into_inner())),
            Err(e) => Err(cause_chain(&e)),
        }
    }

    async fn tls(&self, stream: Stream, dst: &Uri) -> Result<Stream, ConnectFailure> {
        let host = dst.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        let name = ServerName::try_from(host.clone()).map_err(|e| fail(ErrorKind::ConnectError, format!("invalid TLS server name {host:?}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone());
        match tls.connect(name, stream).await {
            Ok(s) => Ok(Stream::Tls(Box::new(s))),
            Err(e) => Err(fail(ErrorKind::SSLError, format!("TLS handshake with {} failed: {}", authority(dst), cause_chain(&e)))),
        }
    }
}

fn stream_is_h2(stream: &Stream) -> bool {
    match stream {
        Stream::Tls(s) => s.get_ref().1.alpn_protocol() == Some(b"h2"),
        Stream::Tcp(_) => false,
    }
}
