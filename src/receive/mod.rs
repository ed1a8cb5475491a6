//! The receive state machine: every transition of the decoder lives in this module.
//!
//! ```text
//!                 bytes with no '\n' yet: remember how far we searched, NeedMore
//!                ┌──────────┐
//!                │          ▼
//!          ┌─────┴──────────────────┐   VALUE / VA header   ┌────────────────────────────┐
//!   ──────►│ Line { scanned }       │──────────────────────►│ Block { header, data_len } │
//!          │                        │◄──────────────────────│ waits for header + data    │
//!          │ one complete line:     │  data + "\r\n" read   │ + 2 bytes; never scans     │
//!          │ parse it for the owner │                       │ the data                   │
//!          └─────┬──────────────────┘                       └─────────────┬──────────────┘
//!                │ reply complete: Completion (token, result)             │
//!                │ reply continues: append to the reply being assembled   │
//!                │                                                        │
//!                │ bad byte, cap exceeded, wrong reply,                   │ bad terminator,
//!                │ timeout, end of stream                                 │ value too large
//!                ▼                                                        ▼
//!          ┌────────────────────────────────────────────────────────────────┐
//!          │ Poisoned(error): each pending command completes once with the  │
//!          │ error, in order; then every call returns the error             │
//!          └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! The *owner* of a line is the head of the pending deque, except when the head is a
//! quiet meta command: memcached may have left its reply out, so the line belongs to
//! the first pending command it fits (by code, opaque and key echo); the quiet
//! commands before it complete with their inferred outcome. A line that fits none,
//! or an error line that more than one command could have caused, poisons the codec.
//!
//! Replies come out as zero-copy views of the read buffer. A single value is split
//! off as its data block completes; a multi-key reply stays in the buffer (*held*)
//! until its `END`, then becomes one `Bytes` with each item a range of it, which
//! costs one reference count instead of two per item.
//!
//! The common replies also have fast paths that take a whole reply in one step (a
//! line the head command most likely gets, `STORED` or a bare meta `HD`, compared
//! without searching; a single-key hit with its `END`; a meta `VA` with its data; a
//! buffered `VALUE` of a multi-key reply, or the header of one a read cut, which goes
//! straight to `Block`).
//! Each falls back to the general path on anything unusual, so both give the same
//! result and count the same bytes examined; the property tests and fuzz targets
//! feed every reply at every split to check that.
//!
//! Invariants, checked with `debug_assert!`:
//! * The buffer's front holds, in order, bytes this call consumed, bytes held for a
//!   multi-key reply in progress, then unread bytes (see [`Input`]).
//! * `Line { scanned }`: `scanned` unread bytes hold no `\n`; each byte is searched
//!   once, so a line fed one byte at a time costs O(n).
//! * `Block`: the header line is still the first unread thing; the state only checks
//!   the buffer length until `header_len + data_len + 2` unread bytes are there.
//! * A reply being assembled (`Assembly` other than `None`) always belongs to the head.

mod parse;

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use crate::codec::{Completion, Token};
use crate::error::{
    CommandError, ConnectionError, DecodeError, ServerError, ServerErrorKind, Snippet,
};
use crate::key::base64_decode;
use crate::limits::Limits;
use crate::pending::{Arena, Entry, Expect, MetaKind, Pending, Span, StatsShape, code};
use crate::response::{
    CacheDumpItem, ItemSpan, MetaDebug, MetaResponse, MetaStatus, PrefixStats, Response, Stat,
    Value, Values,
};
use parse::{MetaHeader, ValueHeader};

/// Where the decoder is in the byte stream.
#[derive(Debug)]
enum State {
    /// Waiting for a complete line; its first `scanned` unread bytes were searched.
    Line { scanned: usize },
    /// A header announced a data block; waiting for all of it.
    Block(Block),
    /// Terminal.
    Poisoned(ConnectionError),
}

#[derive(Debug)]
struct Block {
    /// The header line, with its `\r\n`, still at the front of the buffer.
    header_len: usize,
    data_len: usize,
    kind: BlockKind,
}

#[derive(Debug)]
enum BlockKind {
    /// A classic `VALUE`.
    Value {
        key: Range<usize>,
        flags: u32,
        cas: Option<u64>,
    },
    /// A meta `VA`.
    Meta(MetaHeader),
}

/// The part of a multi-line reply received so far. Always the head's.
#[derive(Debug, Default)]
enum Assembly {
    #[default]
    None,
    /// Single-key retrieval: its one `VALUE`, once read.
    Single(Option<Value>),
    /// Multi-key retrieval. Its bytes so far (`held`) stay at the front of the
    /// buffer until `END`; `items` are ranges into them. `cursor` walks the requested
    /// keys (arena offsets) so each `VALUE` is checked in request order.
    Multi {
        items: Vec<ItemSpan>,
        held: usize,
        cursor: usize,
        end: usize,
    },
    Stats(Vec<Stat>),
    CacheDump(Vec<CacheDumpItem>),
    DetailDump(Vec<PrefixStats>),
}

/// What one line means, with ranges into the line.
#[derive(Debug)]
enum Parsed {
    /// A single-line reply that keeps no bytes.
    Status(Response),
    Error(ServerErrorKind, Range<usize>),
    Version(Range<usize>),
    Value(ValueHeader),
    End,
    Stat(Range<usize>, Range<usize>),
    Item(Range<usize>, u64, u64),
    Prefix(Range<usize>, [u64; 4]),
    Meta(MetaHeader),
    MetaDebug(Range<usize>, Range<usize>),
}

#[allow(clippy::large_enum_variant)] // transient: moved once, never stored
enum Step {
    NeedMore,
    Progress,
    Emit(Completion),
}

/// The caller's read buffer during one call.
///
/// Its front holds, in order: `pos` bytes this call consumed (removed once per call,
/// not once per reply, which saves a buffer update per reply), then `held` bytes of
/// a multi-key reply in progress (kept until its `END`, to become one `Bytes`), then
/// the bytes not read yet. Dropping it removes the consumed bytes, so between calls
/// the buffer starts with the held ones.
pub(crate) struct Input<'b> {
    buf: &'b mut BytesMut,
    pos: usize,
    held: usize,
}

impl<'b> Input<'b> {
    pub(crate) fn new(buf: &'b mut BytesMut) -> Self {
        Self {
            buf,
            pos: 0,
            held: 0,
        }
    }

    /// The bytes not read yet.
    #[inline]
    fn rest(&self) -> &[u8] {
        &self.buf[self.pos + self.held..]
    }

    #[inline]
    fn len(&self) -> usize {
        self.buf.len() - self.pos - self.held
    }

