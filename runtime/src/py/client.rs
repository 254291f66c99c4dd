//! `httpr.Client`: converts constructor and request arguments, releases the GIL around the
//! whole request, and wraps the result.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use std::sync::RwLock;

use super::logging::Log;
use super::args::{Auth, Content, Files, FormPairs, JsonValue, OptTimeout, Pairs, RetryArg, StrPairs, TimeoutArg};
use super::astream::AsyncStream;
use super::awaitable::awaitable;
use super::errors::exception_class;
use super::headers::Headers;
use super::hooks::{HookArg, HookSlot, Hooks};
use super::interrupt::interruptible;
use super::registry::Wrapped;
use super::response::Response;
use super::stream::StreamingResponse;
use crate::client::Driver;
use crate::config::{self, ClientSettings, DEFAULT_TIMEOUT};
use crate::cookies::Jar;
use crate::error::{Error, ErrorKind};
use crate::limits::PoolLimits;
use crate::request::{self, JsonBody, RequestOptions};
use crate::timeout::Timeouts;
use crate::tls::TlsOptions;

/// Constructor arguments (api.yaml group `client_options`).
pub struct ClientArgs {
    pub auth: Option<Auth>,
    pub auth_bearer: Option<String>,
    pub params: Option<Pairs>,
    pub headers: Option<StrPairs>,
    pub cookies: Option<super::args::CookieArg>,
    pub cookie_store: bool,
    pub referer: bool,
    pub proxy: Option<String>,
    pub proxies: Option<super::args::ProxyMap>,
    pub timeout: TimeoutArg,
    pub follow_redirects: bool,
    pub max_redirects: usize,
    pub verify: super::tls_args::VerifyArg,
    pub cert: Option<super::tls_args::CertArg>,
    pub ca_cert_file: Option<String>,
    pub client_pem: Option<String>,
    pub client_pem_data: Option<Vec<u8>>,
    pub https_only: bool,
    pub http1: bool,
    pub http2: bool,
    pub http2_only: bool,
    pub http1_only: bool,
    pub base_url: Option<String>,
    pub retries: RetryArg,
    pub max_connections: Option<super::args::Count>,
    pub max_connections_per_host: Option<super::args::Count>,
    pub pool_idle_timeout: OptTimeout,
    pub trust_env: bool,
    pub event_hooks: Option<HookArg>,
    pub transport: Option<super::mock::TransportArg>,
    pub mounts: Option<super::mock::MountsArg>,
    pub limits: Option<super::limits::LimitsArg>,
}

/// Constructor arguments only the async client takes (api.yaml group `async_options`).
pub struct AsyncArgs {
    pub max_concurrency: Option<usize>,
}

/// Per-request arguments (api.yaml group `request_options`).
#[derive(Default)]
pub struct RequestKwargs {
    pub params: Option<Pairs>,
    pub headers: Option<StrPairs>,
    pub cookies: Option<super::args::CookieArg>,
    pub auth: Option<Auth>,
    pub auth_bearer: Option<String>,
    pub timeout: TimeoutArg,
    pub retries: RetryArg,
    pub content: Option<Content>,
    pub data: Option<FormPairs>,
    pub json: Option<JsonValue>,
    pub files: Option<Files>,
    pub follow_redirects: Option<bool>,
    pub allow_redirects: Option<bool>,
    pub stream: bool,
    pub hooks: Option<super::hooks::RequestHooks>,
}

