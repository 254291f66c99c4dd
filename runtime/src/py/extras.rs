//! Response readers and fields from httpx and requests that a fully read response answers
//! from memory: `iter_bytes/iter_text/iter_lines/iter_content`, `links`, `elapsed`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList};

/// `iter(list)`: the pieces are cut at once (the body is in memory), handed out lazily.
fn iter_of<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Py<PyAny>> {
    Ok(PyList::new(py, items)?.try_iter()?.into_any().unbind())
}

/// The body in `chunk_size` pieces (None: one piece); an empty body yields nothing.
pub fn iter_bytes(py: Python<'_>, content: &Bound<'_, PyBytes>, chunk_size: Option<usize>) -> PyResult<Py<PyAny>> {
    let bytes = content.as_bytes();
    let items = match chunk_size {
        _ if bytes.is_empty() => Vec::new(),
        None => vec![content.clone().into_any()],
        Some(n) => bytes.chunks(n.max(1)).map(|c| PyBytes::new(py, c).into_any()).collect(),
    };
    iter_of(py, items)
}

/// The text in pieces of `chunk_size` characters (None: one piece).
pub fn iter_text(py: Python<'_>, text: &str, chunk_size: Option<usize>) -> PyResult<Py<PyAny>> {
    let items = match chunk_size {
        _ if text.is_empty() => Vec::new(),
        None => vec![text.into_pyobject(py)?.into_any()],
        Some(n) => {
            let chars: Vec<char> = text.chars().collect();
            chars.chunks(n.max(1)).map(|c| c.iter().collect::<String>().into_pyobject(py).map(|s| s.into_any())).collect::<Result<_, _>>()?
        }
    };
    iter_of(py, items)
}

/// Lines without terminators, split as a stream's `iter_lines()` splits them.
pub fn iter_lines(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    let mut splitter = crate::stream::LineSplitter::default();
    let mut lines = splitter.push(text);
    lines.extend(splitter.finish());
    iter_of(py, lines.into_iter().map(|l| l.into_pyobject(py).map(|s| s.into_any())).collect::<Result<_, _>>()?)
}

/// httpx's `response.links`: `{rel: {"url": ..., "rel": ..., ...}}`.
pub fn links(py: Python<'_>, headers: &http::HeaderMap) -> PyResult<Py<PyDict>> {
    let out = PyDict::new(py);
    for value in headers.get_all(http::header::LINK) {
        let Ok(value) = value.to_str() else { continue };
        for (key, fields) in crate::links::parse(value) {
            out.set_item(key, super::client::pairs_to_dict(py, &fields)?)?;
        }
    }
    Ok(out.unbind())
}

/// `response.elapsed`: an `httpr._elapsed.Elapsed` (a timedelta that also acts as a float).
pub fn elapsed(py: Python<'_>, d: std::time::Duration) -> PyResult<Py<PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let cls = CLASS.get_or_try_init(py, || py.import("httpr._elapsed")?.getattr("Elapsed").map(Bound::unbind))?;
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Ok(cls.bind(py).call1((0, micros / 1_000_000, micros % 1_000_000))?.unbind())
}

/// An `httpr.URL` (a `str` subclass) for a URL the runtime already normalised: parsed by the
/// Python side only if its httpx attributes are used.
pub fn url_object(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    static WIRE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let wire = WIRE.get_or_try_init(py, || py.import("httpr._urls")?.getattr("URL")?.getattr("_wire").map(Bound::unbind))?;
    Ok(wire.bind(py).call1((text,))?.unbind())
}
