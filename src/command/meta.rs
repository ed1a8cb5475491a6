//! The meta protocol commands: `mg`, `ms`, `md`, `ma`, `mn`, `me`.
//!
//! Flags are typed builder methods, written in the order they were called (memcached
//! returns flags in request order). Calling a method twice replaces the flag's token
//! in place: memcached refuses duplicate flags.
//!
//! Flags memcached 1.6.18 does not implement (newer servers do): `E` (new cas) on every
//! command is refused with `CLIENT_ERROR invalid flag`; `mg` `C` is parsed and ignored;
//! `md` `x` is refused; `ms` `s` and `ms` `N` (append autovivify) are accepted and
//! ignored. They are still offered, documented on each method, for newer servers;
//! with a [`ServerProfile`](crate::profile::ServerProfile) set, a flag the server's version
//! lacks is refused at `send` ([`EncodeError::Unsupported`]), and so is a bare `mg`
//! on a server before 1.6.18 (it answers it with an error; add the flag you need).
//! One more 1.6.18 quirk, checked against the server: an item created by `mg` `N`
//! (autovivify) with a base64 key echoes its key raw (see [`MetaGet::vivify`]).

use super::Encoded;
use super::sealed::Encode;
use super::{Command, Exptime, Line, Writer, digits, key_len, signed_digits};
use crate::error::{EncodeError, KeyError};
use crate::expect::{Expect, MetaKind, code};
use crate::key::{MAX_KEY_LEN, base64_decode, base64_encode_into, base64_len};
use crate::profile::since;

/// The longest opaque memcached accepts, without the `O` (32 with it).
const MAX_OPAQUE_LEN: usize = 31;

/// The flags given to one meta command, with their tokens and call order.
#[derive(Debug, Clone, Copy, Default)]
struct Flags<'a> {
    /// Flag letters in call order, each at most once.
    order: [u8; 20],
    len: u8,
    /// The letters given, as bits ([`letter_bit`]).
    given: u32,
    opaque: Option<&'a [u8]>,
    ttl: Option<Exptime>,
    vivify: Option<Exptime>,
    recache: Option<u32>,
    compare_cas: Option<u64>,
    new_cas: Option<u64>,
    client_flags: Option<u64>,
    mode: Option<u8>,
    delta: Option<u64>,
    initial: Option<u64>,
}

impl<'a> Flags<'a> {
    fn letters(&self) -> &[u8] {
        &self.order[..usize::from(self.len)]
    }

    #[inline]
    fn has(&self, letter: u8) -> bool {
        self.given & letter_bit(letter) != 0
    }

    /// Records `letter` (once; a repeat keeps its first position).
    #[inline]
    fn set(&mut self, letter: u8) {
        let bit = letter_bit(letter);
        if self.given & bit == 0 {
            self.given |= bit;
            // Every command exposes fewer distinct letters than `order` holds.
            self.order[usize::from(self.len)] = letter;
            self.len += 1;
        }
    }

    /// Refuses, before anything is written, what the flags' shape alone rules out:
    /// too many flags, an opaque too long, a recache threshold out of range.
    fn check(&self, limit: usize) -> Result<(), EncodeError> {
        if usize::from(self.len) > limit {
            return Err(EncodeError::TooManyFlags {
                count: self.len.into(),
                limit,
            });
        }
        if let Some(opaque) = self.opaque {
            if opaque.len() > MAX_OPAQUE_LEN {
                return Err(EncodeError::OpaqueTooLong { len: opaque.len() });
            }
        }
        if self.recache.is_some_and(|r| r > i32::MAX as u32) {
            return Err(EncodeError::InvalidExptime(
                "memcached reads the recache (R) threshold as a 32-bit signed number",
            ));
        }
        Ok(())
    }

    /// The token each flag letter carries, as a number to write (`None`: no number).
    fn number(&self, letter: u8) -> Option<i64> {
        Some(match letter {
            b'T' => self.ttl.unwrap_or_default().as_raw().into(),
            b'N' => self.vivify.unwrap_or_default().as_raw().into(),
            b'R' => self.recache.unwrap_or_default().into(),
            _ => return None,
        })
    }