    /// The next `n` bytes are done with.
    #[inline]
    fn consume(&mut self, n: usize) {
        debug_assert!(self.held == 0 && n <= self.len());
        self.pos += n;
    }

    /// The next `n` bytes belong to the reply being held.
    #[inline]
    fn hold(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.held += n;
    }

    /// The held reply, split off as one zero-copy `Bytes`.
    #[inline]
    fn take_held(&mut self) -> Bytes {
        let mut bytes = self.buf.split_to(self.pos + self.held).freeze();
        bytes.advance(self.pos);
        (self.pos, self.held) = (0, 0);
        bytes
    }

    /// Drops the held reply (an error line ended it).
    #[inline]
    fn drop_held(&mut self) {
        self.pos += self.held;
        self.held = 0;
    }

    /// The next `n` bytes, split off as a zero-copy `Bytes`. The consumed prefix
    /// leaves the buffer in the same split (then is dropped from the front of the
    /// `Bytes`, which is cheap), rather than in a separate `advance`.
    #[inline]
    fn split(&mut self, n: usize) -> Bytes {
        debug_assert_eq!(self.held, 0);
        let mut bytes = self.buf.split_to(self.pos + n).freeze();
        bytes.advance(self.pos);
        self.pos = 0;
        bytes
    }

    /// Removes the consumed bytes from the caller's buffer.
    #[inline]
    fn flush(&mut self) {
        if self.pos > 0 {
            self.buf.advance(self.pos);
            self.pos = 0;
        }
    }
}

impl Drop for Input<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The receive half of the codec.
#[derive(Debug)]
pub(crate) struct Receiver {
    state: State,
    reply: Assembly,
    /// Completions already decided (quiet commands resolved by a later reply, a
    /// refused data command before the poison) waiting to be handed out, in order.
    ready: VecDeque<Completion>,
    limits: Limits,
    /// Bytes searched for line ends plus data terminators checked: a diagnostic that
    /// proves bytes are not scanned twice.
    examined: u64,
}

