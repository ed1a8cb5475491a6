//! Commands: typed structs the caller builds, and the one place that turns them into
//! wire bytes.
//!
//! Every command borrows its keys and values from the caller (no allocation to
//! build one). [`Codec::send`](crate::Codec::send) has each command encode itself in
//! one pass ([`sealed::Encode::encode`]): the command line's exact length is worked
//! out from the fields first (numbers' digits counted, keys' and tokens' lengths
//! taken), the output buffer grows once, and every caller-provided byte slice is
//! read exactly once, copied into place and checked there (keys and tokens eight
//! bytes at a time). What the reply will be checked against is recorded in the
//! pending entry's draft from that checked copy. A refusal at any point leaves the
//! output buffer truncated back and the draft dropped: nothing written, nothing
//! changed.

mod admin;
mod auth;
mod classic;
mod meta;
mod raw;

pub use admin::{
    Automove, Bget, ConfigGetCluster, CrawlTarget, Lru, LruCrawler, LruMode, RefreshCerts, Slabs,
    Watch, WatchKind,
};
pub use auth::Auth;
pub use classic::{
    CacheMemlimit, Decr, Delete, FlushAll, Get, GetMulti, Incr, Quit, Shutdown, Stats, Store,
    Touch, Verbosity, Version,
};
pub use meta::{
    ArithMode, MetaArithmetic, MetaDebugCommand, MetaDelete, MetaGet, MetaNoop, MetaSet,
    MetaSetMode,
};
pub use raw::{Raw, RawShape};

use std::ops::Range;

use bytes::BytesMut;

use crate::error::{EncodeError, KeyError};
use crate::expect::{Expect, Facts};
use crate::key::{MAX_KEY_LEN, check_token};
use crate::limits::Limits;
use crate::pending::Draft;
use crate::profile::{Server, ServerVersion};

/// A command the [`Codec`](crate::Codec) can send.
///
/// Implemented by every command struct in this crate, and sealed: the codec relies on
/// each command's reply shape, so outside types cannot add commands.
pub trait Command: sealed::Encode {}

/// A command memcached accepts with a trailing `noreply`, for
/// [`Codec::send_noreply`](crate::Codec::send_noreply).
pub trait NoreplyCommand: Command {}

pub(crate) mod sealed {
    use super::*;

    /// How a command becomes bytes. Not part of the public API.
    pub trait Encode {
        /// Writes the command to `w`, checking every field as it is written, and says
        /// how the reply will look. On `Err` the caller truncates the output buffer
        /// back and drops the draft, so a refusal leaves no trace.
        fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError>;
    }

    /// How an encoded command's reply will look.
    #[derive(Debug, Clone, Copy)]
    pub struct Encoded(pub(crate) Facts);

    impl Encoded {
        /// The facts of `expect`, folded at compile time when it is constant.
        #[inline(always)]
        pub(crate) const fn of(expect: Expect) -> Self {
            Self(Facts::of(expect))
        }
    }

    /// Where a command writes itself: the caller's output buffer, and the draft of
    /// its pending entry, which keeps what the reply will be checked against.
    pub struct Writer<'a, 'p> {
        pub(crate) out: &'a mut BytesMut,
        pub(crate) draft: &'a mut Draft<'p>,
        pub(crate) limits: &'a Limits,
        /// What the codec knows of the server (nothing by default).
        pub(crate) server: &'a Server,
        /// A quiet meta command sent without an opaque gets its token number as one.
        pub(crate) auto_opaque: bool,
        pub(crate) noreply: bool,
    }
}

pub(crate) use sealed::{Encoded, Writer};

/// ` noreply`.
pub(crate) const NOREPLY: &[u8] = b" noreply";

impl Writer<'_, '_> {
    /// Client flags the server can store: above `u32::MAX` only with 8-byte flags.
    #[inline]
    pub(crate) fn client_flags(&self, flags: u64) -> Result<u64, EncodeError> {
        if flags > u64::from(u32::MAX) && !self.server.large_client_flags {
            return Err(EncodeError::FlagsTooLarge { flags });
        }
        Ok(flags)
    }