    /// The token each flag letter carries, as an unsigned number to write.
    fn unsigned(&self, letter: u8) -> Option<u64> {
        Some(match letter {
            b'C' => self.compare_cas.unwrap_or_default(),
            b'F' => self.client_flags.unwrap_or_default(),
            b'E' => self.new_cas.unwrap_or_default(),
            b'D' => self.delta.unwrap_or(1),
            b'J' => self.initial.unwrap_or_default(),
            _ => return None,
        })
    }

    /// The exact bytes the flags take on the wire: a space and the letter each, and
    /// its token.
    fn wire_len(&self) -> usize {
        self.letters()
            .iter()
            .map(|&letter| {
                2 + match letter {
                    b'O' => self.opaque.map_or(0, <[u8]>::len),
                    b'M' => 1,
                    _ => match (self.number(letter), self.unsigned(letter)) {
                        (Some(n), _) => signed_digits(n),
                        (_, Some(n)) => digits(n),
                        _ => 0,
                    },
                }
            })
            .sum()
    }

    /// Writes the flags in call order; returns where the opaque went, checked.
    fn write(&self, line: &mut Line<'_>) -> Result<Option<std::ops::Range<usize>>, EncodeError> {
        let mut opaque = None;
        for &letter in self.letters() {
            line.put(&[b' ', letter]);
            match letter {
                b'O' => {
                    let at = line
                        .token(self.opaque.unwrap_or_default(), MAX_OPAQUE_LEN)
                        .map_err(|reason| EncodeError::InvalidToken {
                            what: "opaque",
                            reason,
                        })?;
                    opaque = Some(at);
                }
                b'M' => line.byte(self.mode.unwrap_or(b'S')),
                _ => {
                    if let Some(n) = self.number(letter) {
                        line.signed(n);
                    } else if let Some(n) = self.unsigned(letter) {
                        line.number(n);
                    }
                }
            }
        }
        Ok(opaque)
    }
}

/// The bit standing for a flag letter in [`Flags::given`]: one for each letter a
/// builder method sets.
#[inline]
const fn letter_bit(letter: u8) -> u32 {
    1 << match letter {
        b'b' => 0,
        b'c' => 1,
        b'f' => 2,
        b'h' => 3,
        b'k' => 4,
        b'l' => 5,
        b'O' => 6,
        b'q' => 7,
        b's' => 8,
        b't' => 9,
        b'u' => 10,
        b'v' => 11,
        b'E' => 12,
        b'N' => 13,
        b'R' => 14,
        b'T' => 15,
        b'C' => 16,
        b'F' => 17,
        b'I' => 18,
        b'M' => 19,
        b'x' => 20,
        b'D' => 21,
        b'J' => 22,
        _ => 31,
    }
}

/// Refuses the flags a server known to be too old cannot take (see
/// [`ServerProfile`](crate::profile::ServerProfile)).
fn gate(w: &Writer<'_, '_>, kind: MetaKind, flags: &Flags<'_>) -> Result<(), EncodeError> {
    if w.server.version.is_none() {
        return Ok(());
    }
    if kind != MetaKind::Noop {
        w.needs(
            "the meta protocol as memcached 1.6.10 and later speak it",
            since::META,
        )?;
    }
    if flags.has(b'E') {
        w.needs("the E (new cas) flag", since::NEW_CAS)?;
    }
    match kind {
        MetaKind::Get if flags.has(b'C') => {
            w.needs("mg's C (compare cas) flag", since::MG_COMPARE_CAS)
        }
        MetaKind::Get if flags.len == 0 => w.needs("mg with no flag", since::BARE_MG),
        MetaKind::Delete if flags.has(b'x') => {
            w.needs("md's x (remove value) flag", since::NEW_CAS)
        }
        MetaKind::Set if flags.has(b's') => {
            w.needs("ms's s (return size) flag", since::MS_SIZE_AND_VIVIFY)
        }
        MetaKind::Set if flags.has(b'N') => {
            w.needs("ms's N (autovivify) flag", since::MS_SIZE_AND_VIVIFY)
        }
        _ => Ok(()),
    }
}

