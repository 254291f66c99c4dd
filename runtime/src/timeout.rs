//! Granular timeouts. A plain number sets connect, read, write and pool alike (the meaning a
//! float always had); `Timeout(...)` sets them one by one and may add a `total` cap.

use std::time::Duration;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Establishing a connection (TCP + TLS + proxy handshake).
    pub connect: Option<Duration>,
    /// Each wait for data from the server: the response headers, then every body chunk.
    pub read: Option<Duration>,
    /// Sending the request body.
    pub write: Option<Duration>,
    /// Waiting for a connection slot when the pool is at its limit.
    pub pool: Option<Duration>,
    /// The whole request: retries, redirects and reading the body included.
    pub total: Option<Duration>,
}

impl Timeouts {
    pub fn uniform(t: Option<Duration>) -> Self {
        Timeouts { connect: t, read: t, write: t, pool: t, total: None }
    }

    /// The value a single float would have produced, if these timeouts are that simple.
    pub fn as_uniform(&self) -> Option<Option<Duration>> {
        (*self == Timeouts::uniform(self.read)).then_some(self.read)
    }

}

/// Seconds from Python into a Duration; negative or NaN is a ValueError.
pub fn from_secs(secs: Option<f64>) -> Result<Option<Duration>> {
    match secs {
        None => Ok(None),
        Some(s) if s.is_nan() || s < 0.0 => Err(Error::value(format!("timeout must be a non-negative number of seconds or None, got {s}"))),
        // Beyond a year it is "no timeout" (and Instant + it could overflow).
        Some(s) if s.is_infinite() || s > 365.0 * 86400.0 => Ok(None),
        Some(s) => Ok(Some(Duration::from_secs_f64(s))),
    }
}

/// A deadline for the whole request, checked between steps and raced against each wait.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Option<(tokio::time::Instant, Duration)>);

impl Deadline {
    pub fn start(total: Option<Duration>) -> Self {
        Deadline(total.map(|t| (tokio::time::Instant::now() + t, t)))
    }

    /// The smaller of `wait` and the time left; `true` when the total is what binds.
    pub fn bound(&self, wait: Option<Duration>) -> (Option<Duration>, bool) {
        match self.0 {
            None => (wait, false),
            Some((at, _)) => {
                let left = at.saturating_duration_since(tokio::time::Instant::now());
                match wait {
                    Some(w) if w < left => (Some(w), false),
                    _ => (Some(left), true),
                }
            }
        }
    }

    pub fn total(&self) -> Option<Duration> {
        self.0.map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_round_trips() {
        let t = Timeouts::uniform(Some(Duration::from_secs(2)));
        assert_eq!(t.as_uniform(), Some(Some(Duration::from_secs(2))));
        let t = Timeouts { total: Some(Duration::from_secs(1)), ..t };
        assert_eq!(t.as_uniform(), None);
    }

    #[test]
    fn bad_seconds_are_rejected() {
        assert!(from_secs(Some(-1.0)).unwrap_err().message.contains("non-negative"));
        assert!(from_secs(Some(f64::NAN)).is_err());
        assert_eq!(from_secs(Some(1.5)).unwrap(), Some(Duration::from_millis(1500)));
    }
}
