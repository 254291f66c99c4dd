//! Module-level `httpr.request/get/...`: a temporary client per call, so neither cookies nor
//! connections outlive it.

use std::sync::Arc;

use pyo3::prelude::*;

use super::client::{perform, ClientArgs, RequestKwargs};
use crate::cookies::Jar;

/// TLS arguments the module functions accept (api.yaml group `tls_options`).
pub struct TlsArgs {
    pub proxy: Option<String>,
    pub proxies: Option<super::args::ProxyMap>,
    pub trust_env: bool,
    pub verify: super::tls_args::VerifyArg,
    pub cert: Option<super::tls_args::CertArg>,
    pub ca_cert_file: Option<String>,
    pub client_pem: Option<String>,
    pub client_pem_data: Option<Vec<u8>>,
}

/// A client for one call: the settings a plain `Client()` has, with these TLS arguments.
fn client_for(tls: TlsArgs) -> PyResult<crate::client::Client> {
    let args = ClientArgs {
        auth: None,
        auth_bearer: None,
        params: None,
        headers: None,
        cookies: None,
        cookie_store: true,
        referer: true,
        proxy: tls.proxy,
        proxies: tls.proxies,
        timeout: super::args::TimeoutArg::UNSET,
        follow_redirects: true,
        max_redirects: 20,
        verify: tls.verify,
        cert: tls.cert,
        ca_cert_file: tls.ca_cert_file,
        client_pem: tls.client_pem,
        client_pem_data: tls.client_pem_data,
        https_only: false,
        http1: true,
        http2: false,
        http2_only: false,
        http1_only: false,
        base_url: None,
        retries: super::args::RetryArg::UNSET,
        max_connections: None,
        max_connections_per_host: None,
        pool_idle_timeout: super::args::OptTimeout::UNSET,
        trust_env: tls.trust_env,
        event_hooks: None,
        limits: None,
        transport: None,
        mounts: None,
    };
    Ok(crate::client::Client::new(args.into_settings(false)?.0)?)
}

/// One request on a temporary client (as httpr 0.7.8 did), closed before returning: no
/// connection stays open once the call is over. Creating one is cheap (the default TLS
/// config and the root certificates are shared).
pub fn request(py: Python<'_>, method: &str, url: &str, tls: TlsArgs, kw: RequestKwargs) -> PyResult<Py<PyAny>> {
    let client = client_for(tls)?;
    let out = perform(py, &client, Arc::new(Jar::default()), method, url, kw);
    py.detach(|| {
        drop(client);
        // Pooled hyper connections (a proxy's, say) end in their task on this thread's
        // runtime: run it a moment so the sockets are closed now, not at the next request.
        crate::rt::settle_local();
    });
    out
}

/// `httpr.stream(method, url, ...)`: a one-off client's stream. The client goes at once; the
/// response holds its connection until closed (use it in a `with` block).
pub fn stream(py: Python<'_>, method: &str, url: &str, tls: TlsArgs, kw: RequestKwargs) -> PyResult<Py<PyAny>> {
    let client = client_for(tls)?;
    super::client::open_stream(py, &client, method, url, kw)
}