/// The first byte of an automatic opaque (`O~<token>`), so it cannot be mistaken
/// for the numbers callers usually choose as opaques.
pub(crate) const AUTO_OPAQUE: u8 = b'~';

/// A meta command's shape: its verb, what its replies can be, and how many flags
/// memcached takes after its key (and data length).
struct Shape {
    verb: &'static [u8; 3],
    kind: MetaKind,
    max_flags: usize,
    codes: u8,
    quiet_codes: u8,
}

/// Writes a meta command in one pass: `<verb> <key>[ <datalen>]<flags>\r\n[<data>\r\n]`.
/// The key is checked as written (plain), or sent base64 with `b` (at most 250
/// encoded bytes); it is recorded for the reply check when replies echo it (`k`).
fn encode_meta(
    w: &mut Writer<'_, '_>,
    shape: &Shape,
    key: &[u8],
    flags: &Flags<'_>,
    value: Option<&[u8]>,
) -> Result<Encoded, EncodeError> {
    encode_meta_keyed(w, shape, key, flags, value, flags.has(b'k'))
}

/// [`encode_meta`], the key recorded for the reply check when `record_key`.
fn encode_meta_keyed(
    w: &mut Writer<'_, '_>,
    shape: &Shape,
    key: &[u8],
    flags: &Flags<'_>,
    value: Option<&[u8]>,
    record_key: bool,
) -> Result<Encoded, EncodeError> {
    flags.check(shape.max_flags)?;
    if let Some(client_flags) = flags.client_flags {
        w.client_flags(client_flags)?;
    }
    gate(w, shape.kind, flags)?;
    let base64 = flags.has(b'b');
    let key_wire = if base64 {
        let encoded = base64_len(key.len());
        if key.is_empty() || encoded > MAX_KEY_LEN {
            let reason = if key.is_empty() {
                KeyError::Empty
            } else {
                KeyError::TooLong { len: encoded }
            };
            return Err(EncodeError::InvalidKey { index: 0, reason });
        }
        encoded
    } else {
        key_len(key, 0)?
    };
    let datalen = value.map(|v| v.len() as u64);
    // A quiet command with no opaque gets `~<token number>` (Config::auto_opaque).
    let auto_opaque =
        (w.auto_opaque && flags.has(b'q') && flags.opaque.is_none()).then(|| w.next_token());
    let len = 3
        + key_wire
        + datalen.map_or(0, |n| 1 + digits(n))
        + flags.wire_len()
        + auto_opaque.map_or(0, |n| 3 + digits(n))
        + 2;
    let mut line = w.line(len, value.map_or(0, |v| v.len() + 2));
    line.put(shape.verb);
    let key_at = if base64 {
        base64_encode_into(key, line.rest(key_wire));
        3..3 + key_wire
    } else {
        line.key(key, 0)?
    };
    if let Some(n) = datalen {
        line.byte(b' ');
        line.number(n);
    }
    let mut opaque = flags.write(&mut line)?;
    if let Some(n) = auto_opaque {
        line.put(b" O");
        let at = line.pos();
        line.byte(AUTO_OPAQUE);
        line.number(n);
        opaque = Some(at..line.pos());
    }
    line.put(b"\r\n");
    line.end();
    let quiet = flags.has(b'q');
    let return_key = flags.has(b'k');
    if record_key {
        if base64 {
            // The raw key, decoded from the copy just written.
            let start = w.out.len() - len;
            let mut raw = [0u8; 192];
            let n = base64_decode(&w.out[start + key_at.start..start + key_at.end], &mut raw)
                .unwrap_or_default();
            w.draft.key(&raw[..n]);
        } else {
            w.record_key(len, key_at);
        }
    }
    if let Some(at) = opaque {
        w.record_opaque(len, at);
    }
    if let Some(value) = value {
        w.data(value);
    }
    Ok(Encoded::of(Expect::Meta {
        kind: shape.kind,
        codes: if quiet {
            shape.quiet_codes
        } else {
            shape.codes
        },
        quiet,
        return_key,
    }))
}

