//! The client core: settings + transport behind one lock, the cookie jar, and the request
//! loop (send, store cookies, follow redirects, read the body).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use thread_local::ThreadLocal;

use http::header::COOKIE;
use http::HeaderValue;

use crate::config::ClientSettings;
use crate::cookies::{self, Jar};
use crate::error::{Error, ErrorKind, Result};
use crate::fork;
use crate::limits::{Limiter, Slot};
use crate::proxy::redact;
use crate::redirect;
use crate::request::Prepared;
use crate::response::{self, ResponseData};
use crate::connect_phase::{self, ConnectPhase};
use crate::transport::{self, ReqBody, Response, Transport};
use crate::timeout::{Deadline, Timeouts};

/// What one request needs from the client, taken as a cheap snapshot (an `Arc` clone), so a
/// concurrent settings change never tears a request in half.
pub struct State {
    pub settings: ClientSettings,
    /// One transport (connection pool) per thread that sends through this client: its
    /// connections live on that thread's runtime (see `rt::block_on`).
    transports: Arc<ThreadLocal<Transport>>,
    /// The pool for requests driven by the shared runtime (async clients, streams, and every
    /// request of a client with connection limits).
    shared: Arc<OnceLock<Transport>>,
    /// Pools for requests whose connect timeout differs from the client's (it is a transport
    /// setting). Few and small.
    by_timeout: Arc<Mutex<Vec<(Driver, Option<Duration>, std::thread::ThreadId, Transport)>>>,
    /// Connection limits; kept across settings changes so held slots stay counted.
    pub limiter: Arc<Limiter>,
    /// The fork generation the pools were made in (see `fork`).
    generation: u64,
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
    pub response: Response,
    pub request: Prepared,
    pub cookies: Vec<(String, String)>,
    pub started: Instant,
    /// The connection slot (pool limits), held until the body is read or dropped.
    pub slot: Option<Slot>,
    /// The `total` timeout's deadline, which a stream's body reads must also respect (the
    /// send itself and whole-body reads run inside `within`).
    pub deadline: Deadline,
    /// The redirects followed (oldest first), and the next hop of one not followed.
    pub history: Vec<response::Hop>,
    pub next: Option<Box<Prepared>>,
}

impl State {
    /// Builds the transport once (validating the settings) for the calling thread.
    fn new(settings: ClientSettings, limiter: Arc<Limiter>) -> Result<Self> {
        let state = State {
            settings,
            transports: Arc::new(ThreadLocal::new()),
            shared: Arc::new(OnceLock::new()),
            by_timeout: Arc::default(),
            limiter,
            generation: fork::generation(),
        };
        state.transport(state.sync_driver())?;
        Ok(state)
    }

    /// Sync requests use this thread's pool, unless connection limits need one pool for all
    /// threads (then the shared runtime drives them).
    pub fn sync_driver(&self) -> Driver {
        if self.limiter.limits().is_limited() {
            Driver::Shared
        } else {
            Driver::Local
        }
    }