fn ask_for_events(kw: &mut RequestKwargs) {
    let headers = &mut kw.headers.get_or_insert_with(|| StrPairs(Vec::new())).0;
    for (name, value) in [("accept", "text/event-stream"), ("cache-control", "no-store")] {
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
}

/// A `Cookie` entry in default headers becomes default cookies (as in httpr 0.7.8), so
/// `client.headers` never carries Cookie and the cookies merge into one header.
fn split_cookie_header(headers: Vec<(String, String)>, cookies: &mut Vec<(String, String)>) -> Vec<(String, String)> {
    let (cookie, rest): (Vec<_>, Vec<_>) = headers.into_iter().partition(|(k, _)| k.eq_ignore_ascii_case("cookie"));
    for (_, value) in cookie {
        for part in value.split(';') {
            if let Some((n, v)) = part.trim().split_once('=') {
                *cookies = crate::cookies::merge(&[cookies, &[(n.trim().to_owned(), v.trim().to_owned())]]);
            }
        }
    }
    rest
}

/// `base_url=`: any problem with it is an InvalidURL naming the argument.
fn parse_base_url(raw: &str) -> Result<url::Url, Error> {
    crate::url_util::parse_url(raw).map_err(|e| Error::new(ErrorKind::InvalidURL, format!("invalid base_url: {}", e.message)))
}

/// A connection limit: None, or at least 1.
pub(crate) fn limit(name: &str, value: Option<super::args::Count>) -> PyResult<Option<usize>> {
    match value.map(|c| c.0) {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        Some(n) => Err(Error::value(format!("{name} must be at least 1 (or None for no limit), got {n}")).into()),
    }
}

impl ClientArgs {
    /// `asynchronous`: for an AsyncClient (which calls a transport's `handle_async_request`).
    pub fn into_settings(mut self, asynchronous: bool) -> PyResult<(ClientSettings, Hooks)> {
        let hooks = self.event_hooks.take().map(|h| h.0).unwrap_or_default();
        let base_url = self.base_url.as_deref().map(parse_base_url).transpose()?;
        // httpx's `limits=`; the client's own arguments win where both are given.
        let given = self.limits.as_ref().map(|l| l.0);
        if !self.http1 && !self.http2 {
            return Err(Error::value("http1=False needs http2=True: a client must speak some HTTP version").into());
        }
        if self.http2 && self.http1_only {
            return Err(Error::value("http2=True and http1_only=True contradict each other").into());
        }
        let tls = super::tls_args::resolve(self.verify, self.ca_cert_file.take(), self.cert.take(), self.client_pem.as_deref(), self.client_pem_data.take())?;
        let mut cookies = self.cookies.map(|c| c.pairs).unwrap_or_default();
        let headers = split_cookie_header(self.headers.map(|h| h.0).unwrap_or_default(), &mut cookies);
        let env_proxies = std::sync::Arc::new(if self.trust_env { crate::proxy::EnvProxies::from_env() } else { Default::default() });
        let proxy_map = match self.proxies {
            Some(_) if self.proxy.is_some() => return Err(Error::value("pass proxy= (one proxy for everything) or proxies= (per scheme), not both").into()),
            // NO_PROXY still applies (with trust_env) unless the map has its own `no_proxy`.
            Some(map) => Some(Arc::new(crate::proxy::EnvProxies::from_map(&map.0, env_proxies.no_proxy.clone())?)),
            None => None,
        };
        let settings = ClientSettings {
            auth: self.auth.and_then(|a| a.split().0),
            auth_bearer: self.auth_bearer,
            params: self.params.map(|p| p.0).unwrap_or_default(),
            headers: config::shared_headers(config::header_map(&headers)?),
            cookies,
            cookie_store: self.cookie_store,
            referer: self.referer,
            proxy: self.proxy,
            proxy_disabled: false,
            trust_env: self.trust_env,
            env_proxies,
            proxy_map,
            netrc: if self.trust_env { crate::netrc::Netrc::from_env().map(Arc::new) } else { None },
            timeout: self.timeout.0.or(Timeouts::uniform(Some(std::time::Duration::from_secs_f64(DEFAULT_TIMEOUT)))),
            base_url,
            limits: PoolLimits {
                max_connections: limit("max_connections", self.max_connections)?.or(given.and_then(|l| l.max_connections)),
                max_connections_per_host: limit("max_connections_per_host", self.max_connections_per_host)?,
                max_keepalive: given.and_then(|l| l.max_keepalive_connections),
            },
            pool_idle_timeout: self.pool_idle_timeout.resolve()?.or(match given {
                Some(l) => crate::timeout::from_secs(l.keepalive_expiry)?,
                None => ClientSettings::default().pool_idle_timeout,
            }),
            retry: self.retries.0.or(None),
            follow_redirects: self.follow_redirects,
            max_redirects: self.max_redirects,
            https_only: self.https_only,
            tls: TlsOptions {
                verify: tls.verify,
                ca_cert_file: tls.ca_cert_file,
                ca_pem_data: tls.ca_pem_data,
                client_pem_data: tls.client_pem_data,
                client_pem: self.client_pem,
                http2_only: self.http2_only || (self.http2 && !self.http1),
                http1_only: self.http1_only,
                http2: self.http2,
            },
            transport: self.transport.map(|t| t.into_mock(asynchronous)).transpose()?.map(|t| t.hook()),
            mounts: Arc::new(self.mounts.map(|m| m.into_mounts(asynchronous)).transpose()?.unwrap_or_default()),
        };
        Ok((settings, hooks))
    }
}

impl RequestKwargs {
    /// Convert while holding the GIL (JSON is serialised here), so the request itself can
    /// run with the GIL released.
    /// `url`: the request's URL as given (a jar given as `cookies=` sends what matches it).
    fn into_options(self, py: Python<'_>, settings: &ClientSettings, url: &str, auth_flow: bool) -> PyResult<RequestOptions> {
        if let Some(super::args::Content::AsyncStream(_, Some(_))) = &self.content {
            // Nothing would feed it: only AsyncClient's request methods pump an async iterator.
            return Err(pyo3::exceptions::PyTypeError::new_err("content as an async iterator needs AsyncClient (request methods and stream()); pass bytes or a sync iterator here"));
        }
        let json = match self.json {
            None => None,
            Some(v) => {
                let obj = v.0.bind(py);
                let cbor = if request::request_wants_cbor(settings, self.headers.as_ref().map(|h| h.0.as_slice())) {
                    Some(super::json::to_cbor(obj)?)
                } else {
                    None
                };
                Some(JsonBody {
                    json: if cbor.is_some() { bytes::Bytes::new() } else { super::json::to_json(obj)? },
                    cbor,
                })
            }
        };
        Ok(RequestOptions {
            params: self.params.map(|p| p.0),
            headers: self.headers.map(|h| h.0),
            cookies: self.cookies.map(|c| c.for_url(settings.base_url.as_ref(), url)),
            auth: self.auth.and_then(|a| a.split().0),
            auth_bearer: self.auth_bearer,
            timeout: self.timeout.0,
            retry: self.retries.0,
            content: self.content.map(|c| c.into_body()),
            data: self.data.map(|d| d.0),
            json,
            files: self.files.map(|f| f.0),
            follow_redirects: self.follow_redirects.or(self.allow_redirects),
            auth_flow,
        })
    }
}

/// `flow`: the auth flow the request will run under, if any.
fn prepare(py: Python<'_>, state: &crate::client::State, method: &str, url: &str, kw: RequestKwargs, flow: &Option<Py<PyAny>>) -> PyResult<request::Prepared> {
    let opts = kw.into_options(py, &state.settings, url, flow.is_some())?;
    Ok(request::prepare(&state.settings, method, url, opts).map_err(|e| e.for_request(method, url))?)
}

/// Prepare with the GIL, then send and read with it released (or, with requests'
/// `stream=True`, return once the headers are in).
pub fn perform(py: Python<'_>, core: &crate::client::Client, jar: Arc<Jar>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
    let state = core.state();
    let flow = super::auth_flow::take(py, &mut kw, None);
    let hooks = kw.hooks.take();
    let stream = kw.stream;
    let prepared = prepare(py, &state, method, url, kw, &flow)?;
    let response = if stream { stream_prepared(py, state, jar, None, prepared, flow, true)? } else { send_sync(py, state, jar, prepared, flow)? };
    match hooks {
        Some(h) => h.apply(py, response, false),
        None => Ok(response),
    }
}

/// Send `prepared` from sync code (under the auth `flow`, if any) and wrap the Response.
fn send_sync(py: Python<'_>, state: Arc<crate::client::State>, jar: Arc<Jar>, prepared: request::Prepared, flow: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
    match flow {
        None => super::registry::wrap(py, Response::from_data(execute_sync(py, state, jar, prepared)?)),
        Some(flow) => super::auth_flow::run(py, flow, prepared, false, move |py, p| super::registry::wrap(py, Response::from_data(execute_sync(py, state.clone(), jar.clone(), p)?))),
    }
}

fn execute_sync(py: Python<'_>, state: Arc<crate::client::State>, jar: Arc<Jar>, prepared: request::Prepared) -> PyResult<crate::response::ResponseData> {
    let log = Log::start(py);
    let data = match state.sync_driver() {
        Driver::Local => py.detach(|| crate::rt::block_on(interruptible(log.wrap(crate::client::Client::execute(state, jar, prepared, Driver::Local, Some(super::bytes::body_buffer)))))),
        Driver::Shared => py.detach(|| crate::rt::shared().block_on(interruptible(log.wrap(crate::client::Client::execute(state, jar, prepared, Driver::Shared, None))))),
    };
    log.emit(py);
    Ok(data??)
}

/// AsyncClient's `max_concurrency`: a semaphore that `aclose()` closes (failing the
/// requests still waiting with ClientClosed) and replaces.
struct Concurrency {
    max: usize,
    slots: RwLock<Arc<tokio::sync::Semaphore>>,
}

pub struct Client {
    core: crate::client::Client,
    limit: Option<Concurrency>,
    hooks: HookSlot,
    /// The client's `auth=` when it is a flow (an `httpr.Auth` or a callable).
    auth_flow: RwLock<Option<Py<PyAny>>>,
    /// requests' live `session.proxies` / `session.hooks`, and `session.cert` as given.
    views: super::session_views::SessionViews,
}

impl Client {
    pub fn new(args: ClientArgs) -> PyResult<Self> {
        Self::build(args, false)
    }

    fn build(mut args: ClientArgs, asynchronous: bool) -> PyResult<Self> {
        let (basic, flow) = args.auth.take().map(Auth::split).unwrap_or((None, None));
        args.auth = basic.map(|(u, p)| Auth::Basic(u, p));
        let views = super::session_views::SessionViews::default();
        let scoped = args.cookies.as_mut().map(|c| std::mem::take(&mut c.scoped)).unwrap_or_default();
        *views.cert.lock().unwrap_or_else(|p| p.into_inner()) = args.cert.as_mut().and_then(|c| c.1.take());
        let (settings, hooks) = args.into_settings(asynchronous)?;
        let slot = HookSlot::default();
        slot.set(hooks);
        let core = crate::client::Client::new(settings)?;
        // A jar's domain-bound cookies go into the cookie store, matched per request.
        core.jar().seed(&scoped);
        Ok(Client { core, limit: None, hooks: slot, auth_flow: RwLock::new(flow), views })
    }

    pub fn new_async(args: ClientArgs, extra: AsyncArgs) -> PyResult<Self> {
        let mut client = Self::build(args, true)?;
        client.limit = extra.max_concurrency.map(|n| Concurrency {
            max: n,
            slots: RwLock::new(Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
        });
        Ok(client)
    }

    pub fn max_concurrency(&self) -> Option<usize> {
        self.limit.as_ref().map(|c| c.max)
    }

    /// Matches httpr 0.7.8: a closed client reopens with a warning; if the warning is turned
    /// into an error, nothing is sent.
    fn reopen_if_closed(&self, py: Python<'_>) -> PyResult<()> {
        if self.core.is_closed() {
            let cls = exception_class(py, "ClientReopenedWarning")?;
            PyErr::warn(py, cls.bind(py), c"Client was closed; reopening it for this request", 1)?;
            self.core.reopen();
        }
        // requests code may have edited `session.proxies` in place since the last request.
        if let Some(map) = self.views.changed_proxies(py)? {
            self.apply_proxies(Some(map))?;
        }
        Ok(())
    }

    fn apply_proxies(&self, map: Option<super::args::ProxyMap>) -> PyResult<()> {
        Ok(self.core.update(true, |s| {
            s.proxy_map = match &map {
                None => None,
                Some(m) => Some(Arc::new(crate::proxy::EnvProxies::from_map(&m.0, s.env_proxies.no_proxy.clone())?)),
            };
            Ok(())
        })?)
    }

    pub fn request(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
        self.reopen_if_closed(py)?;
        let state = self.core.state();
        let flow = super::auth_flow::take(py, &mut kw, Some(&self.auth_flow));
        let hooks = self.views.request_hooks(py, kw.hooks.take())?;
        let stream = kw.stream;
        let prepared = prepare(py, &state, method, url, kw, &flow)?;
        let response = if stream {
            stream_prepared(py, state, self.core.jar().clone(), self.hooks.get(), prepared, flow, true)?
        } else {
            self.send_prepared(py, state, prepared, flow)?
        };
        match hooks {
            Some(h) => h.apply(py, response, false),
            None => Ok(response),
        }
    }

    /// Send from sync code with the client's hooks around it (and the auth `flow` inside them).
    fn send_prepared(&self, py: Python<'_>, state: Arc<crate::client::State>, mut prepared: request::Prepared, flow: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let hooks = self.hooks.get();
        if let Some(h) = &hooks {
            h.run_request(py, &mut prepared)?;
        }
        let response = send_sync(py, state, self.core.jar().clone(), prepared, flow)?;
        if let Some(h) = &hooks {
            h.run_response(py, response.bind(py))?;
        }
        Ok(response)
    }

    /// Send the request; return once the response headers have arrived, body unread.
    pub fn stream(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
        self.reopen_if_closed(py)?;
        let state = self.core.state();
        let flow = super::auth_flow::take(py, &mut kw, Some(&self.auth_flow));
        let prepared = prepare(py, &state, method, url, kw, &flow)?;
        stream_prepared(py, state, self.core.jar().clone(), self.hooks.get(), prepared, flow, false)
    }

    /// `stream()` asking for an event stream (`Accept: text/event-stream`, `Cache-Control:
    /// no-store`, as httpx-sse's `connect_sse`), unless the request's headers say otherwise.
    pub fn sse(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
        ask_for_events(&mut kw);
        self.stream(py, method, url, kw)
    }
    pub fn asse(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<AsyncStream> {
        ask_for_events(&mut kw);
        self.astream(py, method, url, kw)
    }

    /// The async twin of `stream`: an async context manager that sends on `__aenter__`.
    pub fn astream(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<AsyncStream> {
        self.reopen_if_closed(py)?;
        let state = self.core.state();
        let flow = super::auth_flow::take(py, &mut kw, Some(&self.auth_flow));
        let pump = kw.content.as_mut().and_then(super::args::Content::take_pump);
        let prepared = prepare(py, &state, method, url, kw, &flow)?;
        Ok(AsyncStream::new(state, self.core.jar().clone(), prepared, self.hooks.get(), flow).with_pump(pump))
    }

    /// The async twin of `request`: an awaitable driven by the shared tokio runtime.
    /// Cancelling the awaiting task drops the request (and its connection slot).
    pub fn arequest(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
        self.reopen_if_closed(py)?;
        let state = self.core.state();
        let flow = super::auth_flow::take(py, &mut kw, Some(&self.auth_flow));
        let hooks = self.views.request_hooks(py, kw.hooks.take())?;
        let pump = kw.content.as_mut().and_then(super::args::Content::take_pump);
        let stream = kw.stream;
        let prepared = prepare(py, &state, method, url, kw, &flow)?;
        let pending = if stream {
            AsyncStream::new(state, self.core.jar().clone(), prepared, self.hooks.get(), flow).open(py, true)?
        } else {
            self.asend_prepared(py, state, prepared, flow)?
        };
        let pending = with_pump(py, pending, pump)?;
        match hooks {
            Some(h) => h.apply(py, pending, true),
            None => Ok(pending),
        }
    }

    /// httpx's `client.build_request(...)`: the request `request()` would send (merged
    /// headers, params, auth and body), to edit and pass to `send()`.
    pub fn build_request(&self, py: Python<'_>, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
        let state = self.core.state();
        // The client's auth flow runs in send(), as httpx's does.
        if super::auth_flow::take(py, &mut kw, None).is_some() {
            return Err(pyo3::exceptions::PyTypeError::new_err("build_request() does not run auth flows: pass auth= to send(request, auth=...) instead"));
        }
        let prepared = prepare(py, &state, method, url, kw, &None)?;
        Ok(super::hooks::request_object(py, &prepared)?.0.unbind())
    }

    /// The request `request` (an `httpr.Request`) as this client sends it: its method, URL,
    /// headers and body, with the client's timeouts, retries, redirects and cookies, and
    /// `send()`'s own `follow_redirects`.
    fn prepared_from(&self, py: Python<'_>, request: &Bound<'_, PyAny>, follow_redirects: Option<bool>) -> PyResult<(Arc<crate::client::State>, request::Prepared)> {
        let state = self.core.state();
        let method: String = request.getattr("method")?.extract()?;
        let url: String = request.getattr("url")?.str()?.extract()?;
        let kw = RequestKwargs { follow_redirects, ..Default::default() };
        // Never `.netrc` here: the request carries the headers it is sent with.
        let base = prepare(py, &state, &method, &url, kw, &Some(py.None()))?;
        Ok((state, super::auth_flow::from_request(&base, request)?))
    }

    /// httpx's `send(request, stream=, auth=, follow_redirects=)`: `auth=` (else the client's
    /// auth flow, if it has one) runs around the send.
    pub fn send(&self, py: Python<'_>, request: &Bound<'_, PyAny>, stream: bool, auth: Option<Auth>, follow_redirects: Option<bool>) -> PyResult<Py<PyAny>> {
        self.reopen_if_closed(py)?;
        let (state, prepared) = self.prepared_from(py, request, follow_redirects)?;
        let (prepared, flow) = send_auth(py, prepared, auth, &self.auth_flow)?;
        if stream {
            return stream_prepared(py, state, self.core.jar().clone(), self.hooks.get(), prepared, flow, false);
        }
        self.send_prepared(py, state, prepared, flow)
    }

    /// The async twin of `send`.
    pub fn asend(&self, py: Python<'_>, request: &Bound<'_, PyAny>, stream: bool, auth: Option<Auth>, follow_redirects: Option<bool>) -> PyResult<Py<PyAny>> {
        self.reopen_if_closed(py)?;
        let (state, prepared) = self.prepared_from(py, request, follow_redirects)?;
        let (prepared, flow) = send_auth(py, prepared, auth, &self.auth_flow)?;
        if stream {
            return AsyncStream::new(state, self.core.jar().clone(), prepared, self.hooks.get(), flow).open(py, false);
        }
        self.asend_prepared(py, state, prepared, flow)
    }

    fn asend_prepared(&self, py: Python<'_>, state: Arc<crate::client::State>, prepared: request::Prepared, flow: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let jar = self.core.jar().clone();
        let limit = self.limit.as_ref().map(|c| c.slots.read().unwrap_or_else(|p| p.into_inner()).clone());
        let send_one = move |py: Python<'_>, prepared: request::Prepared| {
            let (state, jar, limit) = (state.clone(), jar.clone(), limit.clone());
            let log = Log::start(py);
            awaitable(py, async move {
                // Waiting for a slot is part of the request, so cancelling it frees nothing twice.
                let _permit = match limit {
                    Some(s) => Some(s.acquire_owned().await.map_err(|_| {
                        Error::new(
                            ErrorKind::ClientClosed,
                            format!("the client was closed while {} {} waited for a free slot (max_concurrency)", prepared.method, prepared.url),
                        )
                    })?),
                    None => None,
                };
                let data = log.wrap(crate::client::Client::execute(state, jar, prepared, Driver::Shared, None)).await;
                log.emit_attached();
                Ok(Wrapped(Response::from_data(data?)))
            })
        };
        let send = move |py: Python<'_>, prepared: request::Prepared| match flow {
            Some(flow) => super::auth_flow::run(py, flow, prepared, true, send_one),
            None => send_one(py, prepared),
        };
        match self.hooks.get() {
            Some(h) => h.wrap_async(py, prepared, send),
            None => send(py, prepared),
        }
    }

    /// Also AsyncClient's sync `close()` (as in 0.7.8): requests still waiting for a
    /// `max_concurrency` slot fail with ClientClosed.
    pub fn close(&self) {
        self.core.close();
        // The dropped pool's connections end on this thread's runtime: close them now.
        Python::attach(|py| py.detach(crate::rt::settle_local));
        if let Some(c) = &self.limit {
            let fresh = Arc::new(tokio::sync::Semaphore::new(c.max.max(1)));
            std::mem::replace(&mut *c.slots.write().unwrap_or_else(|p| p.into_inner()), fresh).close();
        }
    }

    pub fn aclose(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.close();
        awaitable(py, async { Ok(()) })
    }

    pub fn __aenter__(&self, py: Python<'_>, this: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let this = this.clone().unbind();
        awaitable(py, async move { Ok(this) })
    }

    pub fn __aexit__(&self, py: Python<'_>, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        self.aclose(py)
    }
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
    pub fn __enter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __exit__(&self, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) {
        self.close();
    }

    // Properties: defaults every request starts from.
    /// The live default headers: edits in place apply to the next request.
    pub fn headers(&self) -> Headers {
        Headers::live(self.core.state().settings.headers.clone())
    }
    pub fn set_headers(&self, value: StrPairs) -> PyResult<()> {
        let mut cookies = Vec::new();
        let map = config::header_map(&split_cookie_header(value.0, &mut cookies))?;
        *self.core.state().settings.headers.write().unwrap_or_else(|p| p.into_inner()) = map;
        if !cookies.is_empty() {
            self.core.update(false, |s| {
                s.cookies = crate::cookies::merge(&[&s.cookies, &cookies]);
                Ok(())
            })?;
        }
        Ok(())
    }
    pub fn set_header(&self, name: &str, value: &str) -> PyResult<()> {
        self.headers().__setitem__(name, value)
    }
    pub fn del_header(&self, name: &str) -> PyResult<()> {
        self.headers().__delitem__(name).or(Ok(()))
    }
    pub fn cookies(&self) -> Vec<(String, String)> {
        let explicit = self.core.settings().cookies;
        crate::cookies::merge(&[&self.core.jar().all(), &explicit])
    }
    pub fn set_cookies(&self, value: super::args::CookieArg) -> PyResult<()> {
        self.core.jar().clear();
        self.core.jar().seed(&value.scoped);
        Ok(self.core.update(false, |s| {
            s.cookies = value.pairs;
            Ok(())
        })?)
    }
    pub fn auth(&self) -> Option<(String, Option<String>)> {
        self.core.settings().auth
    }
    pub fn set_auth(&self, value: Option<Auth>) -> PyResult<()> {
        let (basic, flow) = value.map(Auth::split).unwrap_or((None, None));
        *self.auth_flow.write().unwrap_or_else(|p| p.into_inner()) = flow;
        Ok(self.core.update(false, |s| {
            s.auth = basic;
            Ok(())
        })?)
    }
    pub fn params(&self) -> Option<Vec<(String, String)>> {
        let p = self.core.settings().params;
        (!p.is_empty()).then_some(p)
    }
    pub fn set_params(&self, value: Option<Pairs>) -> PyResult<()> {
        Ok(self.core.update(false, |s| {
            s.params = value.map(|p| p.0).unwrap_or_default();
            Ok(())
        })?)
    }
    pub fn timeout(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::timeout::to_python(py, self.core.settings().timeout)
    }
    pub fn set_timeout(&self, value: TimeoutArg) -> PyResult<()> {
        let t = value.0.or(Timeouts::uniform(None));
        Ok(self.core.update(true, |s| {
            s.timeout = t;
            Ok(())
        })?)
    }
    pub fn base_url(&self) -> Option<String> {
        self.core.settings().base_url.map(|u| u.to_string())
    }
    pub fn set_base_url(&self, value: Option<String>) -> PyResult<()> {
        let url = value.map(|b| parse_base_url(&b)).transpose()?;
        Ok(self.core.update(false, |s| {
            s.base_url = url;
            Ok(())
        })?)
    }
    pub fn event_hooks(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        Ok(match self.hooks.get() {
            Some(h) => h.to_dict(py)?,
            None => Hooks::default().to_dict(py)?,
        }
        .unbind())
    }
    pub fn set_event_hooks(&self, value: HookArg) -> PyResult<()> {
        self.hooks.set(value.0);
        Ok(())
    }
    pub fn trust_env(&self) -> bool {
        self.core.settings().trust_env
    }
    pub fn retries(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.core.settings().retry.map(|r| super::registry::wrap(py, super::retry::Retry(r))).transpose()
    }
    pub fn proxy(&self) -> Option<String> {
        self.core.settings().proxy_in_use()
    }
    /// requests' `session.proxies`: the `proxies=` map, live (edits apply to the next request).
    pub fn proxies(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let current = self.core.settings().proxy_map.map(|m| m.to_map()).unwrap_or_default();
        self.views.proxies(py, &current)
    }
    pub fn set_proxies(&self, value: Option<super::args::ProxyMap>) -> PyResult<()> {
        self.apply_proxies(value)?;
        self.views.forget_proxies();
        Ok(())
    }
    /// requests' `session.hooks`: `{"response": [...]}`, live.
    pub fn hooks(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        self.views.hooks(py)
    }
    pub fn set_hooks(&self, value: Option<super::hooks::RequestHooks>) -> PyResult<()> {
        Python::attach(|py| self.views.set_hooks(py, value))
    }
    /// `verify` as requests' session has it: False, the CA bundle path, or True.
    pub fn verify(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let s = self.core.settings();
        Ok(match (s.tls.verify, s.tls.ca_cert_file) {
            (false, _) => pyo3::types::PyBool::new(py, false).to_owned().into_any().unbind(),
            (true, Some(path)) => path.into_pyobject(py)?.into_any().unbind(),
            (true, None) => pyo3::types::PyBool::new(py, true).to_owned().into_any().unbind(),
        })
    }
    /// Setting it rebuilds the connection pool (as `session.verify = False` in requests).
    pub fn set_verify(&self, value: super::tls_args::VerifyArg) -> PyResult<()> {
        let r = super::tls_args::resolve(value, None, None, None, None)?;
        Ok(self.core.update(true, |s| {
            s.tls.verify = r.verify;
            s.tls.ca_cert_file = r.ca_cert_file;
            s.tls.ca_pem_data = r.ca_pem_data;
            Ok(())
        })?)
    }
    pub fn cert(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        Ok(self.views.cert.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|c| c.clone_ref(py)))
    }
    pub fn set_cert(&self, value: Option<super::tls_args::CertArg>) -> PyResult<()> {
        let (pem, given) = value.map(|c| (Some(c.0), c.1)).unwrap_or((None, None));
        self.core.update(true, |s| {
            s.tls.client_pem = None;
            s.tls.client_pem_data = pem;
            Ok(())
        })?;
        *self.views.cert.lock().unwrap_or_else(|p| p.into_inner()) = given;
        Ok(())
    }
    /// None removes the proxy entirely (HTTPR_PROXY included).
    pub fn set_proxy(&self, value: Option<String>) -> PyResult<()> {
        Ok(self.core.update(true, |s| {
            s.proxy_disabled = value.is_none();
            s.proxy = value;
            Ok(())
        })?)
    }
}

/// An async-iterator body: the request's awaitable, with the event-loop task that feeds it.
pub fn with_pump(py: Python<'_>, pending: Py<PyAny>, pump: Option<super::args::AsyncPump>) -> PyResult<Py<PyAny>> {
    let Some(pump) = pump else { return Ok(pending) };
    let (send, fail, close) = super::upload_sources::pump_callables(py, pump.tx)?;
    Ok(py.import("httpr._uploads")?.getattr("send_with_body")?.call1((pending, pump.chunks, send, fail, close))?.unbind())
}

/// `send()`'s `auth=`: Basic credentials set the header now; a flow runs around the send.
fn send_auth(py: Python<'_>, mut prepared: request::Prepared, auth: Option<Auth>, client: &RwLock<Option<Py<PyAny>>>) -> PyResult<(request::Prepared, Option<Py<PyAny>>)> {
    match auth {
        None => Ok((prepared, client.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|f| f.clone_ref(py)))),
        Some(Auth::Flow(f)) => Ok((prepared, Some(f))),
        Some(Auth::Basic(user, password)) => {
            let value = request::basic_auth(&user, password.as_deref());
            prepared.headers.insert(http::header::AUTHORIZATION, crate::config::header_value("Authorization", &value)?);
            Ok((prepared, None))
        }
    }
}