impl Receiver {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            state: State::Line { scanned: 0 },
            reply: Assembly::None,
            ready: VecDeque::new(),
            limits,
            examined: 0,
        }
    }

    pub(crate) fn examined(&self) -> u64 {
        self.examined
    }

    pub(crate) fn poisoned(&self) -> Option<&ConnectionError> {
        match &self.state {
            State::Poisoned(e) => Some(e),
            _ => None,
        }
    }

    /// The buffer length the current step waits for, when it is known (a data block).
    pub(crate) fn wanted(&self) -> Option<usize> {
        let held = match &self.reply {
            Assembly::Multi { held, .. } => *held,
            _ => 0,
        };
        match &self.state {
            State::Block(b) => Some(held + b.header_len + b.data_len + 2),
            _ => None,
        }
    }

    /// Whether the decoder is part way through a reply: positions into the buffer
    /// are remembered, so the caller must not take bytes out of it.
    pub(crate) fn mid_reply(&self) -> bool {
        !matches!(self.state, State::Line { scanned: 0 }) || !matches!(self.reply, Assembly::None)
    }

    /// Makes `error` the codec's terminal state. Completions already decided stay
    /// ahead of the failures.
    pub(crate) fn poison(&mut self, error: ConnectionError) {
        if !matches!(self.state, State::Poisoned(_)) {
            self.state = State::Poisoned(error);
            self.reply = Assembly::None;
        }
    }

    /// Runs the state machine over `input`, handing each completion to `emit` until
    /// `emit` breaks or more bytes are needed (`Ok`); once poisoned and every pending
    /// command has been failed, returns the poison error.
    #[inline]
    pub(crate) fn run(
        &mut self,
        input: &mut Input<'_>,
        pending: &mut Pending,
        emit: &mut impl FnMut(Completion) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        // The held bytes of a multi-key reply in progress are at the buffer's front.
        if let Assembly::Multi { held, .. } = &self.reply {
            if *held > input.buf.len() {
                self.poison(ConnectionError::BufferTruncated);
            } else {
                input.held = *held;
            }
        }
        let result = self.steps(input, pending, emit);
        if let Assembly::Multi { held, .. } = &mut self.reply {
            *held = input.held;
        }
        result
    }

    #[inline]
    fn steps(
        &mut self,
        input: &mut Input<'_>,
        pending: &mut Pending,
        emit: &mut impl FnMut(Completion) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        loop {
            if let Some(done) = self.ready.pop_front() {
                if emit(done).is_break() {
                    return Ok(());
                }
                continue;
            }
            // Set when the item fast path already refused this line: trying it again once
            // the line's end is found would only parse the header twice more.
            let mut item_refused = false;
            if matches!(self.state, State::Line { scanned: 0 }) {
                if let Some(response) = self.likely_reply(input, pending) {
                    if emit_head(pending, response, emit).is_break() {
                        return Ok(());
                    }
                    continue;
                }
                if input.rest().starts_with(b"VALUE ") {
                    if self.whole_item(input, None, pending) {
                        continue;
                    }
                    item_refused = true;
                }
            }
            let step = match self.state {
                State::Poisoned(_) => match self.drain(pending) {
                    Ok(done) => Ok(Step::Emit(done)),
                    Err(error) => return Err(error),
                },
                State::Line { .. } => match self.find_line(input, pending) {
                    Ok(None) => Ok(Step::NeedMore),
                    Ok(Some(len)) => {
                        // The common case, kept short: a one-line reply to an ordinary
                        // head command, emitted right here.
                        if let Some(response) = self.fast_reply(input, len, pending) {
                            if emit_head(pending, response, emit).is_break() {
                                return Ok(());
                            }
                            continue;
                        }
                        if !item_refused && self.whole_item(input, Some(len), pending) {
                            continue;
                        }
                        self.on_line(input, len, len + 2, pending)
                    }
                    Err(e) => Err(e),
                },
                State::Block(_) => self.step_block(input, pending),
            };
            match step {
                Ok(Step::NeedMore) => return Ok(()),
                Ok(Step::Progress) => {}
                Ok(Step::Emit(done)) if self.ready.is_empty() => {
                    if emit(done).is_break() {
                        return Ok(());
                    }
                }
                Ok(Step::Emit(done)) => self.ready.push_back(done),
                Err(e) => self.poison(e.into()),
            }
        }
    }

    /// The next failed completion of a poisoned codec, or its error once none is left.
    fn drain(&mut self, pending: &mut Pending) -> Result<Completion, ConnectionError> {
        let State::Poisoned(error) = &self.state else {
            unreachable!("drain is only called when poisoned");
        };
        while let Some(entry) = pending.pop() {
            if entry.cancelled {
                continue;
            }
            let ended = matches!(error, ConnectionError::Closed | ConnectionError::Io(_));
            let result = if ended && entry.expect == Expect::Close {
                Ok(Response::Closed)
            } else {
                Err(CommandError::Connection(error.clone()))
            };
            return Ok(Completion {
                token: Token(entry.token),
                result,
            });
        }
        Err(error.clone())
    }

    /// Finds the end of the line at the front of `input`: its length without the
    /// `\r\n`, or `None` when more bytes are needed. Resumes the search where the
    /// last call stopped.
    #[inline]
    fn find_line(
        &mut self,
        input: &Input<'_>,
        pending: &Pending,
    ) -> Result<Option<usize>, DecodeError> {
        let State::Line { scanned } = &mut self.state else {
            unreachable!("find_line is only called in the Line state");
        };
        let rest = input.rest();
        if pending.is_empty() {
            return match rest.first() {
                None => Ok(None),
                Some(&byte) => Err(DecodeError::Unsolicited { byte }),
            };
        }
        // A caller that consumed buffered bytes behind our back gets a fresh search.
        let from = (*scanned).min(rest.len());
        let window = rest.len().min(self.limits.max_line_len.saturating_add(2));
        let found = rest
            .get(from..window)
            .and_then(|unsearched| memchr::memchr(b'\n', unsearched));
        let Some(i) = found else {
            self.examined += window.saturating_sub(from) as u64;
            if window >= self.limits.max_line_len.saturating_add(2) {
                return Err(DecodeError::LineTooLong {
                    limit: self.limits.max_line_len,
                });
            }
            *scanned = window.max(from);
            debug_assert!(*scanned <= rest.len());
            return Ok(None);
        };
        self.examined += i as u64 + 1;
        *scanned = 0;
        let newline = from + i;
        if newline == 0 || rest[newline - 1] != b'\r' {
            return Err(DecodeError::BareNewline);
        }
        Ok(Some(newline - 1))
    }

    /// The head command's whole reply, if `input` starts with its most likely reply
    /// line or a buffered single-key hit (which then need no search for a line's
    /// end); consumes it.
    #[inline]
    fn likely_reply(&mut self, input: &mut Input<'_>, pending: &Pending) -> Option<Response> {
        let head = pending.front()?;
        if head.quiet || !matches!(self.reply, Assembly::None) || !self.ready.is_empty() {
            return None;
        }
        if let Expect::Single { cas } = head.expect {
            if input.rest().starts_with(b"VALUE ") {
                return self.whole_hit(input, None, head, cas, &pending.arena);
            }
        }
        let (line, response) = likely(head)?;
        if line.text.len() > self.limits.max_line_len || !line.matches(input.rest()) {
            return None;
        }
        // What the search for the line's end would have counted.
        self.examined += line.len() as u64;
        input.consume(line.len());
        Some(response)
    }

    /// The key the next `VALUE` line most likely carries: the requested key, or for a
    /// multi-key retrieval the next requested one not yet answered.
    fn expected_key<'a>(&self, head: &Entry, arena: &'a Arena) -> &'a [u8] {
        match (head.expect, &self.reply) {
            (Expect::Single { .. }, _) => arena.get(head.keys),
            (Expect::Multi { .. }, Assembly::Multi { cursor, end, .. }) => {
                next_key(arena, *cursor, *end)
            }
            (Expect::Multi { .. }, _) => next_key(arena, head.keys.start, head.keys.end()),
            _ => &[],
        }
    }

    /// The whole reply to the head command, when the line starts one the fast paths
    /// take (and nothing complicates them: a quiet head, a reply in progress,
    /// completions waiting); consumes it.
    #[inline]
    fn fast_reply(
        &mut self,
        input: &mut Input<'_>,
        len: usize,
        pending: &Pending,
    ) -> Option<Response> {
        let head = pending.front()?;
        if head.quiet || !matches!(self.reply, Assembly::None) || !self.ready.is_empty() {
            return None;
        }
        match head.expect {
            Expect::Single { cas } => {
                if let Some(hit) = self.whole_hit(input, Some(len), head, cas, &pending.arena) {
                    return Some(hit);
                }
            }
            Expect::Meta { .. } if input.rest().starts_with(b"VA ") => {
                return self.whole_meta_value(input, len, head, &pending.arena);
            }
            _ => {}
        }
        let response = simple_reply(head.expect, &input.rest()[..len])?;
        input.consume(len + 2);
        Some(response)
    }

    /// The `VALUE` header at the front of `rest` (a line of `line` bytes, or if
    /// `None` parsed straight from the unread bytes, up to its `\r\n`) when nothing
    /// about it needs the general path: the header, the line's length, and the data
    /// block's length.
    #[inline]
    fn value_header(
        &self,
        rest: &[u8],
        line: Option<usize>,
        cas: bool,
        expected: &[u8],
    ) -> Option<(ValueHeader, usize, usize)> {
        if !rest.starts_with(b"VALUE ") {
            return None;
        }
        let (header, len) = match line {
            Some(len) => (parse::value_line(&rest[..len], cas, expected).ok()?, len),
            None => {
                let header = parse::value_header(rest, cas, expected).ok()?;
                let len = header.end;
                let ends = rest.get(len..len + 2) == Some(b"\r\n");
                // A longer line is the general path's to refuse.
                (ends && len <= self.limits.max_line_len).then_some((header, len))?
            }
        };
        let data_len = usize::try_from(header.len)
            .ok()
            .filter(|&n| n <= self.limits.max_value_len)?;
        Some((header, len, data_len))
    }

    /// Where the data block of a header line of `len` bytes ends, if it is buffered
    /// and followed by `trailer`.
    #[inline]
    fn buffered_data(rest: &[u8], len: usize, data_len: usize, trailer: &[u8]) -> Option<usize> {
        let data_end = (len + 2).checked_add(data_len)?;
        let end = data_end.checked_add(trailer.len())?;
        parse::same(rest.get(data_end..end)?, trailer).then_some(data_end)
    }

    /// A single-key hit whose header, data and `END` are all buffered, taken in one
    /// step instead of three (with `line` unknown, without even searching for the end
    /// of the header line). Anything unusual (a reply already in progress, a header the
    /// general path would refuse, bytes still missing) is left to the general path, so
    /// the outcome is the same either way.
    #[inline(never)]
    fn whole_hit(
        &mut self,
        input: &mut Input<'_>,
        line: Option<usize>,
        head: &Entry,
        cas: bool,
        arena: &Arena,
    ) -> Option<Response> {
        let trailer = b"\r\nEND\r\n";
        let (header, len, data_len) =
            self.value_header(input.rest(), line, cas, arena.get(head.keys))?;
        let data_end = Self::buffered_data(input.rest(), len, data_len, trailer)?;
        if !header.expected {
            return None;
        }
        // What the general path would count: the header line if it was not searched
        // yet, the terminator, the END line.
        let searched = if line.is_none() { len + 2 } else { 0 };
        self.examined += (searched + trailer.len()) as u64;
        input.consume(len + 2);
        let data = input.split(data_end - len - 2);
        input.consume(trailer.len());
        Some(Response::Hit(Value {
            flags: header.flags,
            cas: header.cas,
            data,
        }))
    }

    /// A meta `VA` line of `len` bytes whose data block is buffered, taken in one step
    /// instead of through `Block`, with the same checks as the general path, which
    /// takes over for anything unusual (including data still arriving).
    #[inline(never)]
    fn whole_meta_value(
        &mut self,
        input: &mut Input<'_>,
        len: usize,
        head: &Entry,
        arena: &Arena,
    ) -> Option<Response> {
        let rest = input.rest();
        let line = &rest[..len];
        let header = parse::meta_header(line, code::VA).ok()?;
        check_meta(head, &header, line, arena).ok()?;
        let data_len = usize::try_from(header.size)
            .ok()
            .filter(|&n| n <= self.limits.max_value_len)?;
        Self::buffered_data(rest, len, data_len, b"\r\n")?;
        // What the general path would count: the terminator (the line was searched).
        self.examined += 2;
        let line = take_meta_line(input, len + 2, &header);
        let data = input.split(data_len);
        input.consume(2);
        Some(Response::Meta(meta_response(&header, &line, Some(data))))
    }

    /// One `VALUE` of a multi-key reply, added to the reply in one step when its data
    /// block is buffered, or its header taken and raw mode entered when the data is
    /// still arriving (the same checks as the general path, which takes over for
    /// anything unusual). With `line` unknown the header is parsed straight from the
    /// unread bytes, without searching for its end first. Returns whether it was taken.
    #[inline(never)]
    fn whole_item(
        &mut self,
        input: &mut Input<'_>,
        line: Option<usize>,
        pending: &Pending,
    ) -> bool {
        let Some(head) = pending.front() else {
            return false;
        };
        let Expect::Multi { cas } = head.expect else {
            return false;
        };
        if !self.ready.is_empty() {
            return false;
        }
        let arena = &pending.arena;
        let (mut cursor, end) = match &self.reply {
            Assembly::None => (head.keys.start, head.keys.end()),
            Assembly::Multi {
                items, cursor, end, ..
            } if items.len() < self.limits.max_values_per_reply => (*cursor, *end),
            _ => return false,
        };
        let expected = next_key(arena, cursor, end);
        let Some((header, len, data_len)) = self.value_header(input.rest(), line, cas, expected)
        else {
            return false;
        };
        if header.expected {
            cursor += 1 + expected.len();
        } else if !take_key(arena, &mut cursor, end, &input.rest()[header.key.clone()]) {
            return false;
        }
        // What the general path would count: the header line if it was not searched yet.
        let searched = if line.is_none() { len + 2 } else { 0 };
        let Some(data_end) = Self::buffered_data(input.rest(), len, data_len, b"\r\n") else {
            // The data is still arriving (the item a read cut in two): the header is
            // good, so go to raw mode now rather than parse it again on the general path.
            self.examined += searched as u64;
            let key = &input.rest()[header.key.clone()];
            if let Err(e) = self.start_value(key, len + 2, header, head, arena) {
                self.poison(e.into());
            }
            return true;
        };
        self.examined += (searched + 2) as u64;
        let at = input.held;
        let span = ItemSpan {
            key_start: at + header.key.start,
            key_len: header.key.len(),
            data_start: at + len + 2,
            data_len,
            flags: header.flags,
            cas: header.cas,
        };
        input.hold(data_end + 2);
        match &mut self.reply {
            Assembly::Multi {
                items, cursor: at, ..
            } => {
                items.push(span);
                *at = cursor;
            }
            reply => {
                let mut items =
                    Vec::with_capacity(head.key_count.min(self.limits.max_values_per_reply));
                items.push(span);
                *reply = Assembly::Multi {
                    items,
                    held: 0,
                    cursor,
                    end,
                };
            }
        }
        true
    }

    /// Handles one complete line of `line_len` bytes (`consumed` with its `\r\n`).
    fn on_line(
        &mut self,
        input: &mut Input<'_>,
        line_len: usize,
        consumed: usize,
        pending: &mut Pending,
    ) -> Result<Step, DecodeError> {
        let line = &input.rest()[..line_len];
        let in_reply = !matches!(self.reply, Assembly::None);
        let Some(head) = pending.front() else {
            unreachable!("find_line returns no line when nothing is pending");
        };
        let (owner, parsed) = if !in_reply && head.quiet {
            find_owner(line, pending)?
        } else {
            (
                0,
                parse_line(
                    head.expect,
                    in_reply,
                    line,
                    self.expected_key(head, &pending.arena),
                )?,
            )
        };
        let Some(entry) = pending.get(owner) else {
            unreachable!("find_owner returns a pending index");
        };
        match &parsed {
            Parsed::Error(kind, message) if entry.after_noreply => {
                return Err(DecodeError::AmbiguousError {
                    error: ServerError {
                        kind: *kind,
                        message: Bytes::copy_from_slice(&line[message.clone()]),
                    },
                });
            }
            Parsed::Meta(header) => check_meta(entry, header, line, &pending.arena)?,
            Parsed::MetaDebug(key, _) => {
                check_debug_key(entry, &line[key.clone()], &pending.arena)?
            }
            _ => {}
        }
        // The line is valid and belongs to `owner`: quiet commands before it were silent.
        for _ in 0..owner {
            if let Some(silent) = pending.pop().filter(|e| !e.cancelled) {
                self.ready.push_back(Completion {
                    token: Token(silent.token),
                    result: Ok(inferred(silent.expect)),
                });
            }
        }
        self.apply(input, line_len, consumed, parsed, pending)
    }

    /// Carries out what a parsed line means for the head command.
    fn apply(
        &mut self,
        input: &mut Input<'_>,
        line_len: usize,
        consumed: usize,
        parsed: Parsed,
        pending: &mut Pending,
    ) -> Result<Step, DecodeError> {
        let Some(head) = pending.front() else {
            unreachable!("apply runs for a pending owner");
        };
        let expect = head.expect;
        match parsed {
            Parsed::Status(response) => {
                input.consume(consumed);
                Ok(self.complete(pending, Ok(response)))
            }
            Parsed::Error(kind, message) => {
                // An error ends a reply in progress: its bytes go.
                input.drop_held();
                let line = input.split(consumed);
                let error = ServerError {
                    kind,
                    message: line.slice(message),
                };
                self.reply = Assembly::None;
                let step = self.complete(pending, Err(CommandError::Server(error.clone())));
                if expect.carries_data() && !block_was_read(expect, &error) {
                    // memcached may now run the data block as commands (RESPONSES.md §2.3).
                    if let Step::Emit(done) = step {
                        self.ready.push_back(done);
                    }
                    return Err(DecodeError::UnreadDataBlock { error });
                }
                Ok(step)
            }
            Parsed::Version(range) => {
                let line = input.split(consumed);
                Ok(self.complete(pending, Ok(Response::Version(line.slice(range)))))
            }
            Parsed::Value(header) => {
                let key = &input.rest()[header.key.clone()];
                self.start_value(key, consumed, header, head, &pending.arena)
            }
            Parsed::End => {
                let frame = input.take_held();
                input.consume(consumed);
                let response = match (std::mem::take(&mut self.reply), expect) {
                    (Assembly::Single(Some(value)), _) => Response::Hit(value),
                    (Assembly::Multi { items, .. }, _) => {
                        Response::Values(Values::new(frame, items))
                    }
                    (Assembly::Stats(lines), _) => Response::Stats(lines),
                    (Assembly::CacheDump(lines), _) => Response::CacheDump(lines),
                    (Assembly::DetailDump(lines), _) => Response::DetailDump(lines),
                    (_, Expect::Multi { .. }) => Response::Values(Values::default()),
                    (_, Expect::Stats(StatsShape::Item)) => Response::CacheDump(Vec::new()),
                    (_, Expect::Stats(StatsShape::Prefix)) => Response::DetailDump(Vec::new()),
                    (_, Expect::Stats(_)) => Response::Stats(Vec::new()),
                    _ => Response::Miss,
                };
                Ok(self.complete(pending, Ok(response)))
            }
            Parsed::Stat(name, value) => {
                self.count_stat_line()?;
                let line = input.split(consumed);
                let stat = Stat {
                    name: line.slice(name),
                    value: line.slice(value),
                };
                match &mut self.reply {
                    Assembly::Stats(lines) => lines.push(stat),
                    reply => *reply = Assembly::Stats(vec![stat]),
                }
                Ok(Step::Progress)
            }
            Parsed::Item(key, size, expiry) => {
                self.count_stat_line()?;
                let line = input.split(consumed);
                let item = CacheDumpItem {
                    key: line.slice(key),
                    size,
                    expiry,
                };
                match &mut self.reply {
                    Assembly::CacheDump(lines) => lines.push(item),
                    reply => *reply = Assembly::CacheDump(vec![item]),
                }
                Ok(Step::Progress)
            }
            Parsed::Prefix(prefix, [get, hit, set, del]) => {
                self.count_stat_line()?;
                let line = input.split(consumed);
                let stats = PrefixStats {
                    prefix: line.slice(prefix),
                    get,
                    hit,
                    set,
                    del,
                };
                match &mut self.reply {
                    Assembly::DetailDump(lines) => lines.push(stats),
                    reply => *reply = Assembly::DetailDump(vec![stats]),
                }
                Ok(Step::Progress)
            }
            Parsed::Meta(header) if header.code == code::VA => {
                self.start_block(consumed, header.size, BlockKind::Meta(header))
            }
            Parsed::Meta(header) => {
                let line = take_meta_line(input, consumed, &header);
                let response = if header.code == code::MN {
                    Response::Noop
                } else {
                    Response::Meta(meta_response(&header, &line, None))
                };
                Ok(self.complete(pending, Ok(response)))
            }
            Parsed::MetaDebug(key, fields) => {
                let line = input.split(consumed);
                let debug = MetaDebug {
                    key: line.slice(key),
                    fields: line.slice(fields),
                };
                debug_assert!(line_len <= consumed);
                Ok(self.complete(pending, Ok(Response::MetaDebug(debug))))
            }
        }
    }

    fn count_stat_line(&self) -> Result<(), DecodeError> {
        let held = match &self.reply {
            Assembly::Stats(v) => v.len(),
            Assembly::CacheDump(v) => v.len(),
            Assembly::DetailDump(v) => v.len(),
            _ => 0,
        };
        if held >= self.limits.max_stat_lines {
            return Err(DecodeError::TooManyStatLines {
                limit: self.limits.max_stat_lines,
            });
        }
        Ok(())
    }

    /// A `VALUE` header: check its key against the request, then wait for its data.
    fn start_value(
        &mut self,
        key: &[u8],
        consumed: usize,
        header: ValueHeader,
        head: &Entry,
        arena: &Arena,
    ) -> Result<Step, DecodeError> {
        let unexpected = || DecodeError::UnexpectedKey {
            key: Snippet::of(key),
        };
        match (&mut self.reply, head.expect) {
            (Assembly::None, Expect::Single { .. }) if key == arena.get(head.keys) => {
                self.reply = Assembly::Single(None);
            }
            (Assembly::None, Expect::Multi { .. }) => {
                let mut cursor = head.keys.start;
                if !take_key(arena, &mut cursor, head.keys.end(), key) {
                    return Err(unexpected());
                }
                self.reply = Assembly::Multi {
                    items: Vec::with_capacity(head.key_count.min(self.limits.max_values_per_reply)),
                    held: 0,
                    cursor,
                    end: head.keys.end(),
                };
            }
            (
                Assembly::Multi {
                    items, cursor, end, ..
                },
                _,
            ) => {
                if items.len() >= self.limits.max_values_per_reply {
                    return Err(DecodeError::TooManyValues {
                        limit: self.limits.max_values_per_reply,
                    });
                }
                if !take_key(arena, cursor, *end, key) {
                    return Err(unexpected());
                }
            }
            _ => return Err(unexpected()),
        }
        let kind = BlockKind::Value {
            key: header.key,
            flags: header.flags,
            cas: header.cas,
        };
        self.start_block(consumed, header.len, kind)
    }

    fn start_block(
        &mut self,
        header_len: usize,
        len: u64,
        kind: BlockKind,
    ) -> Result<Step, DecodeError> {
        // Checked before anything is buffered; the sum with the header and the
        // terminator must fit too, whatever limit the caller configured.
        let data_len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= self.limits.max_value_len)
            .filter(|&n| n.checked_add(header_len + 2).is_some())
            .ok_or(DecodeError::ValueTooLarge {
                len,
                limit: self.limits.max_value_len,
            })?;
        self.state = State::Block(Block {
            header_len,
            data_len,
            kind,
        });
        Ok(Step::Progress)
    }

    fn step_block(
        &mut self,
        input: &mut Input<'_>,
        pending: &mut Pending,
    ) -> Result<Step, DecodeError> {
        let State::Block(block) = &self.state else {
            unreachable!("step_block is only called in the Block state");
        };
        let data_end = block.header_len + block.data_len;
        if input.len() < data_end + 2 {
            return Ok(Step::NeedMore);
        }
        self.examined += 2;
        if input.rest()[data_end..data_end + 2] != *b"\r\n" {
            return Err(DecodeError::BadDataTerminator);
        }
        let State::Block(block) = std::mem::replace(&mut self.state, State::Line { scanned: 0 })
        else {
            unreachable!("checked above");
        };
        let Block {
            header_len,
            data_len,
            kind,
        } = block;
        match kind {
            BlockKind::Value { key, flags, cas } => match &mut self.reply {
                Assembly::Single(slot) => {
                    input.consume(header_len);
                    let data = input.split(data_len);
                    input.consume(2);
                    *slot = Some(Value { flags, cas, data });
                    Ok(Step::Progress)
                }
                Assembly::Multi { items, .. } => {
                    // Kept in the buffer: the reply becomes one `Bytes` at its END.
                    let at = input.held;
                    items.push(ItemSpan {
                        key_start: at + key.start,
                        key_len: key.len(),
                        data_start: at + header_len,
                        data_len,
                        flags,
                        cas,
                    });
                    input.hold(data_end + 2);
                    Ok(Step::Progress)
                }
                _ => unreachable!("a VALUE block always has a retrieval reply in progress"),
            },
            BlockKind::Meta(header) => {
                let line = take_meta_line(input, header_len, &header);
                let data = input.split(data_len);
                input.consume(2);
                let response = meta_response(&header, &line, Some(data));
                Ok(self.complete(pending, Ok(Response::Meta(response))))
            }
        }
    }

    /// Completes the head command with `result` (nothing is emitted if the caller
    /// cancelled it) and returns to reading lines.
    fn complete(&mut self, pending: &mut Pending, result: Result<Response, CommandError>) -> Step {
        if !matches!(self.reply, Assembly::None) {
            self.reply = Assembly::None;
        }
        match pending.pop() {
            Some(entry) if !entry.cancelled => Step::Emit(Completion {
                token: Token(entry.token),
                result,
            }),
            _ => Step::Progress,
        }
    }
}

