//! `httpr.Retry`: the retry policy (see `crate::retry`), named after urllib3's.

use std::sync::Arc;

use http::Method;
use pyo3::prelude::*;

use crate::error::Error;
use crate::retry::RetryPolicy;

#[derive(Debug, Clone)]
pub struct Retry(pub Arc<RetryPolicy>);

impl Retry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        total: super::args::Count,
        backoff_factor: f64,
        backoff_max: f64,
        backoff_jitter: f64,
        status_forcelist: Option<Vec<u16>>,
        allowed_methods: Option<Vec<String>>,
        respect_retry_after_header: bool,
    ) -> PyResult<Self> {
        let total = total.0;
        let total = u32::try_from(total).map_err(|_| Error::value(format!("Retry total must be between 0 and {}, got {total}", u32::MAX)))?;
        let mut p = RetryPolicy::new(total);
        p.backoff_factor = backoff_factor;
        p.backoff_max = backoff_max;
        p.backoff_jitter = backoff_jitter;
        p.respect_retry_after_header = respect_retry_after_header;
        if let Some(s) = status_forcelist {
            if let Some(bad) = s.iter().find(|c| !(100..=599).contains(*c)) {
                return Err(Error::value(format!("Retry status_forcelist has {bad}, which is not an HTTP status (100-599)")).into());
            }
            p.status_forcelist = s;
        }
        if let Some(m) = allowed_methods {
            p.allowed_methods = m
                .iter()
                .map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| Error::value(format!("Retry allowed_methods has {m:?}, which is not an HTTP method"))))
                .collect::<Result<_, _>>()?;
        }
        p.validate()?;
        Ok(Retry(Arc::new(p)))
    }
    pub fn total(&self) -> usize {
        self.0.total as usize
    }
    pub fn backoff_factor(&self) -> f64 {
        self.0.backoff_factor
    }
    pub fn backoff_max(&self) -> f64 {
        self.0.backoff_max
    }
    pub fn backoff_jitter(&self) -> f64 {
        self.0.backoff_jitter
    }
    pub fn status_forcelist(&self) -> Vec<u16> {
        self.0.status_forcelist.clone()
    }
    pub fn allowed_methods(&self) -> Vec<String> {
        self.0.allowed_methods.iter().map(|m| m.to_string()).collect()
    }
    pub fn respect_retry_after_header(&self) -> bool {
        self.0.respect_retry_after_header
    }
    /// The pause before retry number `retry` (1-based) when no Retry-After applies.
    pub fn get_backoff_time(&self, retry: usize) -> f64 {
        self.0.wait(retry.clamp(1, u32::MAX as usize) as u32, None).as_secs_f64()
    }
    pub fn __repr__(&self) -> String {
        let p = &self.0;
        format!(
            "Retry(total={}, backoff_factor={:?}, backoff_max={:?}, backoff_jitter={:?}, status_forcelist={:?}, allowed_methods={:?}, respect_retry_after_header={})",
            p.total,
            p.backoff_factor,
            p.backoff_max,
            p.backoff_jitter,
            p.status_forcelist,
            self.allowed_methods(),
            if p.respect_retry_after_header { "True" } else { "False" }
        )
    }
}
