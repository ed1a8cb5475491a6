//! The meta protocol commands: `mg`, `ms`, `md`, `ma`, `mn`, `me`.
//!
//! Flags are typed builder methods, written in the order they were called (memcached
//! returns flags in request order). Calling a method twice replaces the flag's token
//! in place: memcached refuses duplicate flags.
//!
//! Flags memcached 1.6.18 does not implement (newer servers do): `E` (new cas) on every
//! command is refused with `CLIENT_ERROR invalid flag`; `mg` `C` is parsed and ignored;
//! `md` `x` is refused; `ms` `s` and `ms` `N` (append autovivify) are accepted and
//! ignored. They are still offered, documented on each method, for newer servers.
//! One more 1.6.18 quirk, checked against the server: an item created by `mg` `N`
//! (autovivify) with a base64 key echoes its key raw (see [`MetaGet::vivify`]).

use super::sealed::Encode;
use super::{Command, Exptime, Plan, Writer, digits};
use crate::error::EncodeError;
use crate::expect::{Expect, MetaKind, code};
use crate::key::{MAX_KEY_LEN, base64_encode, base64_len, check_key, check_token};
use crate::limits::Limits;

/// The longest opaque memcached accepts, without the `O` (32 with it).
const MAX_OPAQUE_LEN: usize = 31;

/// The flags given to one meta command, with their tokens and call order.
#[derive(Debug, Clone, Copy, Default)]
struct Flags<'a> {
    /// Flag letters in call order, each at most once.
    order: [u8; 20],
    len: u8,
    opaque: Option<&'a [u8]>,
    ttl: Option<Exptime>,
    vivify: Option<Exptime>,
    recache: Option<u32>,
    compare_cas: Option<u64>,
    new_cas: Option<u64>,
    client_flags: Option<u32>,
    mode: Option<u8>,
    delta: Option<u64>,
    initial: Option<u64>,
}

impl<'a> Flags<'a> {
    fn letters(&self) -> &[u8] {
        &self.order[..usize::from(self.len)]
    }

    fn has(&self, letter: u8) -> bool {
        self.letters().contains(&letter)
    }

    /// Records `letter` (once; a repeat keeps its first position).
    fn set(&mut self, letter: u8) {
        if !self.has(letter) {
            // Every command exposes fewer distinct letters than `order` holds.
            self.order[usize::from(self.len)] = letter;
            self.len += 1;
        }
    }

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
            check_token(opaque, MAX_OPAQUE_LEN).map_err(|reason| EncodeError::InvalidToken {
                what: "opaque",
                reason,
            })?;
        }
        if self.recache.is_some_and(|r| r > i32::MAX as u32) {
            return Err(EncodeError::InvalidExptime(
                "memcached reads the recache (R) threshold as a 32-bit signed number",
            ));
        }
        Ok(())
    }

    fn wire_len(&self) -> usize {
        usize::from(self.len) * 22 + self.opaque.map_or(0, <[u8]>::len)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        for &letter in self.letters() {
            w.raw(&[b' ', letter]);
            match letter {
                b'O' => {
                    let opaque = self.opaque.unwrap_or_default();
                    w.raw(opaque);
                    w.draft.opaque(opaque);
                }
                b'T' => w.i64(self.ttl.unwrap_or_default().as_raw().into()),
                b'N' => w.i64(self.vivify.unwrap_or_default().as_raw().into()),
                b'R' => w.u64(self.recache.unwrap_or_default().into()),
                b'C' => w.u64(self.compare_cas.unwrap_or_default()),
                b'E' => w.u64(self.new_cas.unwrap_or_default()),
                b'F' => w.u64(self.client_flags.unwrap_or_default().into()),
                b'M' => w.raw(&[self.mode.unwrap_or(b'S')]),
                b'D' => w.u64(self.delta.unwrap_or(1)),
                b'J' => w.u64(self.initial.unwrap_or_default()),
                _ => {}
            }
        }
    }
}

/// A meta key: plain (checked like any key) or binary, sent in base64 with the `b` flag.
fn check_meta_key(key: &[u8], base64: bool) -> Result<(), EncodeError> {
    let result = if base64 {
        let len = base64_len(key.len());
        if key.is_empty() {
            Err(crate::KeyError::Empty)
        } else if len > MAX_KEY_LEN {
            Err(crate::KeyError::TooLong { len })
        } else {
            Ok(())
        }
    } else {
        check_key(key)
    };
    result.map_err(|reason| EncodeError::InvalidKey { index: 0, reason })
}

/// Writes the key as sent (base64 with `b`) and keeps the raw key for reply checks.
fn write_meta_key(w: &mut Writer<'_, '_>, key: &[u8], base64: bool) {
    if base64 {
        base64_encode(key, w.out);
    } else {
        w.raw(key);
    }
    w.draft.key(key);
}