/// Builder methods shared by several meta commands; each command lists the ones
/// memcached accepts for it.
macro_rules! flag_methods {
    ($($(#[$doc:meta])* $name:ident => $letter:literal;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(mut self) -> Self {
            self.flags.set($letter);
            self
        }
    )*};
}

macro_rules! token_methods {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) => $letter:literal, $field:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.flags.$field = Some($arg.into());
            self.flags.set($letter);
            self
        }
    )*};
}

macro_rules! common_methods {
    () => {
        flag_methods! {
            /// `b`: the key is binary; it is sent base64-encoded (at most 250 encoded
            /// bytes, so at most 186 raw bytes).
            base64_key => b'b';
            /// `q`: quiet mode; memcached leaves out this command's common outcome (see
            /// the command's docs). The command still completes, in order.
            quiet => b'q';
        }

        /// `O<opaque>`: a token memcached echoes back; at most 31 bytes, no space or
        /// control byte. The codec checks the echo against this command.
        #[inline]
        pub fn opaque<O: AsRef<[u8]> + ?Sized>(mut self, opaque: &'a O) -> Self {
            self.flags.opaque = Some(opaque.as_ref());
            self.flags.set(b'O');
            self
        }
    };
}

/// `mg <key> <flags>*`: meta get.
///
/// Completes with [`Response::Meta`](crate::Response::Meta) with status
/// [`Value`](crate::response::MetaStatus::Value) (hit, with [`MetaGet::return_value`]),
/// [`Success`](crate::response::MetaStatus::Success) (hit without value) or
/// [`Miss`](crate::response::MetaStatus::Miss). In quiet mode memcached sends nothing on a miss;
/// the command then completes as an [inferred](crate::response::MetaResponse#structfield.inferred) miss
/// when a later command's reply arrives.
///
/// ```
/// # use memcache_codec::Codec;
/// # use memcache_codec::command::MetaGet;
/// # use bytes::BytesMut;
/// # let mut codec = Codec::new(); let mut out = BytesMut::new(); let now = std::time::Instant::now();
/// codec.send(&MetaGet::new("k").return_value().return_cas().opaque("7"), &mut out, now)?;
/// assert_eq!(&out[..], b"mg k v c O7\r\n");
/// # Ok::<(), memcache_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MetaGet<'a> {
    key: &'a [u8],
    flags: Flags<'a>,
}

impl<'a> MetaGet<'a> {
    /// `mg <key>` with no flags (replies `HD` on a hit, `EN` on a miss).
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            flags: Flags::default(),
        }
    }

    common_methods!();

    flag_methods! {
        /// `v`: return the value (`VA <size>` and a data block).
        return_value => b'v';
        /// `c`: return the cas unique.
        return_cas => b'c';
        /// `f`: return the client flags.
        return_client_flags => b'f';
        /// `h`: return whether the item was fetched before.
        return_hit_before => b'h';
        /// `k`: return the key; the codec checks it against this command.
        return_key => b'k';
        /// `l`: return seconds since the last access.
        return_last_access => b'l';
        /// `s`: return the item size.
        return_size => b's';
        /// `t`: return the remaining TTL (`-1` for none).
        return_ttl => b't';
        /// `u`: do not bump the item in the LRU or update its access time.
        no_bump => b'u';
    }

    token_methods! {
        /// `T<exptime>`: update the TTL on a hit, like `touch`.
        ttl(exptime: Exptime) => b'T', ttl;
        /// `N<exptime>`: on a miss, create an empty item with this TTL and return `W`.
        ///
        /// memcached 1.6.18 does not mark an item it creates this way as binary, so
        /// with [`base64_key`](Self::base64_key) and [`return_key`](Self::return_key)
        /// the `k` flag echoes the raw key (`mg YWI= b k N30` gets `HD kab W`). The
        /// codec accepts either form; but a raw key holding a space or a line break
        /// splits the reply line and poisons the codec, so do not ask for `k` with
        /// `N` on such keys.
        vivify(exptime: Exptime) => b'N', vivify;
        /// `R<seconds>`: if the remaining TTL is below this, return `W` (win the recache).
        recache(seconds: u32) => b'R', recache;
        /// `E<cas>`: use this cas unique if the item is modified. Newer servers only:
        /// memcached 1.6.18 refuses it.
        new_cas(cas: u64) => b'E', new_cas;
        /// `C<cas>`: send the value only if the cas differs. Newer servers only:
        /// memcached 1.6.18 ignores it.
        compare_cas(cas: u64) => b'C', compare_cas;
    }
}

