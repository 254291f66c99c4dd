//! The client core: settings + transport behind one lock, the cookie jar, and the request
//! loop (send, store cookies, follow redirects, read the body).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use thread_local::ThreadLocal;

use http::header::COOKIE;
use http::HeaderValue;

use crate::config::{self, ClientSettings};
use crate::cookies::{self, Jar};
use crate::error::{Error, ErrorKind, Result};
use crate::redirect;
use crate::request::{self, Prepared, RequestOptions};
use crate::response::{self, ResponseData};

/// What one request needs from the client, taken as a cheap snapshot (an `Arc` clone), so a
/// concurrent settings change never tears a request in half.
pub struct State {
    pub settings: ClientSettings,
    /// One transport (connection pool) per thread that sends through this client: its
    /// connections live on that thread's runtime (see `rt::block_on`).
    transports: Arc<ThreadLocal<reqwest::Client>>,
}

impl State {
    /// Builds the transport once (validating the settings) for the calling thread.
    fn new(settings: ClientSettings) -> Result<Self> {
        let state = State { settings, transports: Arc::new(ThreadLocal::new()) };
        state.transport()?;
        Ok(state)
    }

    pub fn transport(&self) -> Result<&reqwest::Client> {
        self.transports.get_or_try(|| config::build_transport(&self.settings))
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
            State { settings, transports: guard.transports.clone() }
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

    pub fn prepare(&self, state: &State, method: &str, url: &str, opts: RequestOptions) -> Result<Prepared> {
        request::prepare(&state.settings, method, url, opts)
    }

    /// Send `p`, following redirects per the settings, and read the whole body.
    pub async fn execute(state: Arc<State>, jar: Arc<Jar>, p: Prepared) -> Result<ResponseData> {
        let started = Instant::now();
        let s = &state.settings;
        let mut p = p;
        let mut hops = 0usize;
        let mut set_cookies: Vec<(String, String)> = Vec::new();
        loop {
            let resp = send_once(&state, &jar, &p).await?;
            if s.cookie_store {
                jar.store_response(resp.headers(), &p.url);
            }
            let status = resp.status();
            let hop_cookies = cookies::from_set_cookie(resp.headers());
            if !hop_cookies.is_empty() {
                set_cookies = cookies::merge(&[&set_cookies, &hop_cookies]);
            }
            if s.follow_redirects && status.is_redirection() {
                if let Some(next) = redirect::next_hop(&p, status, resp.headers(), s.referer)? {
                    hops += 1;
                    if hops > s.max_redirects {
                        return Err(Error::new(
                            ErrorKind::TooManyRedirects,
                            format!("exceeded the maximum of {} redirects for {} {} (next: {})", s.max_redirects, p.method, p.url, next.url),
                        )
                        .with_request(p.method.as_str(), p.url.as_str()));
                    }
                    p = next;
                    continue;
                }
            }
            let version = resp.version();
            let mut resp = resp;
            let headers = std::mem::take(resp.headers_mut());
            let body = response::read_body(resp, p.timeout, &p.method, &p.url).await?;
            return Ok(ResponseData { status, version, method: p.method, url: p.url, headers, cookies: set_cookies, body, elapsed: started.elapsed() });
        }
    }
}

async fn send_once(state: &State, jar: &Jar, p: &Prepared) -> Result<reqwest::Response> {
    let mut req = reqwest::Request::new(p.method.clone(), p.url.clone());
    *req.headers_mut() = p.headers.clone();
    let stored = if state.settings.cookie_store { jar.matching(&p.url) } else { Vec::new() };
    if !stored.is_empty() || !p.explicit_cookies.is_empty() {
        let merged = cookies::merge(&[&stored, &p.explicit_cookies]);
        if let Ok(v) = HeaderValue::from_str(&cookies::header_value(&merged)) {
            req.headers_mut().insert(COOKIE, v);
        }
    }
    if let Some(body) = &p.body {
        *req.body_mut() = Some(body.bytes.clone().into());
    }
    let fut = state.transport()?.execute(req);
    let result = match p.timeout {
        Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| {
            Error::new(
                ErrorKind::ReadTimeout,
                format!("timed out after {:.3}s waiting for the response headers of {} {}", t.as_secs_f64(), p.method, p.url),
            )
            .with_request(p.method.as_str(), p.url.as_str())
        })?,
        None => fut.await,
    };
    result.map_err(|e| Error::from_reqwest(&e, p.method.as_str(), p.url.as_str()))
}
