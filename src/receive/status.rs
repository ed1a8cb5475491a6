//! The status family: replies of one line that keep (almost) none of their bytes.
//!
//! ```text
//! storage-reply = ("STORED" / "NOT_STORED" / "EXISTS" / "NOT_FOUND") CRLF
//! delete-reply  = ("DELETED" / "NOT_FOUND") CRLF
//! touch-reply   = ("TOUCHED" / "NOT_FOUND") CRLF
//! arith-reply   = 1*20DIGIT CRLF / "NOT_FOUND" CRLF
//! version-reply = "VERSION" SP <version> CRLF
//! ok-reply      = "OK" CRLF                          ; verbosity, flush_all, stats detail
//! reset-reply   = "RESET" CRLF                       ; stats reset
//! memlimit      = "OK" CRLF / ("MEMLIMIT_TOO_SMALL" / "MEMLIMIT_ADJUST_FAILED") [SP <msg>] CRLF
//! ```
//! (RESPONSES.md §3, §5.) Each command's words come from [`Expect::fixed_replies`],
//! the likely one first, and [`Expect::error_words`].

use super::parse::{self, Text};
use super::{At, Next, Reader, error_or_unexpected, refused};
use crate::error::DecodeError;
use crate::expect::Expect;
use crate::response::Response;

/// Reads the head's one-line reply.
#[inline]
pub(super) fn read(r: &mut Reader<'_, '_>, expect: Expect, at: At) -> Result<Next, DecodeError> {
    match at {
        At::Start => {
            let rest = r.input.rest();
            for (fixed, status) in expect.fixed_replies() {
                if fixed.starts(rest) && r.framing.line_fits(fixed.text.len()) {
                    r.framing.took_line(fixed.text.len());
                    r.input.consume(fixed.len());
                    return Ok(Next::Status(*status));
                }
            }
            if expect.takes_number() {
                if let Ok((n, len)) = parse::number(Text::Unread(rest)) {
                    if r.framing.line_fits(len) {
                        r.framing.took_line(len);
                        r.input.consume(len + 2);
                        return Ok(Next::Done(Response::Counter(n)));
                    }
                }
            }
            Ok(Next::Search)
        }
        At::Line(len) => line(r, expect, len),
    }
}

/// Reads a found line of `len` bytes.
fn line(r: &mut Reader<'_, '_>, expect: Expect, len: usize) -> Result<Next, DecodeError> {
    let line = r.line(len);
    for (fixed, status) in expect.fixed_replies() {
        if line == fixed.text {
            r.input.consume(len + 2);
            return Ok(Next::Status(*status));
        }
    }
    if expect.takes_number() {
        match parse::number(Text::Line(line)) {
            Ok((n, _)) => {
                r.input.consume(len + 2);
                return Ok(Next::Done(Response::Counter(n)));
            }
            Err(parse::Refusal::NotThis) => {}
            Err(refusal) => return refused(refusal, expect, line),
        }
    }
    if expect.takes_version() {
        if let Some(version) = parse::version_line(line) {
            let line = r.input.split(len + 2);
            return Ok(Next::Done(Response::Version(line.slice(version))));
        }
    }
    for &(word, kind) in expect.error_words() {
        if let Some(message) = parse::word_with_message(line, word) {
            return Ok(Next::ServerError { len, kind, message });
        }
    }
    error_or_unexpected(expect, line)
}
