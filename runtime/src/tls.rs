//! rustls configuration. Root certificates are loaded once per process (system store via
//! rustls-native-certs, falling back to the bundled webpki-roots when the system has none), so
//! creating a client costs no file I/O unless it brings its own CA or client certificate.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    pub verify: bool,
    pub ca_cert_file: Option<String>,
    /// CA certificates as PEM (from an `ssl.SSLContext` given as `verify=`); wins over the file.
    pub ca_pem_data: Option<Vec<u8>>,
    pub client_pem: Option<String>,
    pub client_pem_data: Option<Vec<u8>>,
    pub http2_only: bool,
    pub http1_only: bool,
    /// httpx's `http2=True`: offer h2 and HTTP/1.1 in ALPN and use what the server picks.
    pub http2: bool,
}

impl TlsOptions {
    /// Whether ALPN offers h2 beside HTTP/1.1 (so a TLS connection may turn out to be h2).
    pub fn negotiates_h2(&self) -> bool {
        self.http2 && !self.http1_only && !self.http2_only
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static P: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            for cert in native_certs() {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(store)
        })
        .clone()
}

/// The platform's roots. On Linux and the BSDs they are read from the usual directories
/// without the SSL_CERT_FILE/SSL_CERT_DIR overrides: a client reads those itself when
/// `trust_env` is on (`config::effective_ca`), so one with trust_env=False never sees them.
fn native_certs() -> Vec<CertificateDer<'static>> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let mut certs = Vec::new();
        for dir in openssl_probe::candidate_cert_dirs() {
            certs.extend(rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs);
        }
        if !certs.is_empty() {
            return certs;
        }
    }
    rustls_native_certs::load_native_certs().certs
}

fn tls_error(msg: String) -> Error {
    Error::new(ErrorKind::RequestError, msg)
}

fn read_pem_certs(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>> {
    let mut reader = pem;
    let certs: std::result::Result<Vec<_>, _> = rustls_pemfile::certs(&mut reader).collect();
    let certs = certs.map_err(|e| tls_error(format!("could not parse certificates in {origin}: {e}")))?;
    if certs.is_empty() {
        return Err(tls_error(format!("no PEM certificate found in {origin}")));
    }
    Ok(certs)
}

fn ca_store(path: &str) -> Result<Arc<RootCertStore>> {
    if std::path::Path::new(path).is_dir() {
        return dir_store(path);
    }
    let pem = std::fs::read(path).map_err(|e| tls_error(format!("could not read CA file {path:?}: {e}")))?;
    pem_store(&pem, &format!("CA file {path:?}"))
}

/// A CA directory (`SSL_CERT_DIR`, a c_rehash'd `capath`): every certificate in every file
/// in it. OpenSSL reads such a directory lazily by hash; rustls wants the roots up front.
fn dir_store(path: &str) -> Result<Arc<RootCertStore>> {
    let loaded = rustls_native_certs::load_certs_from_paths(None, Some(std::path::Path::new(path)));
    let mut store = RootCertStore::empty();
    for cert in loaded.certs {
        let _ = store.add(cert);
    }
    if store.is_empty() {
        return Err(tls_error(format!("no PEM certificate found in the CA directory {path:?}")));
    }
    Ok(Arc::new(store))
}

fn pem_store(pem: &[u8], origin: &str) -> Result<Arc<RootCertStore>> {
    let mut store = RootCertStore::empty();
    for cert in read_pem_certs(pem, origin)? {
        store.add(cert).map_err(|e| tls_error(format!("invalid CA certificate in {origin}: {e}")))?;
    }
    Ok(Arc::new(store))
}

fn client_identity(pem: &[u8], origin: &str) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = read_pem_certs(pem, origin)?;
    let mut reader = pem;
    let key = rustls_pemfile::private_key(&mut reader)
        .map_err(|e| tls_error(format!("could not parse the private key in {origin}: {e}")))?
        .ok_or_else(|| tls_error(format!("no unencrypted private key found in {origin}")))?;
    Ok((certs, key))
}

