//! The client core: settings + transport behind one lock, the cookie jar, and the request
//! loop (send, store cookies, follow redirects, read the body).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;
use std::time::Instant;

use thread_local::ThreadLocal;

use http::header::COOKIE;
use http::HeaderValue;

use crate::config::{self, ClientSettings};
use crate::cookies::{self, Jar};
use crate::error::{Error, ErrorKind, Result};
use crate::redirect;
use crate::request::Prepared;
use crate::response::{self, ResponseData};

/// What one request needs from the client, taken as a cheap snapshot (an `Arc` clone), so a
/// concurrent settings change never tears a request in half.
pub struct State {
    pub settings: ClientSettings,
    /// One transport (connection pool) per thread that sends through this client: its
    /// connections live on that thread's runtime (see `rt::block_on`).
    transports: Arc<ThreadLocal<reqwest::Client>>,
    /// The pool for requests driven by the shared runtime (async clients, streams).
    shared: Arc<OnceLock<reqwest::Client>>,
    /// Pools for requests whose timeout differs from the client's, so that the connect
    /// timeout (a transport setting) follows the request's timeout. Few and small.
    by_timeout: Arc<Mutex<Vec<(Driver, Option<Duration>, std::thread::ThreadId, reqwest::Client)>>>,
}

/// Which runtime drives a request, and so which pool its connections belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The calling thread's runtime (`rt::block_on`).
    Local,
    /// The process-wide multi-thread runtime (`rt::shared`).
    Shared,
}

/// A response whose headers have arrived; the body is still on the wire.
pub struct Head {
    pub response: reqwest::Response,
    pub request: Prepared,
    pub cookies: Vec<(String, String)>,
    pub started: Instant,
}

impl State {
    /// Builds the transport once (validating the settings) for the calling thread.
    fn new(settings: ClientSettings) -> Result<Self> {
        let state = State { settings, transports: Arc::new(ThreadLocal::new()), shared: Arc::new(OnceLock::new()), by_timeout: Arc::default() };
        state.transport(Driver::Local)?;
        Ok(state)
    }

    /// The transport for a request with `timeout`: the client's own, or (when the timeout
    /// differs) one whose connect timeout is that timeout.
    pub fn transport_for(&self, driver: Driver, timeout: Option<Duration>) -> Result<reqwest::Client> {
        if timeout == self.settings.timeout {
            return self.transport(driver).cloned();
        }
        // Local pools belong to one thread's runtime, so the key includes the thread.
        let thread = std::thread::current().id();
        let mut cache = self.by_timeout.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((.., t)) = cache.iter().find(|(d, t, th, _)| *d == driver && *t == timeout && (driver == Driver::Shared || *th == thread)) {
            return Ok(t.clone());
        }
        let mut settings = self.settings.clone();
        settings.timeout = timeout;
        let t = config::build_transport(&settings)?;
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((driver, timeout, thread, t.clone()));
        Ok(t)
    }

    pub fn transport(&self, driver: Driver) -> Result<&reqwest::Client> {
        match driver {
            Driver::Local => self.transports.get_or_try(|| config::build_transport(&self.settings)),
            Driver::Shared => match self.shared.get() {
                Some(t) => Ok(t),
                None => {
                    let t = config::build_transport(&self.settings)?;
                    Ok(self.shared.get_or_init(|| t))
                }
            },
        }
    }
}

pub struct Client {
    state: RwLock<Arc<State>>,
    jar: Arc<Jar>,
    closed: AtomicBool,
}

impl Client {
    pub fn new(settings: ClientSettings) -> Result<Self> {
        let jar = Arc::new(Jar::default());
        Ok(Client { state: RwLock::new(Arc::new(State::new(settings)?)), jar, closed: AtomicBool::new(false) })
    }

    pub fn state(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn settings(&self) -> ClientSettings {
        self.state().settings.clone()
    }

    pub fn jar(&self) -> &Arc<Jar> {
        &self.jar
    }

    /// Change settings. Requests already running keep their snapshot; new ones see the new
    /// settings. `rebuild` also starts new connection pools (proxy, TLS, timeouts).
    pub fn update(&self, rebuild: bool, f: impl FnOnce(&mut ClientSettings) -> Result<()>) -> Result<()> {
        let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
        let mut settings = guard.settings.clone();
        f(&mut settings)?;
        let next = if rebuild {
            State::new(settings)?
        } else {
            // Request-level defaults only: keep the connection pools.
            State { settings, transports: guard.transports.clone(), shared: guard.shared.clone(), by_timeout: guard.by_timeout.clone() }
        };
        *guard = Arc::new(next);
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Drop pooled connections; a later request reopens the client with a fresh transport.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.update(true, |_| Ok(()));
        }
    }

