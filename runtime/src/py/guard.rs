//! Panics must never reach Python as `PanicException`: every generated wrapper runs its call
//! through `guard`, which turns a panic into an ordinary httpr exception.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::PyResult;

use crate::error::{Error, ErrorKind};

pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(super::errors::to_pyerr(Error::new(ErrorKind::RequestError, format!("internal error in httpr (please report): {what}"))))
        }
    }
}
