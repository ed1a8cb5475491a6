//! The admin family: admin commands, the `lru_crawler` dumps, `config get cluster`,
//! `watch` and its log stream, raw commands.
//!
//! ```text
//! admin-reply   = "OK" CRLF / <word> [SP <msg>] CRLF      ; word: BUSY BADCLASS NOSPARE
//!                                                       ;   NOTFULL UNSAFE SAME NOTSTARTED
//! metadump      = ["OK" CRLF] *(item-line LF-or-CRLF) "END" CRLF / <word> [SP <msg>] CRLF
//! item-line     = "key=" <url-encoded> SP "exp=" ... *SP    ; see `parse::dump_line`
//! mgdump        = ["OK" CRLF] *("mg" SP <key> [SP "b"] CRLF) "EN" CRLF / <word> [SP <msg>] CRLF
//! config-reply  = "CONFIG" SP <key> SP <flags> SP <bytes> CRLF <bytes octets> CRLF "END" CRLF
//! refresh-certs = "OK" CRLF / "Error" SP <msg> CRLF
//! watch         = "OK" CRLF *(<log line> LF-or-CRLF) / ("WATCHER_TOO_MANY" / "WATCHER_FAILED") [SP <msg>] CRLF
//! raw           = the shape the caller declared (`RawShape`)
//! ```
//! (RESPONSES.md §5.9; `OK` before a dump from 1.6.43, a space before the item line's
//! `\n` from 1.6.39.) Every shape also takes an error line.
//!
//! These replies are rare: the family never parses the unread bytes, it always has
//! the line found first. Metadump items and log lines may end in a bare `\n`, which
//! the common search refuses, so for those shapes the reader searches itself
//! ([`Framing::find_lf_line`](super::line::Framing::find_lf_line)), resumably, with how
//! far it got kept in the reply in progress; every other line of those replies
//! (`OK`, `END`, status words, errors) must still end in `\r\n`.
//!
//! A dump is held in the buffer like a stats reply until its end line, within the
//! `max_stat_lines` and `max_reply_len` caps, then becomes one `Bytes` shared by its
//! entries. A `watch` completes with its `OK` and each log line without leaving the
//! deque ([`Reader::stream`]); after its `OK` its entry expects [`Expect::Log`].

use bytes::Bytes;

use super::parse::{self, Refusal};
use super::{
    At, Block, BlockKind, Emit, Next, Read, Reader, Reply, error_or_unexpected, refused, unexpected,
};
use crate::command::RawShape;
use crate::error::DecodeError;
use crate::expect::{DumpKind, Expect, Facts};
use crate::key::{base64_decode, percent_decode};
use crate::response::{
    AdminStatus, ClusterConfig, ClusterNode, DumpEntry, LogLine, RawReply, Response,
};

/// Lines a dump makes room for at first.
const FIRST_LINES: usize = 64;

/// An admin reply in progress.
#[derive(Debug, Default)]
pub(crate) struct AdminReply {
    /// How many bytes of the current bare-`\n` line were searched.
    scanned: usize,
    /// A dump's leading `OK` was read.
    ok: bool,
    held: Held,
}

/// What an admin reply has read so far.
#[derive(Debug, Default)]
enum Held {
    #[default]
    Nothing,
    /// Metadump items, their lines held.
    Items(Vec<Item>),
    /// Mgdump keys, their lines held.
    Keys(Vec<Key>),
    /// A raw reply's lines (start within the held bytes, length), held.
    Lines(Vec<(usize, usize)>),
    /// A data block read (`CONFIG`, a raw block), `END` to come: the header line with
    /// its `\r\n` then the block, and the header's length.
    Block { frame: Bytes, header_len: usize },
}

/// A dump's key: where it lies in the held bytes, or decoded.
#[derive(Debug)]
enum Key {
    At(usize, usize),
    Decoded(Vec<u8>),
}

impl Key {
    fn bytes(self, frame: &Bytes) -> Bytes {
        match self {
            Self::At(start, len) => frame.slice(start..start + len),
            Self::Decoded(key) => Bytes::from(key),
        }
    }
}

/// A metadump item read, its line held.
#[derive(Debug)]
struct Item {
    /// The line within the held bytes (without its end and trailing spaces).
    line: (usize, usize),
    key: Key,
    exp: i64,
    last_access: u64,
    cas: u64,
    fetched: bool,
    class: Option<u32>,
    size: Option<u64>,
    flags: Option<u64>,
}

/// The reply in progress, made an admin one if it is not yet.
fn state<'s, E: Emit>(r: &'s mut Reader<'_, '_, E>) -> &'s mut AdminReply {
    if !matches!(r.reply, Reply::Admin(_)) {
        *r.reply = Reply::Admin(Box::default());
    }
    match &mut *r.reply {
        Reply::Admin(state) => state,
        _ => unreachable!("made an admin reply above"),
    }
}

