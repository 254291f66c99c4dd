//! HTML to Markdown / plain / rich text via html2text. Conversion never fails: unparseable
//! input yields an empty string rather than an exception.

const WIDTH: usize = 100;

/// Markdown-flavoured text (headings as `#`, links as references).
pub fn markdown(html: &[u8]) -> String {
    html2text::config::plain().string_from_read(html, WIDTH).unwrap_or_default()
}

/// Text without any markup (no `#`, `*` or link brackets).
pub fn plain(html: &[u8]) -> String {
    html2text::config::with_decorator(html2text::render::TrivialDecorator::new()).string_from_read(html, WIDTH).unwrap_or_default()
}

/// Text with html2text's rich decorations.
pub fn rich(html: &[u8]) -> String {
    html2text::config::rich().string_from_read(html, WIDTH).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn headings_and_links() {
        let html = b"<h1>Title</h1><p>see <a href=\"http://x/\">x</a> \xc3\xa9</p>";
        let md = super::markdown(html);
        assert!(md.contains("# Title"), "{md}");
        assert!(md.contains("http://x/"), "{md}");
        assert!(super::plain(html).contains("Title"));
        assert!(!super::plain(html).contains('#'));
        assert!(super::plain(html).contains('é'));
    }
}
