//! httpr's hand-written core: transport (reqwest + tokio + rustls), request bodies, cookies,
//! text decoding, HTML conversion and the error taxonomy. Everything outside `py/` is plain
//! Rust; `py/` is the thin conversion layer the generated PyO3 wrappers call into.

/// Rust-side buffers (response chunks, connection buffers) come from mimalloc, which keeps
/// freed memory for reuse. With the system allocator, a 200 KiB body made the heap grow and
/// shrink on every request: fresh pages, a page fault per 4 KiB, more system time than the
/// request itself.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
pub mod proxy;
pub mod mock;
pub mod redirect;
pub mod request;
pub mod response;
pub mod retry;
pub mod rt;
pub mod stream;
pub mod timeout;
pub mod tls;
pub mod url_util;

pub mod py;

pub use error::{Error, ErrorKind};
