//! Commands: typed structs, each borrowing its keys and values from the caller, sent
//! with [`Codec::send`](crate::Codec::send). The crate documentation's
//! [commands table](crate#commands) lists what each completes with.
//!
//! One vocabulary across them:
//!
//! * **A classic verb is a constructor** of the struct for its reply shape:
//!   [`Store::set`], [`Store::add`], ..., [`Store::cas`]; [`Arithmetic::incr`],
//!   [`Arithmetic::decr`]; [`Stats::new`], [`Stats::arg`], ...
//! * **A meta flag is one builder method**, named the same on `mg`, `ms`, `md` and
//!   `ma` wherever the letter exists: `b` [`base64_key`](MetaGet::base64_key), `c`
//!   `return_cas`, `f` `return_client_flags`, `k` `return_key`, `q` `quiet`, `O`
//!   `opaque`, `s` `return_size`, `t` `return_ttl`, `v` `return_value`, `T` `ttl`,
//!   `N` `vivify`, `C` `compare_cas`, `E` `new_cas`, `F` `client_flags`, `I`
//!   `invalidate`, `x` `remove_value`, `D` `delta`, `J` `initial`, `R` `recache`,
//!   `h` `return_hit_before`, `l` `return_last_access`, `u` `no_bump`; `M` is
//!   `mode` with [`MetaSetMode`] or [`MetaArithMode`].
//! * **Every time is an [`Exptime`]**, whose constructors cannot be misread
//!   ([`Exptime::never`], [`Exptime::in_seconds`], [`Exptime::at`],
//!   [`Exptime::expired`]).
//! * **Not asking for a reply** is a codec call, not a builder: classic commands that
//!   memcached lets skip their reply implement [`NoreplyCommand`] and go through
//!   [`Codec::send_noreply`](crate::Codec::send_noreply), which returns no token
//!   (there is nothing to wait for); meta commands have the `q` flag, whose silence
//!   the codec still completes.
//!
//! Everything is checked before a byte is written: keys with [`check_key`]'s rule,
//! tokens (opaques, stats words) with the same rule and their own length, numbers by
//! type. A refusal writes nothing and changes nothing.
//
// How encoding works: each command encodes itself in one pass
// (`sealed::Encode::encode`): the command line's exact length is worked out from the
// fields first (numbers' digits counted, keys' and tokens' lengths taken), the
// output buffer grows once, and every caller-provided byte slice is read exactly
// once, copied into place and checked there (keys and tokens eight bytes at a
// time). What the reply will be checked against is recorded in the pending entry's
// draft from that checked copy. A refusal at any point leaves the output buffer
// truncated back and the draft dropped: nothing written, nothing changed.

mod admin;
mod auth;
mod classic;
mod meta;
mod raw;

pub use crate::codec::QuietBatch;
pub use crate::key::{MAX_KEY_LEN, check_key};
pub use admin::{
    Automove, Bget, ConfigGetCluster, CrawlTarget, Lru, LruCrawler, LruMode, RefreshCerts, Slabs,
    Watch, WatchKind,
};
pub use auth::Auth;
pub use classic::{
    Arithmetic, CacheMemlimit, Delete, FlushAll, Get, GetMulti, Quit, Shutdown, Stats, Store,
    Touch, Verbosity, Version,
};
pub use meta::{
    MetaArithMode, MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaNoop, MetaSet, MetaSetMode,
};
pub use raw::{Raw, RawShape};

use std::ops::Range;

use bytes::BytesMut;

use crate::error::{EncodeError, KeyError, TokenError};
use crate::expect::{Expect, Facts};
use crate::key::check_token;
use crate::limits::Limits;
use crate::pending::Draft;
use crate::profile::{Server, ServerVersion};

/// A command the [`Codec`](crate::Codec) can send.
///
/// Implemented by every command struct in this crate, and sealed: the codec relies on
/// each command's reply shape, so outside types cannot add commands. For a command
/// the crate does not type, [`Raw`] is the escape hatch.
pub trait Command: sealed::Encode {}

