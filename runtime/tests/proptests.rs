//! Deterministic randomized property tests for the runtime's parsing and conversion code:
//! form encoding, URL parsing, incremental text decoding, line splitting, header validation,
//! timeouts, cookies and charset handling.
//!
//! A small xorshift PRNG with fixed seeds generates the inputs, so every run checks the same
//! cases and needs no extra dependency. Each property runs a few thousand cases; a failure
//! reports the seed, the case number and the input. A panic inside the code under test is
//! caught and reported as a failure with its input.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use httpr_runtime::config::header_map;
use httpr_runtime::timeout::from_secs as timeout_from_secs;
use httpr_runtime::cookies;
use httpr_runtime::encoding;
use httpr_runtime::error::ErrorKind;
use httpr_runtime::stream::{LineSplitter, TextDecoder};
use httpr_runtime::url_util::{append_query, form_encode, parse_url};

const CASES: usize = 4000;

// -- generator ---------------------------------------------------------------------------------

/// xorshift64* (Vigna): tiny, fast, good enough for test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero (a zero state stays zero); mix the seed a little.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability 1/n.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A length: mostly short, sometimes long, rarely huge.
    fn len(&mut self) -> usize {
        match self.below(20) {
            0 => self.below(5000),
            1..=3 => self.below(200),
            _ => self.below(16),
        }
    }

    /// One character from a mix meant to break things: ASCII, controls, separators, escapes,
    /// multi-byte UTF-8 of every length, noncharacters.
    fn char(&mut self) -> char {
        const SPECIAL: &[char] = &[
            '\0', '\t', '\n', '\r', '\x0b', '\x0c', '\x1b', '\x7f', ' ', '%', '+', '&', '=', '?', '#', '/', '\\',
            ':', '@', '[', ']', '"', '\'', '<', '>', '`', '{', '}', '|', '^', '~', ';', ',', '.', '-', '_',
            '\u{80}', '\u{85}', '\u{a0}', 'é', 'ß', '€', '\u{2028}', '\u{3002}', '\u{fe0f}', '\u{feff}',
            '\u{fffd}', '\u{ffff}', '😀', '\u{10ffff}',
        ];
        match self.below(10) {
            0..=3 => (b' ' + self.below(95) as u8) as char,
            4..=6 => *self.pick(SPECIAL),
            7 => char::from_u32(self.below(0x80) as u32).unwrap(),
            8 => char::from_u32(0x80 + self.below(0x800 - 0x80) as u32).unwrap(),
            _ => loop {
                if let Some(c) = char::from_u32(self.below(0x11_0000) as u32) {
                    break c;
                }
            },
        }
    }

    fn string(&mut self) -> String {
        let n = self.len();
        (0..n).map(|_| self.char()).collect()
    }

    /// A string from `alphabet` only.
    fn string_of(&mut self, alphabet: &[char], max: usize) -> String {
        let n = self.below(max + 1);
        (0..n).map(|_| *self.pick(alphabet)).collect()
    }

    fn bytes(&mut self) -> Vec<u8> {
        let n = self.len();
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// Sorted cut points in `0..=len` (repeats allowed: empty chunks happen in real streams).
    fn cuts(&mut self, len: usize) -> Vec<usize> {
        let k = self.below(8);
        let mut cuts: Vec<usize> = (0..k).map(|_| self.below(len + 1)).collect();
        cuts.sort_unstable();
        cuts
    }

    /// Any f64: random bit patterns (NaN payloads, infinities, subnormals, huge) and
    /// ordinary values.
    fn f64(&mut self) -> f64 {
        match self.below(4) {
            0 => f64::from_bits(self.next_u64()),
            1 => *self.pick(&[
                0.0,
                -0.0,
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
                f64::MAX,
                f64::MIN,
                f64::EPSILON,
                5e-324,
                -5e-324,
                1.8446744073709552e19,
                1e19,
                1e300,
                u64::MAX as f64,
                (u64::MAX / 2) as f64,
                -1.0,
                0.5,
                30.0,
            ]),
            2 => (self.next_u64() % 1_000_000) as f64 / 1000.0,
            _ => -((self.next_u64() % 1_000_000) as f64) / 1000.0,
        }
    }
}

