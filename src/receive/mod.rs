//! The receive state machine. Every transition of the decoder lives in this file;
//! reading a reply is left to the family its command belongs to.
//!
//! ```text
//!                          bytes with no '\n' yet: remember how far we searched
//!                         ┌──────────┐
//!                         │          ▼
//!   ┌─────────────────────┴──────────────────┐  header of a    ┌─────────────────────────────┐
//!   │ Line { scanned }                        │  data block     │ Block { header, data_len }  │
//!   │                                         │────────────────►│ waits for header + data + 2 │
//! ─►│ scanned == 0: the owner's family parses │                 │ bytes, never scans the data;│
//!   │   the unread bytes (line end unknown);  │◄────────────────│ then checks the "\r\n" and  │
//!   │   unsure: search for the line's end     │  block read:    │ hands the block to the      │
//!   │ found line: the family parses the line  │  item kept or   │ family                      │
//!   │                                         │  reply complete └──────────────┬──────────────┘
//!   └───┬────────────────────┬────────────────┘                                │
//!       │ reply complete:    │ reply goes on: the line is                      │ bad terminator
//!       │ Completion         │ consumed or held                                │
//!       │ (token, result)    │ (multi-key, stats)                              │
//!       │                    │ quiet commands were silent:                     │
//!       │                    │ they complete (inferred), the                   │
//!       │                    │ line is read again for the next                 │
//!       │ bad byte, cap exceeded, wrong reply, unattributable error line,      │
//!       │ timeout, end of stream, a buffer changed behind the codec's back     │
//!       ▼                                                                      ▼
//!   ┌───────────────────────────────────────────────────────────────────────────────┐
//!   │ Poisoned(error): each pending command completes once with the error, in      │
//!   │ order (completions already decided first); then every call returns the error │
//!   └───────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! # Reading a reply
//!
//! The head command's [`Family`] picks the reader, once per reply line:
//!
//! | Family | File | Reads |
//! |---|---|---|
//! | status | `status.rs` | a fixed word (`STORED`, `DELETED`, `OK`, ...), a number, `VERSION <v>`, a word with a message |
//! | retrieval | `retrieval.rs` | `VALUE` items (one key, or many held as one frame) and `END` |
//! | stats | `stats.rs` | `STAT`/`ITEM`/`PREFIX` lines held as one frame, and `END` |
//! | meta | `meta.rs` | `VA`/`HD`/`EN`/`NF`/`NS`/`EX`/`MN`/`ME`, the opaque and key echoes, quiet commands' silences |
//! | admin | `admin.rs` | admin status words, `lru_crawler` dumps, `CONFIG` blocks, `watch` and its log lines, raw commands |
//!
//! A reader first sees the unread bytes with the line's end unknown ([`At::Start`]).
//! Its parser runs on them and takes a clean common line in one step (`STORED`
//! by one masked compare, a number, a `VALUE` header with its data and, for one
//! key, its `END`; a short meta line found eight bytes at a time, with its data), or
//! answers [`Next::Search`]: the line's end is then searched for (resumably, see
//! `line.rs`) and the same reader parses the found line ([`At::Line`]), which
//! decides everything else, errors included. One grammar: parsers refuse on the
//! unread bytes whatever they would refuse on the line, so the outcome, and the
//! count of bytes examined, are the same however the reads cut a reply. Error lines
//! are recognised by every reader on a found line and completed here
//! ([`Reader::server_error`]).
//!
//! The admin family takes nothing from the unread bytes: its replies are rare, so it
//! always has the line found first. Two of its shapes have lines that may end in a
//! bare `\n` (metadump items, `watch` log lines), which the search above refuses;
//! for those the reader searches itself (`Framing::find_lf_line`, resumable the
//! same way, its `scanned` kept in the reply in progress) and answers
//! [`Next::Stop`] while the line is incomplete.
//!
//! A reader completes its command itself ([`Reader::complete`]): the completion is
//! built once, where it is handed to the caller's closure (or queued behind
//! completions already decided). A `watch` also completes without leaving the deque
//! ([`Reader::stream`]): its `OK` and each log line. A data block to wait for goes through
//! [`Reader::wait_block`]. One [`Reader`] serves a whole call, so the state, the
//! deque, the reply in progress and the framing rules are reached through it
//! without being gathered again for every line.
//!
//! The *owner* of a line is the head of the pending deque, except when the head is a
//! quiet meta command: memcached may have left its reply out, so the meta reader
//! looks for the first pending command the line fits (by code, opaque and key echo);
//! the line is read again for that command ([`Next::Silent`]), and only once that
//! read succeeds do the quiet commands before it complete with their inferred
//! outcome (a line that fits nobody proves nothing about their silence). A line that
//! fits none, or an error line that more than one command could have caused,
//! poisons the codec.
//!
//! Replies come out as zero-copy views of the read buffer: a value is split off as
//! its data block completes; a multi-key or stats reply stays in the buffer (*held*)
//! until its `END`, then becomes one `Bytes` with each item a range of it.
//!
//! # Invariants (checked with `debug_assert!`)
//!
//! * The buffer's front holds, in order, bytes this call consumed, bytes held for a
//!   multi-line reply in progress, then unread bytes (see `input.rs`).
//! * `Line { scanned }`: the first `scanned` unread bytes hold no `\n`; each byte is
//!   searched once, so a line fed one byte at a time costs O(n).
//! * `Block`: the header line is still the first unread thing; the state only checks
//!   the buffer length until `header_len + data_len + 2` unread bytes are there.
//! * A reply in progress ([`Reply`] other than `None`) always belongs to the head.
//! * Between calls, while a reply is in progress, the buffer must keep its bytes:
//!   the first and last eight bytes seen are remembered ([`Guard`]) and checked on
//!   the next call; a buffer that lost or changed them poisons the codec.