/// The `CLIENT_ERROR`s memcached sends for an `ms` whose data length it had already
/// parsed: it swallows the data block, so the stream stays in step (RESPONSES.md
/// §2.3). The codec checks key, length and flag count before sending, so these are
/// what remains (a flag the server does not implement, such as `E` on 1.6.18).
const MS_ERRORS_AFTER_THE_LENGTH: &[&[u8]] = &[
    b"invalid flag",
    b"duplicate flag",
    b"bad token in command line format",
    b"opaque token too long",
    b"error decoding key",
    b"incorrect length for M token",
    b"invalid mode for ms M token",
];

/// Whether memcached read (or swallowed) the data block of the storage command it
/// answered with `error`. If not, it will parse the block as commands.
fn block_was_read(expect: Expect, error: &ServerError) -> bool {
    match error.kind {
        // `object too large`, `out of memory storing object`: swallowed.
        ServerErrorKind::ServerError => true,
        ServerErrorKind::ClientError => {
            matches!(
                expect,
                Expect::Meta {
                    kind: MetaKind::Set,
                    ..
                }
            ) && MS_ERRORS_AFTER_THE_LENGTH.contains(&&error.message[..])
        }
        // `ERROR`: the line was not understood at all; for classic storage, any
        // `CLIENT_ERROR` means the line was refused before the length was read.
        _ => false,
    }
}

