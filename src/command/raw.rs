//! The raw command: the escape hatch for what the typed commands do not cover.

use super::admin::check_line_len;
use super::sealed::Encode;
use super::{Command, Encoded, Writer};
use crate::error::EncodeError;
use crate::expect::Expect;
use crate::key::MAX_KEY_LEN;

/// The largest data block memcached reads correctly (see `Store`).
const MAX_DATA_LEN: usize = (1 << 31) - 3;

/// The shape of the reply a [`Raw`] command declares; the codec reads exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawShape {
    /// One line: `OK`, `VERSION 1.6.18`, `HD c5`, ...
    Line,
    /// Lines until a line that is exactly `END` (left out of the reply), held like a
    /// stats reply (the [`max_stat_lines`](crate::Limits::max_stat_lines) and
    /// [`max_reply_len`](crate::Limits::max_reply_len) caps apply): `stats <...>`
    /// subcommands the typed [`Stats`](crate::command::Stats) does not know, ...
    Lines,
    /// A header line announcing a data block: token `length_token` of the header (0
    /// is its first word) is the block's length in bytes; then, if `end`, an `END`
    /// line. The reply's line 0 is the header and its data the block. A first line
    /// that is not a header is the whole reply when `end` is false (`mg`'s `EN`), and
    /// with `end` only `END` alone may take its place (a `get` miss).
    Block {
        /// Which token of the header holds the length (`VALUE <key> <flags>
        /// <bytes>`: 3; `VA <size> ...`: 1).
        length_token: u8,
        /// An `END` line follows the block.
        end: bool,
    },
}

/// A command line the codec does not know, sent as given: the last resort.
///
/// Use it for a command memcached has and this crate does not type (a new
/// subcommand, `extstore ...`, `lru_crawler sleep` on a fork, `debugtime`), or to
/// reproduce exactly what another client sent. Prefer a typed command whenever one
/// exists: it checks every field, knows its reply, and types it.
///
/// # The contract
///
/// * The line is checked before anything is written: one line, at most 2048 bytes
///   with its `\r\n` (memcached's limit), made of tokens separated by single spaces,
///   each token 1 to 250 bytes with no byte `<= 0x20` (so no CR, LF or NUL can split
///   it into two commands) and no `0x7f`: the key rule.
/// * A data block ([`data`](Self::data)) is written after the line with its `\r\n`;
///   the line must hold its length as one of its tokens (memcached reads the length
///   from the line), which catches a block that does not match.
/// * Refused, because no reply (or no reply in order) would come to pair with the
///   command: `quit`, `shutdown`, `watch`, `lru_crawler metadump|mgdump` (use
///   [`Quit`](crate::command::Quit), [`Shutdown`](crate::command::Shutdown), [`Watch`](crate::command::Watch),
///   [`LruCrawler`](crate::command::LruCrawler)), a line ending in `noreply`, and a meta
///   command (`m?`) with the `q` flag.
/// * The reply is read in the declared [`RawShape`] and comes back as
///   [`Response::Raw`](crate::Response::Raw): the lines as zero-copy `Bytes` views,
///   and the data block. `ERROR`, `CLIENT_ERROR` and `SERVER_ERROR` lines are server
///   errors ([`CommandError::Server`](crate::CommandError::Server)) in every shape.
///   After a raw command with a data block, `ERROR`/`CLIENT_ERROR` poisons the codec
///   like after a storage command ([`DecodeError::UnreadDataBlock`](crate::DecodeError::UnreadDataBlock)):
///   memcached may have read the block as commands.
///
/// # Risks
///
/// The codec pairs replies with commands by position, and only knows this reply's
/// shape from the caller. A wrong shape breaks the pairing: declared
/// [`RawShape::Line`] for a reply of several lines, the rest is read as the next
/// command's reply (a decode error at best); declared [`RawShape::Lines`] for a reply
/// with no `END`, the next replies are swallowed until one holds `END`. A command
/// that changes the connection's state (authentication, protocol switches) is not
/// known to the codec. Test raw commands against the server version you run.
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use memcache_codec::{Codec, Response};
/// use memcache_codec::command::{Raw, RawShape};
///
/// let mut codec = Codec::new();
/// let mut out = BytesMut::new();
/// codec.send(&Raw::new("stats extstore", RawShape::Lines), &mut out, Instant::now())?;
/// codec.send(&Raw::new("mg k s v", RawShape::Block { length_token: 1, end: false }), &mut out, Instant::now())?;
/// assert_eq!(&out[..], b"stats extstore\r\nmg k s v\r\n");
///
/// let mut input = BytesMut::from(&b"STAT page_size 1048576\r\nEND\r\nVA 2 s2\r\nhi\r\n"[..]);
/// let Ok(Response::Raw(stats)) = codec.decode(&mut input, Instant::now())?.unwrap().result else { panic!() };
/// assert_eq!(stats.line(0), Some(&b"STAT page_size 1048576"[..]));
/// let Ok(Response::Raw(hit)) = codec.decode(&mut input, Instant::now())?.unwrap().result else { panic!() };
/// assert_eq!((hit.line(0), hit.data()), (Some(&b"VA 2 s2"[..]), Some(&b"hi"[..])));
///
/// // Two commands in one line cannot be smuggled in.
/// assert!(codec.send(&Raw::new("version\r\nflush_all", RawShape::Line), &mut out, Instant::now()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    line: &'a [u8],
    data: Option<&'a [u8]>,
    shape: RawShape,
}