mod admin;
mod input;
mod line;
mod meta;
mod parse;
mod retrieval;
mod stats;
mod status;

use std::collections::VecDeque;
use std::ops::{ControlFlow, Range};

use bytes::{Bytes, BytesMut};

use crate::completion::Completion;
use crate::error::{
    CommandError, ConnectionError, DecodeError, ServerError, ServerErrorKind, Snippet,
};
use crate::expect::{Expect, Family};
use crate::limits::Limits;
use crate::pending::{Entry, KeyCursor, Pending};
use crate::response::{ItemSpan, Response, StatSpan, Value};

pub(crate) use input::Input;
use line::Framing;

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

/// A data block being received: its header line is the first unread thing.
#[derive(Debug)]
struct Block {
    /// The header line's length, with its `\r\n`.
    header_len: usize,
    data_len: usize,
    kind: BlockKind,
}

#[derive(Debug)]
enum BlockKind {
    /// A classic `VALUE`.
    Value {
        key: Range<usize>,
        flags: u64,
        cas: Option<u64>,
    },
    /// A meta `VA`: where its return flags lie in the header line.
    Meta { flags: (usize, usize) },
    /// A `CONFIG` block, or a raw command's block: the admin family reads it.
    Admin,
}

/// The part of a multi-line reply received so far. Always the head's.
#[derive(Debug, Default)]
enum Reply {
    #[default]
    None,
    /// Single-key retrieval: its one `VALUE`, read; `END` comes next.
    Single(Value),
    /// Multi-key retrieval: its items so far, held (ranges into the held bytes), and
    /// the requested keys not answered yet.
    Multi {
        items: Vec<ItemSpan>,
        keys: KeyCursor,
    },
    /// A stats reply's lines so far, held.
    Stats(StatsLines),
    /// An admin family reply in progress (boxed: rare, and larger than the others).
    Admin(Box<admin::AdminReply>),
}

/// The held lines of a stats reply, by shape.
#[derive(Debug)]
enum StatsLines {
    Stat(Vec<StatSpan>),
    Item(Vec<(Range<usize>, u64, u64)>),
    Prefix(Vec<(Range<usize>, [u64; 4])>),
}

