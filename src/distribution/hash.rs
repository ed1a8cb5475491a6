//! The key hashes of the clients this module is compatible with.
//!
//! libmemcached's hashes read the key through a `const char *`: on x86-64 (and every
//! platform where `char` is signed) a byte of 0x80 or more enters the hash
//! sign-extended, as 0xffffff80 and up. [`LibmemcachedHash`] does the same, so
//! binary keys land where libmemcached on x86-64 puts them. (On arm64 Linux `char`
//! is unsigned and libmemcached itself routes such keys differently; ASCII keys are
//! the same everywhere.)

use md5::{Digest, Md5};

/// libmemcached's key hash (`MEMCACHED_BEHAVIOR_HASH`, pylibmc's `"hash"` behavior).
/// It is used for keys in the modula and unweighted ketama modes, and for the
/// point names of unweighted ketama.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LibmemcachedHash {
    /// `MEMCACHED_HASH_DEFAULT`: Bob Jenkins' one-at-a-time hash. What libmemcached
    /// uses unless told otherwise.
    #[default]
    OneAtATime,
    /// `MEMCACHED_HASH_MD5`: the first four digest bytes, little-endian.
    Md5,
    /// `MEMCACHED_HASH_CRC`: bits 16..31 of the IEEE CRC-32, masked to 15 bits.
    Crc,
    /// `MEMCACHED_HASH_FNV1_64`: 64-bit FNV-1, truncated to 32 bits.
    Fnv1_64,
    /// `MEMCACHED_HASH_FNV1A_64`: libmemcached's 64-bit FNV-1a, which multiplies in
    /// 32 bits.
    Fnv1a64,
    /// `MEMCACHED_HASH_FNV1_32`.
    Fnv1_32,
    /// `MEMCACHED_HASH_FNV1A_32`.
    Fnv1a32,
}

impl LibmemcachedHash {
    /// The 32-bit hash libmemcached computes for `key`.
    ///
    /// ```
    /// use memcache_codec::distribution::LibmemcachedHash;
    ///
    /// // Values printed by libmemcached 1.1.4's libhashkit_digest.
    /// assert_eq!(LibmemcachedHash::OneAtATime.hash(b"apple"), 2_297_466_611);
    /// assert_eq!(LibmemcachedHash::Md5.hash(b"apple"), 3_195_025_439);
    /// assert_eq!(LibmemcachedHash::Crc.hash(b"apple"), 10_542);
    /// ```
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            Self::OneAtATime => one_at_a_time(key),
            Self::Md5 => md5_u32(key),
            Self::Crc => (crc32fast::hash(key) >> 16) & 0x7fff,
            Self::Fnv1_64 => {
                let mut h: u64 = FNV64_INIT;
                for &b in key {
                    h = h.wrapping_mul(FNV64_PRIME);
                    h ^= signed(b) as u64;
                }
                h as u32
            }
            Self::Fnv1a64 => {
                let mut h = FNV64_INIT as u32;
                for &b in key {
                    h ^= signed(b);
                    h = h.wrapping_mul(FNV64_PRIME as u32);
                }
                h
            }
            Self::Fnv1_32 => {
                let mut h = FNV32_INIT;
                for &b in key {
                    h = h.wrapping_mul(FNV32_PRIME);
                    h ^= signed(b);
                }
                h
            }
            Self::Fnv1a32 => {
                let mut h = FNV32_INIT;
                for &b in key {
                    h ^= signed(b);
                    h = h.wrapping_mul(FNV32_PRIME);
                }
                h
            }
        }
    }

    /// The name libmemcached and pylibmc give it (`"md5"`, `"fnv1a_32"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::OneAtATime => "default",
            Self::Md5 => "md5",
            Self::Crc => "crc",
            Self::Fnv1_64 => "fnv1_64",
            Self::Fnv1a64 => "fnv1a_64",
            Self::Fnv1_32 => "fnv1_32",
            Self::Fnv1a32 => "fnv1a_32",
        }
    }
}

const FNV32_INIT: u32 = 2_166_136_261;
const FNV32_PRIME: u32 = 16_777_619;
const FNV64_INIT: u64 = 0xcbf2_9ce4_8422_2325;
const FNV64_PRIME: u64 = 0x0100_0000_01b3;

/// A byte read through a signed `char`, widened as C widens it.
fn signed(b: u8) -> u32 {
    b as i8 as i32 as u32
}

fn one_at_a_time(key: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &b in key {
        h = h.wrapping_add(signed(b));
        h = h.wrapping_add(h << 10);
        h ^= h >> 6;
    }
    h = h.wrapping_add(h << 3);
    h ^= h >> 11;
    h.wrapping_add(h << 15)
}

