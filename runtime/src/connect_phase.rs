//! When did this request's connection come up? reqwest does not say, yet the read timeout
//! for the response headers should start once connected (a slow connect is the connect
//! timeout's business). A connector layer notes connect start and end in a task-local that
//! the request set up; the request waits on it (see `client::await_headers`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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

/// The connector layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layer;

impl<S> tower_layer::Layer<S> for Layer {
    type Service = Probe<S>;
    fn layer(&self, inner: S) -> Probe<S> {
        Probe(inner)
    }
}

#[derive(Debug, Clone)]
pub struct Probe<S>(S);

impl<S, R> tower_service::Service<R> for Probe<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let phase = PHASE.try_with(Arc::clone).ok();
        if let Some(p) = &phase {
            p.update(|s| s.connecting = true);
        }
        let fut = self.0.call(req);
        Box::pin(async move {
            let out = fut.await;
            if let Some(p) = phase {
                p.update(|s| {
                    s.connecting = false;
                    s.connected_at = Some(Instant::now());
                });
            }
            out
        })
    }
}