/// Where a family reader looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// The unread bytes, at a line's start; the line's end is not known.
    Start,
    /// A whole line of this many bytes (without its `\r\n`) at the front of the
    /// unread bytes.
    Line(usize),
}

/// What a family reader found. Small, so a read's result stays in registers; a data
/// block to wait for and an error line go through [`Reader::wait_block`] and
/// [`Reader::server_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The line's end must be found before it can be read (only from [`At::Start`]).
    Search,
    /// Take the next step: the reply went on (the line was consumed or held, or a data
    /// block is awaited), or the command completed (through [`Reader::complete`]).
    Go,
    /// The command completed and the caller's `emit` asked to stop; or (a reader that
    /// searches for bare-`\n` lines itself) more bytes are needed.
    Stop,
    /// The pending commands before this index (quiet) stayed silent if the line
    /// belongs to this later one: read it for that one.
    Silent(usize),
}

/// What a family reader returns. A decode error is fatal and rare: boxed, it keeps
/// the common result two words.
type Read = Result<Next, Box<DecodeError>>;

/// Where completions go: the caller's closure.
trait Emit: FnMut(Completion) -> ControlFlow<()> {}

impl<T: FnMut(Completion) -> ControlFlow<()>> Emit for T {}

/// What a family reader works with: the buffer, the deque, the reply in progress,
/// the framing rules, and where completions go.
struct Reader<'r, 'b, E> {
    /// The state machine's state: changed only in this file.
    state: &'r mut State,
    input: &'r mut Input<'b>,
    pending: &'r mut Pending,
    /// The pending command the line is read for: the head, or when quiet commands
    /// before it may have been silent, a later one (nothing is popped until the read
    /// succeeds).
    owner: usize,
    reply: &'r mut Reply,
    framing: &'r mut Framing,
    ready: &'r mut VecDeque<Completion>,
    emit: &'r mut E,
}

impl<E: Emit> Reader<'_, '_, E> {
    /// The command the line is read for.
    #[inline(always)]
    fn entry(&self) -> &Entry {
        match self.pending.get(self.owner) {
            Some(entry) => entry,
            None => unreachable!("a line is read for a pending command"),
        }
    }

    /// The line the reader was given (`At::Line`).
    #[inline]
    fn line(&self, len: usize) -> &[u8] {
        &self.input.rest()[..len]
    }

    /// The line was read for the owner: the quiet commands before it were silent.
    /// They complete with their inferred outcome, and the owner is now the head.
    #[inline]
    fn settle(&mut self) {
        if self.owner > 0 {
            self.silent();
        }
    }

    #[cold]
    fn silent(&mut self) {
        for _ in 0..std::mem::take(&mut self.owner) {
            if let Some(silent) = self.pending.pop().filter(|e| !e.cancelled) {
                self.ready.push_back(Completion {
                    token: silent.token,
                    result: Ok(silent.expect.inferred()),
                });
            }
        }
    }

    /// The header line at the front of the unread bytes announced a data block: wait
    /// for it (the owner is now the head).
    #[inline]
    fn wait_block(&mut self, block: Block) -> Next {
        self.settle();
        *self.state = State::Block(block);
        Next::Go
    }

    /// The line at the front of the unread bytes, of `len` bytes, is the owner's
    /// error line (its message at `message`): the command completes with it. An error
    /// line that could be a `noreply` command's cannot be attributed; after a command
    /// carrying a data block memcached did not read, the stream cannot be trusted.
    #[cold]
    fn server_error(&mut self, len: usize, kind: ServerErrorKind, message: Range<usize>) -> Read {
        self.settle();
        let head = *self.entry();
        let expect = head.expect();
        if head.after_noreply() {
            return Err(Box::new(DecodeError::AmbiguousError {
                error: ServerError {
                    kind,
                    message: Bytes::copy_from_slice(&self.input.rest()[message]),
                },
            }));
        }
        // An error ends a reply in progress: its bytes go.
        self.input.drop_held();
        let line = self.input.split(len + 2);
        let error = ServerError {
            kind,
            message: line.slice(message),
        };
        if expect == Expect::Auth || error.is_unauthenticated() {
            return Ok(self.unauthenticated(expect, error));
        }
        if expect.carries_data() && !expect.block_was_read(&error) {
            // memcached may now run the data block as commands (RESPONSES.md §2.3):
            // this command completes with its error, everything after it fails.
            if let Some((token, false)) = self.pending.pop_head() {
                self.ready.push_back(Completion {
                    token,
                    result: Err(CommandError::Server(error.clone())),
                });
            }
            *self.reply = Reply::None;
            return Err(Box::new(DecodeError::UnreadDataBlock { error }));
        }
        Ok(self.complete(Err(CommandError::Server(error))))
    }

