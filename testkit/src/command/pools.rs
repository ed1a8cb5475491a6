//! What `arbitrary` draws keys, opaques, values and stats words from (the `arbitrary`
//! feature).
//!
//! A [`Key`], [`Opaque`], [`Value`] or [`Word`] comes from a small pool most of the
//! time, so that replies can match the commands (a `VALUE` must carry a requested key,
//! a meta reply must echo its opaque) and gets can hit what sets stored, and is
//! arbitrary bytes sometimes, so that validation runs: one byte is read, below 224 it
//! picks the pool entry at its value modulo the pool's length, otherwise arbitrary
//! bytes follow (`Vec<u8>`'s own `Arbitrary`).
//!
//! Everything else in [`Cmd`](super::Cmd) derives `Arbitrary`, so the byte layout of
//! a command is the derive's: a `u32` variant choice, then the fields in declaration
//! order. Keep variants and fields in their order (add new ones last) so that fuzz
//! inputs found so far keep decoding to the same commands.

use arbitrary::{Arbitrary, Result, Unstructured};

use super::{Key, Opaque, Value, Word};

/// Keys most commands use: short, valid, shared, so gets can hit what sets stored.
/// `noreply` is a valid key that looks like the keyword.
pub const KEY_POOL: &[&[u8]] = &[
    b"a", b"b", b"k", b"foo", b"user:42", b"counter", b"noreply", b"s_mg",
];

/// Opaques most meta commands use.
pub const OPAQUE_POOL: &[&[u8]] = &[b"1", b"2", b"77", b"opaque", b"0"];

/// Values most storage commands use; numbers so `incr` and `ma` can work on them.
pub const VALUE_POOL: &[&[u8]] = &[
    b"",
    b"0",
    b"10",
    b"hello",
    b"18446744073709551615",
    b"has\r\nCRLF\r\n",
    b"END\r\n",
];

/// `stats` subcommands: the ones memcached 1.6.18 knows, and one it does not.
pub const STATS_WORDS: &[&[u8]] = &[
    b"settings",
    b"items",
    b"slabs",
    b"sizes",
    b"conns",
    b"extstore",
    b"reset",
    b"nosuchthing",
];

/// Picks from `pool` for most first bytes, else takes arbitrary bytes.
pub fn pooled(u: &mut Unstructured<'_>, pool: &[&[u8]]) -> Result<Vec<u8>> {
    let pick = u8::arbitrary(u)?;
    if pick < 224 {
        Ok(pool[usize::from(pick) % pool.len()].to_vec())
    } else {
        Vec::<u8>::arbitrary(u)
    }
}

macro_rules! pooled_arbitrary {
    ($($name:ident => $pool:expr;)*) => {$(
        impl<'a> Arbitrary<'a> for $name {
            fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
                pooled(u, $pool).map(Self)
            }
        }
    )*};
}

pooled_arbitrary! {
    Key => KEY_POOL;
    Opaque => OPAQUE_POOL;
    Value => VALUE_POOL;
    Word => STATS_WORDS;
}
