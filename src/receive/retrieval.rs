//! The retrieval family: `get`/`gets`/`gat`/`gats` replies.
//!
//! ```text
//! retrieval-reply = *item "END" CRLF / error-line
//! item            = "VALUE" SP key SP <flags> SP <bytes> [SP <cas>] CRLF
//!                   <bytes octets> CRLF
//! ```
//! (RESPONSES.md §4.) Items come in request order, misses left out, a key asked for
//! twice returned twice: each `VALUE` key is checked against the keys requested and
//! not answered yet ([`KeyCursor`]). A single-key reply completes as
//! [`Response::Hit`] or [`Response::Miss`]; a multi-key one is held in the buffer
//! until `END` and completes as one [`Items`] frame.
//!
//! On the unread bytes, an item whose header is clean and whose data block is
//! buffered is taken in one step (for a single key, with its `END`: the whole reply);
//! with its data still arriving, the reader goes straight to the `Block` state from
//! the header it parsed.

use std::ops::Range;

use super::parse::{self, Text, ValueHeader};
use super::{At, Block, BlockKind, Emit, Next, Read, Reader, Reply, refused};
use crate::error::{DecodeError, Snippet};
use crate::expect::{END, Expect};
use crate::pending::{Entry, KeyCursor, Pending};
use crate::response::{ItemSpan, Items, Response, Value};

/// Reads the next line of the head's retrieval reply.
#[inline(always)]
pub(super) fn read<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, at: At) -> Read {
    let (cas, multi) = match expect {
        Expect::Single { cas } => (cas, false),
        Expect::Multi { cas } => (cas, true),
        _ => unreachable!("the retrieval family reads get replies"),
    };
    match at {
        At::Start => Ok(quick(r, expect, multi, cas)),
        At::Line(len) => {
            let line = r.line(len);
            if line == END.text {
                return Ok(end(r, expect, len));
            }
            let (expected, _) = expected_key(r.pending, r.entry(), r.reply, multi);
            match parse::value_header(Text::Line(line), cas, expected) {
                Ok(header) => start_item(r, multi, header, len),
                Err(refusal) => refused(r, refusal, expect, len),
            }
        }
    }
}

/// What reading one item from the unread bytes came to.
enum Item {
    /// Taken, data and all: more of the reply may follow.
    Taken,
    /// The reply is complete, or its data block is to be waited for.
    Then(Next),
}

/// Reads from the unread bytes every item whose header is clean and whose data block
/// is buffered, and the `END` after them; stops at anything else: an item whose data
/// is still arriving (its block is waited for), or anything the found line must
/// decide.
#[inline]
fn quick<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, multi: bool, cas: bool) -> Next {
    let mut progress = false;
    loop {
        let rest = r.input.rest();
        if END.starts(rest) && r.framing.line_fits(END.text.len()) {
            r.framing.took_line(END.text.len());
            return end(r, expect, END.text.len());
        }
        if rest.first() != Some(&b'V') {
            break;
        }
        let item = if multi {
            quick_item(r, cas)
        } else {
            quick_hit(r, cas)
        };
        match item {
            Some(Item::Taken) => progress = true,
            Some(Item::Then(next)) => return next,
            None => break,
        }
    }
    if progress { Next::Go } else { Next::Search }
}

/// The key the next `VALUE` most likely carries (the requested key, or the next
/// requested one not answered yet) and, for a multi-key reply, the requested keys not
/// answered yet. Nothing if no `VALUE` may come.
#[inline(always)]
fn expected_key<'p>(
    pending: &'p Pending,
    head: &Entry,
    reply: &Reply,
    multi: bool,
) -> (&'p [u8], Option<KeyCursor>) {
    match (reply, multi) {
        (Reply::None, false) => (pending.key(head), None),
        (Reply::None, true) => {
            let keys = pending.keys(head);
            (pending.next_key(keys), Some(keys))
        }
        (Reply::Multi { keys, .. }, true) => (pending.next_key(*keys), Some(*keys)),
        _ => (&[], None),
    }
}