    /// The server is not authenticated: the head completes with the error (a failed
    /// [`Auth`](crate::command::Auth) with its own kind), then the codec is poisoned, since
    /// memcached now answers one line per read whatever was pipelined.
    #[cold]
    fn unauthenticated(&mut self, expect: Expect, error: ServerError) -> Next {
        let result = if expect == Expect::Auth {
            CommandError::AuthenticationFailed(error.clone())
        } else {
            CommandError::Server(error.clone())
        };
        let next = self.complete(Err(result));
        poison(self, ConnectionError::Unauthenticated { error });
        next
    }

    /// A completion of the head that leaves it in the deque (a `watch`'s `OK` and log
    /// lines): handed to `emit` like [`complete`](Self::complete)'s (nothing if the
    /// caller cancelled it).
    #[cold]
    fn stream(&mut self, result: Result<Response, CommandError>) -> Next {
        self.settle();
        let Some((token, cancelled)) = self.pending.head_token() else {
            unreachable!("a watch is pending");
        };
        // The rest repeats `complete`'s tail on purpose: one helper for both, even
        // `#[inline(always)]`, cost 12 to 23 more instructions per reply (callgrind,
        // `completions().for_each`, 16 KiB reads).
        if cancelled {
            return Next::Go;
        }
        let done = Completion { token, result };
        if self.ready.is_empty() {
            if (self.emit)(done).is_break() {
                return Next::Stop;
            }
        } else {
            self.ready.push_back(done);
        }
        Next::Go
    }

    /// Completes the command the line was read for with `result`: handed to `emit`
    /// at once, or after completions already decided (nothing if the caller
    /// cancelled it).
    #[inline(always)]
    fn complete(&mut self, result: Result<Response, CommandError>) -> Next {
        self.settle();
        if !matches!(self.reply, Reply::None) {
            *self.reply = Reply::None;
        }
        let Some((token, cancelled)) = self.pending.pop_head() else {
            unreachable!("a reply completes a pending command");
        };
        if cancelled {
            return Next::Go;
        }
        let done = Completion { token, result };
        if self.ready.is_empty() {
            if (self.emit)(done).is_break() {
                return Next::Stop;
            }
        } else {
            self.ready.push_back(done);
        }
        Next::Go
    }
}

/// Whether the loop goes on.
enum Flow {
    /// Take the next step.
    Go,
    /// More bytes are needed, or the caller's `emit` asked to stop.
    Stop,
    /// Poisoned and drained: the call returns the error.
    Over(ConnectionError),
}

/// The bytes at both ends of what the buffer held when a call left a reply in
/// progress (eight at each end, as words): the next call checks they are still there.
#[derive(Debug, Default)]
struct Guard {
    len: usize,
    head: u64,
    tail: u64,
}

/// Up to eight bytes as a word, zero-padded.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => {
            let mut w = [0u8; 8];
            w[..bytes.len()].copy_from_slice(bytes);
            u64::from_le_bytes(w)
        }
    }
}

impl Guard {
    #[inline]
    fn of(buf: &[u8]) -> Self {
        let n = buf.len().min(8);
        Self {
            len: buf.len(),
            head: word(&buf[..n]),
            tail: word(&buf[buf.len() - n..]),
        }
    }

