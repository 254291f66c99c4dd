//! The `Link` header (RFC 8288) as httpx's `response.links` reads it: one entry per link,
//! keyed by its `rel` (else its URL), each a map of `url` and the link's parameters.

/// `(key, [(name, value), ...])` per link, in header order; `url` comes first.
pub fn parse(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for link in split_outside_brackets(header) {
        let mut parts = link.split(';');
        let Some(target) = parts.next().map(str::trim).filter(|t| !t.is_empty()) else { continue };
        let url = target.trim_start_matches('<').trim_end_matches('>').trim().to_owned();
        let mut fields = vec![("url".to_owned(), url.clone())];
        for param in parts {
            let Some((k, v)) = param.split_once('=') else { continue };
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            fields.push((k.trim().to_ascii_lowercase(), v.to_owned()));
        }
        let key = fields.iter().find(|(k, _)| k == "rel").map(|(_, v)| v.clone()).unwrap_or(url);
        out.push((key, fields));
    }
    out
}

/// Links are separated by commas, which may also occur inside `<...>`.
fn split_outside_brackets(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_style_pagination() {
        let links = parse(r#"<https://api.x/items?page=2>; rel="next", <https://api.x/items?page=5,6>; rel="last"; title=end"#);
        assert_eq!(links[0].0, "next");
        assert_eq!(links[0].1, vec![("url".into(), "https://api.x/items?page=2".into()), ("rel".into(), "next".into())]);
        assert_eq!(links[1].0, "last");
        assert_eq!(links[1].1[0].1, "https://api.x/items?page=5,6");
        assert_eq!(links[1].1[2], ("title".into(), "end".into()));
    }

    #[test]
    fn no_rel_keys_by_url_and_junk_is_skipped() {
        let links = parse("<http://a/b>, , junk;=");
        assert_eq!(links[0].0, "http://a/b");
        assert_eq!(links.len(), 2);
    }
}