    /// The transport for a request with connect timeout `connect`: the client's own, or
    /// (when it differs) one made for that timeout.
    pub fn transport_for(&self, driver: Driver, connect: Option<Duration>) -> Result<std::borrow::Cow<'_, Transport>> {
        if connect == self.settings.timeout.connect {
            return self.transport(driver).map(std::borrow::Cow::Borrowed);
        }
        // Local pools belong to one thread's runtime, so the key includes the thread.
        let thread = std::thread::current().id();
        let mut cache = self.by_timeout.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((.., t)) = cache.iter().find(|(d, t, th, _)| *d == driver && *t == connect && (driver == Driver::Shared || *th == thread)) {
            return Ok(std::borrow::Cow::Owned(t.clone()));
        }
        let mut settings = self.settings.clone();
        settings.timeout.connect = connect;
        let t = Transport::build(&settings)?;
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((driver, connect, thread, t.clone()));
        Ok(std::borrow::Cow::Owned(t))
    }

    pub fn transport(&self, driver: Driver) -> Result<&Transport> {
        match driver {
            Driver::Local => self.transports.get_or_try(|| Transport::build(&self.settings)),
            Driver::Shared => match self.shared.get() {
                Some(t) => Ok(t),
                None => {
                    let t = Transport::build(&self.settings)?;
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
        let limiter = Arc::new(Limiter::new(settings.limits)?);
        Ok(Client { state: RwLock::new(Arc::new(State::new(settings, limiter)?)), jar, closed: AtomicBool::new(false) })
    }

    pub fn state(&self) -> Arc<State> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner()).clone();
        if state.generation == fork::generation() {
            return state;
        }
        // In a forked child: the pools belong to the parent. Abandon them (never drop: see
        // `fork`) and start new ones.
        let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
        if guard.generation != fork::generation() {
            let old = guard.clone();
            std::mem::forget(old);
            let limiter = Arc::new(Limiter::new(guard.settings.limits).unwrap_or_default());
            match State::new(guard.settings.clone(), limiter) {
                Ok(next) => *guard = Arc::new(next),
                // Settings that built a transport before the fork build one after it.
                Err(_) => return guard.clone(),
            }
        }
        guard.clone()
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
            State::new(settings, guard.limiter.clone())?
        } else {
            // Request-level defaults only: keep the connection pools.
            State {
                settings,
                transports: guard.transports.clone(),
                shared: guard.shared.clone(),
                by_timeout: guard.by_timeout.clone(),
                limiter: guard.limiter.clone(),
                generation: guard.generation,
            }
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

    /// Send `p` (retrying and following redirects per the settings) and read the whole body
    /// (a large one into a buffer from `buffer`, if given: `response::read_body`).
    pub async fn execute(state: Arc<State>, jar: Arc<Jar>, p: Prepared, driver: Driver, buffer: Option<response::BufferFn>) -> Result<ResponseData> {
        let deadline = Deadline::start(p.timeout.total);
        let (method, url) = (p.method.clone(), p.url.clone());
        within(deadline, &method, &url, async {
            let head = Box::pin(send_retrying(&state, &jar, p, driver)).await?;
            let Head { mut response, request: p, cookies, started, slot, history, next, .. } = head;
            let (status, version) = (response.status, response.version);
            let headers = std::mem::take(&mut response.headers);
            let body = response::read_body(response, p.timeout.read, &p.method, &p.url, buffer).await?;
            drop(slot);
            let trail = response::Trail { request_headers: p.headers, request_body: p.body.map(|b| b.bytes), history, next };
            Ok(ResponseData { status, version, method: p.method, url: p.url, headers, cookies, body, elapsed: started.elapsed(), trail })
        })
        .await
    }

    /// Send `p` (retrying and following redirects) until a final response's headers arrive.
    pub async fn send(state: &State, jar: &Jar, p: Prepared, driver: Driver) -> Result<Head> {
        let deadline = Deadline::start(p.timeout.total);
        let (method, url) = (p.method.clone(), p.url.clone());
        let mut head = within(deadline, &method, &url, Box::pin(send_retrying(state, jar, p, driver))).await?;
        // The body is read after this returns: the stream carries the deadline on.
        head.deadline = deadline;
        Ok(head)
    }
}

/// `fut` bounded by the `total` timeout, if there is one. A plain function (not `async`), so
/// the returned future holds `fut` once: futures are moved around whole, so size matters.
fn within<'a, T: 'a>(deadline: Deadline, method: &http::Method, url: &url::Url, fut: impl std::future::Future<Output = Result<T>> + 'a) -> impl std::future::Future<Output = Result<T>> + 'a {
    use futures_util::future::{Either, FutureExt};
    match deadline.0 {
        None => Either::Left(fut),
        Some((at, _)) => {
            let (method, url) = (method.clone(), url.clone());
            Either::Right(tokio::time::timeout_at(at, fut).map(move |r| r.unwrap_or_else(|_| Err(response::total_elapsed(deadline, &method, &url)))))
        }
    }
}

/// Retries per the request's policy: failed attempts and retryable statuses, with backoff.
async fn send_retrying(state: &State, jar: &Jar, p: Prepared, driver: Driver) -> Result<Head> {
    let policy = p.retry.clone();
    let method = p.method.clone();
    let mut p = Some(p);
    let mut retries = 0u32;
    loop {
        let left = policy.as_ref().filter(|pol| retries < pol.total);
        // The last attempt takes the request itself; earlier ones send a copy.
        let this = match left {
            Some(_) => p.clone(),
            None => p.take(),
        };
        let this = this.ok_or_else(|| Error::new(ErrorKind::RequestError, "internal: request already sent"))?;
        // Boxed: the redirect loop's state is large, and this one is moved around whole.
        let attempt = Box::pin(send_redirects(state, jar, this, driver)).await;
        // A streamed body the attempt read (an iterator) cannot go again: keep its outcome.
        let left = left.filter(|_| p.as_ref().and_then(|p| p.body.as_ref()).and_then(|b| b.upload.as_ref()).is_none_or(|u| u.replayable()));
        let wait = match (left, &attempt) {
            (Some(pol), Err(e)) if pol.retries_error(e, &method) => pol.wait(retries + 1, None),
            (Some(pol), Ok(h)) if pol.retries_status(h.response.status, &method) => pol.wait(retries + 1, Some(&h.response.headers)),
            _ => {
                return attempt.map_err(|mut e| {
                    if retries > 0 {
                        e.message = format!("{} (gave up after {retries} retries)", e.message);
                    }
                    e
                })
            }
        };
        // Frees the connection (and its slot) before waiting.
        drop(attempt);
        retries += 1;
        tokio::time::sleep(wait).await;
    }
}

/// Send `p` and follow redirects until a final response's headers arrive.
async fn send_redirects(state: &State, jar: &Jar, p: Prepared, driver: Driver) -> Result<Head> {
    let started = Instant::now();
    let s = &state.settings;
    let mut p = p;
    let mut hops = 0usize;
    let mut set_cookies: Vec<(String, String)> = Vec::new();
    let mut history = Vec::new();
    let requested = p.url.clone();
    loop {
        // Boxed: only limited clients wait here, and the others should not carry its state.
        let slot = if state.limiter.limits().is_limited() { Box::pin(state.limiter.acquire(&p.url, &p.method, p.timeout.pool)).await? } else { None };
        let resp = send_once(state, jar, &p, driver).await?;
        if s.cookie_store {
            jar.store_response(&resp.headers, &p.url);
        }
        let hop_cookies = cookies::from_set_cookie(&resp.headers);
        if !hop_cookies.is_empty() {
            set_cookies = cookies::merge(&[&set_cookies, &hop_cookies]);
        }
        let status = resp.status;
        if status.is_redirection() {
            if let Some(next) = redirect::next_hop(&p, status, &resp.headers, s.referer)? {
                if !p.follow_redirects {
                    return Ok(Head { response: resp, request: p, cookies: set_cookies, started, slot, deadline: Deadline::start(None), history, next: Some(Box::new(next)) });
                }
                hops += 1;
                if hops > s.max_redirects {
                    return Err(Error::new(
                        ErrorKind::TooManyRedirects,
                        format!("exceeded the maximum of {} redirects for {} {} (last: {}, next: {})", s.max_redirects, p.method, requested, p.url, next.url),
                    )
                    .with_request(p.method.as_str(), requested.as_str()));
                }
                let mut resp = resp;
                let prev = std::mem::replace(&mut p, next);
                history.push(response::Hop { status, version: resp.version, method: prev.method, url: prev.url, headers: std::mem::take(&mut resp.headers), request_headers: prev.headers, elapsed: started.elapsed() });
                continue;
            }
        }
        return Ok(Head { response: resp, request: p, cookies: set_cookies, started, slot, deadline: Deadline::start(None), history, next: None });
    }
}

/// One request on the wire (or to a mock transport), recorded for the `httpr` logger.
async fn send_once(state: &State, jar: &Jar, p: &Prepared, driver: Driver) -> Result<Response> {
    let started = crate::log::start();
    let result = send_unlogged(state, jar, p, driver).await;
    crate::log::finish(started, &p.method, &p.url, &result);
    result
}

async fn send_unlogged(state: &State, jar: &Jar, p: &Prepared, driver: Driver) -> Result<Response> {
    let mut headers = p.headers.clone();
    let stored = if state.settings.cookie_store { jar.matching(&p.url) } else { Vec::new() };
    if !stored.is_empty() || !p.explicit_cookies.is_empty() {
        // A Cookie header the request carries itself (`headers={"Cookie": ...}`, an auth
        // flow's) joins the merge, and wins, rather than being replaced.
        let given = headers.get(COOKIE).and_then(|v| v.to_str().ok()).map(cookies::parse_header).unwrap_or_default();
        let merged = cookies::merge(&[&stored, &p.explicit_cookies, &given]);
        if let Ok(v) = HeaderValue::from_str(&cookies::header_value(&merged)) {
            headers.insert(COOKIE, v);
        }
    }
    let mounted = if state.settings.mounts.is_empty() { None } else { state.settings.mounts.route(&p.url).flatten().cloned() };
    if let Some(mock) = mounted.or_else(|| state.settings.transport.clone()).or_else(crate::mock::installed) {
        return mock.send(p, headers, driver == Driver::Shared).await;
    }
    let phase = Arc::new(ConnectPhase::default());
    // A small body is sent at once; a large one is tracked, so the write timeout applies
    // until it is all out, and a failure meanwhile is a write error.
    let body = match &p.body {
        Some(crate::body::Body { upload: Some(upload), .. }) => ReqBody::streamed(upload, &phase),
        Some(body) => ReqBody::new(body.bytes.clone(), &phase),
        None => ReqBody::Empty,
    };
    let tracked = body.is_tracked();
    let uri = http::Uri::try_from(p.url.as_str()).map_err(|e| Error::new(ErrorKind::InvalidRequestURL, format!("invalid URL {}: {e}", p.url)).with_request(p.method.as_str(), p.url.as_str()))?;
    let mut req = http::Request::new(body);
    *req.method_mut() = p.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    let unsent = || tracked && phase.snapshot().body_sent_at.is_none();
    let transport = state.transport_for(driver, p.timeout.connect)?;
    let fut = connect_phase::scope(phase.clone(), transport.send(req, driver == Driver::Local));
    let result = await_headers(fut, &p.timeout, tracked, &phase, p).await?;
    let resp = result.map_err(|e| {
        let mut err = transport::send_error(&e, p.method.as_str(), p.url.as_str());
        if unsent() && matches!(err.kind, ErrorKind::ReadError | ErrorKind::RemoteProtocolError) {
            err.kind = ErrorKind::WriteError;
        }
        err
    })?;
    if resp.status == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        // Rare: the URI is parsed again rather than kept for every request.
        if let Some(proxy) = http::Uri::try_from(p.url.as_str()).ok().as_ref().and_then(|u| transport.proxy_for(u)) {
            return Err(Error::new(
                ErrorKind::ProxyError,
                format!("proxy {} refused {} {}: 407 Proxy Authentication Required (check the credentials in the proxy URL)", redact(proxy), p.method, p.url),
            )
            .with_request(p.method.as_str(), p.url.as_str()));
        }
    }
    Ok(resp)
}

/// Wait for the response headers. While the (large) body is going out the write timeout
/// applies, from when the connection was ready; then the read timeout, from when the body
/// was out (or the connection ready, or the request started, whichever is last). While a new
/// connection is being made neither runs: that is the connect timeout's job.
async fn await_headers(
    fut: impl std::future::Future<Output = std::result::Result<Response, transport::SendError>>,
    t: &Timeouts,
    tracked: bool,
    phase: &ConnectPhase,
    p: &Prepared,
) -> Result<std::result::Result<Response, transport::SendError>> {
    use std::future::Future;
    use std::task::Poll;
    if t.read.is_none() && (!tracked || t.write.is_none()) {
        return Ok(fut.await);
    }
    let started = Instant::now();
    let mut fut = std::pin::pin!(fut);
    loop {
        let now = phase.snapshot();
        let writing = tracked && now.body_sent_at.is_none();
        let (limit, since) = if writing {
            (t.write, now.connected_at.unwrap_or(started))
        } else {
            (t.read, [Some(started), now.connected_at, now.body_sent_at].into_iter().flatten().max().unwrap_or(started))
        };
        let deadline = if now.connecting { None } else { limit.map(|l| tokio::time::Instant::from_std(since + l)) };
        let mut changed = std::pin::pin!(phase.changed.notified());
        let mut sleep = std::pin::pin!(tokio::time::sleep_until(deadline.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86400 * 365))));
        enum Event<T> {
            Done(T),
            Changed,
            Elapsed,
        }
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = fut.as_mut().poll(cx) {
                return Poll::Ready(Event::Done(r));
            }
            if changed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Changed);
            }
            if deadline.is_some() && sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Elapsed);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Done(r) => return Ok(r),
            Event::Changed => continue,
            Event::Elapsed => {
                let waited = limit.unwrap_or_default().as_secs_f64();
                let (kind, what) = if writing { (ErrorKind::WriteTimeout, "sending the request body") } else { (ErrorKind::ReadTimeout, "waiting for the response headers") };
                return Err(Error::new(kind, format!("timed out after {waited:.3}s {what} of {} {}", p.method, p.url)).with_request(p.method.as_str(), p.url.as_str()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Futures are moved whole (into boxes, tasks, `block_on`), so a request's future must
    /// stay small: nested `async fn`s inline each other's state and sizes add up fast.
    #[test]
    fn request_futures_stay_small() {
        let c = Client::new(ClientSettings::default()).unwrap();
        let st = c.state();
        let jar = c.jar().clone();
        let p = crate::request::prepare(&st.settings, "GET", "http://127.0.0.1:1/", Default::default()).unwrap();
        let execute = std::mem::size_of_val(&Client::execute(st.clone(), jar.clone(), p.clone(), Driver::Shared, None));
        let send = std::mem::size_of_val(&Client::send(&st, &jar, p, Driver::Shared));
        assert!(execute <= 4096, "execute's future is {execute} bytes");
        assert!(send <= 2048, "send's future is {send} bytes");
    }
}