impl MetaGet<'_> {
    /// True if replies will carry something that tells this command apart: an
    /// opaque or the key.
    pub(crate) fn is_tagged(&self) -> bool {
        self.flags.opaque.is_some() || self.flags.has(b'k')
    }
}

impl Encode for MetaGet<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        use code::*;
        let shape = Shape {
            verb: b"mg ",
            kind: MetaKind::Get,
            max_flags: 17,
            codes: VA | HD | EN,
            quiet_codes: VA | HD,
        };
        encode_meta(w, &shape, self.key, &self.flags, None)
    }
}

impl Command for MetaGet<'_> {}

/// The `M` mode of `ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaSetMode {
    /// `MS`: set (the default).
    Set,
    /// `ME`: add, only if absent.
    Add,
    /// `MA`: append to an existing item.
    Append,
    /// `MP`: prepend to an existing item.
    Prepend,
    /// `MR`: replace an existing item.
    Replace,
}

impl MetaSetMode {
    fn letter(self) -> u8 {
        match self {
            Self::Set => b'S',
            Self::Add => b'E',
            Self::Append => b'A',
            Self::Prepend => b'P',
            Self::Replace => b'R',
        }
    }
}

/// `ms <key> <datalen> <flags>*` and the data block: meta set.
///
/// Completes with [`Response::Meta`](crate::Response::Meta) with status
/// [`Success`](crate::response::MetaStatus::Success) (stored), [`NotStored`](crate::response::MetaStatus::NotStored),
/// [`Exists`](crate::response::MetaStatus::Exists) or [`NotFound`](crate::response::MetaStatus::NotFound).
/// In quiet mode memcached leaves out `HD`; the command then completes as an
/// inferred success.
#[derive(Debug, Clone, Copy)]
pub struct MetaSet<'a> {
    key: &'a [u8],
    value: &'a [u8],
    flags: Flags<'a>,
}

impl<'a> MetaSet<'a> {
    /// `ms <key> <datalen>` then the value.
    #[inline]
    pub fn new<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self {
            key: key.as_ref(),
            value: value.as_ref(),
            flags: Flags::default(),
        }
    }

    common_methods!();

    flag_methods! {
        /// `c`: return the new cas unique (`c0` on failure).
        return_cas => b'c';
        /// `k`: return the key; the codec checks it against this command.
        return_key => b'k';
        /// `I`: invalidate: with `C`, accept a lower cas and mark the item stale.
        invalidate => b'I';
        /// `s`: return the stored size. Newer servers only: 1.6.18 ignores it.
        return_size => b's';
    }

    token_methods! {
        /// `F<flags>`: client flags (default 0). Above `u32::MAX` only for a server
        /// with 8-byte client flags, as for [`Store::client_flags`](crate::command::Store::client_flags).
        client_flags(flags: u64) => b'F', client_flags;
        /// `T<exptime>`: the item's TTL.
        ttl(exptime: Exptime) => b'T', ttl;
        /// `C<cas>`: store only if the cas unique matches (`EX` if not, `NF` if absent).
        compare_cas(cas: u64) => b'C', compare_cas;
        /// `E<cas>`: use this cas unique for the new item. Newer servers only:
        /// memcached 1.6.18 refuses it.
        new_cas(cas: u64) => b'E', new_cas;
        /// `N<exptime>`: in append/prepend mode, create the item on a miss. Newer
        /// servers only: 1.6.18 accepts and ignores it.
        vivify(exptime: Exptime) => b'N', vivify;
    }

    /// `M<mode>`: set (default), add, append, prepend or replace.
    #[inline]
    pub fn mode(mut self, mode: MetaSetMode) -> Self {
        self.flags.mode = Some(mode.letter());
        self.flags.set(b'M');
        self
    }
}

