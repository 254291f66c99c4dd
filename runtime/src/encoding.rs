//! Text decoding: charset from Content-Type, else a BOM, else an HTML/XML meta charset,
//! else UTF-8 (what httpx and browsers do for modern content).

use encoding_rs::Encoding;
use http::HeaderMap;

/// WHATWG labels plus the spellings Python also accepts (`latin-1`, `utf_8`, ...).
pub fn lookup(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().to_ascii_lowercase().replace('_', "-");
    let l = match l.as_str() {
        "latin-1" | "iso8859-1" | "iso-8859-1" => "iso-8859-1",
        other => other,
    };
    Encoding::for_label(l.as_bytes())
}

pub fn charset_from_headers(headers: &HeaderMap) -> Option<&'static Encoding> {
    let ct = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let m: mime::Mime = ct.parse().ok()?;
    let cs = m.get_param(mime::CHARSET)?;
    lookup(cs.as_str())
}

/// `<meta charset=...>` / `content="...; charset=..."` in HTML, `<?xml ... encoding="..."?>` in XML.
fn from_meta(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let (i, skip) = match (text.find("charset="), text.find("encoding=")) {
        (Some(i), _) => (i, 8),
        (None, Some(i)) if text.trim_start().starts_with("<?xml") => (i, 9),
        _ => return None,
    };
    let rest = text[i + skip..].trim_start_matches(['"', '\'']);
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(rest.len());
    lookup(&rest[..end])
}

/// The encoding used to decode `body` and its canonical lowercase name.
pub fn detect(headers: &HeaderMap, body: &[u8]) -> &'static Encoding {
    if let Some(e) = charset_from_headers(headers) {
        return e;
    }
    if let Some((e, _)) = Encoding::for_bom(body) {
        return e;
    }
    let is_markup = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("html") || ct.contains("xml"));
    if is_markup {
        if let Some(e) = from_meta(body) {
            return e;
        }
    }
    encoding_rs::UTF_8
}

pub fn name(e: &'static Encoding) -> String {
    e.name().to_ascii_lowercase()
}

/// Decode with replacement characters for invalid bytes (never fails), dropping a BOM.
pub fn decode(e: &'static Encoding, body: &[u8]) -> String {
    let (text, _, _) = e.decode(body);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, v.parse().unwrap());
        h
    }

    #[test]
    fn header_charset_wins() {
        let e = detect(&ct("text/plain; charset=ISO-8859-1"), b"caf\xe9");
        assert_eq!(decode(e, b"caf\xe9"), "café");
    }

    #[test]
    fn bom_and_meta_are_used() {
        assert_eq!(name(detect(&HeaderMap::new(), b"\xff\xfeh\x00i\x00")), "utf-16le");
        let html = b"<html><head><meta charset=\"windows-1252\"></head></html>";
        assert_eq!(name(detect(&ct("text/html"), html)), "windows-1252");
    }

    #[test]
    fn xml_declaration_encoding_is_used() {
        let xml = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>caf\xe9</a>";
        assert_eq!(decode(detect(&ct("application/xml"), xml), xml), "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>café</a>");
    }

    #[test]
    fn python_spellings_are_accepted() {
        assert_eq!(decode(lookup("latin-1").unwrap(), b"caf\xe9"), "café");
        assert!(lookup("utf_8").is_some());
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(decode(encoding_rs::UTF_8, b"a\xffb"), "a\u{fffd}b");
    }
}
