//! The meta family: replies to `mg`, `ms`, `md`, `ma`, `mn` and `me`.
//!
//! ```text
//! reply    = <RC> [SP <size>] *(SP <ret-flag>) CRLF [<data> CRLF]
//!            RC = VA (with size and data) / HD / EN / NF / NS / EX / MN
//! me-reply = "ME" SP <key> *(SP <k>=<v>) CRLF / "EN" CRLF
//! ```
//! (RESPONSES.md §7.) A reply is checked against the command it answers: a code the
//! command can get, and the opaque (`O`) and key (`k`) it echoes those the command
//! sent ([`check`]).
//!
//! Quiet mode: memcached leaves out a quiet command's common outcome, so when the
//! head is quiet a line belongs to the first pending command it fits, and the quiet
//! commands before that one were silent ([`Next::Silent`]). The first command that
//! always gets a reply ends the search: the line is its, whatever it is.

use bytes::Bytes;

use super::parse::{self, MetaHeader};
use super::{At, Block, BlockKind, Emit, Next, Read, Reader, error_or_unexpected, unexpected};
use crate::error::{DecodeError, ServerError, Snippet};
use crate::expect::{BARE_HD, EN, Expect, MN, MetaKind, code};
use crate::key::base64_decode;
use crate::pending::{Entry, Pending};
use crate::response::{MetaDebug, MetaResponse, MetaStatus, Response};

/// Reads the line at the front of the unread bytes for a meta command.
#[inline(always)]
pub(super) fn read<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, at: At) -> Read {
    match at {
        At::Start => Ok(quick(r, expect).unwrap_or(Next::Search)),
        At::Line(len) => line(r, expect, len),
    }
}

/// A clean reply on the unread bytes, for the command it fits; `None` for anything
/// the found line must decide.
#[inline]
fn quick<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect) -> Option<Next> {
    let Expect::Meta {
        kind,
        codes,
        quiet,
        return_key,
    } = expect
    else {
        unreachable!("the meta family reads meta replies");
    };
    let rest = r.input.rest();
    match kind {
        MetaKind::Noop => return fixed(r, &MN, || Response::Noop),
        MetaKind::Debug => return fixed(r, &EN, || Response::Miss),
        _ => {}
    }
    let entry = r.entry();
    if !quiet && codes & code::HD != 0 && !return_key && r.pending.opaque(entry).is_none() {
        // A bare `HD` is the whole reply only when nothing echoed is due.
        if BARE_HD.starts(rest) {
            return fixed(r, &BARE_HD, || {
                Response::Meta(MetaResponse::new(
                    MetaStatus::Success,
                    Bytes::new(),
                    (0, 0),
                    None,
                ))
            });
        }
    }
    let len = parse::short_line(rest, r.framing.limits.max_line_len)?;
    let header = parse::meta_header(&rest[..len]).ok()?;
    if quiet {
        let owner = owner(r.pending, r.owner, &header, &rest[..header.line_len])?;
        if owner != r.owner {
            return Some(Next::Silent(owner));
        }
    } else {
        check(r.pending, entry, &header, &rest[..header.line_len]).ok()?;
    }
    let header_len = header.line_len + 2;
    if header.code == code::VA {
        let data_len = r.framing.block(0, header_len, header.size).ok()?;
        r.framing.took_line(header.line_len);
        let data_end = header_len + data_len;
        if rest.get(data_end..data_end + 2) != Some(b"\r\n") {
            // Still arriving (or not followed by "\r\n", which the block step reports).
            return Some(r.wait_block(Block {
                header_len,
                data_len,
                kind: BlockKind::Meta {
                    flags: flags_of(&header),
                },
            }));
        }
        r.framing.took_terminator();
        return Some(take_value(r, flags_of(&header), header_len, data_len));
    }
    r.framing.took_line(header.line_len);
    Some(take(r, &header))
}

/// A fixed line taken whole from the unread bytes.
#[inline]
fn fixed<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    line: &crate::expect::Fixed,
    response: impl FnOnce() -> Response,
) -> Option<Next> {
    if !line.starts(r.input.rest()) || !r.framing.line_fits(line.text.len()) {
        return None;
    }
    r.framing.took_line(line.text.len());
    r.input.consume(line.len());
    Some(r.complete(Ok(response())))
}

