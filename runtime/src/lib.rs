//! httpr's hand-written core: transport (hyper + tokio + rustls), request bodies, cookies,
//! text decoding, HTML conversion and the error taxonomy. Everything outside `py/` is plain
//! Rust; `py/` is the thin conversion layer the generated PyO3 wrappers call into.

pub mod alloc;
pub mod body;
pub mod client;
pub mod config;
pub mod connect_phase;
pub mod cookies;
pub mod encoding;
pub mod error;
pub mod fork;
pub mod html;
pub mod limits;
pub mod links;
pub mod log;
pub mod proxy;
pub mod mock;
pub mod mounts;
pub mod netrc;
pub mod redirect;
pub mod request;
pub mod response;
pub mod retry;
pub mod rt;
pub mod sse;
pub mod stream;
pub mod timeout;
pub mod tls;
pub mod transport;
pub mod upload;
pub mod url_util;

pub mod py;

pub use error::{Error, ErrorKind};