    /// A value the server can store: not above its `item_size_max`, when known.
    #[inline]
    pub(crate) fn value(&self, len: usize) -> Result<(), EncodeError> {
        if self
            .server
            .item_size_max
            .is_some_and(|max| len as u64 > max)
        {
            return Err(EncodeError::ValueTooLarge { len });
        }
        Ok(())
    }

    /// Whether nothing is pending before the command being written.
    #[inline]
    pub(crate) fn first(&self) -> bool {
        self.draft.is_first()
    }

    /// The token the command being written will get, for an automatic opaque.
    #[inline]
    pub(crate) fn next_token(&self) -> u64 {
        self.draft.token()
    }

    /// Refuses a feature the server is known not to have (nothing known: allowed).
    #[inline]
    pub(crate) fn needs(
        &self,
        what: &'static str,
        since: ServerVersion,
    ) -> Result<(), EncodeError> {
        match self.server.version {
            Some(version) if version < since => Err(EncodeError::Unsupported {
                what,
                since,
                server: version,
            }),
            _ => Ok(()),
        }
    }

    /// The length ` noreply` adds, if this is a `send_noreply`.
    #[inline]
    pub(crate) fn noreply_len(&self) -> usize {
        if self.noreply { NOREPLY.len() } else { 0 }
    }

    /// Appends a command line of exactly `len` bytes, with room reserved for `more`
    /// bytes after it (a data block), and returns it to be filled in.
    #[inline]
    pub(crate) fn line(&mut self, len: usize, more: usize) -> Line<'_> {
        let start = self.out.len();
        self.out.reserve(len + more);
        self.out.resize(start + len, 0);
        Line {
            buf: &mut self.out[start..],
            pos: 0,
        }
    }

    /// Appends `bytes` after the line (a data block and its `\r\n`).
    #[inline]
    pub(crate) fn data(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.out.extend_from_slice(b"\r\n");
    }

    /// Records, for the reply check, the key the line just written (the last
    /// `line_len` bytes of the output) holds at `range`: from the checked copy.
    #[inline]
    pub(crate) fn record_key(&mut self, line_len: usize, range: Range<usize>) {
        let start = self.out.len() - line_len;
        self.draft
            .key(&self.out[start + range.start..start + range.end]);
    }

    /// Records, for the reply check, the opaque the line just written holds at
    /// `range` (after the key, if that was recorded).
    #[inline]
    pub(crate) fn record_opaque(&mut self, line_len: usize, range: Range<usize>) {
        let start = self.out.len() - line_len;
        self.draft
            .opaque(&self.out[start + range.start..start + range.end]);
    }

    /// Records, for the reply check, the requested keys of a multi-key retrieval,
    /// exactly as the line just written holds them at `range` (` k1 k2 ...`).
    #[inline]
    pub(crate) fn record_key_list(&mut self, line_len: usize, range: Range<usize>, count: usize) {
        let start = self.out.len() - line_len;
        self.draft
            .key_list(&self.out[start + range.start..start + range.end], count);
    }
}

