//! What the `httpr` Python logger reports: one record per request sent on the wire (each retry
//! and each redirect hop is one), collected while a request runs inside `scope` and written
//! out by the caller once it has the GIL. Outside a scope (the logger is off) recording is a
//! task-local lookup and nothing else.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{ErrorKind, Result};
use crate::transport::Response;

/// One request and what became of it.
#[derive(Debug, Clone)]
pub struct Record {
    pub method: http::Method,
    /// The URL without user name or password.
    pub url: String,
    pub outcome: Outcome,
    /// From sending the request to its response head (or the failure).
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Response { status: http::StatusCode, version: http::Version, reused: Option<bool> },
    Failed(ErrorKind),
}

/// The records of one request (retries and redirects included), shared with its task.
pub type Records = Arc<Mutex<Vec<Record>>>;

tokio::task_local! {
    static RECORDS: Records;
}

/// Run `fut` (a request) recording into `records`.
pub fn scope<F: Future>(records: Records, fut: F) -> impl Future<Output = F::Output> {
    RECORDS.scope(records, fut)
}

/// When a request starts: Some(now) if it is being recorded.
pub fn start() -> Option<Instant> {
    RECORDS.try_with(|_| Instant::now()).ok()
}

/// Record the outcome of a request that `start` said is recorded.
pub fn finish(started: Option<Instant>, method: &http::Method, url: &url::Url, result: &Result<Response>) {
    let Some(started) = started else { return };
    let outcome = match result {
        Ok(r) => Outcome::Response { status: r.status, version: r.version, reused: r.reused },
        Err(e) => Outcome::Failed(e.kind),
    };
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let record = Record { method: method.clone(), url: url.into(), outcome, elapsed: started.elapsed() };
    let _ = RECORDS.try_with(|r| r.lock().unwrap_or_else(|p| p.into_inner()).push(record));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_inside_a_scope_and_without_credentials() {
        let url = url::Url::parse("http://user:secret@example.test/x?q=1").unwrap();
        let failed = || -> Result<Response> { Err(crate::error::Error::new(ErrorKind::ConnectError, "refused")) };
        // Outside a scope: nothing is timed or kept.
        assert!(start().is_none());
        let records = Records::default();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(scope(records.clone(), async {
            let started = start();
            assert!(started.is_some());
            finish(started, &http::Method::GET, &url, &failed());
        }));
        let got = records.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].url, "http://example.test/x?q=1");
        assert!(matches!(got[0].outcome, Outcome::Failed(ErrorKind::ConnectError)));
    }
}