    #[inline]
    fn holds(&self, buf: &[u8]) -> bool {
        let n = self.len.min(8);
        buf.len() >= self.len
            && word(&buf[..n]) == self.head
            && word(&buf[self.len - n..self.len]) == self.tail
    }
}

/// The receive half of the codec.
#[derive(Debug)]
pub(crate) struct Receiver {
    state: State,
    reply: Reply,
    /// Bytes of the reply in progress held at the buffer's front between calls.
    held: usize,
    /// Completions already decided (quiet commands resolved by a later reply, a
    /// refused data command before the poison) waiting to be handed out, in order.
    ready: VecDeque<Completion>,
    framing: Framing,
    /// Set while a reply is in progress between calls.
    guard: Option<Guard>,
    /// A call started and has not finished: a [`Completions`](crate::Completions)
    /// iterator is alive (or was forgotten, which leaves consumed bytes in the
    /// buffer: the next call then poisons rather than read them twice).
    open: bool,
}

impl Receiver {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            state: State::Line { scanned: 0 },
            reply: Reply::None,
            held: 0,
            ready: VecDeque::new(),
            framing: Framing::new(limits),
            guard: None,
            open: false,
        }
    }

    /// New caps from now on (a server profile's value limit).
    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.framing.limits = limits;
    }

    pub(crate) fn examined(&self) -> u64 {
        self.framing.examined()
    }

    pub(crate) fn poisoned(&self) -> Option<&ConnectionError> {
        match &self.state {
            State::Poisoned(e) => Some(e),
            _ => None,
        }
    }

    /// The buffer length the current step waits for, when it is known (a data block).
    pub(crate) fn wanted(&self) -> Option<usize> {
        match &self.state {
            // `Framing::block` checked that this sum fits the reply cap.
            State::Block(b) => Some(self.held + b.header_len + b.data_len + 2),
            _ => None,
        }
    }

    /// Whether the decoder is part way through a reply: positions into the buffer
    /// are remembered, so the caller must not take bytes out of it.
    fn mid_reply(&self) -> bool {
        !matches!(self.state, State::Line { scanned: 0 }) || !matches!(self.reply, Reply::None)
    }

    /// End of stream. Quiet commands pending ahead of a `quit` (nothing loud between,
    /// no reply in progress) were answered by their silence: they complete with
    /// their inferred outcome; then the codec is poisoned with `Closed`.
    pub(crate) fn end_of_stream(&mut self, pending: &mut Pending) {
        if self.poisoned().is_none() && !self.mid_reply() {
            for _ in 0..pending.quiet_before_close() {
                let Some(entry) = pending.pop() else { break };
                if !entry.cancelled {
                    self.ready.push_back(Completion {
                        token: entry.token,
                        result: Ok(entry.expect.inferred()),
                    });
                }
            }
        }
        self.poison(ConnectionError::Closed);
    }

    /// Makes `error` the codec's terminal state. Completions already decided stay
    /// ahead of the failures.
    pub(crate) fn poison(&mut self, error: ConnectionError) {
        if !matches!(self.state, State::Poisoned(_)) {
            self.state = State::Poisoned(error);
            self.reply = Reply::None;
            self.held = 0;
        }
    }

    /// Runs the state machine over `buf`, handing each completion to `emit` until
    /// `emit` breaks or more bytes are needed (`Ok`); once poisoned and every pending
    /// command has been failed, returns the poison error.
    #[inline]
    pub(crate) fn run(
        &mut self,
        buf: &mut BytesMut,
        pending: &mut Pending,
        emit: &mut impl FnMut(Completion) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        let mut input = self.start(buf);
        let result = self.resume(&mut input, pending, emit);
        self.finish(input);
        result
    }

    /// A call begins: checks the buffer still holds what the last call left in it,
    /// and puts the cursor over it.
    #[inline]
    pub(crate) fn start<'b>(&mut self, buf: &'b mut BytesMut) -> Input<'b> {
        if let Some(guard) = self.guard.take() {
            if !guard.holds(buf) {
                // The caller took bytes out, or handed another buffer.
                self.poison(ConnectionError::BufferTruncated);
            }
        }
        if std::mem::replace(&mut self.open, true) {
            // The last call never finished (its iterator was forgotten).
            self.poison(ConnectionError::BufferTruncated);
        }
        Input::new(buf, self.held)
    }

    /// Runs the state machine on `input` until `emit` breaks or more bytes are
    /// needed; once poisoned and every pending command has been failed, returns the
    /// poison error. Can be called again on the same `input`.
    #[inline]
    pub(crate) fn resume(
        &mut self,
        input: &mut Input<'_>,
        pending: &mut Pending,
        emit: &mut impl FnMut(Completion) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        steps(&mut Reader {
            state: &mut self.state,
            input,
            pending,
            owner: 0,
            reply: &mut self.reply,
            framing: &mut self.framing,
            ready: &mut self.ready,
            emit,
        })
    }

    /// Completions decided by a call and not handed out go back to the front of the
    /// queue of decided completions, in order.
    pub(crate) fn requeue(&mut self, decided: &mut VecDeque<Completion>) {
        while let Some(done) = decided.pop_back() {
            self.ready.push_front(done);
        }
    }

    /// A call ends: consumed bytes leave the buffer (once), and what is held or
    /// half read is remembered for the next call. Returns the buffer's length.
    #[inline]
    pub(crate) fn finish(&mut self, input: Input<'_>) -> usize {
        self.open = false;
        self.held = input.held();
        let buf = input.into_buf();
        if self.mid_reply() {
            self.guard = Some(Guard::of(buf));
        }
        buf.len()
    }
}

