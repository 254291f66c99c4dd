//! `httpr.Timeout`: per-phase timeouts (connect, read, write, pool) and a `total` cap.

use pyo3::prelude::*;

use pyo3::exceptions::PyValueError;

use super::args::{OptTimeout, TimeoutArg};
use crate::request::Maybe;
use crate::timeout::Timeouts;

#[derive(Debug, Clone, Copy)]
pub struct Timeout(pub Timeouts);

fn secs(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

fn show(d: Option<std::time::Duration>) -> String {
    secs(d).map_or("None".into(), |s| format!("{s:?}"))
}

impl Timeout {
    /// `timeout` (a number, tuple or Timeout) is the value of every phase not given on its
    /// own; left out, all four phases must be given (httpx's rule).
    pub fn new(timeout: TimeoutArg, connect: OptTimeout, read: OptTimeout, write: OptTimeout, pool: OptTimeout, total: OptTimeout) -> PyResult<Self> {
        let phases = [connect, read, write, pool];
        let base = match timeout.0 {
            Maybe::Set(t) => t,
            Maybe::Unset if phases.iter().all(|p| p.0.is_some()) => Timeouts::uniform(None),
            Maybe::Unset => {
                return Err(PyValueError::new_err("httpr.Timeout must either include a default, or set all four parameters explicitly (connect, read, write, pool)."));
            }
        };
        Ok(Timeout(Timeouts {
            connect: connect.resolve()?.or(base.connect),
            read: read.resolve()?.or(base.read),
            write: write.resolve()?.or(base.write),
            pool: pool.resolve()?.or(base.pool),
            total: total.resolve()?.or(base.total),
        }))
    }
    pub fn connect(&self) -> Option<f64> {
        secs(self.0.connect)
    }
    pub fn read(&self) -> Option<f64> {
        secs(self.0.read)
    }
    pub fn write(&self) -> Option<f64> {
        secs(self.0.write)
    }
    pub fn pool(&self) -> Option<f64> {
        secs(self.0.pool)
    }
    pub fn total(&self) -> Option<f64> {
        secs(self.0.total)
    }
    pub fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        super::registry::unwrap_value::<Timeout>(other).is_some_and(|o| o.0 == self.0)
    }
    pub fn __repr__(&self) -> String {
        let t = &self.0;
        format!("Timeout(connect={}, read={}, write={}, pool={}, total={})", show(t.connect), show(t.read), show(t.write), show(t.pool), show(t.total))
    }
}

/// What `client.timeout` reads back: a float (or None) when one number describes it, as it
/// always did, else a `Timeout`.
pub fn to_python(py: Python<'_>, t: Timeouts) -> PyResult<Py<PyAny>> {
    match t.as_uniform() {
        Some(u) => Ok(secs(u).into_pyobject(py)?.into_any().unbind()),
        None => super::registry::wrap(py, Timeout(t)),
    }
}