fn meta_plan(
    kind: MetaKind,
    key: &[u8],
    flags: &Flags<'_>,
    max_flags: usize,
    all_codes: u8,
    quiet_codes: u8,
    extra_len: usize,
) -> Result<Plan, EncodeError> {
    check_meta_key(key, flags.has(b'b'))?;
    flags.check(max_flags)?;
    let quiet = flags.has(b'q');
    let return_key = flags.has(b'k');
    Ok(Plan {
        expect: Expect::Meta {
            kind,
            codes: if quiet { quiet_codes } else { all_codes },
            quiet,
            return_key,
        },
        wire_len: 8 + base64_len(key.len()) + flags.wire_len() + extra_len,
    })
}

/// Builder methods shared by several meta commands; each command lists the ones
/// memcached accepts for it.
macro_rules! flag_methods {
    ($($(#[$doc:meta])* $name:ident => $letter:literal;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self) -> Self {
            self.flags.set($letter);
            self
        }
    )*};
}

macro_rules! token_methods {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) => $letter:literal, $field:ident;)*) => {$(
        $(#[$doc])*
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
/// [`Value`](crate::MetaStatus::Value) (hit, with [`MetaGet::return_value`]),
/// [`Success`](crate::MetaStatus::Success) (hit without value) or
/// [`Miss`](crate::MetaStatus::Miss). In quiet mode memcached sends nothing on a miss;
/// the command then completes as an [inferred](crate::MetaResponse#structfield.inferred) miss
/// when a later command's reply arrives.
///
/// ```
/// # use memcache_codec::{Codec, MetaGet};
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
        touch(exptime: Exptime) => b'T', ttl;
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
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        use code::*;
        meta_plan(
            MetaKind::Get,
            self.key,
            &self.flags,
            17,
            VA | HD | EN,
            VA | HD,
            0,
        )
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"mg ");
        write_meta_key(w, self.key, self.flags.has(b'b'));
        self.flags.write(w);
        w.raw(b"\r\n");
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
/// [`Success`](crate::MetaStatus::Success) (stored), [`NotStored`](crate::MetaStatus::NotStored),
/// [`Exists`](crate::MetaStatus::Exists) or [`NotFound`](crate::MetaStatus::NotFound).
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
        /// `F<flags>`: client flags (default 0).
        client_flags(flags: u32) => b'F', client_flags;
        /// `T<exptime>`: the item's TTL.
        ttl(exptime: Exptime) => b'T', ttl;
        /// `C<cas>`: store only if the cas unique matches (`EX` if not, `NF` if absent).
        compare_cas(cas: u64) => b'C', compare_cas;
        /// `E<cas>`: use this cas unique for the new item. Newer servers only:
        /// memcached 1.6.18 refuses it.
        new_cas(cas: u64) => b'E', new_cas;
        /// `N<exptime>`: in append/prepend mode, create the item on a miss. Newer
        /// servers only: 1.6.18 accepts and ignores it.
        autovivify(exptime: Exptime) => b'N', vivify;
    }

    /// `M<mode>`: set (default), add, append, prepend or replace.
    pub fn mode(mut self, mode: MetaSetMode) -> Self {
        self.flags.mode = Some(mode.letter());
        self.flags.set(b'M');
        self
    }
}

impl Encode for MetaSet<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        use code::*;
        if self.value.len() > (1 << 31) - 3 {
            return Err(EncodeError::ValueTooLarge {
                len: self.value.len(),
            });
        }
        meta_plan(
            MetaKind::Set,
            self.key,
            &self.flags,
            16,
            HD | NS | EX | NF,
            NS | EX | NF,
            self.value.len() + 2 + digits(self.value.len() as u64),
        )
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"ms ");
        write_meta_key(w, self.key, self.flags.has(b'b'));
        w.raw(b" ");
        w.u64(self.value.len() as u64);
        self.flags.write(w);
        w.raw(b"\r\n");
        w.raw(self.value);
        w.raw(b"\r\n");
    }
}

impl Command for MetaSet<'_> {}

/// `md <key> <flags>*`: meta delete.
///
/// Completes with [`Response::Meta`](crate::Response::Meta) with status
/// [`Success`](crate::MetaStatus::Success) (deleted), [`NotFound`](crate::MetaStatus::NotFound)
/// or [`Exists`](crate::MetaStatus::Exists) (cas mismatch). In quiet mode memcached
/// leaves out `HD`.
#[derive(Debug, Clone, Copy)]
pub struct MetaDelete<'a> {
    key: &'a [u8],
    flags: Flags<'a>,
}