/// The requested key at `cursor` (length-prefixed), or nothing past `end`.
fn next_key(arena: &Arena, cursor: usize, end: usize) -> &[u8] {
    if cursor >= end {
        return &[];
    }
    let len = usize::from(
        arena.get(Span {
            start: cursor,
            len: 1,
        })[0],
    );
    arena.get(Span {
        start: cursor + 1,
        len,
    })
}

/// Completes the head command with a reply a fast path found, handing it to `emit`
/// (unless the caller cancelled it).
#[inline(always)]
fn emit_head(
    pending: &mut Pending,
    response: Response,
    emit: &mut impl FnMut(Completion) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some(head) = pending.pop() else {
        unreachable!("the fast paths answer the head");
    };
    if head.cancelled {
        return ControlFlow::Continue(());
    }
    emit(Completion {
        token: Token(head.token),
        result: Ok(response),
    })
}

/// Advances `cursor` over the length-prefixed requested keys up to and including
/// `key`; false if `key` is not among the remaining ones.
fn take_key(arena: &Arena, cursor: &mut usize, end: usize, key: &[u8]) -> bool {
    while *cursor < end {
        let len = usize::from(
            arena.get(Span {
                start: *cursor,
                len: 1,
            })[0],
        );
        let requested = arena.get(Span {
            start: *cursor + 1,
            len,
        });
        *cursor += 1 + len;
        if requested == key {
            return true;
        }
    }
    false
}

