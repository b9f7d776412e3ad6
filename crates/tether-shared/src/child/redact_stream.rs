//! Redacts a child's output as it is captured, so the raw stream never
//! reaches a disk: the stream is cut into lines (ended by `\n` or `\r`) and
//! each complete line goes through [`crate::redact::redact`]; an incomplete
//! line waits for the next read. Memory stays bounded: a line longer than
//! [`MAX_LINE`] is written in pieces, each piece holding back its last
//! [`HOLD`] bytes so that a secret split across reads (or across a piece's
//! end) is still seen whole. A cut never falls inside a secret: it moves to
//! the secret's end, and a secret still running at the end of what was read
//! is masked and its rest dropped as it arrives.

use crate::redact::{redact, secret_spans};

/// A line longer than this is redacted and written in pieces.
pub(super) const MAX_LINE: usize = 64 * 1024;
/// Bytes held back at the end of each piece of a long line. A secret is
/// caught across any cut when the text that identifies it (key, separator
/// and enough of the value; a URL's whole `user:password@`) is shorter than
/// this, which every token format and header tether knows is by far.
pub(super) const HOLD: usize = 4 * 1024;

/// Drops the rest of a secret already masked in an earlier piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    No,
    /// Up to the next whitespace (a token, a password).
    ToSpace,
    /// Up to the end of the line (an `Authorization:` header's value).
    ToLineEnd,
}

/// The redacting state of one stream.
#[derive(Debug)]
pub(super) struct StreamRedactor {
    /// The current, incomplete line: never holds `\n` or `\r`.
    pending: Vec<u8>,
    skip: Skip,
}

impl Default for StreamRedactor {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
            skip: Skip::No,
        }
    }
}

fn is_line_end(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

impl StreamRedactor {
    /// Takes the next bytes read; appends what can be written, redacted, to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let chunk = self.skip_secret(chunk);
        self.pending.extend_from_slice(chunk);
        if let Some(last) = self.pending.iter().rposition(|&b| is_line_end(b)) {
            write_lines(&self.pending[..=last], out);
            self.pending.drain(..=last);
        }
        while self.pending.len() > MAX_LINE {
            self.cut(out);
        }
    }

    /// The stream ended: writes the last, unterminated line.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            write_line(&self.pending, out);
            self.pending.clear();
        }
        self.skip = Skip::No;
    }

    /// While a masked secret's rest is arriving: drops it, up to its end.
    fn skip_secret<'a>(&mut self, chunk: &'a [u8]) -> &'a [u8] {
        let end = match self.skip {
            Skip::No => return chunk,
            Skip::ToSpace => chunk.iter().position(u8::is_ascii_whitespace),
            Skip::ToLineEnd => chunk.iter().position(|&b| is_line_end(b)),
        };
        match end {
            Some(i) => {
                self.skip = Skip::No;
                &chunk[i..]
            }
            None => &[],
        }
    }

    /// Writes the pending long line's redacted start, all but its last
    /// [`HOLD`] bytes, never cutting a secret in two.
    fn cut(&mut self, out: &mut Vec<u8>) {
        let (text, incomplete) = lossy_keeping_incomplete(&self.pending);
        let len = text.len();
        let mut at = floor_char_boundary(&text, len.saturating_sub(HOLD));
        let mut skip = Skip::No;
        if let Some(span) = secret_spans(&text)
            .into_iter()
            .find(|s| s.range.start < at && at < s.range.end)
        {
            at = span.range.end;
            if at == len {
                // the secret may go on in the next read
                skip = if span.to_line_end {
                    Skip::ToLineEnd
                } else {
                    Skip::ToSpace
                };
            }
        }
        out.extend_from_slice(redact(&text[..at]).as_bytes());
        let mut rest = text.as_bytes()[at..].to_vec();
        rest.extend_from_slice(&incomplete);
        self.pending.clear();
        self.skip = skip;
        let rest = self.skip_secret(&rest).to_vec();
        self.pending = rest;
    }
}

