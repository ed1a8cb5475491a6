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
use super::{At, Emit, Next, Read, Reader, error_or_unexpected, refused};
use crate::expect::Expect;
use crate::response::Response;

/// Reads the head's one-line reply.
#[inline(always)]
pub(super) fn read<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, at: At) -> Read {
    let At::Line(len) = at else {
        return Ok(quick(r, expect));
    };
    line(r, expect, len)
}

/// The reply on the unread bytes, when it is a fixed word (the likely one is tried
/// first) or a number followed by `\r\n`; anything else needs the line's end.
#[inline(always)]
fn quick<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect) -> Next {
    let rest = r.input.rest();
    let replies = r.entry().fixed_replies();
    if let Some((likely, status)) = replies.first() {
        if likely.starts(rest) && r.framing.line_fits(likely.text.len()) {
            r.framing.took_line(likely.text.len());
            r.input.consume(likely.len());
            return r.complete(Ok(status.response()));
        }
    }
    for (fixed, status) in replies.iter().skip(1) {
        if fixed.starts(rest) && r.framing.line_fits(fixed.text.len()) {
            r.framing.took_line(fixed.text.len());
            r.input.consume(fixed.len());
            return r.complete(Ok(status.response()));
        }
    }
    if expect.takes_number() {
        if let Ok((n, len)) = parse::number(Text::Unread(rest)) {
            if r.framing.line_fits(len) {
                r.framing.took_line(len);
                r.input.consume(len + 2);
                return r.complete(Ok(Response::Counter(n)));
            }
        }
    }
    Next::Search
}

/// Reads a found line of `len` bytes.
fn line<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    let line = r.line(len);
    for (fixed, status) in expect.fixed_replies() {
        if line == fixed.text {
            r.input.consume(len + 2);
            return Ok(r.complete(Ok(status.response())));
        }
    }
    if expect.takes_number() {
        match parse::number(Text::Line(line)) {
            Ok((n, _)) => {
                r.input.consume(len + 2);
                return Ok(r.complete(Ok(Response::Counter(n))));
            }
            Err(parse::Refusal::NotThis) => {}
            Err(refusal) => return refused(r, refusal, expect, len),
        }
    }
    if expect.takes_version() {
        if let Some(version) = parse::version_line(line) {
            let line = r.input.split(len + 2);
            return Ok(r.complete(Ok(Response::Version(line.slice(version)))));
        }
    }
    for &(word, kind) in expect.error_words() {
        if let Some(message) = parse::word_with_message(line, word) {
            return r.server_error(len, kind, message);
        }
    }
    error_or_unexpected(r, expect, len)
}