/// The admin reply in progress, if there is one.
fn held<'s, E: Emit>(r: &'s Reader<'_, '_, E>) -> Option<&'s AdminReply> {
    match &*r.reply {
        Reply::Admin(state) => Some(state),
        _ => None,
    }
}

/// Reads the next line of the owner's admin reply. Kept out of line: admin replies
/// are rare, and the common families' loop stays as it was.
#[cold]
#[inline(never)]
pub(super) fn read<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, at: At) -> Read {
    match expect {
        Expect::Dump(kind) => dump(r, expect, kind, at),
        Expect::Log => log(r, at),
        _ => {
            let At::Line(len) = at else {
                return Ok(Next::Search);
            };
            match expect {
                Expect::Admin(_) | Expect::RefreshCerts => status(r, expect, len),
                Expect::Watch => watch(r, expect, len),
                Expect::ClusterConfig => cluster_config(r, expect, len),
                Expect::Raw { shape, .. } => raw(r, expect, shape, len),
                _ => unreachable!("the admin family reads admin replies"),
            }
        }
    }
}

/// The next line of a reply whose lines may end in a bare `\n`: its length and its
/// end's length; `None` while it is incomplete (how far it was searched is kept).
/// A line the common search found (`At::Line`) ends in `\r\n`.
fn lf_line<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    at: At,
) -> Result<Option<(usize, usize)>, Box<DecodeError>> {
    if let At::Line(len) = at {
        return Ok(Some((len, 2)));
    }
    let mut scanned = held(r).map_or(0, |s| s.scanned);
    let found = r.framing.find_lf_line(r.input.rest(), &mut scanned)?;
    if scanned > 0 || held(r).is_some() {
        state(r).scanned = scanned;
    }
    Ok(found)
}

/// `OK`, or a status word of the owner: the reply is complete.
fn status<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    if r.line(len) == b"OK" {
        r.input.consume(len + 2);
        return Ok(r.complete(Ok(Response::Ok)));
    }
    if let Some(next) = admin_word(r, expect, len) {
        return Ok(next);
    }
    error_words(r, expect, len)
}

/// The owner's error words, then the common error lines.
fn error_words<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    let line = r.line(len);
    for &(word, kind) in expect.error_words() {
        if let Some(message) = parse::word_with_message(line, word) {
            return r.server_error(len, kind, message);
        }
    }
    error_or_unexpected(r, expect, len)
}

/// A status word the owner takes as an outcome (`BUSY ...`, `NOSPARE ...`): the
/// reply, with its message. Nothing may be held.
fn admin_word<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Option<Next> {
    let line = r.line(len);
    let (word, message) = expect
        .admin_words()
        .iter()
        .find_map(|&(text, word)| parse::word_with_message(line, text).map(|m| (word, m)))?;
    let line = r.input.split(len + 2);
    let status = AdminStatus::new(word, line.slice(message));
    Some(r.complete(Ok(Response::Admin(status))))
}

/// A `watch`'s reply: `OK` makes the connection a log stream.
fn watch<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    if r.line(len) == b"OK" {
        r.settle();
        r.input.consume(len + 2);
        r.pending.set_head_expect(Facts::of(Expect::Log));
        return Ok(r.stream(Ok(Response::Watching)));
    }
    error_words(r, expect, len)
}

/// A log line of a watching connection: one more completion of the `watch`.
fn log<E: Emit>(r: &mut Reader<'_, '_, E>, at: At) -> Read {
    let Some((len, end)) = lf_line(r, at)? else {
        return Ok(Next::Stop);
    };
    let line = r.input.split(len + end);
    Ok(r.stream(Ok(Response::Log(LogLine::new(line.slice(..len))))))
}

/// The next line of a dump.
fn dump<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, kind: DumpKind, at: At) -> Read {
    let Some((len, end)) = lf_line(r, at)? else {
        return Ok(Next::Stop);
    };
    let line = r.line(len);
    let item = match kind {
        DumpKind::Meta => line.starts_with(b"key="),
        DumpKind::Mg => line.starts_with(b"mg "),
    };
    if item {
        return dump_item(r, expect, kind, len, end);
    }
    // Every other line ends in "\r\n".
    if end != 2 {
        return Err(Box::new(DecodeError::BareNewline));
    }
    let last: &[u8] = match kind {
        DumpKind::Meta => b"END",
        DumpKind::Mg => b"EN",
    };
    if line == last {
        return Ok(dump_end(r, kind, len));
    }
    let started = held(r).is_some_and(|s| !matches!(s.held, Held::Nothing));
    if !started {
        if line == b"OK" && !held(r).is_some_and(|s| s.ok) {
            // memcached 1.6.43 and later: the dump started.
            r.settle();
            r.input.consume(len + 2);
            state(r).ok = true;
            return Ok(Next::Go);
        }
        if let Some(next) = admin_word(r, expect, len) {
            return Ok(next);
        }
    }
    error_or_unexpected(r, expect, len)
}

