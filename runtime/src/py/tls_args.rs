//! `verify=` and `cert=` as httpx and requests take them: `verify` a bool, a CA bundle path or
//! an `ssl.SSLContext` (its verify mode and loaded CA certificates; rustls cannot use the rest),
//! `cert` a PEM path holding certificate and key, or `(cert, key[, password])`.

use base64::Engine;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyTuple};

use super::args::type_name;

pub enum VerifyArg {
    Bool(bool),
    /// A CA bundle (PEM file or, as requests allows, a directory is refused clearly later).
    Path(String),
    /// What an SSLContext says: verify or not, and the CA certificates it loaded (as PEM).
    Context { verify: bool, ca_pem: Option<Vec<u8>> },
}

fn fspath(obj: &Bound<'_, PyAny>) -> Option<String> {
    let os = obj.py().import("os").ok()?;
    let p = os.call_method1("fspath", (obj,)).ok()?;
    p.extract::<String>().ok()
}

impl<'a, 'py> FromPyObject<'a, 'py> for VerifyArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() {
            return Ok(VerifyArg::Bool(obj.extract()?));
        }
        let ssl = obj.py().import("ssl")?;
        if obj.is_instance(&ssl.getattr("SSLContext")?)? {
            return from_context(&obj, &ssl);
        }
        match fspath(&obj) {
            Some(path) => Ok(VerifyArg::Path(path)),
            None => Err(PyTypeError::new_err(format!("verify must be a bool, a path to a CA bundle or an ssl.SSLContext, not {}", type_name(&obj)))),
        }
    }
}

fn from_context(ctx: &Bound<'_, PyAny>, ssl: &Bound<'_, PyAny>) -> PyResult<VerifyArg> {
    let none: i64 = ssl.getattr("CERT_NONE")?.extract()?;
    let mode: i64 = ctx.getattr("verify_mode")?.extract()?;
    if mode == none {
        return Ok(VerifyArg::Bool(false));
    }
    if !ctx.getattr("check_hostname")?.extract::<bool>()? {
        return Err(PyValueError::new_err(
            "an ssl.SSLContext that verifies certificates but not the host name is not supported (rustls always checks the name): use verify=False, or keep check_hostname=True",
        ));
    }
    // Certificates from load_verify_locations(cafile=/cadata=); none means the system roots
    // (load_default_certs, or a capath that OpenSSL reads lazily and does not list).
    let ders: Vec<Vec<u8>> = ctx.call_method1("get_ca_certs", (true,))?.extract()?;
    let ca_pem = (!ders.is_empty()).then(|| {
        let mut pem = Vec::new();
        for der in &ders {
            pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            for line in b64.as_bytes().chunks(64) {
                pem.extend_from_slice(line);
                pem.push(b'\n');
            }
            pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
        pem
    });
    Ok(VerifyArg::Context { verify: true, ca_pem })
}

/// `cert=`: the client certificate and key, read now (as `client_pem` is), and the value as
/// given (for `client.cert`).
pub struct CertArg(pub Vec<u8>, pub Option<Py<PyAny>>);

fn read(path: &str, what: &str) -> PyResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| PyErr::from(crate::error::Error::new(crate::ErrorKind::RequestError, format!("could not read the client {what} {path:?}: {e}"))))
}

impl<'a, 'py> FromPyObject<'a, 'py> for CertArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let bad = || PyTypeError::new_err(format!("cert must be a path, (cert, key) or (cert, key, password), not {}", type_name(&obj)));
        if let Ok(t) = obj.cast::<PyTuple>() {
            let paths: Vec<Option<String>> = t.iter().map(|item| if item.is_none() { None } else { fspath(&item).or_else(|| item.extract().ok()) }).collect();
            let (cert, key, password) = match paths.as_slice() {
                [Some(c), Some(k)] => (c, k, None),
                [Some(c), Some(k), p] => (c, k, p.as_ref()),
                _ => return Err(bad()),
            };
            let mut pem = read(cert, "certificate")?;
            let key_pem = read(key, "key")?;
            if key_pem.windows(9).any(|w| w == b"ENCRYPTED") {
                let hint = if password.is_some() { "a password-protected key" } else { "an encrypted key (and no password)" };
                return Err(PyValueError::new_err(format!(
                    "{key:?} is {hint}: rustls takes unencrypted keys only; decrypt it first (openssl pkey -in {key} -out key-plain.pem)"
                )));
            }
            if !pem.ends_with(b"\n") {
                pem.push(b'\n');
            }
            pem.extend_from_slice(&key_pem);
            return Ok(CertArg(pem, Some(obj.to_owned().unbind())));
        }
        let path = fspath(&obj).ok_or_else(bad)?;
        Ok(CertArg(read(&path, "certificate")?, Some(obj.to_owned().unbind())))
    }
}

/// The TLS fields `verify`/`cert` decide: (verify, CA file, CA PEM, client PEM bytes).
pub struct Resolved {
    pub verify: bool,
    pub ca_cert_file: Option<String>,
    pub ca_pem_data: Option<Vec<u8>>,
    pub client_pem_data: Option<Vec<u8>>,
}

pub fn resolve(verify: VerifyArg, ca_cert_file: Option<String>, cert: Option<CertArg>, client_pem: Option<&str>, client_pem_data: Option<Vec<u8>>) -> PyResult<Resolved> {
    let (verify, ca_cert_file, ca_pem_data) = match verify {
        VerifyArg::Bool(v) => (v, ca_cert_file, None),
        VerifyArg::Path(_) if ca_cert_file.is_some() => return Err(PyValueError::new_err("pass the CA bundle as verify=<path> or ca_cert_file=, not both")),
        VerifyArg::Path(p) => (true, Some(p), None),
        VerifyArg::Context { verify, ca_pem } => (verify, ca_cert_file, ca_pem),
    };
    let client_pem_data = match cert {
        Some(_) if client_pem.is_some() || client_pem_data.is_some() => return Err(PyValueError::new_err("pass the client certificate as cert= or client_pem/client_pem_data, not both")),
        Some(c) => Some(c.0),
        None => crate::tls::client_pem_bytes(client_pem, client_pem_data)?,
    };
    Ok(Resolved { verify, ca_cert_file, ca_pem_data, client_pem_data })
}