/// Writes complete lines, each redacted on its own, as [`write_line`]
/// does; the lines without a secret (most) are copied as they are, found by
/// one search over all of them.
fn write_lines(lines: &[u8], out: &mut Vec<u8>) {
    let each = lines.split_inclusive(|&b| is_line_end(b));
    let Ok(text) = std::str::from_utf8(lines) else {
        each.for_each(|line| write_line(line, out));
        return;
    };
    let spans = secret_spans(text);
    if spans.is_empty() {
        out.extend_from_slice(lines);
        return;
    }
    // a line that no match of the whole touches has none of its own
    let mut spans = spans.iter().peekable();
    let mut start = 0;
    for line in each {
        let end = start + line.len();
        while spans.next_if(|s| s.range.end <= start).is_some() {}
        match spans.peek() {
            Some(s) if s.range.start < end => write_line(line, out),
            _ => out.extend_from_slice(line),
        }
        start = end;
    }
}

/// Writes one line redacted; a line without secrets is written byte for
/// byte (invalid UTF-8 included).
fn write_line(line: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(line);
    match redact(&text) {
        std::borrow::Cow::Borrowed(_) => out.extend_from_slice(line),
        std::borrow::Cow::Owned(s) => out.extend_from_slice(s.as_bytes()),
    }
}