/// A dump's item line of `len` bytes and an end of `end` bytes: parsed and held.
fn dump_item<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    expect: Expect,
    kind: DumpKind,
    len: usize,
    end: usize,
) -> Read {
    let at = r.input.held();
    let line = r.line(len);
    let parsed = match kind {
        DumpKind::Meta => parse::dump_line(line).and_then(|d| {
            let key = if d.escaped {
                Key::Decoded(
                    percent_decode(&line[d.key.clone()]).ok_or(Refusal::Malformed("metadump"))?,
                )
            } else {
                Key::At(at + d.key.start, d.key.len())
            };
            Ok(Line::Item(Item {
                line: (at, d.len),
                key,
                exp: d.exp,
                last_access: d.last_access,
                cas: d.cas,
                fetched: d.fetched,
                class: d.class,
                size: d.size,
                flags: d.flags,
            }))
        }),
        DumpKind::Mg => parse::mgdump_line(line).and_then(|(key, base64)| {
            if !base64 {
                return Ok(Line::Key(Key::At(at + key.start, key.len())));
            }
            let encoded = &line[key];
            let mut raw = vec![0; encoded.len() / 4 * 3];
            let n = base64_decode(encoded, &mut raw).ok_or(Refusal::Malformed("mgdump"))?;
            raw.truncate(n);
            Ok(Line::Key(Key::Decoded(raw)))
        }),
    };
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(refusal) => return refused(r, refusal, expect, len),
    };
    let count = match held(r).map(|s| &s.held) {
        Some(Held::Items(items)) => items.len(),
        Some(Held::Keys(keys)) => keys.len(),
        _ => 0,
    };
    r.framing.one_more_stat_line(count)?;
    r.framing.hold(at, len + end)?;
    r.settle();
    let held = &mut state(r).held;
    match (held, parsed) {
        (Held::Items(items), Line::Item(item)) => items.push(item),
        (Held::Keys(keys), Line::Key(key)) => keys.push(key),
        (held, parsed) => {
            *held = match parsed {
                Line::Item(item) => Held::Items(first(item)),
                Line::Key(key) => Held::Keys(first(key)),
            }
        }
    }
    r.input.hold(len + end);
    Ok(Next::Go)
}

/// One dump line, parsed.
enum Line {
    Item(Item),
    Key(Key),
}

fn first<T>(line: T) -> Vec<T> {
    let mut lines = Vec::with_capacity(FIRST_LINES);
    lines.push(line);
    lines
}

/// A dump's end line (`END`/`EN`), of `len` bytes: the dump is complete.
fn dump_end<E: Emit>(r: &mut Reader<'_, '_, E>, kind: DumpKind, len: usize) -> Next {
    let held = match std::mem::take(r.reply) {
        Reply::Admin(state) => state.held,
        _ => Held::Nothing,
    };
    let frame = if r.input.held() > 0 {
        r.input.take_held()
    } else {
        Bytes::new()
    };
    r.input.consume(len + 2);
    let response = match (kind, held) {
        (DumpKind::Meta, Held::Items(items)) => Response::MetaDump(
            items
                .into_iter()
                .map(|item| DumpEntry {
                    key: item.key.bytes(&frame),
                    exp: item.exp,
                    last_access: item.last_access,
                    cas: item.cas,
                    fetched: item.fetched,
                    class: item.class,
                    size: item.size,
                    flags: item.flags,
                    line: frame.slice(item.line.0..item.line.0 + item.line.1),
                })
                .collect(),
        ),
        (DumpKind::Mg, Held::Keys(keys)) => {
            Response::MgDump(keys.into_iter().map(|key| key.bytes(&frame)).collect())
        }
        (DumpKind::Meta, _) => Response::MetaDump(Vec::new()),
        (DumpKind::Mg, _) => Response::MgDump(Vec::new()),
    };
    r.complete(Ok(response))
}

/// The data block a header of `len` bytes announced (`n` bytes): waited for.
fn start_block<E: Emit>(r: &mut Reader<'_, '_, E>, len: usize, n: u64) -> Read {
    let header_len = len + 2;
    let data_len = r.framing.block(0, header_len, n)?;
    Ok(r.wait_block(Block {
        header_len,
        data_len,
        kind: BlockKind::Admin,
    }))
}