/// The module's `httpr.stream`, with a one-off client.
pub fn open_stream(py: Python<'_>, core: &crate::client::Client, method: &str, url: &str, mut kw: RequestKwargs) -> PyResult<Py<PyAny>> {
    let state = core.state();
    let flow = super::auth_flow::take(py, &mut kw, None);
    let prepared = prepare(py, &state, method, url, kw, &flow)?;
    stream_prepared(py, state, core.jar().clone(), None, prepared, flow, false)
}

/// Send from sync code and return the StreamingResponse once the headers arrive. An auth
/// `flow` sees each response before its body is read (the ones it answers are closed).
/// `read_on_access`: requests' `stream=True` (`content`/`text`/`json()` read the body).
fn stream_prepared(
    py: Python<'_>,
    state: Arc<crate::client::State>,
    jar: Arc<Jar>,
    hooks: Option<Arc<Hooks>>,
    mut prepared: request::Prepared,
    flow: Option<Py<PyAny>>,
    read_on_access: bool,
) -> PyResult<Py<PyAny>> {
    if let Some(h) = &hooks {
        h.run_request(py, &mut prepared)?;
    }
    let send_one = move |py: Python<'_>, prepared: request::Prepared| -> PyResult<Py<PyAny>> {
        // Driven on this thread's runtime, like other sync requests: no cross-thread hand-off
        // per chunk. The stream keeps that runtime for reading the body.
        let rt = crate::rt::Handle::new(state.sync_driver() == Driver::Shared);
        let driver = if matches!(rt, crate::rt::Handle::Shared(_)) { Driver::Shared } else { Driver::Local };
        let log = Log::start(py);
        let head = py.detach(|| rt.block_on(interruptible(log.wrap(crate::client::Client::send(&state, &jar, prepared, driver)))));
        log.emit(py);
        let head = head??;
        super::registry::wrap(py, StreamingResponse::from_head(head, rt, read_on_access))
    };
    let response = match flow {
        None => send_one(py, prepared)?,
        Some(flow) => super::auth_flow::run(py, flow, prepared, false, send_one)?,
    };
    if let Some(h) = &hooks {
        if let Err(e) = h.run_response(py, response.bind(py)) {
            // The caller never gets the stream to close: release its connection now.
            response.bind(py).call_method0("close")?;
            return Err(e);
        }
    }
    Ok(response)
}

/// Lists of pairs to a Python dict (last value wins), for the dict-valued properties.
pub fn pairs_to_dict<'py>(py: Python<'py>, pairs: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// Pairs to a dict where a repeated key maps to the list of its values (in order), so
/// `Client(params={"tag": ["a", "b"]}).params` reads back as it was given.
pub fn pairs_to_multidict<'py>(py: Python<'py>, pairs: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        match d.get_item(k)? {
            None => d.set_item(k, v)?,
            Some(prev) => match prev.cast::<pyo3::types::PyList>() {
                Ok(list) => list.append(v)?,
                Err(_) => d.set_item(k, pyo3::types::PyList::new(py, [prev, v.into_pyobject(py)?.into_any()])?)?,
            },
        }
    }
    Ok(d)
}
