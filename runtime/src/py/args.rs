//! Argument types the generated wrappers extract from Python. Each validates with a message
//! naming the offending key and type; PyO3 prefixes the argument name.

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::Borrowed;

use crate::request::Maybe;
use crate::retry::RetryPolicy;
use crate::timeout::Timeouts;

pub(crate) fn type_name(o: &Bound<'_, PyAny>) -> String {
    o.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// httpr 0.7.8's wording, which users match on: "params must be a mapping or a sequence of
/// pairs, got <class 'str'>".
fn not_pairs(what: &str, got: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{what} must be a mapping or a sequence of pairs, got <class '{}'>", type_name(got)))
}

/// (key, value) pairs from a dict or a sequence of 2-tuples.
fn items<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(d.iter().collect());
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            let item = item?;
            let pair: (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract().map_err(|_| {
                PyTypeError::new_err(format!("{what} must be a mapping or a sequence of pairs, got <class '{}'> holding <class '{}'>", type_name(obj), type_name(&item)))
            })?;
            out.push(pair);
        }
        return Ok(out);
    }
    if obj.hasattr("items")? {
        let mut out = Vec::new();
        for item in obj.call_method0("items")?.try_iter()? {
            out.push(item?.extract()?);
        }
        return Ok(out);
    }
    Err(not_pairs(what, obj))
}

fn key_str(k: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    k.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} keys must be str, not {}", type_name(k))))?
        .to_str()
        .map(str::to_owned)
}

/// Query-parameter / form scalar: str, int, float, bool (true/false), None (empty value).
fn scalar(v: &Bound<'_, PyAny>, key: &str, what: &str) -> PyResult<String> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.into());
    }
    if v.is_none() {
        return Ok(String::new());
    }
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        return Ok(v.str()?.to_str()?.to_owned());
    }
    Err(PyTypeError::new_err(format!(
        "{what} value for key {key:?} must be str, int, float, bool or None (or a list of them), not {}",
        type_name(v)
    )))
}

/// Query params and form fields as (key, value) strings: list values repeat the key.
fn scalar_pairs(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (k, v) in items(obj, what)? {
        let key = if k.is_instance_of::<PyString>() { key_str(&k, what)? } else { scalar(&k, "?", &format!("{what} key"))? };
        if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
            for item in v.try_iter()? {
                out.push((key.clone(), scalar(&item?, &key, what)?));
            }
        } else {
            out.push((key.clone(), scalar(&v, &key, what)?));
        }
    }
    Ok(out)
}

/// `params=`.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl<'a, 'py> FromPyObject<'a, 'py> for Pairs {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        scalar_pairs(&obj, "params").map(Pairs)
    }
}

/// `data=` (form fields): the same values as params, errors naming `data`.
#[derive(Debug, Clone, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl<'a, 'py> FromPyObject<'a, 'py> for FormPairs {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        scalar_pairs(&obj, "data").map(FormPairs)
    }
}

/// Headers and cookies: str keys, str values.
#[derive(Debug, Clone, Default)]
pub struct StrPairs(pub Vec<(String, String)>);

impl<'a, 'py> FromPyObject<'a, 'py> for StrPairs {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let mut out = Vec::new();
        for (k, v) in items(&obj, "mapping")? {
            let key = key_str(&k, "mapping")?;
            let val = match v.cast::<PyString>() {
                Ok(s) => s.to_str()?.to_owned(),
                Err(_) if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() => v.str()?.to_str()?.to_owned(),
                Err(_) => return Err(PyTypeError::new_err(format!("value for {key:?} must be str, not {}", type_name(&v)))),
            };
            out.push((key, val));
        }
        Ok(StrPairs(out))
    }
}

/// `auth=`: Basic auth as `(username, password or None)`, sent natively; or an httpx-style
/// flow (an `httpr.Auth` such as DigestAuth, or a callable `request -> request`) that
/// `httpr._auth.run_sync`/`run_async` drive around the sends.
#[derive(Debug)]
pub enum Auth {
    Basic(String, Option<String>),
    Flow(Py<PyAny>),
}

