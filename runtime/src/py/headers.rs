//! `httpr.Headers` (also exported as `CaseInsensitiveDict`): a case-insensitive multi-map.
//! `h[name]` joins repeated values with ", " (as httpx does); `get_list` returns each value.
//! Response headers are read-only; `client.headers` and user-built maps are writable, and
//! `client.headers` shares its storage with the client, so edits apply to the next request.

use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use http::HeaderMap;
use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::args::StrPairs;
use crate::config::{shared_headers, SharedHeaders};

pub struct Headers {
    map: SharedHeaders,
    writable: bool,
}

fn text(v: &http::HeaderValue) -> String {
    match v.to_str() {
        Ok(s) => s.to_owned(),
        // Non-ASCII bytes: latin-1, like httpx.
        Err(_) => v.as_bytes().iter().map(|&b| b as char).collect(),
    }
}

impl Headers {
    /// A read-only view (response headers).
    pub fn new(map: HeaderMap) -> Self {
        Headers { map: shared_headers(map), writable: false }
    }

    /// A writable view over storage shared with its owner (a client's default headers).
    pub fn live(map: SharedHeaders) -> Self {
        Headers { map, writable: true }
    }

    /// `Headers(mapping)` from Python: a writable, standalone map.
    pub fn py_new(mapping: Option<StrPairs>) -> PyResult<Self> {
        Ok(Headers::live(shared_headers(crate::config::header_map(&mapping.map(|m| m.0).unwrap_or_default())?)))
    }

    fn read(&self) -> RwLockReadGuard<'_, HeaderMap> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> PyResult<RwLockWriteGuard<'_, HeaderMap>> {
        if !self.writable {
            return Err(PyTypeError::new_err("response headers are read-only"));
        }
        Ok(self.map.write().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn __setitem__(&self, key: &str, value: &str) -> PyResult<()> {
        let (k, v) = (crate::config::header_name(key)?, crate::config::header_value(key, value)?);
        self.write()?.insert(k, v);
        Ok(())
    }

    pub fn __delitem__(&self, key: &str) -> PyResult<()> {
        match self.write()?.remove(key) {
            Some(_) => Ok(()),
            None => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    /// dict.update: replace each given header.
    pub fn update(&self, other: StrPairs) -> PyResult<()> {
        let mut pairs = Vec::with_capacity(other.0.len());
        for (k, v) in &other.0 {
            pairs.push((crate::config::header_name(k)?, crate::config::header_value(k, v)?));
        }
        let mut map = self.write()?;
        for (k, v) in pairs {
            map.insert(k, v);
        }
        Ok(())
    }

    /// dict.pop: remove a header and return its (joined) value, or `default`.
    pub fn pop(&self, key: &str, default: Option<String>) -> PyResult<Option<String>> {
        let value = self.joined(key);
        match (value, default) {
            (Some(v), _) => {
                self.write()?.remove(key);
                Ok(Some(v))
            }
            (None, Some(d)) => Ok(Some(d)),
            (None, None) => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    /// dict.setdefault: the header's value, setting it to `default` first if absent.
    pub fn setdefault(&self, key: &str, default: &str) -> PyResult<String> {
        if let Some(v) = self.joined(key) {
            return Ok(v);
        }
        self.__setitem__(key, default)?;
        Ok(default.to_owned())
    }

    pub fn clear(&self) -> PyResult<()> {
        self.write()?.clear();
        Ok(())
    }

    /// dict.popitem: remove the last name (all its values) and return it with its value.
    pub fn popitem(&self) -> PyResult<(String, String)> {
        let mut map = self.write()?;
        let name = map.keys().last().cloned().ok_or_else(|| PyKeyError::new_err("popitem(): headers are empty"))?;
        let value = joined(&map, name.as_str()).unwrap_or_default();
        map.remove(&name);
        Ok((name.as_str().to_owned(), value))
    }

    /// A standalone writable copy.
    pub fn copy(&self) -> Headers {
        Headers::live(shared_headers(self.read().clone()))
    }

    /// `self | other`: a copy with `other` set over it.
    pub fn __or__(&self, other: StrPairs) -> PyResult<Headers> {
        let out = self.copy();
        out.update(other)?;
        Ok(out)
    }

    /// `other | self`: `other` as headers, with these set over it.
    pub fn __ror__(&self, other: StrPairs) -> PyResult<Headers> {
        let out = Headers::py_new(Some(other))?;
        let mine = self.read().clone();
        let mut map = out.write()?;
        for name in mine.keys() {
            map.remove(name);
        }
        map.extend(mine);
        drop(map);
        Ok(out)
    }

    /// `self |= other`: update in place (a client's live headers included).
    pub fn __ior__(&self, other: StrPairs) -> PyResult<()> {
        self.update(other)
    }

    fn joined(&self, key: &str) -> Option<String> {
        joined(&self.read(), key)
    }

    pub fn __getitem__(&self, key: &str) -> PyResult<String> {
        self.joined(key).ok_or_else(|| PyKeyError::new_err(key.to_owned()))
    }
    pub fn get(&self, key: &str, default: Option<String>) -> Option<String> {
        self.joined(key).or(default)
    }
    pub fn get_list(&self, key: &str) -> Vec<String> {
        self.read().get_all(key).iter().map(text).collect()
    }
    pub fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        key.extract::<&str>().is_ok_and(|k| self.read().contains_key(k))
    }
    pub fn __len__(&self) -> usize {
        self.read().keys_len()
    }
    pub fn keys(&self) -> Vec<String> {
        self.read().keys().map(|k| k.as_str().to_owned()).collect()
    }
    pub fn values(&self) -> Vec<String> {
        self.items().into_iter().map(|(_, v)| v).collect()
    }
    pub fn items(&self) -> Vec<(String, String)> {
        self.keys().into_iter().filter_map(|k| self.joined(&k).map(|v| (k, v))).collect()
    }
    pub fn multi_items(&self) -> Vec<(String, String)> {
        self.read().iter().map(|(k, v)| (k.as_str().to_owned(), text(v))).collect()
    }
    /// A plain dict copy (lowercase names, repeated values joined).
    pub fn to_dict(&self) -> Vec<(String, String)> {
        self.items()
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

/// Every value of `key` joined with ", " (as httpx does), or None when absent.
fn joined(map: &HeaderMap, key: &str) -> Option<String> {
    let mut it = map.get_all(key).iter();
    let first = it.next()?;
    let mut s = text(first);
    for v in it {
        s.push_str(", ");
        s.push_str(&text(v));
    }
    Some(s)
}
