//! `httpr.Timeout`: per-phase timeouts (connect, read, write, pool) and a `total` cap.

use pyo3::prelude::*;

use super::args::{OptTimeout, Seconds};
use crate::timeout::{from_secs, Timeouts};

#[derive(Debug, Clone, Copy)]
pub struct Timeout(pub Timeouts);

fn secs(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

fn show(d: Option<std::time::Duration>) -> String {
    secs(d).map_or("None".into(), |s| format!("{s:?}"))
}

impl Timeout {
    /// `timeout` is the value of every phase not given on its own.
    pub fn new(timeout: Seconds, connect: OptTimeout, read: OptTimeout, write: OptTimeout, pool: OptTimeout, total: Seconds) -> PyResult<Self> {
        let default = from_secs(timeout.0)?;
        Ok(Timeout(Timeouts {
            connect: connect.resolve()?.or(default),
            read: read.resolve()?.or(default),
            write: write.resolve()?.or(default),
            pool: pool.resolve()?.or(default),
            total: from_secs(total.0)?,
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