impl Auth {
    /// (the Basic credentials, the flow): one of them is set.
    pub fn split(self) -> (Option<(String, Option<String>)>, Option<Py<PyAny>>) {
        match self {
            Auth::Basic(u, p) => (Some((u, p)), None),
            Auth::Flow(f) => (None, Some(f)),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Auth {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok((u, p)) = obj.extract::<(String, Option<String>)>() {
            return Ok(Auth::Basic(u, p));
        }
        // Tuples of the wrong shape, strings, ...: to_auth raises the TypeError naming all forms.
        let flow = obj.py().import("httpr._auth")?.getattr("to_auth")?.call1((&*obj,))?;
        if flow.is_none() {
            return Err(PyTypeError::new_err(format!("auth must be a (username, password) tuple, an httpr.Auth or a callable, not {}", type_name(&obj))));
        }
        Ok(Auth::Flow(flow.unbind()))
    }
}

/// Seconds (int or float) or None; validated (non-negative) by the runtime.
#[derive(Debug, Clone, Copy)]
pub struct Seconds(pub Option<f64>);

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(Seconds(None));
        }
        if obj.is_instance_of::<PyBool>() || !(obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>()) {
            return Err(PyTypeError::new_err(format!("timeout must be a number of seconds or None, not {}", type_name(&obj))));
        }
        // An int too large for a float is longer than any timeout: no timeout.
        Ok(Seconds(obj.extract::<f64>().ok().or(Some(f64::INFINITY))))
    }
}

/// Seconds the caller may omit (keep the default) or set, None meaning "no limit".
#[derive(Debug, Clone, Copy, Default)]
pub struct OptTimeout(pub Option<Option<f64>>);

impl OptTimeout {
    pub const UNSET: OptTimeout = OptTimeout(None);

    pub fn resolve(self) -> crate::error::Result<Maybe<Option<std::time::Duration>>> {
        Ok(match self.0 {
            None => Maybe::Unset,
            Some(s) => Maybe::Set(crate::timeout::from_secs(s)?),
        })
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for OptTimeout {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(OptTimeout(Some(Seconds::extract(obj)?.0)))
    }
}

/// `timeout=`: seconds for every phase, a `Timeout` object, or None; may be omitted.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeoutArg(pub Maybe<Timeouts>);

impl TimeoutArg {
    pub const UNSET: TimeoutArg = TimeoutArg(Maybe::Unset);
}

impl<'a, 'py> FromPyObject<'a, 'py> for TimeoutArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Some(t) = super::registry::unwrap_value::<super::timeout::Timeout>(&obj) {
            return Ok(TimeoutArg(Maybe::Set(t.0)));
        }
        if obj.is_none() || (!obj.is_instance_of::<PyBool>() && (obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>())) {
            let secs = Seconds::extract(obj)?.0;
            return Ok(TimeoutArg(Maybe::Set(Timeouts::uniform(crate::timeout::from_secs(secs)?))));
        }
        if let Ok(t) = obj.cast::<pyo3::types::PyTuple>() {
            return Ok(TimeoutArg(Maybe::Set(timeout_tuple(&t)?)));
        }
        Err(PyTypeError::new_err(format!("timeout must be a number of seconds, a (connect, read) or (connect, read, write, pool) tuple, an httpr.Timeout or None, not {}", type_name(&obj))))
    }
}

/// requests' `(connect, read)` (the write timeout follows read, the pool wait connect) and
/// httpx's `(connect, read, write, pool)`.
fn timeout_tuple(t: &Borrowed<'_, '_, pyo3::types::PyTuple>) -> PyResult<Timeouts> {
    let secs = |i: usize| -> PyResult<Option<std::time::Duration>> { Ok(crate::timeout::from_secs(Seconds::extract(t.get_item(i)?.as_borrowed())?.0)?) };
    let (connect, read, write, pool) = match t.len() {
        2 => (secs(0)?, secs(1)?, secs(1)?, secs(0)?),
        4 => (secs(0)?, secs(1)?, secs(2)?, secs(3)?),
        n => return Err(pyo3::exceptions::PyValueError::new_err(format!("a timeout tuple must be (connect, read) or (connect, read, write, pool), got {n} values"))),
    };
    Ok(Timeouts { connect, read, write, pool, total: None })
}

/// `retries=`: a number of retries, a `Retry` object, or None (no retries); may be omitted.
#[derive(Debug, Clone, Default)]
pub struct RetryArg(pub Maybe<Option<std::sync::Arc<RetryPolicy>>>);