/// The client certificate file, read once when the client is made, so a transport rebuilt
/// later (`client.proxy = ...`) does not need the file any more.
pub fn read_client_pem(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| tls_error(format!("could not read client_pem {path:?}: {e}")))
}

/// `client_pem` and `client_pem_data` name one certificate two ways: only one may be given.
/// Returns the PEM bytes to use (the file read now).
pub fn client_pem_bytes(path: Option<&str>, data: Option<Vec<u8>>) -> Result<Option<Vec<u8>>> {
    match (path, data) {
        (Some(_), Some(_)) => Err(Error::value("pass either client_pem or client_pem_data, not both")),
        (Some(path), None) => read_client_pem(path).map(Some),
        (None, data) => Ok(data),
    }
}

/// The default config (verify on, system roots) is shared by every client that uses it.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let is_default = opts.verify && opts.ca_cert_file.is_none() && opts.ca_pem_data.is_none() && opts.client_pem.is_none() && opts.client_pem_data.is_none();
    if is_default {
        static DEFAULTS: OnceLock<[Arc<ClientConfig>; 4]> = OnceLock::new();
        let set = DEFAULTS.get_or_init(|| {
            let mk = |h1: bool, h2: bool, both: bool| build(&TlsOptions { verify: true, http1_only: h1, http2_only: h2, http2: both, ..Default::default() }).expect("default TLS config");
            [mk(false, false, false), mk(true, false, false), mk(false, true, false), mk(false, false, true)]
        });
        let i = if opts.http2_only { 2 } else if opts.http1_only { 1 } else if opts.http2 { 3 } else { 0 };
        return Ok(set[i].clone());
    }
    build(opts)
}

fn build(opts: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS setup failed: {e}")))?;
    let builder = if !opts.verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerifier(provider())))
    } else {
        let roots = match (&opts.ca_pem_data, &opts.ca_cert_file) {
            (Some(pem), _) => pem_store(pem, "the ssl.SSLContext's CA certificates")?,
            (None, Some(path)) => ca_store(path)?,
            (None, None) => system_roots(),
        };
        builder.with_root_certificates(roots)
    };
    // A `client_pem` file was read into `client_pem_data` when the client was made
    // (`read_client_pem`); the path only names it in messages.
    let identity = match (&opts.client_pem, &opts.client_pem_data) {
        (Some(path), Some(data)) => Some(client_identity(data, &format!("client_pem {path:?}"))?),
        (Some(path), None) => Some(client_identity(&read_client_pem(path)?, &format!("client_pem {path:?}"))?),
        (None, Some(data)) => Some(client_identity(data, "client_pem_data")?),
        (None, None) => None,
    };
    let mut config = match identity {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| tls_error(format!("invalid client certificate or key: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    // HTTP/1.1 unless http2_only or http2 (offered, the server picks), as documented: h2 is
    // never negotiated silently.
    config.alpn_protocols = if opts.http2_only {
        vec![b"h2".to_vec()]
    } else if opts.negotiates_h2() {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// verify=False: accept any certificate but still check handshake signatures.
#[derive(Debug)]
struct NoVerifier(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_names_the_path() {
        let err = build(&TlsOptions { verify: true, ca_cert_file: Some("/nonexistent/ca.pem".into()), ..Default::default() }).unwrap_err();
        assert!(err.message.contains("/nonexistent/ca.pem"), "{}", err.message);
    }

    #[test]
    fn garbage_client_pem_is_an_error_not_a_panic() {
        let err = build(&TlsOptions { verify: true, client_pem_data: Some(b"garbage".to_vec()), ..Default::default() }).unwrap_err();
        assert!(err.message.contains("client_pem_data"), "{}", err.message);
    }

    #[test]
    fn default_config_is_shared() {
        let o = TlsOptions { verify: true, ..Default::default() };
        assert!(Arc::ptr_eq(&client_config(&o).unwrap(), &client_config(&o).unwrap()));
    }
}