/// What a quiet command's silence means: `mg` missed, the others succeeded.
fn inferred(expect: Expect) -> Response {
    let status = match expect {
        Expect::Meta {
            kind: MetaKind::Get,
            ..
        } => MetaStatus::Miss,
        _ => MetaStatus::Success,
    };
    Response::Meta(MetaResponse {
        status,
        inferred: true,
        ..MetaResponse::default()
    })
}

/// Takes a meta reply line of `consumed` bytes (with its `\r\n`) off the input: as
/// `Bytes` when it carries return flags for the response to keep, else dropped,
/// which saves a reference count.
fn take_meta_line(input: &mut Input<'_>, consumed: usize, header: &MetaHeader) -> Bytes {
    if header.flags.is_empty() {
        input.consume(consumed);
        Bytes::new()
    } else {
        input.split(consumed)
    }
}

fn meta_response(header: &MetaHeader, line: &Bytes, value: Option<Bytes>) -> MetaResponse {
    MetaResponse {
        status: match header.code {
            code::VA => MetaStatus::Value,
            code::EN => MetaStatus::Miss,
            code::NF => MetaStatus::NotFound,
            code::NS => MetaStatus::NotStored,
            code::EX => MetaStatus::Exists,
            _ => MetaStatus::Success,
        },
        inferred: false,
        value,
        raw_flags: if header.flags.is_empty() {
            Bytes::new()
        } else {
            line.slice(header.flags.clone())
        },
    }
}