/// Split `data` at `cuts` (sorted, in range) into consecutive chunks, empty ones included.
fn chunks<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &c in cuts {
        out.push(&data[start..c]);
        start = c;
    }
    out.push(&data[start..]);
    out
}

thread_local! {
    /// Set while `no_panic` runs code under test on this thread: its panics are expected to be
    /// reported as failures with their inputs, not printed (with backtraces) one by one.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`, turning a panic into an Err carrying its message.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

/// Collects failures (at most a few, with their inputs) and fails the test at the end.
struct Failures {
    property: &'static str,
    list: Vec<String>,
    count: usize,
}

impl Failures {
    fn new(property: &'static str) -> Self {
        Failures { property, list: Vec::new(), count: 0 }
    }

    fn add(&mut self, seed: u64, case: usize, what: String) {
        self.count += 1;
        if self.list.len() < 8 {
            let mut what = what;
            if what.len() > 600 {
                let mut cut = 600;
                while !what.is_char_boundary(cut) {
                    cut -= 1;
                }
                what.truncate(cut);
                what.push_str("...");
            }
            self.list.push(format!("seed {seed} case {case}: {what}"));
        }
    }

    fn check(self) {
        assert!(
            self.list.is_empty(),
            "{}: {} failing case(s); first ones:\n{}",
            self.property,
            self.count,
            self.list.join("\n")
        );
    }
}

const SEEDS: [u64; 2] = [0x5EED_0001, 0xC0FF_EE42];

// -- form encoding -----------------------------------------------------------------------------

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-decoding of one form component ('+' is a space); None if malformed.
fn form_decode_component(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn form_decode(s: &str) -> Option<Vec<(String, String)>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((form_decode_component(k)?, form_decode_component(v)?))
        })
        .collect()
}

/// Whether `s` is only unreserved characters, '%XX' (uppercase hex), '+', '&' and '='.
fn only_form_chars(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let ok = b.len() >= i + 3 && b[i + 1..i + 3].iter().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h));
            if !ok {
                return Err(format!("bad escape at byte {i}"));
            }
            i += 3;
        } else if is_unreserved(c) || matches!(c, b'+' | b'&' | b'=') {
            i += 1;
        } else {
            return Err(format!("raw byte {c:#04x} at {i}"));
        }
    }
    Ok(())
}

fn random_pairs(rng: &mut Rng) -> Vec<(String, String)> {
    let n = rng.below(6);
    (0..n).map(|_| (rng.string(), rng.string())).collect()
}

#[test]
fn form_encode_uses_only_safe_characters_and_decodes_back() {
    let mut fails = Failures::new("form_encode");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let pairs = random_pairs(&mut rng);
            let encoded = match no_panic(|| form_encode(&pairs)) {
                Ok(e) => e,
                Err(p) => {
                    fails.add(seed, case, format!("panicked ({p}) on {pairs:?}"));
                    continue;
                }
            };
            if let Err(why) = only_form_chars(&encoded) {
                fails.add(seed, case, format!("{why} in {encoded:?} from {pairs:?}"));
            }
            match form_decode(&encoded) {
                Some(back) if back == pairs => {}
                other => fails.add(seed, case, format!("{pairs:?} encoded as {encoded:?} decodes to {other:?}")),
            }
        }
    }
    fails.check();
}

// -- URLs --------------------------------------------------------------------------------------