impl<'a> MetaDelete<'a> {
    /// `md <key>`.
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
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        use code::*;
        meta_plan(
            MetaKind::Delete,
            self.key,
            &self.flags,
            17,
            HD | NF | EX,
            NF | EX,
            0,
        )
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"md ");
        write_meta_key(w, self.key, self.flags.has(b'b'));
        self.flags.write(w);
        w.raw(b"\r\n");
    }
}

impl Command for MetaDelete<'_> {}

/// The `M` mode of `ma`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithMode {
    /// `MI`: increment (the default); wraps at 2^64.
    Incr,
    /// `MD`: decrement; stops at 0.
    Decr,
}

/// `ma <key> <flags>*`: meta arithmetic.
///
/// Completes with [`Response::Meta`](crate::Response::Meta) with status
/// [`Value`](crate::MetaStatus::Value) (with [`MetaArithmetic::return_value`]: the new
/// number as the value), [`Success`](crate::MetaStatus::Success),
/// [`NotFound`](crate::MetaStatus::NotFound), [`NotStored`](crate::MetaStatus::NotStored)
/// (autovivify failed) or [`Exists`](crate::MetaStatus::Exists). In quiet mode memcached
/// leaves out success replies (except, on 1.6.18, the reply of an autovivify).
#[derive(Debug, Clone, Copy)]
pub struct MetaArithmetic<'a> {
    key: &'a [u8],
    flags: Flags<'a>,
}

impl<'a> MetaArithmetic<'a> {
    /// `ma <key>`: increment by 1.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            flags: Flags::default(),
        }
    }

    /// `ma <key> D<delta>`: increment by `delta`.
    pub fn incr<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self::new(key).delta(delta)
    }

    /// `ma <key> MD D<delta>`: decrement by `delta`.
    pub fn decr<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self::new(key).mode(ArithMode::Decr).delta(delta)
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
        autovivify(exptime: Exptime) => b'N', vivify;
        /// `J<initial>`: with [`MetaArithmetic::autovivify`], the created value (default 0).
        initial(initial: u64) => b'J', initial;
        /// `T<exptime>`: update the TTL on success.
        ttl(exptime: Exptime) => b'T', ttl;
        /// `C<cas>`: apply only if the cas unique matches.
        compare_cas(cas: u64) => b'C', compare_cas;
        /// `E<cas>`: new cas unique. Newer servers only: 1.6.18 refuses it.
        new_cas(cas: u64) => b'E', new_cas;
    }

    /// `M<mode>`: increment (default) or decrement.
    pub fn mode(mut self, mode: ArithMode) -> Self {
        self.flags.mode = Some(match mode {
            ArithMode::Incr => b'I',
            ArithMode::Decr => b'D',
        });
        self.flags.set(b'M');
        self
    }
}

impl Encode for MetaArithmetic<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        use code::*;
        let mut quiet_codes = NF | NS | EX;
        if self.flags.has(b'N') {
            // 1.6.18 still answers an autovivify in quiet mode.
            quiet_codes |= VA | HD;
        }
        meta_plan(
            MetaKind::Arithmetic,
            self.key,
            &self.flags,
            17,
            VA | HD | NF | NS | EX,
            quiet_codes,
            0,
        )
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"ma ");
        write_meta_key(w, self.key, self.flags.has(b'b'));
        self.flags.write(w);
        w.raw(b"\r\n");
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
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        Ok(Plan {
            expect: Expect::Meta {
                kind: MetaKind::Noop,
                codes: code::MN,
                quiet: false,
                return_key: false,
            },
            wire_len: 4,
        })
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"mn\r\n");
    }
}

impl Command for MetaNoop {}

/// `me <key> [b]`: meta debug. Completes with
/// [`Response::MetaDebug`](crate::Response::MetaDebug) or
/// [`Response::Miss`](crate::Response::Miss).
#[derive(Debug, Clone, Copy)]
pub struct MetaDebugCommand<'a> {
    key: &'a [u8],
    base64: bool,
}

impl<'a> MetaDebugCommand<'a> {
    /// `me <key>`.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            base64: false,
        }
    }

    /// `b`: the key is binary; it is sent (and printed back) base64-encoded.
    pub fn base64_key(mut self) -> Self {
        self.base64 = true;
        self
    }
}

impl Encode for MetaDebugCommand<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        check_meta_key(self.key, self.base64)?;
        Ok(Plan {
            expect: Expect::Meta {
                kind: MetaKind::Debug,
                codes: code::ME | code::EN,
                quiet: false,
                return_key: false,
            },
            wire_len: 8 + base64_len(self.key.len()),
        })
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"me ");
        write_meta_key(w, self.key, self.base64);
        if self.base64 {
            w.raw(b" b");
        }
        w.raw(b"\r\n");
    }
}

impl Command for MetaDebugCommand<'_> {}