/// Finds the pending command a line answers when the head is quiet (and so may
/// never be answered): the first command the line fits, skipping quiet ones it does
/// not fit. Everything before the returned index was silent.
fn find_owner(line: &[u8], pending: &Pending) -> Result<(usize, Parsed), DecodeError> {
    if let Some((kind, message)) = parse::error_line(line) {
        if pending.len() > 1 {
            // Errors are sent even in quiet mode: this could be the head's, or a later
            // command's after the head stayed silent.
            return Err(DecodeError::AmbiguousError {
                error: ServerError {
                    kind,
                    message: Bytes::copy_from_slice(&line[message]),
                },
            });
        }
        return Ok((0, Parsed::Error(kind, message)));
    }
    let header = match parse::meta_code(line) {
        Some(c) if c != code::ME => Some(parse::meta_header(line, c)?),
        _ => None,
    };
    for (index, entry) in pending.iter().enumerate() {
        if !entry.expect.is_quiet() {
            return Ok((index, parse_line(entry.expect, false, line, &[])?));
        }
        if let Some(header) = &header {
            if check_meta(entry, header, line, &pending.arena).is_ok() {
                return Ok((index, Parsed::Meta(header.clone())));
            }
        }
    }
    Err(DecodeError::UnexpectedReply {
        expected: "a reply to one of the pending quiet meta commands",
        line: Snippet::of(line),
    })
}