fn random_url(rng: &mut Rng) -> String {
    const PREFIXES: &[&str] = &[
        "", "http://", "https://", "HTTP://", "ftp://", "file:///", "http:", "//", "http://[", "http://127.0.0.1:",
        "http://user:pass@", "https://[::1]:", "ws://", "data:", "javascript:", "http:\\\\", "  http://",
        "http://xn--", "http://%41", "http://a..b/", "https://example.com/",
    ];
    match rng.below(4) {
        0 => rng.string(),
        1 => format!("{}{}", rng.pick(PREFIXES), rng.string()),
        _ => {
            const HOST_CHARS: &[char] = &['a', 'b', 'z', '0', '9', '.', '-', '_', '%', '[', ']', ':', '@', 'é', '\u{3002}', ' ', '\0'];
            let host = if rng.one_in(2) { rng.string_of(HOST_CHARS, 20) } else { rng.string() };
            let port = match rng.below(4) {
                0 => String::new(),
                1 => format!(":{}", rng.next_u64() % 100_000),
                2 => format!(":{}", rng.string()),
                _ => ":".into(),
            };
            let scheme = rng.pick(&["http", "https", "HtTp", "ftp", "", "h\ttp"]).to_string();
            format!("{scheme}://{host}{port}/{}", rng.string())
        }
    }
}

#[test]
fn parse_url_never_panics_and_fails_with_url_kinds() {
    let mut fails = Failures::new("parse_url");
    let mut parsed = 0usize;
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let raw = random_url(&mut rng);
            match no_panic(|| parse_url(&raw)) {
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {raw:?}")),
                Ok(Ok(url)) => {
                    parsed += 1;
                    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
                        fails.add(seed, case, format!("accepted {raw:?} as {url} (scheme/host)"));
                    }
                    // What parse_url returns must parse again to itself.
                    match parse_url(url.as_str()) {
                        Ok(again) if again == url => {}
                        other => fails.add(seed, case, format!("{raw:?} -> {url} does not re-parse: {other:?}")),
                    }
                }
                Ok(Err(err)) => {
                    if !matches!(err.kind, ErrorKind::InvalidURL | ErrorKind::UnsupportedProtocol) {
                        fails.add(seed, case, format!("{raw:?} failed with kind {:?}: {}", err.kind, err.message));
                    }
                    if !err.message.contains(&format!("{raw:?}")) {
                        fails.add(seed, case, format!("message {:?} does not quote the URL {raw:?}", err.message));
                    }
                }
            }
        }
    }
    assert!(parsed > CASES / 10, "only {parsed} random URLs parsed: the generator is too weak");
    fails.check();
}

#[test]
fn append_query_keeps_the_url_valid_and_appends_the_form_encoding() {
    let mut fails = Failures::new("append_query");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let base = format!("http://127.0.0.1:8080/{}{}", rng.string_of(&['a', 'é', ' ', '/', '%', '?', '&'], 10), if rng.one_in(2) { "?x=1" } else { "" });
            let Ok(mut url) = parse_url(&base) else { continue };
            let before = url.query().map(str::to_owned);
            let params = random_pairs(&mut rng);
            if let Err(p) = no_panic(|| append_query(&mut url, &params)) {
                fails.add(seed, case, format!("panicked ({p}) on {base:?} + {params:?}"));
                continue;
            }
            let query = url.query().unwrap_or("").to_owned();
            if params.is_empty() {
                if url.query().map(str::to_owned) != before {
                    fails.add(seed, case, format!("no params changed the query of {base:?} to {query:?}"));
                }
            } else if !query.ends_with(&form_encode(&params)) || !query.starts_with(before.as_deref().unwrap_or("")) {
                fails.add(seed, case, format!("{base:?} + {params:?} gave query {query:?}"));
            }
            match parse_url(url.as_str()) {
                Ok(again) if again == url => {}
                other => fails.add(seed, case, format!("{url} does not re-parse: {other:?}")),
            }
        }
    }
    fails.check();
}

// -- incremental text decoding -----------------------------------------------------------------

/// Decode `bytes` in chunks cut at `cuts`, then finish.
fn decode_in_chunks(enc: &'static encoding_rs::Encoding, bytes: &[u8], cuts: &[usize]) -> String {
    let mut d = TextDecoder::new(enc);
    let mut out = String::new();
    for chunk in chunks(bytes, cuts) {
        out.push_str(&d.decode(chunk, false));
    }
    out.push_str(&d.decode(&[], true));
    out
}