impl RetryArg {
    pub const UNSET: RetryArg = RetryArg(Maybe::Unset);
}

impl<'a, 'py> FromPyObject<'a, 'py> for RetryArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(RetryArg(Maybe::Set(None)));
        }
        if let Some(r) = super::registry::unwrap_value::<super::retry::Retry>(&obj) {
            return Ok(RetryArg(Maybe::Set(Some(r.0))));
        }
        if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
            let n: i64 = obj.extract()?;
            let n = u32::try_from(n).map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("retries must be between 0 and {}, got {n}", u32::MAX)))?;
            return Ok(RetryArg(Maybe::Set((n > 0).then(|| std::sync::Arc::new(RetryPolicy::new(n))))));
        }
        Err(PyTypeError::new_err(format!("retries must be an int, an httpr.Retry or None, not {}", type_name(&obj))))
    }
}

/// Raw body: bytes, bytearray or str (UTF-8 encoded).
#[derive(Debug, Clone)]
/// `content=`: bytes (or str), or an iterator of bytes sent as it is read (chunked).
pub enum Content {
    Bytes(Bytes),
    /// An iterator of bytes, or an open file: read while the request is sent.
    Stream(std::sync::Arc<dyn crate::upload::Chunks>),
    /// An async iterator (AsyncClient): the body's channel, and the pump's end until the
    /// request takes it (`Content::take_pump`).
    AsyncStream(std::sync::Arc<super::upload_sources::ChannelChunks>, Option<AsyncPump>),
}

/// What feeds an async-iterator body: the iterator and the channel's sending end.
#[derive(Debug)]
pub struct AsyncPump {
    pub chunks: Py<PyAny>,
    pub tx: tokio::sync::mpsc::Sender<crate::error::Result<Bytes>>,
}

impl Clone for AsyncPump {
    fn clone(&self) -> Self {
        AsyncPump { chunks: Python::attach(|py| self.chunks.clone_ref(py)), tx: self.tx.clone() }
    }
}

impl Content {
    /// The content in memory (an iterator read to the end): for `Response(content=...)`
    /// and `Request(content=...)`.
    pub fn into_bytes(self) -> PyResult<Bytes> {
        match self {
            Content::Bytes(b) => Ok(b),
            Content::Stream(s) => Ok(crate::body::Body::stream(s).to_bytes()?),
            Content::AsyncStream(..) => Err(PyTypeError::new_err("content as an async iterator is only sent by AsyncClient requests")),
        }
    }

    /// The async iterator's pump, for the AsyncClient request that sends this body.
    pub fn take_pump(&mut self) -> Option<AsyncPump> {
        match self {
            Content::AsyncStream(_, pump) => pump.take(),
            _ => None,
        }
    }

    pub fn into_body(self) -> crate::body::Body {
        match self {
            Content::Bytes(b) => crate::body::Body::raw(b),
            Content::Stream(s) => crate::body::Body::stream(s),
            Content::AsyncStream(s, _) => crate::body::Body::stream(s),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Content {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return s
                .to_str()
                .map(|s| Content::Bytes(Bytes::copy_from_slice(s.as_bytes())))
                .map_err(|_| pyo3::exceptions::PyValueError::new_err("content str cannot be encoded as UTF-8 (it contains a lone surrogate)"));
        }
        if let Some(b) = super::json::bytes_like(&obj) {
            return Ok(Content::Bytes(b));
        }
        if obj.hasattr("__aiter__")? {
            let (chunks, tx) = super::upload_sources::ChannelChunks::new();
            return Ok(Content::AsyncStream(std::sync::Arc::new(chunks), Some(AsyncPump { chunks: obj.to_owned().unbind(), tx })));
        }
        // An open file: read in chunks while the request is sent, with a Content-Length when
        // its size is known, and sent again for a retry or a 307/308 when it can seek (httpx
        // reads a file-like `content=` so too). Iterating it would split it into lines.
        if obj.hasattr("read")? {
            return Ok(Content::Stream(std::sync::Arc::new(super::upload_sources::PyFileChunks::for_content(&obj)?)));
        }
        // An iterator or generator of bytes (httpx's streamed upload): read while the
        // request is sent, chunked (so it cannot be resent for a 307/308 redirect or a retry).
        if !obj.is_instance_of::<PyDict>() && obj.hasattr("__iter__")? {
            return Ok(Content::Stream(std::sync::Arc::new(super::upload_sources::PyIterChunks::new(&obj)?)));
        }
        Err(PyTypeError::new_err(format!("content must be bytes, str or an iterator of bytes, not {}", type_name(&obj))))
    }
}

/// Any JSON-serialisable object, serialised later (once the headers say JSON or CBOR).
#[derive(Debug)]
pub struct JsonValue(pub Py<PyAny>);

impl<'a, 'py> FromPyObject<'a, 'py> for JsonValue {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(JsonValue(obj.to_owned().unbind()))
    }
}