/// The block a [`start_block`] waited for, read: kept until `END`, or the reply.
#[cold]
#[inline(never)]
pub(super) fn block_read<E: Emit>(
    r: &mut Reader<'_, '_, E>,
    header_len: usize,
    data_len: usize,
) -> Read {
    let frame = r.input.split(header_len + data_len);
    r.input.consume(2);
    match r.entry().expect() {
        Expect::Raw {
            shape: RawShape::Block { end: false, .. },
            ..
        } => Ok(r.complete(Ok(Response::Raw(RawReply::block(frame, header_len))))),
        _ => {
            state(r).held = Held::Block { frame, header_len };
            Ok(Next::Go)
        }
    }
}

/// Whether a data block was read and `END` is due.
fn block_done<E: Emit>(r: &Reader<'_, '_, E>) -> bool {
    held(r).is_some_and(|s| matches!(s.held, Held::Block { .. }))
}

/// The block read (the header line with its `\r\n`, then the block) and the header's
/// length, taken out of the reply in progress.
fn take_block<E: Emit>(r: &mut Reader<'_, '_, E>) -> (Bytes, usize) {
    match std::mem::take(r.reply) {
        Reply::Admin(state) => match state.held {
            Held::Block { frame, header_len } => (frame, header_len),
            _ => unreachable!("checked by block_done"),
        },
        _ => unreachable!("checked by block_done"),
    }
}

/// `config get cluster`: the `CONFIG` header, or the `END` after its block.
fn cluster_config<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, len: usize) -> Read {
    let line = r.line(len);
    if block_done(r) {
        if line != b"END" {
            return error_or_unexpected(r, expect, len);
        }
        let (frame, header_len) = take_block(r);
        let data = frame.slice(header_len..);
        let Some((version, nodes)) = parse::cluster_config(&data) else {
            return Err(Box::new(parse::malformed("CONFIG cluster", &data)));
        };
        r.input.consume(len + 2);
        let nodes = nodes
            .into_iter()
            .map(|(host, ip, port)| ClusterNode {
                host: data.slice(host),
                ip: data.slice(ip),
                port,
            })
            .collect();
        return Ok(r.complete(Ok(Response::ClusterConfig(ClusterConfig {
            version,
            nodes,
        }))));
    }
    match parse::config_header(line) {
        Ok(n) => start_block(r, len, n),
        Err(refusal) => refused(r, refusal, expect, len),
    }
}

/// A raw command's reply, in the shape its caller declared.
fn raw<E: Emit>(r: &mut Reader<'_, '_, E>, expect: Expect, shape: RawShape, len: usize) -> Read {
    let line = r.line(len);
    let error = parse::error_line(line).is_some();
    match shape {
        RawShape::Line => {
            if error {
                return error_or_unexpected(r, expect, len);
            }
            let line = r.input.split(len + 2);
            let reply = RawReply::new(line, vec![(0, len)]);
            Ok(r.complete(Ok(Response::Raw(reply))))
        }
        RawShape::Lines => {
            if line == b"END" {
                let lines = match std::mem::take(r.reply) {
                    Reply::Admin(state) => match state.held {
                        Held::Lines(lines) => lines,
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                let frame = if r.input.held() > 0 {
                    r.input.take_held()
                } else {
                    Bytes::new()
                };
                r.input.consume(len + 2);
                return Ok(r.complete(Ok(Response::Raw(RawReply::new(frame, lines)))));
            }
            if error {
                return error_or_unexpected(r, expect, len);
            }
            let count = match held(r).map(|s| &s.held) {
                Some(Held::Lines(lines)) => lines.len(),
                _ => 0,
            };
            let at = r.input.held();
            r.framing.one_more_stat_line(count)?;
            r.framing.hold(at, len + 2)?;
            r.settle();
            match &mut state(r).held {
                Held::Lines(lines) => lines.push((at, len)),
                held => *held = Held::Lines(first((at, len))),
            }
            r.input.hold(len + 2);
            Ok(Next::Go)
        }
        RawShape::Block { length_token, end } => {
            if block_done(r) {
                if line != b"END" {
                    return error_or_unexpected(r, expect, len);
                }
                let (frame, header_len) = take_block(r);
                r.input.consume(len + 2);
                return Ok(r.complete(Ok(Response::Raw(RawReply::block(frame, header_len)))));
            }
            if error {
                return error_or_unexpected(r, expect, len);
            }
            if end && line == b"END" {
                r.input.consume(len + 2);
                return Ok(r.complete(Ok(Response::Raw(RawReply::default()))));
            }
            if let Some(n) = parse::length_token(line, usize::from(length_token)) {
                return start_block(r, len, n);
            }
            if end {
                return Err(Box::new(unexpected(expect, line)));
            }
            let line = r.input.split(len + 2);
            let reply = RawReply::new(line, vec![(0, len)]);
            Ok(r.complete(Ok(Response::Raw(reply))))
        }
    }
}