/// The one item of a single-key reply, when its header is clean on the unread bytes
/// (the requested key, every cap met): taken with its data when that is buffered,
/// with its `END` too (the whole reply), else the data block is waited for. `None` for
/// anything the found line must decide.
#[inline(always)]
fn quick_hit<E: Emit>(r: &mut Reader<'_, '_, E>, cas: bool) -> Option<Item> {
    if !matches!(r.reply, Reply::None) {
        // A second `VALUE` for one key: the found line's to refuse.
        return None;
    }
    let rest = r.input.rest();
    let expected = r.pending.key(r.entry());
    let header = parse::value_header(Text::Unread(rest), cas, expected).ok()?;
    if !header.expected || !r.framing.line_fits(header.line_len) {
        return None;
    }
    let header_len = header.line_len + 2;
    let data_len = r.framing.block(0, header_len, header.len).ok()?;
    // The header is good: the line is taken.
    r.framing.took_line(header.line_len);
    let data_end = header_len + data_len;
    if rest.get(data_end..data_end + 2) != Some(b"\r\n") {
        // The data is still arriving (or is not followed by "\r\n", which the block
        // step reports): wait for it from the header parsed here.
        return Some(Item::Then(
            r.wait_block(value_block(header, header_len, data_len)),
        ));
    }
    r.framing.took_terminator();
    let whole = END.starts(&rest[data_end + 2..]) && r.framing.line_fits(END.text.len());
    r.input.consume(header_len);
    let data = r.input.split(data_len);
    let value = Value {
        flags: header.flags,
        cas: header.cas,
        data,
    };
    if whole {
        // The single-key reply, whole: its END too.
        r.framing.took_line(END.text.len());
        r.input.consume(2 + END.len());
        return Some(Item::Then(r.complete(Ok(Response::Hit(value)))));
    }
    r.input.consume(2);
    *r.reply = Reply::Single(value);
    Some(Item::Taken)
}

/// An item of a multi-key reply whose header is clean on the unread bytes (the key the
/// next requested one, or a later requested one; every cap met): held with its data
/// when that is buffered, else the data block is waited for. `None` for anything the
/// found line must decide.
#[inline]
fn quick_item<E: Emit>(r: &mut Reader<'_, '_, E>, cas: bool) -> Option<Item> {
    let items = match &*r.reply {
        Reply::Multi { items, .. } => items.len(),
        Reply::None => 0,
        Reply::Single(_) | Reply::Stats(_) | Reply::Admin(_) => return None,
    };
    r.framing.one_more_value(items).ok()?;
    let pending: &Pending = r.pending;
    let (expected, keys) = expected_key(pending, r.entry(), r.reply, true);
    let mut keys = keys?;
    let rest = r.input.rest();
    let header = parse::value_header(Text::Unread(rest), cas, expected).ok()?;
    let line_len = header.line_len;
    if !r.framing.line_fits(line_len) {
        return None;
    }
    let header_len = line_len + 2;
    let data_len = r
        .framing
        .block(r.input.held(), header_len, header.len)
        .ok()?;
    if header.expected {
        pending.skip_key(&mut keys, expected.len());
    } else if !pending.take_key(&mut keys, &rest[header.key.clone()]) {
        return None;
    }
    // The header is good: the line is taken.
    r.framing.took_line(line_len);
    let data_end = header_len + data_len;
    if rest.get(data_end..data_end + 2) != Some(b"\r\n") {
        multi_item(r, keys, None);
        return Some(Item::Then(
            r.wait_block(value_block(header, header_len, data_len)),
        ));
    }
    r.framing.took_terminator();
    let at = r.input.held();
    let span = item_span(
        at,
        header.key,
        header_len,
        data_len,
        header.flags,
        header.cas,
    );
    multi_item(r, keys, Some(span));
    r.input.hold(data_end + 2);
    Some(Item::Taken)
}

