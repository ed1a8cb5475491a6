//! The stats family: the replies to `stats` and its subcommands that are lists.
//!
//! ```text
//! stats-reply     = *("STAT" SP <name> SP <value> CRLF) "END" CRLF
//! cachedump-reply = *("ITEM" SP <key> SP "[" <bytes> " b; " <expiry> " s]" CRLF) "END" CRLF
//! detail-reply    = *("PREFIX" SP <prefix> " get " n " hit " n " set " n " del " n CRLF) "END" CRLF
//! ```
//! (RESPONSES.md §5.8.) The lines are held in the buffer until `END`, then the reply
//! becomes one `Bytes` with each line a range of it. `stats reset` and
//! `stats detail on|off` answer with one word and belong to the status family.

use super::parse::{self, Refusal};
use super::{At, Emit, Next, Read, Reader, Reply, StatsLines, refused};
use crate::expect::{END, Expect, StatsShape};
use crate::response::{CacheDumpEntry, PrefixStats, Response, StatLines, StatSpan};

/// Lines a stats reply makes room for at first.
const FIRST_LINES: usize = 8;

/// Reads the next line of the head's stats reply.
#[inline(always)]
pub(super) fn read<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, at: At) -> Read {
    let Expect::Stats(shape) = expect else {
        unreachable!("the stats family reads stats replies");
    };
    let len = match at {
        // Every line but END needs its end found first.
        At::Start if END.starts(r.input.rest()) && r.framing.line_fits(END.text.len()) => {
            r.framing.took_line(END.text.len());
            END.text.len()
        }
        At::Start => return Ok(Next::Search),
        At::Line(len) => len,
    };
    let line = r.line(len);
    if line == END.text {
        return Ok(end(r, expect, len));
    }
    let word: &[u8] = match shape {
        StatsShape::Stat => b"STAT ",
        StatsShape::Item => b"ITEM ",
        _ => b"PREFIX ",
    };
    if !line.starts_with(word) {
        return refused(r, Refusal::NotThis, expect, len);
    }
    // Where the line will lie in the held reply.
    let at = r.input.held();
    let line = match shape {
        StatsShape::Stat => parse::stat_line(line).map(|(name, value)| {
            Line::Stat(StatSpan {
                name: (at + name.start, name.len()),
                value: (at + value.start, value.len()),
            })
        }),
        StatsShape::Item => parse::item_line(line)
            .map(|(key, size, expiry)| Line::Item(at + key.start..at + key.end, size, expiry)),
        _ => parse::prefix_line(line)
            .map(|(prefix, counts)| Line::Prefix(at + prefix.start..at + prefix.end, counts)),
    };
    let line = match line {
        Ok(line) => line,
        Err(refusal) => return refused(r, refusal, expect, len),
    };
    let lines = match &*r.reply {
        Reply::Stats(StatsLines::Stat(v)) => v.len(),
        Reply::Stats(StatsLines::Item(v)) => v.len(),
        Reply::Stats(StatsLines::Prefix(v)) => v.len(),
        _ => 0,
    };
    r.framing.one_more_stat_line(lines)?;
    r.framing.hold(at, len + 2)?;
    match (&mut *r.reply, line) {
        (Reply::Stats(StatsLines::Stat(v)), Line::Stat(s)) => v.push(s),
        (Reply::Stats(StatsLines::Item(v)), Line::Item(k, size, exp)) => v.push((k, size, exp)),
        (Reply::Stats(StatsLines::Prefix(v)), Line::Prefix(p, c)) => v.push((p, c)),
        (reply, line) => {
            *reply = Reply::Stats(match line {
                Line::Stat(s) => StatsLines::Stat(first(s)),
                Line::Item(k, size, exp) => StatsLines::Item(first((k, size, exp))),
                Line::Prefix(p, c) => StatsLines::Prefix(first((p, c))),
            });
        }
    }
    r.input.hold(len + 2);
    Ok(Next::Go)
}

/// One parsed line, its ranges within the held reply.
enum Line {
    Stat(StatSpan),
    Item(std::ops::Range<usize>, u64, u64),
    Prefix(std::ops::Range<usize>, [u64; 4]),
}

fn first<T>(line: T) -> Vec<T> {
    let mut lines = Vec::with_capacity(FIRST_LINES);
    lines.push(line);
    lines
}

/// `END`, a line of `len` bytes: the reply is complete.
fn end<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Next {
    let Reply::Stats(lines) = std::mem::take(r.reply) else {
        r.input.consume(len + 2);
        return r.complete(Ok(expect.empty_reply()));
    };
    let frame = r.input.take_held();
    r.input.consume(len + 2);
    let response = match lines {
        StatsLines::Stat(lines) => Response::Stats(StatLines::new(frame, lines)),
        StatsLines::Item(lines) => Response::CacheDump(
            lines
                .into_iter()
                .map(|(key, size, expiry)| CacheDumpEntry {
                    key: frame.slice(key),
                    size,
                    expiry,
                })
                .collect(),
        ),
        StatsLines::Prefix(lines) => Response::DetailDump(
            lines
                .into_iter()
                .map(|(prefix, [get, hit, set, del])| PrefixStats {
                    prefix: frame.slice(prefix),
                    get,
                    hit,
                    set,
                    del,
                })
                .collect(),
        ),
    };
    r.complete(Ok(response))
}