/// The loop: completions already decided first, then one transition at a time.
#[inline]
fn steps<E: Emit>(r: &mut Reader<'_, '_, E>) -> Result<(), ConnectionError> {
    loop {
        if !r.ready.is_empty() {
            if let Some(done) = r.ready.pop_front() {
                if (r.emit)(done).is_break() {
                    return Ok(());
                }
            }
            continue;
        }
        match step(r) {
            Ok(Flow::Go) => {}
            Ok(Flow::Stop) => return Ok(()),
            Ok(Flow::Over(error)) => return Err(error),
            Err(e) => poison(r, e.into()),
        }
    }
}

/// Makes `error` the terminal state (see [`Receiver::poison`]).
#[cold]
fn poison<E: Emit>(r: &mut Reader<'_, '_, E>, error: ConnectionError) {
    if !matches!(r.state, State::Poisoned(_)) {
        *r.state = State::Poisoned(error);
        *r.reply = Reply::None;
        r.input.release_held();
    }
}

/// One transition.
#[inline(always)]
fn step<E: Emit>(r: &mut Reader<'_, '_, E>) -> Result<Flow, DecodeError> {
    match &mut *r.state {
        State::Line { scanned: 0 } => {
            if r.pending.is_empty() {
                return unsolicited(r);
            }
            on_line(r, At::Start)
        }
        State::Line { scanned } => match r.framing.find_line(r.input.rest(), scanned)? {
            Some(len) => on_line(r, At::Line(len)),
            None => Ok(Flow::Stop),
        },
        State::Block(_) => block(r),
        State::Poisoned(_) => Ok(drain(r)),
    }
}

/// Bytes with no command pending.
#[cold]
fn unsolicited<E: Emit>(r: &mut Reader<'_, '_, E>) -> Result<Flow, DecodeError> {
    match r.input.rest().first() {
        None => Ok(Flow::Stop),
        Some(&byte) => Err(DecodeError::Unsolicited { byte }),
    }
}