#[test]
fn text_decoder_reassembles_utf8_split_anywhere() {
    let mut fails = Failures::new("TextDecoder(UTF-8)");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let mut text = rng.string();
            if text.starts_with('\u{feff}') {
                text.insert(0, 'x'); // a leading BOM is (rightly) dropped
            }
            let bytes = text.as_bytes();
            let cuts = rng.cuts(bytes.len());
            match no_panic(|| decode_in_chunks(encoding_rs::UTF_8, bytes, &cuts)) {
                Ok(out) if out == text => {}
                Ok(out) => fails.add(seed, case, format!("{text:?} cut at {cuts:?} decoded as {out:?}")),
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {text:?} cut at {cuts:?}")),
            }
        }
    }
    fails.check();
}

#[test]
fn text_decoder_reassembles_utf16_split_anywhere() {
    let mut fails = Failures::new("TextDecoder(UTF-16LE)");
    let enc = encoding::lookup("utf-16le").expect("utf-16le is a known label");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let mut text = rng.string();
            if text.starts_with('\u{feff}') {
                text.insert(0, 'x');
            }
            let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let cuts = rng.cuts(bytes.len());
            match no_panic(|| decode_in_chunks(enc, &bytes, &cuts)) {
                Ok(out) if out == text => {}
                Ok(out) => fails.add(seed, case, format!("{text:?} cut at {cuts:?} decoded as {out:?}")),
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {text:?} cut at {cuts:?}")),
            }
        }
    }
    fails.check();
}

#[test]
fn text_decoder_in_chunks_matches_one_shot_decoding_of_any_bytes() {
    // Invalid sequences split across chunks must become the same U+FFFDs as decoded at once.
    let mut fails = Failures::new("TextDecoder(any bytes)");
    let labels = ["utf-8", "utf-16le", "utf-16be", "latin-1", "windows-1252", "shift_jis", "gb18030", "euc-kr", "big5"];
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let label = *rng.pick(&labels);
            let enc = encoding::lookup(label).expect("known label");
            let bytes = rng.bytes();
            let cuts = rng.cuts(bytes.len());
            let whole = encoding::decode(enc, &bytes);
            match no_panic(|| decode_in_chunks(enc, &bytes, &cuts)) {
                Ok(out) if out == whole => {}
                Ok(out) => fails.add(seed, case, format!("{label}: {bytes:?} cut at {cuts:?}: {out:?} != {whole:?}")),
                Err(p) => fails.add(seed, case, format!("{label}: panicked ({p}) on {bytes:?} cut at {cuts:?}")),
            }
        }
    }
    fails.check();
}

// -- line splitting ----------------------------------------------------------------------------

/// The documented behaviour: split on "\n", "\r\n" or "\r", terminators removed, a last line
/// without a terminator kept, no empty line after a final terminator.
fn reference_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => lines.push(std::mem::take(&mut cur)),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn split_lines(pieces: &[&str]) -> Vec<String> {
    let mut s = LineSplitter::default();
    let mut out = Vec::new();
    for p in pieces {
        out.extend(s.push(p));
    }
    out.extend(s.finish());
    out
}

/// Cut points moved back to char boundaries.
fn char_cuts(rng: &mut Rng, text: &str) -> Vec<usize> {
    rng.cuts(text.len())
        .into_iter()
        .map(|mut c| {
            while !text.is_char_boundary(c) {
                c -= 1;
            }
            c
        })
        .collect()
}

fn str_chunks<'a>(text: &'a str, cuts: &[usize]) -> Vec<&'a str> {
    chunks(text.as_bytes(), cuts).into_iter().map(|b| std::str::from_utf8(b).expect("cut at a char boundary")).collect()
}