/// The MD5 digest of `data`.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// libmemcached's MD5 key hash: the first four digest bytes, little-endian.
pub(crate) fn md5_u32(data: &[u8]) -> u32 {
    let d = md5(data);
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

/// memcached proxy's jump consistent hash (`proxy_jump_hash.c`, the algorithm of
/// Lamping and Veach): the bucket in `0..buckets` for a 64-bit key hash.
pub(crate) fn jump(mut hash: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        hash = hash.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // `(hash >> 33) + 1` is below 2^31 + 1: converting it through i64 is exact
        // and cheaper than from u64 (x86-64 has no unsigned conversion).
        let divisor = ((hash >> 33) + 1) as i64 as f64;
        j = ((b + 1) as f64 * (2_147_483_648.0 / divisor)) as i64;
    }
    b as u32
}

/// XXH3-64 with a seed: the proxy's key hash (`XXH3_64bits_withSeed`).
pub(crate) fn xxh3(data: &[u8], seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(data, seed)
}

/// murmur3_32 with seed 0, as pymemcache's `murmur3_32` computes it over a string
/// of one-byte characters.
pub(crate) fn murmur3_32(mut data: &[u8]) -> u32 {
    // Reading from memory cannot fail.
    murmur3::murmur3_32(&mut data, 0).unwrap_or_default()
}

/// The text pymemcache hashes for a `str` key: one byte per character, each the
/// character's code point masked to 8 bits (pymemcache's `murmur3_32` reads
/// `ord(c) & 0xff`). Valid UTF-8 is read as characters; other bytes stand for
/// themselves (latin-1), which for ASCII is the same thing.
pub(crate) fn python_str_bytes(key: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if key.is_ascii() {
        return key.into();
    }
    match std::str::from_utf8(key) {
        Ok(text) => text.chars().map(|c| (u32::from(c) & 0xff) as u8).collect(),
        Err(_) => key.into(),
    }
}

/// Python's `repr()` of a `bytes` key, `b'...'`: what pymemcache's rendezvous hash
/// reads when it is given `bytes` (its f-string formats the key with `str()`).
pub(crate) fn python_bytes_repr(key: &[u8], out: &mut Vec<u8>) {
    let quote = if key.contains(&b'\'') && !key.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(b'b');
    out.push(quote);
    for &c in key {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ if c == quote => out.extend_from_slice(&[b'\\', c]),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..0x20 | 0x7f.. => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ]);
            }
            _ => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_reference_values() {
        // From the reference C++ code of the paper, as published with
        // dgryski/go-jump (jump_test.go): buckets 1, 2, 3, ...
        let table: [(u64, &[u32]); 4] = [
            (0, &[0; 20]),
            (
                1,
                &[0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17],
            ),
            (
                0xdead_beef,
                &[0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16],
            ),
            (
                0x0ddc_0ffe_ebad_f00d,
                &[0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15],
            ),
        ];
        for (key, buckets) in table {
            for (i, &want) in buckets.iter().enumerate() {
                assert_eq!(jump(key, i as u32 + 1), want, "jump({key:#x}, {})", i + 1);
            }
        }
        // python-jump-consistent-hash's README.
        assert_eq!(jump(256, 1024), 520);
    }

    #[test]
    fn bytes_repr_matches_python() {
        // Each right-hand side is what CPython's repr() prints.
        let cases: &[(&[u8], &str)] = &[
            (b"foo", "b'foo'"),
            (b"", "b''"),
            (b"it's", "b\"it's\""),
            (b"it's \"x\"", "b'it\\'s \"x\"'"),
            (b"a\\b", "b'a\\\\b'"),
            (
                b"\t\n\r\x00\x1f\x7f\x80\xff",
                "b'\\t\\n\\r\\x00\\x1f\\x7f\\x80\\xff'",
            ),
        ];
        for (key, want) in cases {
            let mut out = Vec::new();
            python_bytes_repr(key, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), *want);
        }
    }

    #[test]
    fn python_str_view() {
        assert_eq!(&*python_str_bytes(b"abc"), b"abc");
        assert_eq!(&*python_str_bytes("caf\u{e9}".as_bytes()), b"caf\xe9");
        assert_eq!(&*python_str_bytes("\u{20ac}".as_bytes()), b"\xac");
        assert_eq!(&*python_str_bytes(b"\xff\xfe"), b"\xff\xfe");
    }

    #[test]
    fn murmur_known_values() {
        // The published MurmurHash3_x86_32 test values (seed 0).
        // (pymemcache's murmur3_32 prints the same.)
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
        assert_eq!(murmur3_32(b"hello, world"), 0x149b_bb7f);
    }
}