    pub fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    /// Send `p`, following redirects per the settings, and read the whole body.
    pub async fn execute(state: Arc<State>, jar: Arc<Jar>, p: Prepared, driver: Driver) -> Result<ResponseData> {
        let head = Self::send(&state, &jar, p, driver).await?;
        let Head { mut response, request: p, cookies, started } = head;
        let status = response.status();
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());
        let body = response::read_body(response, p.timeout, &p.method, &p.url).await?;
        Ok(ResponseData { status, version, method: p.method, url: p.url, headers, cookies, body, elapsed: started.elapsed() })
    }

    /// Send `p` and follow redirects until a final response's headers arrive.
    pub async fn send(state: &State, jar: &Jar, p: Prepared, driver: Driver) -> Result<Head> {
        let started = Instant::now();
        let s = &state.settings;
        let mut p = p;
        let mut hops = 0usize;
        let mut set_cookies: Vec<(String, String)> = Vec::new();
        let requested = p.url.clone();
        loop {
            let resp = send_once(state, jar, &p, driver).await?;
            if s.cookie_store {
                jar.store_response(resp.headers(), &p.url);
            }
            let hop_cookies = cookies::from_set_cookie(resp.headers());
            if !hop_cookies.is_empty() {
                set_cookies = cookies::merge(&[&set_cookies, &hop_cookies]);
            }
            let status = resp.status();
            if s.follow_redirects && status.is_redirection() {
                if let Some(next) = redirect::next_hop(&p, status, resp.headers(), s.referer)? {
                    hops += 1;
                    if hops > s.max_redirects {
                        return Err(Error::new(
                            ErrorKind::TooManyRedirects,
                            format!("exceeded the maximum of {} redirects for {} {} (last: {}, next: {})", s.max_redirects, p.method, requested, p.url, next.url),
                        )
                        .with_request(p.method.as_str(), requested.as_str()));
                    }
                    p = next;
                    continue;
                }
            }
            return Ok(Head { response: resp, request: p, cookies: set_cookies, started });
        }
    }
}

/// Bodies larger than this are streamed in slices so that a stall or reset while sending is
/// reported as WriteTimeout / WriteError; smaller ones fit the socket buffers in one go.
const TRACKED_BODY: usize = 64 * 1024;

/// A request body handed to hyper slice by slice; `done` is set once all of it was taken.
fn tracked_body(bytes: bytes::Bytes, done: Arc<AtomicBool>) -> reqwest::Body {
    let stream = futures_util::stream::unfold((bytes, done), |(mut rest, done)| async move {
        if rest.is_empty() {
            done.store(true, Ordering::Release);
            return None;
        }
        let chunk = rest.split_to(rest.len().min(TRACKED_BODY));
        Some((Ok::<_, std::io::Error>(chunk), (rest, done)))
    });
    reqwest::Body::wrap_stream(stream)
}

async fn send_once(state: &State, jar: &Jar, p: &Prepared, driver: Driver) -> Result<reqwest::Response> {
    let mut req = reqwest::Request::new(p.method.clone(), p.url.clone());
    *req.headers_mut() = p.headers.clone();
    let stored = if state.settings.cookie_store { jar.matching(&p.url) } else { Vec::new() };
    if !stored.is_empty() || !p.explicit_cookies.is_empty() {
        let merged = cookies::merge(&[&stored, &p.explicit_cookies]);
        if let Ok(v) = HeaderValue::from_str(&cookies::header_value(&merged)) {
            req.headers_mut().insert(COOKIE, v);
        }
    }
    if let Some(mock) = state.settings.transport.clone().or_else(crate::mock::installed) {
        return mock.send(p, std::mem::take(req.headers_mut()), driver == Driver::Shared).await;
    }
    // None: the body (if any) is small and sent at once; Some(flag): set when all was sent.
    let mut body_sent: Option<Arc<AtomicBool>> = None;
    if let Some(body) = &p.body {
        if body.bytes.len() > TRACKED_BODY {
            let done = Arc::new(AtomicBool::new(false));
            req.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.bytes.len()));
            *req.body_mut() = Some(tracked_body(body.bytes.clone(), done.clone()));
            body_sent = Some(done);
        } else {
            *req.body_mut() = Some(body.bytes.clone().into());
        }
    }
    let unsent = || body_sent.as_ref().is_some_and(|d| !d.load(Ordering::Acquire));
    let fut = state.transport_for(driver, p.timeout)?.execute(req);
    let result = match p.timeout {
        // A little longer than the transport's connect timeout (the same setting), so a
        // connect that stalls is reported as ConnectTimeout by the transport.
        Some(t) => tokio::time::timeout(t + CONNECT_GRACE, fut).await.map_err(|_| {
            let (kind, what) = if unsent() { (ErrorKind::WriteTimeout, "sending the request body") } else { (ErrorKind::ReadTimeout, "the response headers") };
            Error::new(kind, format!("timed out after {:.3}s waiting for {what} of {} {}", t.as_secs_f64(), p.method, p.url))
                .with_request(p.method.as_str(), p.url.as_str())
        })?,
        None => fut.await,
    };
    let resp = result.map_err(|e| {
        let mut err = Error::from_reqwest(&e, p.method.as_str(), p.url.as_str());
        if unsent() && matches!(err.kind, ErrorKind::ReadError | ErrorKind::RemoteProtocolError) {
            err.kind = ErrorKind::WriteError;
        }
        match state.settings.proxy_in_use() {
            // With a proxy every TCP connection goes to the proxy, so a TCP connect failure is
            // the proxy's (a bad certificate from the target stays a ConnectError).
            Some(proxy) if err.kind == ErrorKind::ConnectError && err.message.contains("tcp connect") => {
                Error::new(ErrorKind::ProxyError, format!("could not connect through proxy {}: {}", redact(&proxy), err.message)).with_request(p.method.as_str(), p.url.as_str())
            }
            Some(proxy) if err.kind == ErrorKind::ProxyError => {
                let mut err = err;
                err.message = format!("proxy {} failed: {}", redact(&proxy), err.message);
                err
            }
            _ => err,
        }
    })?;
    if resp.status() == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        if let Some(proxy) = state.settings.proxy_in_use() {
            return Err(Error::new(
                ErrorKind::ProxyError,
                format!("proxy {} refused {} {}: 407 Proxy Authentication Required (check the credentials in the proxy URL)", redact(&proxy), p.method, p.url),
            )
            .with_request(p.method.as_str(), p.url.as_str()));
        }
    }
    Ok(resp)
}

const CONNECT_GRACE: std::time::Duration = std::time::Duration::from_millis(25);

/// A proxy URL without its password, for messages.
fn redact(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => proxy.to_owned(),
    }
}