#[test]
fn line_splitter_gives_the_same_lines_however_the_text_is_split() {
    let mut fails = Failures::new("LineSplitter");
    const ALPHABET: &[char] = &['a', 'b', ' ', '\n', '\r', '\r', '\n', 'é', '😀', '\u{2028}', '\u{85}', '\x0b', '\t'];
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let mut text = rng.string_of(ALPHABET, 40);
            if rng.one_in(4) {
                text.push_str(&rng.string());
            }
            let expected = reference_lines(&text);
            let whole = split_lines(&[text.as_str()]);
            if whole != expected {
                fails.add(seed, case, format!("{text:?} at once gave {whole:?}, expected {expected:?}"));
                continue;
            }
            let cuts = char_cuts(&mut rng, &text);
            let pieces = str_chunks(&text, &cuts);
            match no_panic(|| split_lines(&pieces)) {
                Ok(got) if got == expected => {}
                Ok(got) => fails.add(seed, case, format!("{pieces:?} gave {got:?}, expected {expected:?}")),
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {pieces:?}")),
            }
        }
    }
    fails.check();
}

#[test]
fn line_splitter_after_text_decoder_matches_the_whole_text() {
    // What iter_lines does: body chunks -> TextDecoder -> LineSplitter. Empty pieces reach the
    // splitter: an empty body chunk, or one that ends inside a character (in UTF-16, a chunk
    // holding only the first byte of "\n" decodes to "").
    let mut fails = Failures::new("TextDecoder + LineSplitter");
    const ALPHABET: &[char] = &['a', '\n', '\r', 'é', '€', '😀'];
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let text = rng.string_of(ALPHABET, 30);
            let utf16 = rng.one_in(2);
            let (enc, bytes) = if utf16 {
                (encoding::lookup("utf-16le").unwrap(), text.encode_utf16().flat_map(u16::to_le_bytes).collect())
            } else {
                (encoding_rs::UTF_8, text.as_bytes().to_vec())
            };
            let cuts = rng.cuts(bytes.len());
            let got = no_panic(|| {
                let mut d = TextDecoder::new(enc);
                let mut s = LineSplitter::default();
                let mut out = Vec::new();
                for chunk in chunks(&bytes, &cuts) {
                    out.extend(s.push(&d.decode(chunk, false)));
                }
                out.extend(s.push(&d.decode(&[], true)));
                out.extend(s.finish());
                out
            });
            let expected = reference_lines(&text);
            let name = enc.name();
            match got {
                Ok(lines) if lines == expected => {}
                Ok(lines) => fails.add(seed, case, format!("{name} {text:?} cut at {cuts:?} gave {lines:?}, expected {expected:?}")),
                Err(p) => fails.add(seed, case, format!("{name}: panicked ({p}) on {text:?} cut at {cuts:?}")),
            }
        }
    }
    fails.check();
}

#[test]
fn line_splitter_crlf_across_an_empty_piece() {
    // The minimal case of the properties above, spelled out.
    let mut s = LineSplitter::default();
    let mut lines = s.push("a\r");
    lines.extend(s.push(""));
    lines.extend(s.push("\nb"));
    lines.extend(s.finish());
    assert_eq!(lines, vec!["a", "b"], "\"a\\r\" + \"\" + \"\\nb\" must be two lines");
}

// -- headers -----------------------------------------------------------------------------------

const TOKEN: &[char] = &[
    '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~', '0', '9', 'a', 'z', 'A', 'Z', 'x', 'X',
];

fn visible_ascii(rng: &mut Rng, max: usize) -> String {
    let n = rng.below(max + 1);
    (0..n).map(|_| (b' ' + rng.below(95) as u8) as char).collect()
}