/// A command line being filled in: exactly as long as its fields need, so writing
/// past it is a bug, never a silent overrun (indexing checks it).
pub(crate) struct Line<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Line<'_> {
    #[inline]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    /// Writes `n` in decimal: [`digits`]`(n)` bytes, two digits at a time.
    #[inline]
    pub(crate) fn number(&mut self, n: u64) {
        let end = self.pos + digits(n);
        if n < 10 {
            self.buf[self.pos] = b'0' + n as u8;
            self.pos = end;
            return;
        }
        let digits = &mut self.buf[self.pos..end];
        let mut i = digits.len();
        let mut n = n;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            i -= 2;
            digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            digits[..2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            digits[0] = b'0' + n as u8;
        }
        self.pos = end;
    }

    /// Writes `n` in decimal, with a `-` if negative: [`signed_digits`]`(n)` bytes.
    #[inline]
    pub(crate) fn signed(&mut self, n: i64) {
        if n < 0 {
            self.byte(b'-');
        }
        self.number(n.unsigned_abs());
    }

    /// Copies a token (a key, an opaque, a stats word) into the line, then checks the
    /// copy against the token rule (1 to `max` bytes, no byte `<= 0x20`, no `0x7f`).
    /// Returns where it went in the line.
    #[inline]
    pub(crate) fn token(&mut self, token: &[u8], max: usize) -> Result<Range<usize>, KeyError> {
        let at = self.pos..self.pos + token.len();
        copy_short(&mut self.buf[at.clone()], token);
        self.pos = at.end;
        check_token(&self.buf[at.clone()], max)?;
        Ok(at)
    }

    /// Copies a key into the line and checks the copy ([`check_key`](crate::check_key)).
    #[inline]
    pub(crate) fn key(&mut self, key: &[u8], index: usize) -> Result<Range<usize>, EncodeError> {
        self.token(key, MAX_KEY_LEN)
            .map_err(|reason| EncodeError::InvalidKey { index, reason })
    }

    /// The rest of the line, for a writer that fills it in itself (base64).
    #[inline]
    pub(crate) fn rest(&mut self, len: usize) -> &mut [u8] {
        let at = self.pos;
        self.pos += len;
        &mut self.buf[at..at + len]
    }

    /// Where the line is: how many of its bytes are filled in.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The line is complete: every byte sized for was written.
    #[inline]
    pub(crate) fn end(self) {
        debug_assert_eq!(self.pos, self.buf.len(), "a command line sized wrong");
    }
}

