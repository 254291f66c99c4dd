//! `httpr.Limits`: httpx's spelling of the pool limits (`limits=httpr.Limits(...)`), beside
//! the client's own `max_connections=` / `max_connections_per_host=` / `pool_idle_timeout=`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use super::args::{Count, Seconds};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_connections: Option<usize>,
    pub max_keepalive_connections: Option<usize>,
    pub keepalive_expiry: Option<f64>,
}

fn at_least_one(name: &str, value: Option<Count>) -> PyResult<Option<usize>> {
    super::client::limit(name, value)
}

impl Limits {
    pub fn new(max_connections: Option<Count>, max_keepalive_connections: Option<Count>, keepalive_expiry: Seconds) -> PyResult<Self> {
        let max_keepalive_connections = match max_keepalive_connections.map(|c| c.0) {
            Some(n) if n < 0 => return Err(pyo3::exceptions::PyValueError::new_err(format!("max_keepalive_connections must be 0 or more (or None), got {n}"))),
            n => n.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        };
        crate::timeout::from_secs(keepalive_expiry.0)?;
        Ok(Limits { max_connections: at_least_one("max_connections", max_connections)?, max_keepalive_connections, keepalive_expiry: keepalive_expiry.0 })
    }
    pub fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }
    pub fn max_keepalive_connections(&self) -> Option<usize> {
        self.max_keepalive_connections
    }
    pub fn keepalive_expiry(&self) -> Option<f64> {
        self.keepalive_expiry
    }
    pub fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        super::registry::unwrap_value::<Limits>(other).is_some_and(|o| o == *self)
    }
    pub fn __repr__(&self) -> String {
        let show = |n: Option<usize>| n.map_or("None".to_owned(), |n| n.to_string());
        let expiry = self.keepalive_expiry.map_or("None".to_owned(), |s| format!("{s:?}"));
        format!("Limits(max_connections={}, max_keepalive_connections={}, keepalive_expiry={expiry})", show(self.max_connections), show(self.max_keepalive_connections))
    }
}

/// The `limits=` argument: a `Limits` instance.
pub struct LimitsArg(pub Limits);

impl<'a, 'py> FromPyObject<'a, 'py> for LimitsArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        super::registry::unwrap_value::<Limits>(&obj)
            .map(LimitsArg)
            .ok_or_else(|| PyTypeError::new_err(format!("limits must be an httpr.Limits, not {}", obj.get_type().name().map(|n| n.to_string()).unwrap_or_default())))
    }
}