impl Encode for MetaSet<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        use code::*;
        if self.value.len() > (1 << 31) - 3 {
            return Err(EncodeError::ValueTooLarge {
                len: self.value.len(),
            });
        }
        w.value(self.value.len())?;
        let shape = Shape {
            verb: b"ms ",
            kind: MetaKind::Set,
            max_flags: 16,
            codes: HD | NS | EX | NF,
            quiet_codes: NS | EX | NF,
        };
        encode_meta(w, &shape, self.key, &self.flags, Some(self.value))
    }
}

impl Command for MetaSet<'_> {}

/// `md <key> <flags>*`: meta delete.
///
/// Completes with [`Response::Meta`](crate::Response::Meta) with status
/// [`Success`](crate::response::MetaStatus::Success) (deleted), [`NotFound`](crate::response::MetaStatus::NotFound)
/// or [`Exists`](crate::response::MetaStatus::Exists) (cas mismatch). In quiet mode memcached
/// leaves out `HD`.
#[derive(Debug, Clone, Copy)]
pub struct MetaDelete<'a> {
    key: &'a [u8],
    flags: Flags<'a>,
}

impl<'a> MetaDelete<'a> {
    /// `md <key>`.
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            flags: Flags::default(),
        }
    }

    common_methods!();

    flag_methods! {
        /// `k`: return the key; the codec checks it against this command.
        return_key => b'k';
        /// `I`: mark the item stale (bumping its cas) instead of removing it.
        invalidate => b'I';
        /// `x`: drop the value but keep the item. Newer servers only: 1.6.18 refuses it.
        remove_value => b'x';
    }

    token_methods! {
        /// `C<cas>`: delete only if the cas unique matches.
        compare_cas(cas: u64) => b'C', compare_cas;
        /// `E<cas>`: new cas unique. Newer servers only: 1.6.18 refuses it.
        new_cas(cas: u64) => b'E', new_cas;
        /// `T<exptime>`: with [`MetaDelete::invalidate`], the TTL of the stale item.
        ttl(exptime: Exptime) => b'T', ttl;
    }
}

impl Encode for MetaDelete<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        use code::*;
        let shape = Shape {
            verb: b"md ",
            kind: MetaKind::Delete,
            max_flags: 17,
            codes: HD | NF | EX,
            quiet_codes: NF | EX,
        };
        encode_meta(w, &shape, self.key, &self.flags, None)
    }
}

impl Command for MetaDelete<'_> {}

/// The `M` mode of `ma`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaArithMode {
    /// `MI`: increment (the default); wraps at 2^64.
    Incr,
    /// `MD`: decrement; stops at 0.
    Decr,
}

/// `ma <key> <flags>*`: meta arithmetic.
///
/// Completes with [`Response::Meta`](crate::Response::Meta) with status
/// [`Value`](crate::response::MetaStatus::Value) (with [`MetaArithmetic::return_value`]: the new
/// number as the value), [`Success`](crate::response::MetaStatus::Success),
/// [`NotFound`](crate::response::MetaStatus::NotFound), [`NotStored`](crate::response::MetaStatus::NotStored)
/// (autovivify failed) or [`Exists`](crate::response::MetaStatus::Exists). In quiet mode memcached
/// leaves out success replies (except, on 1.6.18, the reply of an autovivify).
#[derive(Debug, Clone, Copy)]
pub struct MetaArithmetic<'a> {
    key: &'a [u8],
    flags: Flags<'a>,
}

