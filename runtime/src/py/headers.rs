//! `httpr.Headers`: a read-only, case-insensitive multi-map over the response headers.
//! `h[name]` joins repeated values with ", " (as httpx does); `get_list` returns each value.

use http::HeaderMap;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

pub struct Headers {
    map: HeaderMap,
}

fn text(v: &http::HeaderValue) -> String {
    match v.to_str() {
        Ok(s) => s.to_owned(),
        // Non-ASCII bytes: latin-1, like httpx.
        Err(_) => v.as_bytes().iter().map(|&b| b as char).collect(),
    }
}

impl Headers {
    pub fn new(map: HeaderMap) -> Self {
        Headers { map }
    }

    fn joined(&self, key: &str) -> Option<String> {
        let mut it = self.map.get_all(key).iter();
        let first = it.next()?;
        let mut s = text(first);
        for v in it {
            s.push_str(", ");
            s.push_str(&text(v));
        }
        Some(s)
    }

    pub fn __getitem__(&self, key: &str) -> PyResult<String> {
        self.joined(key).ok_or_else(|| PyKeyError::new_err(key.to_owned()))
    }
    pub fn get(&self, key: &str, default: Option<String>) -> Option<String> {
        self.joined(key).or(default)
    }
    pub fn get_list(&self, key: &str) -> Vec<String> {
        self.map.get_all(key).iter().map(text).collect()
    }
    pub fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        key.extract::<&str>().is_ok_and(|k| self.map.contains_key(k))
    }
    pub fn __len__(&self) -> usize {
        self.map.keys_len()
    }
    pub fn keys(&self) -> Vec<String> {
        self.map.keys().map(|k| k.as_str().to_owned()).collect()
    }
    pub fn values(&self) -> Vec<String> {
        self.map.keys().filter_map(|k| self.joined(k.as_str())).collect()
    }
    pub fn items(&self) -> Vec<(String, String)> {
        self.map.keys().filter_map(|k| self.joined(k.as_str()).map(|v| (k.as_str().to_owned(), v))).collect()
    }
    pub fn multi_items(&self) -> Vec<(String, String)> {
        self.map.iter().map(|(k, v)| (k.as_str().to_owned(), text(v))).collect()
    }
    pub fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(PyList::new(py, self.keys())?.try_iter()?.into_any().unbind())
    }
    pub fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let mine = PyDict::new(py);
        for (k, v) in self.items() {
            mine.set_item(k, v)?;
        }
        let theirs = PyDict::new(py);
        let other_items = match other.call_method0("items") {
            Ok(i) => i,
            Err(_) => return Ok(false),
        };
        for item in other_items.try_iter()? {
            let item = item?;
            let pair = item.cast::<PyTuple>()?;
            let k: String = pair.get_item(0)?.extract()?;
            theirs.set_item(k.to_ascii_lowercase(), pair.get_item(1)?)?;
        }
        mine.as_any().eq(theirs)
    }
    pub fn __repr__(&self) -> String {
        let inner: Vec<String> = self.multi_items().iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
        format!("Headers({{{}}})", inner.join(", "))
    }
}