/// Whether an error line read for the quiet command at `owner` could be a later
/// command's (this one having stayed silent): unless the next command is an `mn`,
/// which answers `MN` and nothing else, and after which nothing answers first.
fn error_could_be_later(pending: &Pending, owner: usize) -> bool {
    pending.get(owner + 1).is_some_and(|next| {
        !matches!(
            next.expect(),
            Expect::Meta {
                kind: MetaKind::Noop,
                ..
            }
        )
    })
}

/// Reads a found line of `len` bytes.
fn line<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    let Expect::Meta { kind, quiet, .. } = expect else {
        unreachable!("the meta family reads meta replies");
    };
    let pending: &Pending = r.pending;
    let line = r.line(len);
    let header = if quiet {
        // Which pending command the line belongs to.
        if let Some((kind, message)) = parse::error_line(line) {
            if error_could_be_later(pending, r.owner) {
                // Errors are sent even in quiet mode: this could be this command's, or
                // a later command's after this one stayed silent.
                return Err(Box::new(DecodeError::AmbiguousError {
                    error: ServerError {
                        kind,
                        message: Bytes::copy_from_slice(&line[message]),
                    },
                }));
            }
            return r.server_error(len, kind, message);
        }
        let header = parsed(line)?;
        let found = header
            .as_ref()
            .and_then(|header| owner(pending, r.owner, header, line))
            .or_else(|| first_loud(pending, r.owner));
        match found {
            Some(owner) if owner == r.owner => {}
            Some(owner) => return Ok(Next::Silent(owner)),
            None => {
                return Err(Box::new(DecodeError::UnexpectedReply {
                    expected: "a reply to one of the pending quiet meta commands",
                    line: Snippet::of(line),
                }));
            }
        }
        header
    } else {
        if kind == MetaKind::Debug {
            return debug_line(r, expect, len);
        }
        parsed(line)?
    };
    let Some(header) = header else {
        return error_or_unexpected(r, expect, len);
    };
    check(pending, r.entry(), &header, line)?;
    if header.code == code::VA {
        let header_len = len + 2;
        let data_len = r.framing.block(0, header_len, header.size)?;
        return Ok(r.wait_block(Block {
            header_len,
            data_len,
            kind: BlockKind::Meta {
                flags: flags_of(&header),
            },
        }));
    }
    Ok(take(r, &header))
}

/// The meta header of a found line, if it is one (an error if it is a malformed one).
fn parsed(line: &[u8]) -> Result<Option<MetaHeader>, DecodeError> {
    if !parse::is_meta_line(line) {
        return Ok(None);
    }
    match parse::meta_header(line) {
        Ok(header) => Ok(Some(header)),
        Err(refusal) => Err(refusal
            .error(line)
            .unwrap_or_else(|| parse::malformed("meta", line))),
    }
}

/// The first pending command from `from` on that the reply `header` fits, skipping
/// quiet ones it does not fit; the first command that always gets a reply ends the
/// search (the line is its, if anyone's: its own reading decides).
fn owner(pending: &Pending, from: usize, header: &MetaHeader, line: &[u8]) -> Option<usize> {
    for (index, entry) in pending.iter().enumerate().skip(from) {
        if !entry.is_quiet() || check(pending, entry, header, line).is_ok() {
            return Some(index);
        }
    }
    None
}

/// The first pending command from `from` on that always gets a reply.
fn first_loud(pending: &Pending, from: usize) -> Option<usize> {
    pending
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, entry)| !entry.is_quiet())
        .map(|(index, _)| index)
}

/// Checks that a meta reply fits `entry`: a code it can receive, and the opaque and
/// key it echoes are the ones it sent.
#[inline(always)]
fn check(
    pending: &Pending,
    entry: &Entry,
    header: &MetaHeader,
    line: &[u8],
) -> Result<(), DecodeError> {
    // The common case: nothing was sent to echo, and nothing is echoed.
    if let Expect::Meta {
        codes,
        return_key: false,
        ..
    } = entry.expect()
    {
        if header.code & codes != 0 && !header.echoes() && pending.opaque(entry).is_none() {
            return Ok(());
        }
    }
    check_echoes(pending, entry, header, line)
}