impl<'a> MetaArithmetic<'a> {
    /// `ma <key>`: increment by 1.
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            flags: Flags::default(),
        }
    }

    /// `ma <key> D<delta>`: increment by `delta`.
    #[inline]
    pub fn incr<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self::new(key).delta(delta)
    }

    /// `ma <key> MD D<delta>`: decrement by `delta`.
    #[inline]
    pub fn decr<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self::new(key).mode(MetaArithMode::Decr).delta(delta)
    }

    common_methods!();

    flag_methods! {
        /// `v`: return the new value.
        return_value => b'v';
        /// `c`: return the cas unique.
        return_cas => b'c';
        /// `t`: return the remaining TTL.
        return_ttl => b't';
        /// `k`: return the key; the codec checks it against this command.
        return_key => b'k';
    }

    token_methods! {
        /// `D<delta>`: the amount (default 1).
        delta(delta: u64) => b'D', delta;
        /// `N<exptime>`: create the item on a miss, with this TTL.
        vivify(exptime: Exptime) => b'N', vivify;
        /// `J<initial>`: with [`MetaArithmetic::vivify`], the created value (default 0).
        initial(initial: u64) => b'J', initial;
        /// `T<exptime>`: update the TTL on success.
        ttl(exptime: Exptime) => b'T', ttl;
        /// `C<cas>`: apply only if the cas unique matches.
        compare_cas(cas: u64) => b'C', compare_cas;
        /// `E<cas>`: new cas unique. Newer servers only: 1.6.18 refuses it.
        new_cas(cas: u64) => b'E', new_cas;
    }

    /// `M<mode>`: increment (default) or decrement.
    #[inline]
    pub fn mode(mut self, mode: MetaArithMode) -> Self {
        self.flags.mode = Some(match mode {
            MetaArithMode::Incr => b'I',
            MetaArithMode::Decr => b'D',
        });
        self.flags.set(b'M');
        self
    }
}

impl Encode for MetaArithmetic<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        use code::*;
        let mut quiet_codes = NF | NS | EX;
        if self.flags.has(b'N') {
            // 1.6.18 still answers an autovivify in quiet mode.
            quiet_codes |= VA | HD;
        }
        let shape = Shape {
            verb: b"ma ",
            kind: MetaKind::Arithmetic,
            max_flags: 17,
            codes: VA | HD | NF | NS | EX,
            quiet_codes,
        };
        encode_meta(w, &shape, self.key, &self.flags, None)
    }
}

impl Command for MetaArithmetic<'_> {}

/// `mn`: meta no-op. Completes with [`Response::Noop`](crate::Response::Noop).
///
/// memcached flushes its output at `mn`, so it marks the end of a pipeline of quiet
/// commands: once `MN` arrives, every quiet command before it has completed.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetaNoop;

impl Encode for MetaNoop {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let mut line = w.line(4, 0);
        line.put(b"mn\r\n");
        line.end();
        Ok(Encoded::of(Expect::Meta {
            kind: MetaKind::Noop,
            codes: code::MN,
            quiet: false,
            return_key: false,
        }))
    }
}

impl Command for MetaNoop {}

/// `me <key> [b]`: meta debug. Completes with
/// [`Response::MetaDebug`](crate::Response::MetaDebug) or
/// [`Response::Miss`](crate::Response::Miss).
#[derive(Debug, Clone, Copy)]
pub struct MetaDebug<'a> {
    key: &'a [u8],
    base64: bool,
}

impl<'a> MetaDebug<'a> {
    /// `me <key>`.
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            base64: false,
        }
    }

    /// `b`: the key is binary; it is sent (and printed back) base64-encoded.
    #[inline]
    pub fn base64_key(mut self) -> Self {
        self.base64 = true;
        self
    }
}

impl Encode for MetaDebug<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        // `me <key>[ b]`: the reply prints the key as sent, and is checked against it,
        // so the key is recorded whether or not it went base64.
        let mut flags = Flags::default();
        if self.base64 {
            flags.set(b'b');
        }
        let shape = Shape {
            verb: b"me ",
            kind: MetaKind::Debug,
            max_flags: 1,
            codes: code::ME | code::EN,
            quiet_codes: code::ME | code::EN,
        };
        encode_meta_keyed(w, &shape, self.key, &flags, None, true)
    }
}

impl Command for MetaDebug<'_> {}
