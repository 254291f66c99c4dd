//! Request bodies: `Bytes` plus a content type, so a 307/308 redirect can resend them
//! without re-reading anything (clones are reference-counted); or, for files and iterators,
//! an `Upload` read while it is sent.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::upload::{Chunks, PathChunks, Segment, Upload};

use crate::error::{Error, Result};
use crate::url_util::form_encode;

#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The body, unless it is `upload` (then empty).
    pub bytes: Bytes,
    pub content_type: Option<String>,
    pub upload: Option<Upload>,
}

impl Body {
    pub fn raw(bytes: Bytes) -> Self {
        Body { bytes, content_type: None, upload: None }
    }

    pub fn typed(bytes: impl Into<Bytes>, content_type: &str) -> Self {
        Body { bytes: bytes.into(), content_type: Some(content_type.to_owned()), upload: None }
    }

    /// A body read from `source` while it is sent (`content=` an iterator).
    pub fn stream(source: Arc<dyn Chunks>) -> Self {
        Body { bytes: Bytes::new(), content_type: None, upload: Some(Upload::new(vec![Segment::Source(source)])) }
    }

    pub fn form(fields: &[(String, String)]) -> Self {
        Body::typed(form_encode(fields), "application/x-www-form-urlencoded")
    }

    /// multipart/form-data from plain fields plus files. Parts in memory are copied into the
    /// body; files (paths, open files) are read while it is sent.
    pub fn multipart(fields: &[(String, String)], files: &[FilePart]) -> Result<Self> {
        let boundary = boundary();
        let mut segments: Vec<Segment> = Vec::new();
        let mut out = BytesMut::new();
        for (name, value) in fields {
            part_header(&mut out, &boundary, name, None, None);
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        }
        for part in files {
            let (source, filename): (Segment, Option<String>) = match &part.source {
                FileSource::Path(path) => {
                    let name = std::path::Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned());
                    (Segment::Source(Arc::new(PathChunks::open(path, &part.field)?)), part.filename.clone().or(name))
                }
                FileSource::Data(data) => (Segment::Bytes(data.clone()), part.filename.clone()),
                FileSource::Stream(src) => (Segment::Source(src.clone()), part.filename.clone()),
            };
            // httpx's defaults: a nameless upload is "upload"; the type follows the name.
            let filename = filename.unwrap_or_else(|| "upload".to_owned());
            let guessed;
            let mime = match &part.content_type {
                Some(ct) => ct.as_str(),
                None => {
                    guessed = mime_guess::from_path(&filename).first_or_octet_stream();
                    guessed.essence_str()
                }
            };
            part_header(&mut out, &boundary, &part.field, Some(&filename), Some(mime));
            for (k, v) in &part.headers {
                if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
                    return Err(Error::value(format!("files[{:?}]: a part header may not contain CR or LF", part.field)));
                }
            }
            if !part.headers.is_empty() {
                // The part headers go before the blank line part_header ended with.
                out.truncate(out.len() - 2);
                for (k, v) in &part.headers {
                    out.put_slice(format!("{k}: {v}\r\n").as_bytes());
                }
                out.put_slice(b"\r\n");
            }
            match source {
                Segment::Bytes(data) => out.put_slice(&data),
                streamed => {
                    segments.push(Segment::Bytes(out.split().freeze()));
                    segments.push(streamed);
                }
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        if segments.is_empty() {
            return Ok(Body::typed(out.freeze(), &content_type));
        }
        segments.push(Segment::Bytes(out.freeze()));
        Ok(Body { bytes: Bytes::new(), content_type: Some(content_type), upload: Some(Upload::new(segments)) })
    }

    /// The whole body in memory (a streamed upload is read for it).
    pub fn to_bytes(&self) -> Result<Bytes> {
        match &self.upload {
            Some(u) => u.read_all(),
            None => Ok(self.bytes.clone()),
        }
    }
}

/// Where a file part's bytes come from: a path (read while the request is sent), bytes the
/// conversion layer has, or an open file read while the request is sent.
#[derive(Debug, Clone)]
pub enum FileSource {
    Path(String),
    Data(Bytes),
    /// An open file, read while the request is sent.
    Stream(Arc<dyn Chunks>),
}

/// One `files=` entry: httpx's `(filename, content, content_type, headers)` in any of its
/// shorter forms.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub field: String,
    pub filename: Option<String>,
    pub source: FileSource,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl FilePart {
    pub fn path(field: &str, path: &str) -> Self {
        FilePart { field: field.to_owned(), filename: None, source: FileSource::Path(path.to_owned()), content_type: None, headers: Vec::new() }
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
        let body = Body::multipart(&[("k".into(), "v".into())], &[FilePart::path("f", &p.to_string_lossy())]).unwrap();
        assert!(body.upload.is_some() && body.bytes.is_empty(), "a path is streamed");
        let text = String::from_utf8(body.to_bytes().unwrap().to_vec()).unwrap();
        assert!(text.contains("name=\"k\"\r\n\r\nv\r\n"));
        assert!(text.contains("filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n"));
        assert!(body.content_type.unwrap().starts_with("multipart/form-data; boundary=httpr-"));
    }

    #[test]
    fn data_parts_take_httpx_defaults_and_headers() {
        let part = FilePart { field: "f".into(), filename: None, source: FileSource::Data(Bytes::from_static(b"xy")), content_type: None, headers: vec![("X-A".into(), "1".into())] };
        let text = String::from_utf8(Body::multipart(&[], &[part]).unwrap().bytes.to_vec()).unwrap();
        assert!(text.contains("name=\"f\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\nX-A: 1\r\n\r\nxy\r\n"), "{text}");
    }

    #[test]
    fn missing_file_is_a_value_error_naming_the_path() {
        let err = Body::multipart(&[], &[FilePart::path("f", "/no/such/file")]).unwrap_err();
        assert!(err.message.contains("/no/such/file"));
    }
}
