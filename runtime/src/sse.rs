//! Server-sent events: the `text/event-stream` format parsed as the WHATWG HTML standard's
//! "event stream interpretation" says (9.2.6): UTF-8 (one leading BOM dropped), lines ended by
//! CRLF, LF or CR, `:` comments, `field: value` with one leading space dropped, an event
//! dispatched at a blank line when it has data, and an unfinished event at the end discarded.
//! Fed the body's chunks as they arrive, so an event split across chunks is assembled whole.

use std::collections::VecDeque;

use encoding_rs::{Decoder, UTF_8};

use crate::stream::{Assemble, LineSplitter};

/// One event, as httpx-sse's `ServerSentEvent` has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, `message` when the event had none.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event ID so far (the `id:` field persists from event to event, as in the
    /// standard's `lastEventId`).
    pub id: String,
    /// This event's `retry:` field (milliseconds), if it had a valid one.
    pub retry: Option<u64>,
}

/// The parser's buffers between lines.
#[derive(Default)]
pub struct Parser {
    event: String,
    data: String,
    /// Whether a `data` field was seen: an event without one is not dispatched.
    has_data: bool,
    last_id: String,
    retry: Option<u64>,
}

impl Parser {
    /// Process one line (without its terminator): Some(event) when it was the blank line
    /// ending an event with data.
    pub fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // An id with NUL is ignored (the standard's rule).
            "id" if !value.contains('\0') => self.last_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => self.retry = value.parse().ok(),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = std::mem::take(&mut self.event);
        let retry = self.retry.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(Event {
            event: if event.is_empty() { "message".to_owned() } else { event },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry,
        })
    }
}

/// `iter_sse()` / `aiter_sse()`: the events of a streamed body, as its chunks arrive.
pub struct EventPieces {
    decoder: Option<Decoder>,
    lines: LineSplitter,
    parser: Parser,
    ready: VecDeque<Event>,
}

impl Default for EventPieces {
    fn default() -> Self {
        EventPieces { decoder: Some(UTF_8.new_decoder_with_bom_removal()), lines: LineSplitter::default(), parser: Parser::default(), ready: VecDeque::new() }
    }
}

impl Assemble for EventPieces {
    type Out = Event;
    fn ready(&mut self) -> Option<Option<Event>> {
        match self.ready.pop_front() {
            Some(e) => Some(Some(e)),
            None if self.decoder.is_none() => Some(None),
            None => None,
        }
    }
    fn feed(&mut self, chunk: Option<&[u8]>) {
        let Some(d) = self.decoder.as_mut() else { return };
        let bytes = chunk.unwrap_or_default();
        let mut text = String::with_capacity(d.max_utf8_buffer_length(bytes.len()).unwrap_or(bytes.len() * 3));
        let _ = d.decode_to_string(bytes, &mut text, chunk.is_none());
        let mut lines = self.lines.push(&text);
        if chunk.is_none() {
            self.decoder = None;
            // A last line without its terminator still counts; an event it does not end
            // (no blank line after it) is discarded, as the standard says.
            lines.extend(self.lines.finish());
        }
        let parser = &mut self.parser;
        self.ready.extend(lines.iter().filter_map(|l| parser.line(l)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `raw` fed `split` bytes at a time.
    fn events(raw: &[u8], split: usize) -> Vec<Event> {
        let mut p = EventPieces::default();
        let mut out = Vec::new();
        for piece in raw.chunks(split.max(1)) {
            p.feed(Some(piece));
            while let Some(Some(e)) = p.ready() {
                out.push(e);
            }
        }
        p.feed(None);
        while let Some(Some(e)) = p.ready() {
            out.push(e);
        }
        out
    }

    fn ev(event: &str, data: &str, id: &str, retry: Option<u64>) -> Event {
        Event { event: event.into(), data: data.into(), id: id.into(), retry }
    }

    #[test]
    fn parses_the_standards_examples_at_every_split() {
        // WHATWG HTML 9.2.6's examples, with mixed line ends and a BOM.
        let raw = "\u{feff}: test stream\r\n\r\ndata: first event\nid: 1\n\ndata:second event\rid\r\rdata:  third event\r\n\r\n";
        let want = vec![ev("message", "first event", "1", None), ev("message", "second event", "", None), ev("message", " third event", "", None)];
        for split in 1..raw.len() {
            assert_eq!(events(raw.as_bytes(), split), want, "split {split}");
        }
    }

    #[test]
    fn multi_line_data_event_types_and_retry() {
        let raw = b"event: add\ndata: YHOO\ndata: +2\ndata: 10\nretry: 3000\n\ndata\n\ndata\ndata\n\ndata:\n\nevent: ping\n\nretry: x\ndata: d\n\n";
        assert_eq!(
            events(raw, 5),
            vec![ev("add", "YHOO\n+2\n10", "", Some(3000)), ev("message", "", "", None), ev("message", "\n", "", None), ev("message", "", "", None), ev("message", "d", "", None)]
        );
    }

    #[test]
    fn ids_persist_and_nul_ids_are_ignored() {
        let raw = b"id: a\ndata: 1\n\ndata: 2\n\nid: b\0c\ndata: 3\n\nid\ndata: 4\n\n";
        let ids: Vec<String> = events(raw, 3).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["a", "a", "a", ""]);
    }

    #[test]
    fn an_unfinished_event_at_the_end_is_discarded() {
        assert_eq!(events(b"data: whole\n\ndata: cut", 4), vec![ev("message", "whole", "", None)]);
        assert_eq!(events(b"data: no blank line\n", 4), vec![]);
        // A UTF-8 character split across chunks is decoded whole; bad bytes become U+FFFD.
        assert_eq!(events("data: é\n\ndata: \u{ff}\n\n".as_bytes(), 1)[0].data, "é");
        assert_eq!(events(b"data: \xff\n\n", 1)[0].data, "\u{fffd}");
    }
}
