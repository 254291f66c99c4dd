//! Retries: which failures and statuses are retried, and how long to wait in between.
//! Names follow urllib3's `Retry`, which most Python users already know.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};

use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub total: u32,
    /// Wait `backoff_factor * 2**(retry - 1)` seconds before each retry ...
    pub backoff_factor: f64,
    /// ... at most this long ...
    pub backoff_max: f64,
    /// ... plus a random 0..backoff_jitter seconds, so clients don't retry in lockstep.
    pub backoff_jitter: f64,
    /// Response statuses that are retried (the last response is returned when none are left).
    pub status_forcelist: Vec<u16>,
    /// Methods retried after the request may have reached the server. A request that never
    /// connected is retried whatever its method: the server cannot have seen it.
    pub allowed_methods: Vec<Method>,
    /// Wait as long as a `Retry-After` header asks (429/503 responses).
    pub respect_retry_after_header: bool,
}

pub const DEFAULT_STATUS_FORCELIST: [u16; 4] = [429, 502, 503, 504];
pub const DEFAULT_ALLOWED_METHODS: [&str; 6] = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"];

impl RetryPolicy {
    pub fn new(total: u32) -> Self {
        RetryPolicy {
            total,
            backoff_factor: 0.5,
            backoff_max: 120.0,
            backoff_jitter: 0.1,
            status_forcelist: DEFAULT_STATUS_FORCELIST.to_vec(),
            allowed_methods: DEFAULT_ALLOWED_METHODS.iter().map(|m| Method::from_bytes(m.as_bytes()).expect("valid method")).collect(),
            respect_retry_after_header: true,
        }
    }

    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("backoff_factor", self.backoff_factor), ("backoff_max", self.backoff_max), ("backoff_jitter", self.backoff_jitter)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::value(format!("Retry {name} must be a non-negative number of seconds, got {v}")));
            }
        }
        Ok(())
    }

    /// Whether a failed attempt may be retried.
    pub fn retries_error(&self, err: &Error, method: &Method) -> bool {
        match err.kind {
            // Nothing reached the server.
            ErrorKind::ConnectError | ErrorKind::SSLError | ErrorKind::ConnectTimeout => true,
            ErrorKind::ReadError | ErrorKind::ReadTimeout | ErrorKind::WriteError | ErrorKind::WriteTimeout | ErrorKind::RemoteProtocolError => {
                self.allowed_methods.contains(method)
            }
            _ => false,
        }
    }

    pub fn retries_status(&self, status: StatusCode, method: &Method) -> bool {
        self.status_forcelist.contains(&status.as_u16()) && self.allowed_methods.contains(method)
    }

    /// The pause before retry number `retry` (1-based), honouring Retry-After when asked.
    pub fn wait(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        if self.respect_retry_after_header {
            if let Some(after) = headers.and_then(retry_after) {
                return after;
            }
        }
        let exp = self.backoff_factor * 2f64.powi(retry.saturating_sub(1).min(62) as i32);
        let secs = exp.min(self.backoff_max) + self.backoff_jitter * unit_random();
        Duration::from_secs_f64(secs.max(0.0))
    }
}

/// `Retry-After: <seconds>` or `Retry-After: <HTTP-date>`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate(v)?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form servers send.
fn httpdate(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else { return None };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + h * 3600 + m * 60 + sec;
    (secs >= 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// A number in [0, 1) that differs between calls and threads; jitter needs no better.
fn unit_random() -> f64 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = Cell::new(0));
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
            x = t ^ (&x as *const u64 as u64) | 1;
        }
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy { backoff_factor: 1.0, backoff_max: 3.0, backoff_jitter: 0.0, ..RetryPolicy::new(5) };
        let waits: Vec<u64> = (1..=4).map(|n| p.wait(n, None).as_secs()).collect();
        assert_eq!(waits, [1, 2, 3, 3]);
    }

    #[test]
    fn jitter_stays_in_range() {
        let p = RetryPolicy { backoff_factor: 0.0, backoff_jitter: 0.5, ..RetryPolicy::new(1) };
        for _ in 0..100 {
            assert!(p.wait(1, None) < Duration::from_millis(500));
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(http::header::RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        assert_eq!(httpdate("Sun, 06 Nov 1994 08:49:37 GMT"), Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784111777)));
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn post_is_only_retried_when_it_never_connected() {
        let p = RetryPolicy::new(1);
        let read = Error::new(ErrorKind::ReadError, "x");
        let connect = Error::new(ErrorKind::ConnectError, "x");
        assert!(!p.retries_error(&read, &Method::POST));
        assert!(p.retries_error(&connect, &Method::POST));
        assert!(p.retries_error(&read, &Method::GET));
        assert!(!p.retries_status(StatusCode::SERVICE_UNAVAILABLE, &Method::POST));
        assert!(p.retries_status(StatusCode::SERVICE_UNAVAILABLE, &Method::GET));
    }
}