/// Checks that a meta reply fits `entry`: a code it can receive, and the opaque and
/// key it echoes are the ones it sent.
fn check_meta(
    entry: &Entry,
    header: &MetaHeader,
    line: &[u8],
    arena: &Arena,
) -> Result<(), DecodeError> {
    let Expect::Meta {
        codes, return_key, ..
    } = entry.expect
    else {
        return Err(unexpected(entry.expect, line));
    };
    if header.code & codes == 0 {
        return Err(unexpected(entry.expect, line));
    }
    if header.is_bare_miss() {
        // Servers before memcached#880 send a miss without the opaque or key: it pairs
        // by position.
        return Ok(());
    }
    let opaque_ok = match (entry.opaque, &header.opaque) {
        (None, None) => true,
        (Some(sent), Some(echoed)) => arena.get(sent) == &line[echoed.clone()],
        _ => false,
    };
    if !opaque_ok {
        return Err(DecodeError::OpaqueMismatch);
    }
    let key_ok = match (return_key, &header.key) {
        (false, None) => true,
        (true, Some(echoed)) => echoed_key_matches(
            arena.get(entry.keys),
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

/// `ME <key> ...` prints the key as sent (base64 with `b`).
fn check_debug_key(entry: &Entry, printed: &[u8], arena: &Arena) -> Result<(), DecodeError> {
    let raw = arena.get(entry.keys);
    if printed == raw || echoed_key_matches(raw, printed, true) {
        Ok(())
    } else {
        Err(DecodeError::KeyMismatch)
    }
}

fn unexpected(expect: Expect, line: &[u8]) -> DecodeError {
    DecodeError::UnexpectedReply {
        expected: describe(expect),
        line: Snippet::of(line),
    }
}

fn describe(expect: Expect) -> &'static str {
    match expect {
        Expect::Single { .. } | Expect::Multi { .. } => "VALUE or END",
        Expect::Storage => "STORED, NOT_STORED, EXISTS or NOT_FOUND",
        Expect::Delete => "DELETED or NOT_FOUND",
        Expect::Touch => "TOUCHED or NOT_FOUND",
        Expect::Arith => "a number or NOT_FOUND",
        Expect::Stats(StatsShape::Stat) => "STAT or END",
        Expect::Stats(StatsShape::Item) => "ITEM or END",
        Expect::Stats(StatsShape::Prefix) => "PREFIX or END",
        Expect::Stats(StatsShape::Reset) => "RESET",
        Expect::Stats(StatsShape::Ok) | Expect::Ok => "OK",
        Expect::Version => "VERSION",
        Expect::Memlimit => "OK or MEMLIMIT_*",
        Expect::Close => "end of stream",
        Expect::Meta {
            kind: MetaKind::Get,
            ..
        } => "VA, HD or EN",
        Expect::Meta {
            kind: MetaKind::Set,
            ..
        } => "HD, NS, EX or NF",
        Expect::Meta {
            kind: MetaKind::Delete,
            ..
        } => "HD, NF or EX",
        Expect::Meta {
            kind: MetaKind::Arithmetic,
            ..
        } => "VA, HD, NF, NS or EX",
        Expect::Meta {
            kind: MetaKind::Noop,
            ..
        } => "MN",
        Expect::Meta {
            kind: MetaKind::Debug,
            ..
        } => "ME or EN",
    }
}

/// Parses a line as a reply to a command expecting `expect`; `in_reply` if earlier
/// lines of the same reply were read. Error lines are accepted anywhere.
/// A reply line a command is likely to get, with its `\r\n`, as a 16-byte pattern:
/// checking for it is one masked compare, no search for the line's end.
struct Likely {
    /// The line without its `\r\n`.
    text: &'static [u8],
    word: u128,
    mask: u128,
}

impl Likely {
    const fn new(text: &'static [u8]) -> Self {
        let len = text.len() + 2;
        assert!(len <= 16);
        let mut bytes = [0u8; 16];
        let mut i = 0;
        while i < text.len() {
            bytes[i] = text[i];
            i += 1;
        }
        bytes[text.len()] = b'\r';
        bytes[text.len() + 1] = b'\n';
        Self {
            text,
            word: u128::from_le_bytes(bytes),
            mask: u128::MAX >> (8 * (16 - len)),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.text.len() + 2
    }

    /// Whether `rest` starts with the line.
    #[inline]
    fn matches(&self, rest: &[u8]) -> bool {
        match rest.first_chunk::<16>() {
            Some(word) => u128::from_le_bytes(*word) & self.mask == self.word,
            None => rest
                .get(..self.len())
                .is_some_and(|l| l.starts_with(self.text) && l.ends_with(b"\r\n")),
        }
    }
}

const STORED: Likely = Likely::new(b"STORED");
const DELETED: Likely = Likely::new(b"DELETED");
const TOUCHED: Likely = Likely::new(b"TOUCHED");
const END: Likely = Likely::new(b"END");
const OK: Likely = Likely::new(b"OK");
const MN: Likely = Likely::new(b"MN");
const HD: Likely = Likely::new(b"HD");

/// The reply line the command `entry` most often gets, when it is a simple one, and
/// what it means.
#[inline]
fn likely(entry: &Entry) -> Option<(&'static Likely, Response)> {
    Some(match entry.expect {
        Expect::Storage => (&STORED, Response::Stored),
        Expect::Delete => (&DELETED, Response::Deleted),
        Expect::Touch => (&TOUCHED, Response::Touched),
        Expect::Single { .. } => (&END, Response::Miss),
        Expect::Ok => (&OK, Response::Ok),
        Expect::Meta {
            kind: MetaKind::Noop,
            ..
        } => (&MN, Response::Noop),
        // A bare `HD` is the whole reply only when nothing echoed is due (what
        // `check_meta` demands).
        Expect::Meta {
            kind: MetaKind::Get | MetaKind::Set | MetaKind::Delete | MetaKind::Arithmetic,
            codes,
            return_key: false,
            ..
        } if codes & code::HD != 0 && entry.opaque.is_none() => {
            let response = MetaResponse {
                status: MetaStatus::Success,
                inferred: false,
                value: None,
                raw_flags: Bytes::new(),
            };
            (&HD, Response::Meta(response))
        }
        _ => return None,
    })
}

/// A reply that is one line and keeps none of its bytes, for a command expecting
/// `expect`: the common case, answered without building anything else. `None` for
/// every other line (including malformed counters, left to [`parse_line`]).
#[inline]
fn simple_reply(expect: Expect, line: &[u8]) -> Option<Response> {
    Some(match (expect, line) {
        (Expect::Storage, b"STORED") => Response::Stored,
        (Expect::Storage, b"NOT_STORED") => Response::NotStored,
        (Expect::Storage, b"EXISTS") => Response::Exists,
        (Expect::Storage | Expect::Delete | Expect::Touch | Expect::Arith, b"NOT_FOUND") => {
            Response::NotFound
        }
        (Expect::Delete, b"DELETED") => Response::Deleted,
        (Expect::Touch, b"TOUCHED") => Response::Touched,
        (Expect::Arith, [b'0'..=b'9', ..]) => Response::Counter(parse::parse_u64(line)?),
        (Expect::Single { .. }, b"END") => Response::Miss,
        (Expect::Ok | Expect::Memlimit | Expect::Stats(StatsShape::Ok), b"OK") => Response::Ok,
        (Expect::Stats(StatsShape::Reset), b"RESET") => Response::Reset,
        (
            Expect::Meta {
                kind: MetaKind::Noop,
                ..
            },
            b"MN",
        ) => Response::Noop,
        _ => return None,
    })
}

/// Parses a line as a reply to a command expecting `expect`; `in_reply` if earlier
/// lines of the same reply were read. Error lines are accepted anywhere.
fn parse_line(
    expect: Expect,
    in_reply: bool,
    line: &[u8],
    expected_key: &[u8],
) -> Result<Parsed, DecodeError> {
    if !in_reply {
        if let Some(response) = simple_reply(expect, line) {
            return Ok(Parsed::Status(response));
        }
    }
    let parsed = match expect {
        Expect::Single { cas } | Expect::Multi { cas } => match line {
            b"END" => Some(Parsed::End),
            _ if line.starts_with(b"VALUE ") => {
                Some(Parsed::Value(parse::value_line(line, cas, expected_key)?))
            }
            _ => None,
        },
        Expect::Arith if line.first().is_some_and(u8::is_ascii_digit) => {
            return Err(DecodeError::BadNumber { field: "counter" });
        }
        Expect::Stats(shape) => match (shape, line) {
            (StatsShape::Stat | StatsShape::Item | StatsShape::Prefix, b"END") => Some(Parsed::End),
            (StatsShape::Stat, _) if line.starts_with(b"STAT ") => {
                let (name, value) = parse::stat_line(line)?;
                Some(Parsed::Stat(name, value))
            }
            (StatsShape::Item, _) if line.starts_with(b"ITEM ") => {
                let (key, size, expiry) = parse::item_line(line)?;
                Some(Parsed::Item(key, size, expiry))
            }
            (StatsShape::Prefix, _) if line.starts_with(b"PREFIX ") => {
                let (prefix, counts) = parse::prefix_line(line)?;
                Some(Parsed::Prefix(prefix, counts))
            }
            _ => None,
        },
        Expect::Version if line.starts_with(b"VERSION ") => Some(Parsed::Version(8..line.len())),
        Expect::Memlimit => [
            (
                &b"MEMLIMIT_TOO_SMALL"[..],
                ServerErrorKind::MemlimitTooSmall,
            ),
            (
                b"MEMLIMIT_ADJUST_FAILED",
                ServerErrorKind::MemlimitAdjustFailed,
            ),
        ]
        .into_iter()
        .find_map(|(word, kind)| {
            let rest = line.strip_prefix(word)?;
            match rest.first() {
                None => Some(Parsed::Error(kind, line.len()..line.len())),
                Some(b' ') => Some(Parsed::Error(kind, word.len() + 1..line.len())),
                Some(_) => None,
            }
        }),
        Expect::Meta {
            kind: MetaKind::Debug,
            ..
        } => match line {
            b"EN" => Some(Parsed::Status(Response::Miss)),
            _ if line.starts_with(b"ME ") => {
                let (key, fields) = parse::meta_debug_line(line)?;
                Some(Parsed::MetaDebug(key, fields))
            }
            _ => None,
        },
        Expect::Meta { .. } => match parse::meta_code(line) {
            Some(c) if c != code::ME => Some(Parsed::Meta(parse::meta_header(line, c)?)),
            _ => None,
        },
        Expect::Storage
        | Expect::Delete
        | Expect::Touch
        | Expect::Arith
        | Expect::Version
        | Expect::Ok
        | Expect::Close => None,
    };
    // Single-line replies cannot continue a multi-line one.
    let parsed = parsed.filter(|p| {
        !in_reply
            || matches!(
                p,
                Parsed::End
                    | Parsed::Value(_)
                    | Parsed::Stat(..)
                    | Parsed::Item(..)
                    | Parsed::Prefix(..)
            )
    });
    match parsed {
        Some(p) => Ok(p),
        None => match parse::error_line(line) {
            Some((kind, message)) => Ok(Parsed::Error(kind, message)),
            None => Err(unexpected(expect, line)),
        },
    }
}
