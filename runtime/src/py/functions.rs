//! Module-level `httpr.request/get/...`: one shared transport per TLS configuration, and a
//! fresh cookie jar per call so nothing leaks between unrelated calls.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use super::client::{perform, ClientArgs, RequestKwargs};
use super::response::Response;
use crate::cookies::Jar;

/// TLS arguments the module functions accept (api.yaml group `tls_options`).
pub struct TlsArgs {
    pub verify: bool,
    pub ca_cert_file: Option<String>,
    pub client_pem: Option<String>,
    pub client_pem_data: Option<Vec<u8>>,
}

/// TLS arguments plus the environment they fall back to (read at call time).
type Key = (bool, Option<String>, Option<String>, Option<Vec<u8>>, crate::proxy::EnvProxies);
static CLIENTS: Mutex<Vec<(Key, Arc<crate::client::Client>)>> = Mutex::new(Vec::new());

fn client_for(tls: TlsArgs) -> PyResult<Arc<crate::client::Client>> {
    let ca = crate::config::effective_ca(&tls.ca_cert_file);
    let key: Key = (tls.verify, ca, tls.client_pem.clone(), tls.client_pem_data.clone(), crate::proxy::EnvProxies::from_env());
    let mut cache = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let args = ClientArgs {
        auth: None,
        auth_bearer: None,
        params: None,
        headers: None,
        cookies: None,
        cookie_store: true,
        referer: true,
        proxy: None,
        timeout: super::args::TimeoutArg::UNSET,
        follow_redirects: true,
        max_redirects: 20,
        verify: tls.verify,
        ca_cert_file: tls.ca_cert_file,
        client_pem: tls.client_pem,
        client_pem_data: tls.client_pem_data,
        https_only: false,
        http2_only: false,
        http1_only: false,
        base_url: None,
        retries: super::args::RetryArg::UNSET,
        max_connections: None,
        max_connections_per_host: None,
        pool_idle_timeout: super::args::OptTimeout::UNSET,
        trust_env: true,
        event_hooks: None,
        transport: None,
    };
    let client = Arc::new(crate::client::Client::new(args.into_settings()?.0)?);
    if cache.len() >= 8 {
        cache.remove(0);
    }
    cache.push((key, client.clone()));
    Ok(client)
}

pub fn request(py: Python<'_>, method: &str, url: &str, tls: TlsArgs, kw: RequestKwargs) -> PyResult<Response> {
    let client = client_for(tls)?;
    perform(py, &client, Arc::new(Jar::default()), method, url, kw)
}