/// `files=`: a mapping or a list of pairs (repeated fields) of field name to what httpx takes:
/// a path (str or os.PathLike), bytes, an open file, or a tuple `(filename, content)`,
/// `(filename, content, content_type)` or `(filename, content, content_type, headers)` where
/// content is bytes, str or an open file. Files given as objects are read here, with the GIL.
pub struct Files(pub Vec<crate::body::FilePart>);

impl<'a, 'py> FromPyObject<'a, 'py> for Files {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let mut out = Vec::new();
        for (k, v) in items(&obj, "files")? {
            let key = key_str(&k, "files")?;
            out.push(file_part(&key, &v)?);
        }
        Ok(Files(out))
    }
}

fn file_part(field: &str, v: &Bound<'_, PyAny>) -> PyResult<crate::body::FilePart> {
    use crate::body::{FilePart, FileSource};
    let bad = || PyTypeError::new_err(format!("files[{field:?}] must be a path, bytes, an open file, or a (filename, content[, content_type[, headers]]) tuple, not {}", type_name(v)));
    if let Ok(t) = v.cast::<pyo3::types::PyTuple>() {
        if !(2..=4).contains(&t.len()) {
            return Err(bad());
        }
        let filename: Option<String> = t.get_item(0)?.extract().map_err(|_| bad())?;
        let content = t.get_item(1)?;
        // In a tuple a str is the content (a bare str is a path).
        let source = match content.cast::<PyString>() {
            Ok(s) => FileSource::Data(Bytes::copy_from_slice(s.to_str()?.as_bytes())),
            Err(_) if content.hasattr("read")? && super::json::bytes_like(&content).is_none() => FileSource::Stream(std::sync::Arc::new(super::upload_sources::PyFileChunks::new(&content, field)?)),
            Err(_) => FileSource::Data(file_bytes(field, &content)?.ok_or_else(bad)?),
        };
        let content_type: Option<String> = if t.len() > 2 { t.get_item(2)?.extract().map_err(|_| bad())? } else { None };
        let headers = if t.len() > 3 { t.get_item(3)?.extract::<StrPairs>()?.0 } else { Vec::new() };
        return Ok(FilePart { field: field.to_owned(), filename, source, content_type, headers });
    }
    if v.is_instance_of::<PyString>() {
        return Ok(FilePart::path(field, v.extract::<&str>()?));
    }
    if v.hasattr("read")? && super::json::bytes_like(v).is_none() {
        // An open file: read while the request is sent, named after its file.
        let filename = v.getattr("name").ok().and_then(|n| n.extract::<String>().ok()).and_then(|n| std::path::Path::new(&n).file_name().map(|f| f.to_string_lossy().into_owned()));
        let source = std::sync::Arc::new(super::upload_sources::PyFileChunks::new(v, field)?);
        return Ok(FilePart { field: field.to_owned(), filename, source: FileSource::Stream(source), content_type: None, headers: Vec::new() });
    }
    if let Some(data) = file_bytes(field, v)? {
        // Bytes alone are an anonymous "upload".
        let filename = v.getattr("name").ok().and_then(|n| n.extract::<String>().ok()).and_then(|n| std::path::Path::new(&n).file_name().map(|f| f.to_string_lossy().into_owned()));
        return Ok(FilePart { field: field.to_owned(), filename, source: FileSource::Data(data), content_type: None, headers: Vec::new() });
    }
    let path: std::path::PathBuf = v.extract().map_err(|_| bad())?;
    Ok(FilePart::path(field, &path.to_string_lossy()))
}