impl<'a> Raw<'a> {
    /// `line` (without its `\r\n`), whose reply has `shape`.
    pub fn new<L: AsRef<[u8]> + ?Sized>(line: &'a L, shape: RawShape) -> Self {
        Self {
            line: line.as_ref(),
            data: None,
            shape,
        }
    }

    /// A data block to send after the line (`set`-like commands); the line must state
    /// its length.
    pub fn data<D: AsRef<[u8]> + ?Sized>(mut self, data: &'a D) -> Self {
        self.data = Some(data.as_ref());
        self
    }
}

/// The line's tokens (split on single spaces; empty ones are the token check's to
/// refuse).
fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ')
}

/// Why the codec will not send this line raw, if it will not.
fn refusal(line: &[u8]) -> Option<&'static str> {
    let mut words = tokens(line);
    let verb = words.next().unwrap_or_default();
    let second = words.next();
    match verb {
        b"quit" | b"shutdown" => {
            return Some("quit and shutdown end the connection: use Quit or Shutdown");
        }
        b"watch" => return Some("watch turns the connection into a log stream: use Watch"),
        b"lru_crawler" if matches!(second, Some(b"metadump" | b"mgdump")) => {
            return Some("the dumps end lines in a bare \\n: use LruCrawler::metadump or mgdump");
        }
        _ => {}
    }
    if second.is_some() && tokens(line).last() == Some(&b"noreply"[..]) {
        return Some("with noreply no reply comes to pair with the command");
    }
    // memcached reads a meta flag by its first byte: `q1` is `q` too.
    if is_meta(verb) && tokens(line).skip(2).any(|t| t.first() == Some(&b'q')) {
        return Some("a quiet meta command may get no reply: use the typed meta commands");
    }
    None
}

/// `mg`, `ms`, `md`, `ma`, `mn`, `me`, ...: a meta command, whose reply could be taken
/// for a quiet command's.
fn is_meta(verb: &[u8]) -> bool {
    verb.len() == 2 && verb[0] == b'm'
}

/// `n` in decimal, in `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

impl Encode for Raw<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let len = self.line.len() + 2;
        check_line_len(len)?;
        if let Some(reason) = refusal(self.line) {
            return Err(EncodeError::RawRefused(reason));
        }
        // A meta reply behind quiet commands could be one of theirs, and the codec
        // cannot read a raw line's opaque or key to tell: the typed commands can.
        if is_meta(tokens(self.line).next().unwrap_or_default()) && w.draft.after_quiet() {
            return Err(EncodeError::AmbiguousQuiet);
        }
        let more = match self.data {
            Some(data) if data.len() > MAX_DATA_LEN => {
                return Err(EncodeError::ValueTooLarge { len: data.len() });
            }
            Some(data) => {
                let mut buf = [0u8; 20];
                let stated = decimal(data.len() as u64, &mut buf);
                if !tokens(self.line).any(|t| t == stated) {
                    return Err(EncodeError::RawRefused(
                        "the line does not state the data block's length",
                    ));
                }
                data.len() + 2
            }
            None => 0,
        };
        let mut line = w.line(len, more);
        for (i, token) in tokens(self.line).enumerate() {
            if i > 0 {
                line.byte(b' ');
            }
            line.token(token, MAX_KEY_LEN)
                .map_err(|reason| EncodeError::InvalidToken {
                    what: "raw command token",
                    reason,
                })?;
        }
        line.put(b"\r\n");
        line.end();
        if let Some(data) = self.data {
            w.data(data);
        }
        Ok(Encoded::of(Expect::Raw {
            shape: self.shape,
            data: self.data.is_some(),
        }))
    }
}

impl Command for Raw<'_> {}
