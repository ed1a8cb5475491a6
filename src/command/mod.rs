//! Commands: typed structs the caller builds, and the one place that turns them into
//! wire bytes.
//!
//! Every command borrows its keys and values from the caller (no allocation to
//! build one). [`Codec::send`](crate::Codec::send) first checks every field of the
//! command ([`sealed::Encode::plan`]), and only then writes it
//! ([`sealed::Encode::write`]), so a refused command leaves no trace.

mod classic;
mod meta;

pub use classic::{
    CacheMemlimit, Decr, Delete, FlushAll, Get, GetMulti, Incr, Quit, Shutdown, Stats, Store,
    Touch, Verbosity, Version,
};
pub use meta::{
    ArithMode, MetaArithmetic, MetaDebugCommand, MetaDelete, MetaGet, MetaNoop, MetaSet,
    MetaSetMode,
};

use bytes::BytesMut;

use crate::error::EncodeError;
use crate::expect::Expect;
use crate::limits::Limits;
use crate::pending::Draft;

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

    /// What checking a command found out: everything the codec needs before writing.
    #[derive(Debug, Clone, Copy)]
    pub struct Plan {
        pub(crate) expect: Expect,
        /// Bytes the command will take on the wire, to reserve once.
        pub(crate) wire_len: usize,
    }

    /// The two halves of encoding. Not part of the public API.
    pub trait Encode {
        /// Checks every field; on success says how the reply will look.
        fn plan(&self, limits: &Limits) -> Result<Plan, EncodeError>;
        /// Writes the command. Called only after `plan` succeeded, so it cannot fail.
        fn write(&self, w: &mut Writer<'_, '_>);
    }

    /// Where a command writes itself: the caller's output buffer, and the draft of
    /// its pending entry, which keeps what the reply will be checked against.
    pub struct Writer<'a, 'p> {
        pub(crate) out: &'a mut BytesMut,
        pub(crate) draft: &'a mut Draft<'p>,
        pub(crate) noreply: bool,
    }
}

pub(crate) use sealed::{Plan, Writer};

impl Writer<'_, '_> {
    #[inline]
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    #[inline]
    pub(crate) fn u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[i..]);
    }

    #[inline]
    pub(crate) fn i64(&mut self, n: i64) {
        if n < 0 {
            self.raw(b"-");
        }
        self.u64(n.unsigned_abs());
    }

    /// Writes the key of a single-key command and remembers it for the reply check.
    #[inline]
    pub(crate) fn key(&mut self, key: &[u8]) {
        self.out.extend_from_slice(key);
        self.draft.key(key);
    }

    /// Writes ` noreply` if this is a `send_noreply`.
    #[inline]
    pub(crate) fn noreply(&mut self) {
        if self.noreply {
            self.raw(b" noreply");
        }
    }
}

/// Number of decimal digits of `n`, for sizing.
pub(crate) fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
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
    fn digit_counts() {
        for n in [0u64, 9, 10, 99, 100, 4294967295, u64::MAX] {
            assert_eq!(digits(n), n.to_string().len());
        }
    }
}