/// The bytes of a part given as bytes, str or an open file (read to the end); None otherwise
/// (a path).
fn file_bytes(field: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<Bytes>> {
    if let Some(b) = super::json::bytes_like(v) {
        return Ok(Some(b));
    }
    if v.hasattr("read")? {
        let data = v.call_method0("read")?;
        if let Ok(s) = data.cast::<PyString>() {
            return Ok(Some(Bytes::copy_from_slice(s.to_str()?.as_bytes())));
        }
        return super::json::bytes_like(&data)
            .map(Some)
            .ok_or_else(|| PyTypeError::new_err(format!("files[{field:?}]: read() returned {}, not bytes", type_name(&data))));
    }
    Ok(None)
}

/// One `**kwargs` entry, with PyO3's "argument 'name': ..." message on a bad value.
pub fn kwarg<'py, T>(value: &Bound<'py, PyAny>, name: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
{
    value.extract::<T>().map_err(|e| {
        let e: PyErr = e.into();
        let msg = Python::attach(|py| e.value(py).to_string());
        if Python::attach(|py| e.is_instance_of::<PyTypeError>(py)) {
            PyTypeError::new_err(format!("argument '{name}': {msg}"))
        } else {
            e
        }
    })
}

pub fn unexpected_kwarg(func: &str, name: &str) -> PyErr {
    PyTypeError::new_err(format!("{func}() got an unexpected keyword argument '{name}'"))
}

/// A whole number the runtime range-checks itself (so -1 is a ValueError naming the
/// argument); a bool is refused, as it is for the other int arguments.
#[derive(Debug, Clone, Copy)]
pub struct Count(pub i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err(format!("expected an int, not {}", type_name(&obj))));
        }
        Ok(Count(obj.extract::<i64>().unwrap_or(i64::MAX)))
    }
}

/// requests' `proxies=`: scheme (or `no_proxy`) to a proxy URL, None meaning "direct".
pub struct ProxyMap(pub Vec<(String, Option<String>)>);

impl<'a, 'py> FromPyObject<'a, 'py> for ProxyMap {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let mut out = Vec::new();
        for (k, v) in items(&obj, "proxies mapping")? {
            let key = key_str(&k, "proxies mapping")?;
            let value = if v.is_none() {
                None
            } else {
                Some(v.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("proxies[{key:?}] must be a proxy URL (str) or None, not {}", type_name(&v))))?.to_str()?.to_owned())
            };
            out.push((key, value));
        }
        Ok(ProxyMap(out))
    }
}

/// `cookies=`: a mapping or pairs (sent to every host), or an `httpr.Cookies` jar, whose
/// records with a domain go only where their domain and path match (as httpx's jar does).
pub struct CookieArg {
    /// Sent everywhere: plain pairs, and a jar's records without a domain.
    pub pairs: Vec<(String, String)>,
    /// A jar's domain-bound records: `(name, value, domain, path)`.
    pub scoped: Vec<(String, String, String, String)>,
}

impl<'a, 'py> FromPyObject<'a, 'py> for CookieArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.hasattr("records")? && obj.hasattr("for_url")? {
            let records: Vec<(String, String, String, String)> = obj.call_method0("records")?.extract()?;
            let (open, scoped): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.2.is_empty());
            return Ok(CookieArg { pairs: open.into_iter().map(|(n, v, _, _)| (n, v)).collect(), scoped });
        }
        Ok(CookieArg { pairs: obj.extract::<StrPairs>()?.0, scoped: Vec::new() })
    }
}

impl CookieArg {
    /// The pairs to send to `url` (joined to `base`): every unscoped one, and the scoped ones
    /// that match it. The URL is only parsed here when there are scoped ones (a bad URL is
    /// reported by `request::prepare`, and matches none).
    pub fn for_url(self, base: Option<&url::Url>, url: &str) -> Vec<(String, String)> {
        let mut out = self.pairs;
        if let (false, Ok(target)) = (self.scoped.is_empty(), crate::url_util::resolve(base, url)) {
            let jar = crate::cookies::Jar::default();
            jar.seed(&self.scoped);
            out.extend(jar.matching(&target));
        }
        out
    }
}