/// A data block is being received: once it and its `\r\n` are buffered, its family
/// takes it.
fn block<E: Emit>(r: &mut Reader<'_, '_, E>) -> Result<Flow, DecodeError> {
    let State::Block(block) = &*r.state else {
        unreachable!("block is only called in the Block state");
    };
    let data_end = block.header_len + block.data_len;
    if r.input.len() < data_end + 2 {
        return Ok(Flow::Stop);
    }
    r.framing
        .terminator(&r.input.rest()[data_end..data_end + 2])?;
    let State::Block(block) = std::mem::replace(r.state, State::Line { scanned: 0 }) else {
        unreachable!("checked above");
    };
    r.owner = 0;
    let next = match block.kind {
        BlockKind::Value { key, flags, cas } => {
            retrieval::block_read(r, block.header_len, block.data_len, key, flags, cas)
        }
        BlockKind::Meta { flags } => meta::block_read(r, flags, block.header_len, block.data_len),
        BlockKind::Admin => admin::block_read(r, block.header_len, block.data_len),
    }
    .map_err(|e| *e)?;
    Ok(match next {
        Next::Stop => Flow::Stop,
        _ => Flow::Go,
    })
}

/// Hands the line at the front of the unread bytes to its owner's family, until it
/// is read or more bytes are needed.
#[inline(always)]
fn on_line<E: Emit>(r: &mut Reader<'_, '_, E>, mut at: At) -> Result<Flow, DecodeError> {
    r.owner = 0;
    loop {
        let (expect, family) = {
            let entry = r.entry();
            (entry.expect(), entry.family())
        };
        let next = match family {
            Family::Status => status::read(r, expect, at),
            Family::Retrieval => retrieval::read(r, expect, at),
            Family::Meta => meta::read(r, expect, at),
            Family::Stats => stats::read(r, expect, at),
            Family::Admin => admin::read(r, expect, at),
        }
        .map_err(|e| *e)?;
        match next {
            Next::Go => return Ok(Flow::Go),
            Next::Stop => return Ok(Flow::Stop),
            Next::Search => {
                debug_assert_eq!(at, At::Start);
                let mut scanned = 0;
                match r.framing.find_line(r.input.rest(), &mut scanned)? {
                    Some(len) => at = At::Line(len),
                    None => {
                        *r.state = State::Line { scanned };
                        return Ok(Flow::Stop);
                    }
                }
            }
            Next::Silent(later) => {
                debug_assert!(later > r.owner);
                r.owner = later;
            }
        }
    }
}

/// The next failed completion of a poisoned codec, or its error once none is left.
#[cold]
fn drain<E: Emit>(r: &mut Reader<'_, '_, E>) -> Flow {
    let State::Poisoned(error) = &*r.state else {
        unreachable!("drain is only called when poisoned");
    };
    while let Some(entry) = r.pending.pop() {
        if entry.cancelled {
            continue;
        }
        let ended = matches!(error, ConnectionError::Closed | ConnectionError::Io(_));
        let result = if ended && entry.expect == Expect::Close {
            Ok(Response::Closed)
        } else {
            Err(CommandError::Connection(error.clone()))
        };
        let done = Completion {
            token: entry.token,
            result,
        };
        return if (r.emit)(done).is_break() {
            Flow::Stop
        } else {
            Flow::Go
        };
    }
    Flow::Over(error.clone())
}

/// The line a reader was given is not a reply the head can get.
fn unexpected(expect: Expect, line: &[u8]) -> DecodeError {
    DecodeError::UnexpectedReply {
        expected: expect.describe(),
        line: Snippet::of(line),
    }
}

/// The end of a reader's own grammar on a found line of `len` bytes: an error line,
/// or a line the head cannot get.
#[cold]
fn error_or_unexpected<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    let line = r.line(len);
    match parse::error_line(line) {
        Some((kind, message)) => r.server_error(len, kind, message),
        None => Err(Box::new(unexpected(expect, line))),
    }
}

/// A parser's refusal of a found line of `len` bytes: its error, or (not its shape)
/// an error line or a line the head cannot get.
#[cold]
fn refused<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    refusal: parse::Refusal,
    expect: Expect,
    len: usize,
) -> Read {
    match refusal.error(r.line(len)) {
        Some(error) => Err(Box::new(error)),
        None => error_or_unexpected(r, expect, len),
    }
}
