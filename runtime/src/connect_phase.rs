//! When did this request's connection come up? The pool does not say, yet the read timeout
//! for the response headers should start once connected (a slow connect is the connect
//! timeout's business). The connector notes connect start and end in a task-local that the
//! request set up; the request waits on it (see `client::await_headers`).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

#[derive(Debug, Default, Clone, Copy)]
pub struct Snapshot {
    /// A connect started and has not finished.
    pub connecting: bool,
    /// When the last connect finished.
    pub connected_at: Option<Instant>,
    /// When the request body was fully handed to the connection.
    pub body_sent_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct ConnectPhase {
    state: Mutex<Snapshot>,
    pub changed: Notify,
}

impl ConnectPhase {
    pub fn snapshot(&self) -> Snapshot {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.notify_one();
    }

    pub fn body_sent(&self) {
        self.update(|s| s.body_sent_at = Some(Instant::now()));
    }
}

tokio::task_local! {
    static PHASE: Arc<ConnectPhase>;
}

/// Run `fut` (a request) with `phase` visible to the connector.
pub fn scope<F: Future>(phase: Arc<ConnectPhase>, fut: F) -> impl Future<Output = F::Output> {
    PHASE.scope(phase, fut)
}

/// The phase of the request being connected for, if the connect runs inside one (hyper-util
/// calls the connector from the request's own task).
pub fn current() -> Option<Arc<ConnectPhase>> {
    PHASE.try_with(Arc::clone).ok()
}

impl ConnectPhase {
    pub fn connecting(&self) {
        self.update(|s| s.connecting = true);
    }

    pub fn connected(&self) {
        self.update(|s| {
            s.connecting = false;
            s.connected_at = Some(Instant::now());
        });
    }
}