/// `00` to `99`, for writing numbers two digits at a time.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Copies `src` into `dst` (the same length). Keys and tokens are short: up to 16
/// bytes they are copied as two overlapping fixed-size words, with no call.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match (src.first_chunk::<8>(), src.last_chunk::<8>()) {
        (Some(head), Some(tail)) if n <= 16 => {
            if let Some(d) = dst.first_chunk_mut::<8>() {
                *d = *head;
            }
            if let Some(d) = dst.last_chunk_mut::<8>() {
                *d = *tail;
            }
        }
        _ if (4..8).contains(&n) => {
            let (head, tail) = (&src[..4], &src[n - 4..]);
            dst[..4].copy_from_slice(head);
            dst[n - 4..].copy_from_slice(tail);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Refuses a key longer than a command could send before a byte of it is copied (a
/// huge key is refused without copying it). The copy is checked in full afterwards.
#[inline]
pub(crate) fn key_len(key: &[u8], index: usize) -> Result<usize, EncodeError> {
    if key.len() > MAX_KEY_LEN {
        return Err(EncodeError::InvalidKey {
            index,
            reason: KeyError::TooLong { len: key.len() },
        });
    }
    Ok(key.len())
}

/// Number of decimal digits of `n`: the one count every length is sized with.
/// Small numbers (flags, lengths, exptimes) are counted by comparison.
#[inline]
pub(crate) fn digits(n: u64) -> usize {
    if n < 10 {
        1
    } else if n < 100 {
        2
    } else if n < 1000 {
        3
    } else if n < 10_000 {
        4
    } else {
        n.ilog10() as usize + 1
    }
}

/// Number of bytes [`Line::signed`] writes for `n`.
#[inline]
pub(crate) fn signed_digits(n: i64) -> usize {
    usize::from(n < 0) + digits(n.unsigned_abs())
}

/// An expiration time, exactly as memcached reads it: a signed 32-bit number of seconds.
///
/// * `0` ([`Exptime::NEVER`]): the item never expires.
/// * negative ([`Exptime::EXPIRED`]): stored, but expired at once (the reply is still
///   `STORED`/`TOUCHED`; `gat` returns the value once).
/// * `1..=2592000` (30 days, [`Exptime::relative`]): seconds from now.
/// * above 2592000 ([`Exptime::unix`]): an absolute unix time; one in the past expires at once.
///
/// memcached truncates larger numbers to 32 bits, so absolute times after January 2038
/// cannot be expressed; the constructors refuse them instead of letting them wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Exptime(i32);

impl Exptime {
    /// Never expires (`0`).
    pub const NEVER: Self = Self(0);
    /// Expire immediately (`-1`).
    pub const EXPIRED: Self = Self(-1);
    /// The longest relative time: 30 days. memcached reads anything larger as a unix time.
    pub const MAX_RELATIVE_SECS: u32 = 2_592_000;

    /// `seconds` from now. `0` means "already expired" (written as `-1`), never
    /// "never expires" (use [`Exptime::NEVER`]); more than 30 days is refused, since
    /// memcached would read it as an absolute time in 1970.
    pub const fn relative(seconds: u32) -> Result<Self, EncodeError> {
        if seconds == 0 {
            Ok(Self::EXPIRED)
        } else if seconds <= Self::MAX_RELATIVE_SECS {
            Ok(Self(seconds as i32))
        } else {
            Err(EncodeError::InvalidExptime(
                "relative times above 30 days (2592000 s) are read as unix times",
            ))
        }
    }

    /// At the unix time `timestamp`, which must be above 2592000 and at most 2^31 - 1.
    pub const fn unix(timestamp: u64) -> Result<Self, EncodeError> {
        if timestamp <= Self::MAX_RELATIVE_SECS as u64 {
            Err(EncodeError::InvalidExptime(
                "unix times at or below 2592000 are read as relative seconds",
            ))
        } else if timestamp > i32::MAX as u64 {
            Err(EncodeError::InvalidExptime(
                "memcached reads exptime as a 32-bit signed number (after 2038-01-19 it wraps)",
            ))
        } else {
            Ok(Self(timestamp as i32))
        }
    }

    /// Exactly the number memcached will read, including its 30-day and negative rules.
    pub const fn from_raw(raw: i32) -> Self {
        Self(raw)
    }

    /// The number as written on the wire.
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exptime_rules() {
        assert_eq!(Exptime::relative(0), Ok(Exptime::EXPIRED));
        assert_eq!(Exptime::relative(1).map(Exptime::as_raw), Ok(1));
        assert_eq!(
            Exptime::relative(2_592_000).map(Exptime::as_raw),
            Ok(2_592_000)
        );
        assert!(Exptime::relative(2_592_001).is_err());
        assert!(Exptime::unix(2_592_000).is_err());
        assert_eq!(Exptime::unix(2_592_001).map(Exptime::as_raw), Ok(2_592_001));
        assert_eq!(
            Exptime::unix(i32::MAX as u64).map(Exptime::as_raw),
            Ok(i32::MAX)
        );
        assert!(Exptime::unix(i32::MAX as u64 + 1).is_err());
        assert_eq!(Exptime::from_raw(-5).as_raw(), -5);
    }

    #[test]
    fn digit_counts_and_numbers() {
        let mut cases = vec![u64::MAX, u64::MAX - 1, 4294967295];
        for p in 0..20 {
            let n = 10u64.pow(p);
            cases.extend([n - 1, n, n + 1, n.saturating_mul(3).saturating_add(7)]);
        }
        for n in cases {
            let text = n.to_string();
            assert_eq!(digits(n), text.len());
            let mut buf = vec![0u8; text.len() + 2];
            let mut line = Line {
                buf: &mut buf,
                pos: 1,
            };
            line.number(n);
            assert_eq!(line.pos, text.len() + 1);
            assert_eq!(&buf[1..=text.len()], text.as_bytes(), "{n}");
        }
        for n in [0i64, -1, 7, -2147483648, i64::MAX, i64::MIN + 1] {
            let text = n.to_string();
            assert_eq!(signed_digits(n), text.len());
            let mut buf = vec![0u8; text.len()];
            let mut line = Line {
                buf: &mut buf,
                pos: 0,
            };
            line.signed(n);
            assert_eq!(buf, text.as_bytes());
        }
    }
}