/// [`check`], in full.
fn check_echoes(
    pending: &Pending,
    entry: &Entry,
    header: &MetaHeader,
    line: &[u8],
) -> Result<(), DecodeError> {
    let Expect::Meta {
        codes, return_key, ..
    } = entry.expect()
    else {
        return Err(unexpected(entry.expect(), line));
    };
    if header.code & codes == 0 {
        return Err(unexpected(entry.expect(), line));
    }
    if header.is_bare_miss() {
        // Servers before memcached#880 send a miss without the opaque or key: it pairs
        // by position.
        return Ok(());
    }
    let opaque_ok = match (pending.opaque(entry), header.opaque()) {
        (None, None) => true,
        (Some(sent), Some(echoed)) => sent == &line[echoed.clone()],
        _ => false,
    };
    if !opaque_ok {
        return Err(DecodeError::OpaqueMismatch);
    }
    let key_ok = match (return_key, header.key()) {
        (false, None) => true,
        (true, Some(echoed)) => echoed_key_matches(
            pending.key(entry),
            &line[echoed.clone()],
            header.key_is_base64,
        ),
        _ => false,
    };
    if !key_ok {
        return Err(DecodeError::KeyMismatch);
    }
    Ok(())
}

/// memcached echoes a key in base64 (with `b`) if the item was stored with a base64
/// key, whatever the request used; compare raw bytes.
fn echoed_key_matches(raw: &[u8], echoed: &[u8], echoed_is_base64: bool) -> bool {
    if !echoed_is_base64 {
        return raw == echoed;
    }
    let mut decoded = [0u8; 192];
    base64_decode(echoed, &mut decoded).is_some_and(|n| &decoded[..n] == raw)
}

/// The status a meta code stands for.
fn status(code_bit: u8) -> MetaStatus {
    match code_bit {
        code::VA => MetaStatus::Value,
        code::EN => MetaStatus::Miss,
        code::NF => MetaStatus::NotFound,
        code::NS => MetaStatus::NotStored,
        code::EX => MetaStatus::Exists,
        _ => MetaStatus::Success,
    }
}

/// A reply without a data block, checked against its command: complete. The line
/// is kept only if it carries return flags.
fn take<E: Emit>(r: &mut Reader<'_, '_, E>, header: &MetaHeader) -> Next {
    let consumed = header.line_len + 2;
    if header.code == code::MN {
        r.input.consume(consumed);
        return r.complete(Ok(Response::Noop));
    }
    let flags = header.flags();
    let response = if flags.is_empty() {
        r.input.consume(consumed);
        MetaResponse::new(status(header.code), Bytes::new(), (0, 0), None)
    } else {
        let frame = r.input.split(consumed);
        MetaResponse::new(status(header.code), frame, (flags.start, flags.len()), None)
    };
    r.complete(Ok(Response::Meta(response)))
}

/// Where a header's return flags lie: start and length.
fn flags_of(header: &MetaHeader) -> (usize, usize) {
    let flags = header.flags();
    (flags.start, flags.len())
}

/// A `VA` header of `header_len` bytes (with its `\r\n`), its return flags at
/// `flags`, and its data block, whose terminator was checked: complete, as one frame.
fn take_value<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    flags: (usize, usize),
    header_len: usize,
    data_len: usize,
) -> Next {
    let response = if flags.1 == 0 {
        r.input.consume(header_len);
        let frame = r.input.split(data_len);
        MetaResponse::new(MetaStatus::Value, frame, (0, 0), Some(0))
    } else {
        let frame = r.input.split(header_len + data_len);
        MetaResponse::new(MetaStatus::Value, frame, flags, Some(header_len))
    };
    r.input.consume(2);
    r.complete(Ok(Response::Meta(response)))
}

/// A `VA` data block, read and its terminator checked.
pub(super) fn block_read<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    flags: (usize, usize),
    header_len: usize,
    data_len: usize,
) -> Read {
    Ok(take_value(r, flags, header_len, data_len))
}

/// `me`: `ME <key> <fields>` (the key as sent, base64 with `b`) or `EN`.
fn debug_line<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    let line = r.line(len);
    if line == EN.text {
        r.input.consume(len + 2);
        return Ok(r.complete(Ok(Response::Miss)));
    }
    let (key, fields) = match parse::meta_debug_line(line) {
        Ok(ranges) => ranges,
        Err(parse::Refusal::NotThis) => return error_or_unexpected(r, expect, len),
        Err(refusal) => {
            return Err(Box::new(
                refusal
                    .error(line)
                    .unwrap_or_else(|| unexpected(expect, line)),
            ));
        }
    };
    let raw = r.pending.key(r.entry());
    let printed = &line[key.clone()];
    if printed != raw && !echoed_key_matches(raw, printed, true) {
        return Err(Box::new(DecodeError::KeyMismatch));
    }
    let line = r.input.split(len + 2);
    Ok(r.complete(Ok(Response::MetaDebug(MetaDebug {
        key: line.slice(key),
        fields: line.slice(fields),
    }))))
}