#[test]
fn header_map_rejects_cr_lf_nul_and_accepts_visible_ascii() {
    let mut fails = Failures::new("header_map");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            // A valid name, and a value that is visible ASCII with maybe one of CR, LF, NUL in it.
            let mut name = rng.string_of(TOKEN, 12);
            if name.is_empty() {
                name.push('x');
            }
            let mut value = visible_ascii(&mut rng, 40);
            let injected = rng.one_in(2);
            if injected {
                let bad = *rng.pick(&["\r", "\n", "\0", "\r\n", "\r\nX-Injected: 1"]);
                let mut at = rng.below(value.len() + 1);
                while !value.is_char_boundary(at) {
                    at -= 1;
                }
                value.insert_str(at, bad);
            }
            let pairs = vec![(name.clone(), value.clone())];
            match no_panic(|| header_map(&pairs)) {
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {pairs:?}")),
                Ok(Ok(map)) if !injected => {
                    let got = map.get(name.as_str()).map(|v| v.as_bytes().to_vec());
                    if got.as_deref() != Some(value.as_bytes()) {
                        fails.add(seed, case, format!("{pairs:?} stored as {got:?}"));
                    }
                }
                Ok(Ok(map)) => fails.add(seed, case, format!("accepted {pairs:?} as {map:?}")),
                Ok(Err(err)) if injected => {
                    if err.kind != ErrorKind::LocalProtocolError {
                        fails.add(seed, case, format!("{pairs:?} rejected as {:?}", err.kind));
                    }
                }
                Ok(Err(err)) => fails.add(seed, case, format!("rejected visible ASCII {pairs:?}: {}", err.message)),
            }
        }
    }
    fails.check();
}

#[test]
fn header_map_never_panics_and_keeps_the_last_value_per_name() {
    let mut fails = Failures::new("header_map (random)");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let n = rng.below(5);
            let pairs: Vec<(String, String)> = (0..n)
                .map(|_| {
                    let name = if rng.one_in(3) { rng.string() } else { rng.string_of(TOKEN, 6) };
                    (name, rng.string())
                })
                .collect();
            match no_panic(|| header_map(&pairs)) {
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {pairs:?}")),
                Ok(Err(err)) => {
                    if err.kind != ErrorKind::LocalProtocolError {
                        fails.add(seed, case, format!("{pairs:?} rejected as {:?}", err.kind));
                    }
                    let has_bad = pairs.iter().any(|(k, v)| {
                        k.is_empty() || !k.bytes().all(|b| TOKEN.contains(&(b as char)) || b.is_ascii_alphanumeric()) || v.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f)
                    });
                    if !has_bad {
                        fails.add(seed, case, format!("rejected valid headers {pairs:?}: {}", err.message));
                    }
                }
                Ok(Ok(map)) => {
                    for (k, v) in &pairs {
                        if v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                            fails.add(seed, case, format!("accepted {k:?}: {v:?}"));
                        }
                        let last = pairs.iter().rev().find(|(k2, _)| k2.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_bytes());
                        if map.get(k.to_ascii_lowercase().as_str()).map(|h| h.as_bytes()) != last {
                            fails.add(seed, case, format!("{pairs:?}: {k:?} is not its last value in {map:?}"));
                        }
                    }
                }
            }
        }
    }
    fails.check();
}

// -- timeouts ----------------------------------------------------------------------------------

/// A timeout at least this long (30 days, in seconds) may be treated as no timeout at all.
const LONG_ENOUGH: f64 = 30.0 * 86400.0;