/// `bytes` as text (invalid sequences replaced by U+FFFD), except a UTF-8
/// sequence cut short at the end, which is returned apart to be completed by
/// the next read.
fn lossy_keeping_incomplete(bytes: &[u8]) -> (String, Vec<u8>) {
    let mut text = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                return (text, Vec::new());
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    None => return (text, after.to_vec()),
                    Some(n) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[n..];
                    }
                }
            }
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in the given pieces and returns what was written.
    fn run(pieces: &[&[u8]]) -> Vec<u8> {
        let mut r = StreamRedactor::default();
        let mut out = Vec::new();
        for p in pieces {
            r.push(p, &mut out);
        }
        r.finish(&mut out);
        out
    }

    const SECRETS: [&str; 5] = [
        "hf_AbCdEfGhIjKlMnOpQrStUv",
        "sk-proj-1234567890abcdefXYZ",
        "ghp_abcdefghijklmnopqrstuvwxyz0123",
        "s3cr3tV4lue",
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload",
    ];

    fn lines() -> Vec<String> {
        vec![
            format!("loading model with {} now\n", SECRETS[0]),
            format!("openai key={}\n", SECRETS[1]),
            format!("clone https://x:{}@github.com/a/b\n", SECRETS[2]),
            format!("retry with token={}&page=2\n", SECRETS[3]),
            format!("Authorization: {}\n", SECRETS[4]),
            "step 3/10 done\r".to_owned(),
        ]
    }

    #[track_caller]
    fn assert_clean(out: &[u8], what: &str) {
        let text = String::from_utf8_lossy(out);
        for s in SECRETS {
            // any 8 characters of a secret are a leak
            for w in s.as_bytes().windows(8) {
                let w = std::str::from_utf8(w).unwrap();
                if w.contains(' ') || w.contains('.') {
                    continue;
                }
                assert!(!text.contains(w), "{what}: `{w}` of `{s}` leaked:\n{text}");
            }
        }
    }

    #[test]
    fn a_secret_split_at_every_position_is_redacted() {
        for line in lines() {
            let whole = run(&[line.as_bytes()]);
            assert_clean(&whole, &line);
            for i in 0..=line.len() {
                let (a, b) = line.as_bytes().split_at(i);
                let out = run(&[a, b]);
                assert_eq!(out, whole, "split at {i} of {line:?}");
            }
        }
    }

    #[test]
    fn one_byte_at_a_time_is_the_same_as_one_read() {
        let all: String = lines().concat();
        let whole = run(&[all.as_bytes()]);
        assert_clean(&whole, "whole");
        let bytes: Vec<&[u8]> = all.as_bytes().chunks(1).collect();
        assert_eq!(run(&bytes), whole);
        let text = String::from_utf8(whole).unwrap();
        assert!(
            text.contains("loading model with [REDACTED] now\n"),
            "{text}"
        );
        assert!(text.contains("&page=2\n"), "{text}");
        assert!(text.ends_with("step 3/10 done\r"), "{text}");
    }

    #[test]
    fn lines_written_together_are_redacted_as_each_alone() {
        let mut all = lines().concat();
        // key and value on two lines are no secret line by line
        all.push_str("token:\nabc\nAuthorization:\r\nplain\nxhf_Zz9Zz9Zz9Zz9\n");
        all.push_str(&"nothing to see here\n".repeat(50));
        all.push_str(&lines().concat());
        let mut alone = Vec::new();
        for line in all.as_bytes().split_inclusive(|&b| is_line_end(b)) {
            write_line(line, &mut alone);
        }
        let mut together = Vec::new();
        write_lines(all.as_bytes(), &mut together);
        assert_eq!(
            String::from_utf8(together).unwrap(),
            String::from_utf8(alone).unwrap()
        );
        assert_clean(&run(&[all.as_bytes()]), "all");
    }

    #[test]
    fn plain_output_and_invalid_utf8_pass_byte_for_byte() {
        let input: &[u8] = b"plain \xff\xfe bytes\nprogress \xe2\x96\x88\xe2\x96\x88 50%\rlast";
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(run(&[a, b]), input, "split at {i}");
        }
    }

    #[test]
    fn long_lines_are_written_in_pieces_with_secrets_split_anywhere() {
        let filler = "x".repeat(MAX_LINE - 100);
        for secret in [
            format!(" token={} ", SECRETS[3]),
            format!(" {} ", SECRETS[0]),
            format!(" Authorization: {}", SECRETS[4]),
        ] {
            let line = format!("{filler}{secret}{}\n", " y".repeat(3 * HOLD));
            let whole = run(&[line.as_bytes()]);
            assert_clean(&whole, &secret);
            // a first read long enough to be cut, the cut (HOLD bytes before
            // its end) falling before, in and after the secret
            let at = filler.len() + HOLD;
            for i in at - 20..at + secret.len() + 20 {
                let (a, b) = line.as_bytes().split_at(i);
                assert!(a.len() > MAX_LINE);
                assert_eq!(
                    run(&[a, b]),
                    whole,
                    "{secret:?} with the first read {i} long"
                );
            }
            let reads: Vec<&[u8]> = line.as_bytes().chunks(4093).collect();
            assert_eq!(run(&reads), whole, "{secret:?} in reads of 4093");
        }
    }

    #[test]
    fn a_secret_longer_than_the_hold_is_masked_and_its_rest_dropped() {
        let huge = format!("hf_{}", "A".repeat(3 * HOLD));
        let line = format!("{} {huge} after\n", "x".repeat(MAX_LINE - HOLD));
        let bytes: Vec<&[u8]> = line.as_bytes().chunks(1000).collect();
        let out = String::from_utf8(run(&bytes)).unwrap();
        assert!(!out.contains("AAAAAAAA"), "{}", &out[out.len() - 200..]);
        assert!(
            out.ends_with("[REDACTED] after\n"),
            "{}",
            &out[out.len() - 200..]
        );

        // a header's value runs to the end of the line
        let line = format!(
            "{}Authorization: Bearer {} tail\nnext\n",
            "x".repeat(MAX_LINE - 10),
            "B".repeat(3 * HOLD)
        );
        let bytes: Vec<&[u8]> = line.as_bytes().chunks(999).collect();
        let out = String::from_utf8(run(&bytes)).unwrap();
        assert!(!out.contains("BBBBBBBB"), "{}", &out[out.len() - 200..]);
        assert!(!out.contains("tail"), "{}", &out[out.len() - 200..]);
        assert!(
            out.ends_with("Authorization: [REDACTED]\nnext\n"),
            "{}",
            &out[out.len() - 100..]
        );
    }

    #[test]
    fn memory_stays_bounded_on_an_endless_line() {
        let mut r = StreamRedactor::default();
        let chunk = vec![b'z'; 64 * 1024];
        let mut written = 0;
        for _ in 0..64 {
            let mut out = Vec::new();
            r.push(&chunk, &mut out);
            written += out.len();
            assert!(r.pending.len() <= MAX_LINE, "{}", r.pending.len());
        }
        let mut out = Vec::new();
        r.finish(&mut out);
        assert_eq!(written + out.len(), 64 * chunk.len());
    }
}
