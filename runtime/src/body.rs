//! Request bodies. Every body is materialised as `Bytes` plus a content type, so a 307/308
//! redirect can resend it without re-reading anything (clones are reference-counted).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::url_util::form_encode;

#[derive(Debug, Clone, Default)]
pub struct Body {
    pub bytes: Bytes,
    pub content_type: Option<String>,
}

impl Body {
    pub fn raw(bytes: Bytes) -> Self {
        Body { bytes, content_type: None }
    }

    pub fn typed(bytes: impl Into<Bytes>, content_type: &str) -> Self {
        Body { bytes: bytes.into(), content_type: Some(content_type.to_owned()) }
    }

    pub fn form(fields: &[(String, String)]) -> Self {
        Body::typed(form_encode(fields), "application/x-www-form-urlencoded")
    }

    /// multipart/form-data from plain fields plus files given as (field name, path).
    pub fn multipart(fields: &[(String, String)], files: &[(String, String)]) -> Result<Self> {
        let boundary = boundary();
        let mut out = BytesMut::new();
        for (name, value) in fields {
            part_header(&mut out, &boundary, name, None, None);
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        }
        for (name, path) in files {
            let data = std::fs::read(path).map_err(|e| Error::upload_file(&e, path, name))?;
            let filename = std::path::Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| name.clone());
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            part_header(&mut out, &boundary, name, Some(&filename), Some(mime.essence_str()));
            out.put_slice(&data);
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("--{boundary}--\r\n").as_bytes());
        Ok(Body::typed(out.freeze(), &format!("multipart/form-data; boundary={boundary}")))
    }
}

fn boundary() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    format!("httpr-{:016x}{:08x}", t, COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\r', "%0D").replace('\n', "%0A")
}

fn part_header(out: &mut BytesMut, boundary: &str, name: &str, filename: Option<&str>, mime: Option<&str>) {
    out.put_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"", quote(name)).as_bytes());
    if let Some(f) = filename {
        out.put_slice(format!("; filename=\"{}\"", quote(f)).as_bytes());
    }
    out.put_slice(b"\r\n");
    if let Some(m) = mime {
        out.put_slice(format!("Content-Type: {m}\r\n").as_bytes());
    }
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_contains_fields_and_files() {
        let dir = std::env::temp_dir().join(format!("httpr-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.txt");
        std::fs::write(&p, b"hello").unwrap();
        let body = Body::multipart(&[("k".into(), "v".into())], &[("f".into(), p.to_string_lossy().into())]).unwrap();
        let text = String::from_utf8(body.bytes.to_vec()).unwrap();
        assert!(text.contains("name=\"k\"\r\n\r\nv\r\n"));
        assert!(text.contains("filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n"));
        assert!(body.content_type.unwrap().starts_with("multipart/form-data; boundary=httpr-"));
    }

    #[test]
    fn missing_file_is_a_value_error_naming_the_path() {
        let err = Body::multipart(&[], &[("f".into(), "/no/such/file".into())]).unwrap_err();
        assert!(err.message.contains("/no/such/file"));
    }
}