/// The data block a `VALUE` header announced.
fn value_block(header: ValueHeader, header_len: usize, data_len: usize) -> Block {
    Block {
        header_len,
        data_len,
        kind: BlockKind::Value {
            key: header.key,
            flags: header.flags,
            cas: header.cas,
        },
    }
}

/// Records that a multi-key reply has answered the requested keys up to `keys`, with
/// `item` if its data is read; starts the reply if this is its first item.
#[inline]
fn multi_item<E: Emit>(r: &mut Reader<'_, '_, E>, keys: KeyCursor, item: Option<ItemSpan>) {
    let capacity = r
        .entry()
        .key_count()
        .min(r.framing.limits.max_values_per_reply);
    match &mut *r.reply {
        Reply::Multi { items, keys: at } => {
            *at = keys;
            items.extend(item);
        }
        reply => {
            let mut items = Vec::with_capacity(capacity);
            items.extend(item);
            *reply = Reply::Multi { items, keys };
        }
    }
}

/// A `VALUE` header on a found line of `len` bytes: its key checked against the
/// request, its length against the caps; then its data block is waited for.
fn start_item<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    multi: bool,
    header: ValueHeader,
    len: usize,
) -> Read {
    let unexpected = |key: &[u8]| DecodeError::UnexpectedKey {
        key: Snippet::of(key),
    };
    let keys = match (&*r.reply, multi) {
        (Reply::None, false) if header.expected => None,
        (Reply::None, true) => Some(r.pending.keys(r.entry())),
        (Reply::Multi { items, keys }, true) => {
            r.framing.one_more_value(items.len())?;
            Some(*keys)
        }
        _ => return Err(Box::new(unexpected(&r.line(len)[header.key]))),
    };
    if let Some(mut keys) = keys {
        let key = &r.line(len)[header.key.clone()];
        if !r.pending.take_key(&mut keys, key) {
            return Err(Box::new(unexpected(key)));
        }
        multi_item(r, keys, None);
    }
    let header_len = len + 2;
    let data_len = r.framing.block(r.input.held(), header_len, header.len)?;
    Ok(r.wait_block(value_block(header, header_len, data_len)))
}

/// A `VALUE` data block, read and its terminator checked: kept.
pub(super) fn block_read<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    header_len: usize,
    data_len: usize,
    key: Range<usize>,
    flags: u64,
    cas: Option<u64>,
) -> Read {
    match &mut *r.reply {
        Reply::Multi { items, .. } => {
            // Kept in the buffer: the reply becomes one `Bytes` at its END.
            let at = r.input.held();
            items.push(item_span(at, key, header_len, data_len, flags, cas));
            r.input.hold(header_len + data_len + 2);
        }
        reply => {
            r.input.consume(header_len);
            let data = r.input.split(data_len);
            r.input.consume(2);
            *reply = Reply::Single(Value { flags, cas, data });
        }
    }
    Ok(Next::Go)
}

/// Where an item held at offset `at` lies in the reply's bytes.
#[inline]
fn item_span(
    at: usize,
    key: Range<usize>,
    header_len: usize,
    data_len: usize,
    flags: u64,
    cas: Option<u64>,
) -> ItemSpan {
    ItemSpan {
        key_start: at + key.start,
        key_len: key.len(),
        data_start: at + header_len,
        data_len,
        flags,
        cas,
    }
}

/// `END`, a line of `len` bytes: the reply is complete.
#[inline]
fn end<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Next {
    let response = match std::mem::take(r.reply) {
        Reply::Single(value) => {
            r.input.consume(len + 2);
            Response::Hit(value)
        }
        Reply::Multi { items, .. } => {
            let frame = r.input.take_held();
            r.input.consume(len + 2);
            Response::Items(Items::new(frame, items))
        }
        Reply::None | Reply::Stats(_) | Reply::Admin(_) => {
            r.input.consume(len + 2);
            expect.empty_reply()
        }
    };
    r.complete(Ok(response))
}
