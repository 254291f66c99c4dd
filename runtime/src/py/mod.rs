//! The thin conversion layer between Python and the runtime. The generated PyO3 wrappers
//! (generated/src) extract arguments into the types of `args`, call the binding cores here
//! (`client::Client`, `response::Response`, ...) and wrap what they return. Nothing in the
//! runtime outside this module knows about Python.

pub mod args;
pub mod astream;
pub mod auth_flow;
pub mod awaitable;
pub mod bytes;
pub mod client;
pub mod completions;
pub mod errors;
pub mod extras;
pub mod functions;
pub mod guard;
pub mod head;
pub mod interrupt;
pub mod headers;
pub mod hooks;
pub mod json;
pub mod limits;
pub mod logging;
pub mod mock;
pub mod registry;
pub mod request;
pub mod response;
pub mod retry;
pub mod session_views;
pub mod sse;
pub mod status;
pub mod stream;
pub mod timeout;
pub mod tls_args;
pub mod upload_sources;
pub mod trail;

pub use guard::guard;
