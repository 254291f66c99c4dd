//! Connection limits. hyper-util's pool has no cap on connections, so a request first takes a
//! slot (one for the client, one for its host) and holds it until its response body has been
//! read or dropped: with HTTP/1.1 a request in flight is one connection, so the slots bound
//! the sockets. Waiting longer than the pool timeout raises PoolTimeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolLimits {
    pub max_connections: Option<usize>,
    pub max_connections_per_host: Option<usize>,
    /// httpx's `max_keepalive_connections`: idle connections kept per host.
    pub max_keepalive: Option<usize>,
}

impl PoolLimits {
    pub fn is_limited(&self) -> bool {
        self.max_connections.is_some() || self.max_connections_per_host.is_some()
    }

    /// Idle connections worth keeping: never more than may be open at once.
    pub fn max_idle_per_host(&self) -> Option<usize> {
        [self.max_connections, self.max_connections_per_host, self.max_keepalive].into_iter().flatten().min()
    }
}

/// The semaphores behind `PoolLimits`, shared by every request of one client.
#[derive(Debug, Default)]
pub struct Limiter {
    limits: PoolLimits,
    total: Option<Arc<Semaphore>>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A held connection slot; dropping it lets the next waiting request in.
#[derive(Debug)]
pub struct Slot {
    permits: Option<(Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>)>,
}

impl Drop for Slot {
    /// The response is done, but its connection goes back to the idle pool a moment later
    /// (hyper's connection task and pool run as separate tasks). Handing the slot on at once
    /// would let the next request find no idle connection and open one more. So the slot is
    /// released from a task on the runtime those connection tasks run on (limited clients
    /// always use the shared one), after letting them run first.
    fn drop(&mut self) {
        if let Some(permits) = self.permits.take() {
            crate::rt::shared().spawn(async move {
                for _ in 0..SETTLE_YIELDS {
                    tokio::task::yield_now().await;
                }
                tokio::time::sleep(SETTLE).await;
                drop(permits);
            });
        }
    }
}

/// How long a released slot waits for its connection to be back in the pool. Yields let
/// the connection tasks run; the short sleep covers them running on the other worker.
const SETTLE_YIELDS: usize = 4;
const SETTLE: Duration = Duration::from_millis(1);

impl Limiter {
    pub fn new(limits: PoolLimits) -> Result<Self> {
        for (name, v) in [("max_connections", limits.max_connections), ("max_connections_per_host", limits.max_connections_per_host)] {
            if v == Some(0) {
                return Err(Error::value(format!("{name} must be at least 1 (or None for no limit)")));
            }
        }
        Ok(Limiter { limits, total: limits.max_connections.map(|n| Arc::new(Semaphore::new(n))), hosts: Mutex::default() })
    }

    pub fn limits(&self) -> PoolLimits {
        self.limits
    }

    /// Wait for a slot for `url`, at most `pool` (a `total` timeout wraps the whole request).
    pub async fn acquire(&self, url: &Url, method: &http::Method, pool: Option<Duration>) -> Result<Option<Slot>> {
        if !self.limits.is_limited() {
            return Ok(None);
        }
        let host = self.limits.max_connections_per_host.map(|n| {
            let key = format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(n))).clone()
        });
        let wait = async {
            // Host first: a request queued for a busy host does not hold a client-wide slot.
            let host = match host {
                Some(s) => Some(s.acquire_owned().await),
                None => None,
            };
            let total = match &self.total {
                Some(s) => Some(s.clone().acquire_owned().await),
                None => None,
            };
            Slot { permits: Some((total.and_then(|p| p.ok()), host.and_then(|p| p.ok()))) }
        };
        match pool {
            None => Ok(Some(wait.await)),
            Some(t) => tokio::time::timeout(t, wait).await.map(Some).map_err(|_| {
                Error::new(ErrorKind::PoolTimeout, format!("timed out after {:.3}s waiting for a free connection for {method} {url} (the pool is at its limit: {})", t.as_secs_f64(), self.describe()))
                    .with_request(method.as_str(), url.as_str())
            }),
        }
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.limits.max_connections {
            parts.push(format!("max_connections={n}"));
        }
        if let Some(n) = self.limits.max_connections_per_host {
            parts.push(format!("max_connections_per_host={n}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_rejected() {
        let err = Limiter::new(PoolLimits { max_connections: Some(0), ..Default::default() }).unwrap_err();
        assert!(err.message.contains("max_connections must be at least 1"));
    }

    #[test]
    fn waiting_past_the_pool_timeout_is_a_pool_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let limiter = Limiter::new(PoolLimits { max_connections: Some(1), ..Default::default() }).unwrap();
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        rt.block_on(async {
            let held = limiter.acquire(&url, &http::Method::GET, None).await.unwrap();
            assert!(held.is_some());
            let err = limiter.acquire(&url, &http::Method::GET, Some(Duration::from_millis(20))).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::PoolTimeout);
            drop(held);
            assert!(limiter.acquire(&url, &http::Method::GET, Some(Duration::from_millis(20))).await.unwrap().is_some());
        });
    }
}