/// A command memcached accepts with a trailing `noreply`, for
/// [`Codec::send_noreply`](crate::Codec::send_noreply).
///
/// Why a codec call and not a `.noreply()` builder: a noreply command has no reply,
/// so it gets no [`Token`](crate::Token) and no pending entry, and the codec must
/// remember that unattributable errors may follow it. With a builder,
/// [`Codec::send`](crate::Codec::send) would have to return `Option<Token>` for every
/// command, and forgetting the difference would leave a caller waiting for a
/// completion that never comes. Two calls keep both return types honest.
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

    /// Refuses a command the server is known to have dropped in release `removed`.
    #[inline]
    pub(crate) fn removed(
        &self,
        what: &'static str,
        removed: ServerVersion,
    ) -> Result<(), EncodeError> {
        match self.server.version {
            Some(version) if version >= removed => Err(EncodeError::Removed {
                what,
                removed,
                server: version,
            }),
            _ => Ok(()),
        }
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
    pub(crate) fn token(&mut self, token: &[u8], max: usize) -> Result<Range<usize>, TokenError> {
        let at = self.pos..self.pos + token.len();
        copy_short(&mut self.buf[at.clone()], token);
        self.pos = at.end;
        check_token(&self.buf[at.clone()], max)?;
        Ok(at)
    }

    /// Copies a key into the line and checks the copy ([`check_key`](crate::command::check_key)).
    #[inline]
    pub(crate) fn key(&mut self, key: &[u8], index: usize) -> Result<Range<usize>, EncodeError> {
        self.token(key, MAX_KEY_LEN)
            .map_err(|reason| EncodeError::InvalidKey {
                index,
                reason: reason.into(),
            })
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

    /// Ends a classic command's line: ` noreply` if asked, then `\r\n`.
    #[inline]
    pub(crate) fn finish(mut self, noreply: bool) {
        if noreply {
            self.put(NOREPLY);
        }
        self.put(b"\r\n");
        self.end();
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

/// A command whose whole line is fixed text (with its `\r\n`).
pub(crate) fn fixed(
    w: &mut Writer<'_, '_>,
    text: &[u8],
    expect: Expect,
) -> Result<Encoded, EncodeError> {
    let mut line = w.line(text.len(), 0);
    line.put(text);
    line.end();
    Ok(Encoded::of(expect))
}

/// Refused right after quiet meta commands ([`EncodeError::NeedsFence`]): what memcached
/// answers to `watch`, the dumps and `shutdown` cannot settle quiet commands still
/// waiting before them (log lines, bare-`\n` item lines, a closed connection).
pub(crate) fn refuse_after_quiet(w: &Writer<'_, '_>) -> Result<(), EncodeError> {
    if w.draft.after_quiet() {
        return Err(EncodeError::NeedsFence);
    }
    Ok(())
}

/// Number of bytes [`Line::signed`] writes for `n`.
#[inline]
pub(crate) fn signed_digits(n: i64) -> usize {
    usize::from(n < 0) + digits(n.unsigned_abs())
}

/// An expiration time, exactly as memcached reads it: a signed 32-bit number of seconds.
///
/// The wire's rules, and the constructor for each:
///
/// | on the wire | meaning | constructor |
/// |---|---|---|
/// | `0` | never expires | [`Exptime::never`] |
/// | negative | stored, but expired at once (`STORED`/`TOUCHED` still answer; `gat` returns the value once) | [`Exptime::expired`] |
/// | `1..=2592000` (30 days) | seconds from now | [`Exptime::in_seconds`] |
/// | above 2592000 | an absolute unix time (one in the past expires at once) | [`Exptime::at`] |
///
/// The wire's `0` means "never", not "now": there is no constructor that takes a
/// number of seconds and can write `0`, so "0 seconds" cannot be misread either way
/// (`in_seconds(0)` is refused). memcached truncates larger numbers to 32 bits, so
/// absolute times after January 2038 cannot be expressed; [`Exptime::at`] refuses
/// them instead of letting them wrap.
///
/// ```
/// use memcache_codec::command::Exptime;
///
/// assert_eq!(Exptime::never().as_raw(), 0);
/// assert_eq!(Exptime::expired().as_raw(), -1);
/// assert_eq!(Exptime::in_seconds(60)?.as_raw(), 60);
/// assert!(Exptime::in_seconds(0).is_err());
/// assert!(Exptime::in_seconds(31 * 24 * 3600).is_err()); // would be read as a date in 1970
/// assert_eq!(Exptime::at(1_800_000_000)?.as_raw(), 1_800_000_000);
/// assert!(Exptime::at(4_000_000_000).is_err()); // after 2038
/// # Ok::<(), memcache_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Exptime(i32);

impl Exptime {
    /// The longest relative time: 30 days. memcached reads anything larger as a unix time.
    pub const MAX_RELATIVE_SECS: u32 = 2_592_000;

    /// Never expires (`0`).
    pub const fn never() -> Self {
        Self(0)
    }

    /// Stored but expired at once (`-1`): a way to delete with `touch` or `gat`.
    pub const fn expired() -> Self {
        Self(-1)
    }

    /// `seconds` from now, `1..=2592000` (30 days). `0` is refused (it would have to be
    /// written as "expired" or read as "never"; say which with [`Exptime::expired`] or
    /// [`Exptime::never`]), and so is more than 30 days, which memcached would read as
    /// a unix time in 1970 (use [`Exptime::at`]).
    pub const fn in_seconds(seconds: u32) -> Result<Self, EncodeError> {
        if seconds == 0 {
            Err(EncodeError::InvalidExptime(
                "0 seconds: say Exptime::never() or Exptime::expired()",
            ))
        } else if seconds <= Self::MAX_RELATIVE_SECS {
            Ok(Self(seconds as i32))
        } else {
            Err(EncodeError::InvalidExptime(
                "relative times above 30 days (2592000 s) are read as unix times",
            ))
        }
    }

    /// At the unix time `timestamp`, which must be above 2592000 and at most 2^31 - 1.
    pub const fn at(timestamp: u64) -> Result<Self, EncodeError> {
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

    /// Exactly the number memcached will read, with its rules as in the table above
    /// (for a value read back from elsewhere, or a test).
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
        assert!(Exptime::in_seconds(0).is_err());
        assert_eq!(Exptime::in_seconds(1).map(Exptime::as_raw), Ok(1));
        assert_eq!(
            Exptime::in_seconds(2_592_000).map(Exptime::as_raw),
            Ok(2_592_000)
        );
        assert!(Exptime::in_seconds(2_592_001).is_err());
        assert!(Exptime::at(2_592_000).is_err());
        assert_eq!(Exptime::at(2_592_001).map(Exptime::as_raw), Ok(2_592_001));
        assert_eq!(
            Exptime::at(i32::MAX as u64).map(Exptime::as_raw),
            Ok(i32::MAX)
        );
        assert!(Exptime::at(i32::MAX as u64 + 1).is_err());
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