#[test]
fn timeout_from_secs_rejects_negative_and_nan_and_never_panics() {
    let mut fails = Failures::new("timeout_from_secs");
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let s = rng.f64();
            match no_panic(|| timeout_from_secs(Some(s))) {
                Err(p) => fails.add(seed, case, format!("panicked ({p}) on {s:e} ({:#018x})", s.to_bits())),
                Ok(result) => {
                    let invalid = s.is_nan() || s < 0.0;
                    match result {
                        Err(err) if invalid => {
                            if err.kind != ErrorKind::ValueError || !err.message.contains("non-negative") {
                                fails.add(seed, case, format!("{s:e} rejected as {:?}: {}", err.kind, err.message));
                            }
                        }
                        Err(err) => {
                            // A finite, huge, non-negative timeout may be refused, but as a ValueError.
                            if err.kind != ErrorKind::ValueError {
                                fails.add(seed, case, format!("{s:e} rejected as {:?}: {}", err.kind, err.message));
                            }
                        }
                        Ok(_) if invalid => fails.add(seed, case, format!("accepted {s:e}")),
                        Ok(None) => {
                            // Infinity is no timeout; so may be anything beyond a month.
                            if s < LONG_ENOUGH {
                                fails.add(seed, case, format!("{s:e} became no timeout"));
                            }
                        }
                        Ok(Some(d)) => {
                            let back = d.as_secs_f64();
                            if (back - s).abs() > 1e-9 * s.max(1.0) {
                                fails.add(seed, case, format!("{s:e} became {d:?}"));
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(timeout_from_secs(None).map_err(|e| e.message).unwrap(), None);
    fails.check();
}

// -- cookies -----------------------------------------------------------------------------------

#[test]
fn cookie_merge_keeps_first_position_and_last_value() {
    let mut fails = Failures::new("cookies::merge");
    const NAMES: &[char] = &['a', 'b', 'c', 'é'];
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let lists: Vec<Vec<(String, String)>> = (0..rng.below(4))
                .map(|_| (0..rng.below(5)).map(|_| (rng.string_of(NAMES, 2), rng.string_of(&['1', '2', ' ', ';', '='], 3))).collect())
                .collect();
            let refs: Vec<&[(String, String)]> = lists.iter().map(Vec::as_slice).collect();
            let merged = match no_panic(|| cookies::merge(&refs)) {
                Ok(m) => m,
                Err(p) => {
                    fails.add(seed, case, format!("panicked ({p}) on {lists:?}"));
                    continue;
                }
            };
            // Reference: names in first-seen order, each with the last value given.
            let all: Vec<&(String, String)> = lists.iter().flatten().collect();
            let mut expected: Vec<(String, String)> = Vec::new();
            for (k, _) in &all {
                if !expected.iter().any(|(n, _)| n == k) {
                    let last = all.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
                    expected.push((k.clone(), last));
                }
            }
            if merged != expected {
                fails.add(seed, case, format!("{lists:?} merged to {merged:?}, expected {expected:?}"));
            }
            let header = cookies::header_value(&merged);
            let joined = merged.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            if header != joined {
                fails.add(seed, case, format!("{merged:?} as header {header:?}"));
            }
        }
    }
    fails.check();
}

// -- charset detection -------------------------------------------------------------------------

#[test]
fn charset_lookup_detect_and_decode_never_panic() {
    let mut fails = Failures::new("encoding");
    const LABELS: &[&str] = &["utf-8", "UTF8", " latin-1 ", "utf_8", "iso-8859-1", "windows-1252", "x-user-defined", "replacement", "utf-16", ""];
    for seed in SEEDS {
        let mut rng = Rng::new(seed);
        for case in 0..CASES {
            let label = if rng.one_in(2) { rng.pick(LABELS).to_string() } else { rng.string() };
            let ctype = match rng.below(4) {
                0 => format!("text/html; charset={label}"),
                1 => format!("application/xml;charset=\"{label}\""),
                2 => format!("text/plain; charset={}", rng.string()),
                _ => rng.string(),
            };
            let mut body = rng.bytes();
            if rng.one_in(3) {
                let meta = format!("<meta charset=\"{label}\">");
                body.splice(0..0, meta.into_bytes());
            }
            let result = no_panic(|| {
                let found = encoding::lookup(&label);
                if let Some(e) = found {
                    // Case and surrounding whitespace do not matter.
                    assert_eq!(encoding::lookup(&format!(" {} ", label.to_ascii_uppercase())), Some(e), "label {label:?}");
                }
                let mut headers = http::HeaderMap::new();
                if let Ok(v) = http::HeaderValue::from_str(&ctype) {
                    headers.insert(http::header::CONTENT_TYPE, v);
                }
                let e = encoding::detect(&headers, &body);
                let text = encoding::decode(e, &body);
                (encoding::name(e), text.len())
            });
            if let Err(p) = result {
                fails.add(seed, case, format!("panicked ({p}) on label {label:?}, content-type {ctype:?}, body {body:?}"));
            }
        }
    }
    fails.check();
}
