//! Key and token validation, and the base64 used by meta keys.
//!
//! memcached splits request lines on spaces and ends them at `\n` (and at NUL, since
//! it reads them as C strings), so a key or token holding one of those bytes would
//! inject a second command. The server itself accepts TAB and a lone `\r` in keys;
//! proxies and other servers may not, so the client rule is stricter: no byte
//! `<= 0x20` and no `0x7f`.

use crate::error::{KeyError, TokenError};

/// The longest key memcached accepts.
pub const MAX_KEY_LEN: usize = 250;

/// True for the bytes that may not appear in a key or token.
#[inline]
fn forbidden(b: u8) -> bool {
    b <= b' ' || b == 0x7f
}

/// Whether any byte is forbidden, eight bytes at a time: a word holds a byte below
/// 0x21 exactly when subtracting 0x21 from every byte borrows out of one whose top bit
/// was clear, and a DEL exactly when the word xor 0x7f has a zero byte. The position is
/// only looked for on failure.
#[inline]
fn has_forbidden(token: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let bad = |w: u64| {
        let below_space = w.wrapping_sub(ONES * 0x21) & !w & TOPS;
        let del = w ^ (ONES * 0x7f);
        below_space | (del.wrapping_sub(ONES) & !del & TOPS)
    };
    let len = token.len();
    if len < 8 {
        // Padded with a harmless byte into one word.
        let mut w = u64::from_le_bytes([b'a'; 8]);
        for (i, &b) in token.iter().enumerate() {
            w = (w & !(0xff << (8 * i))) | (u64::from(b) << (8 * i));
        }
        return bad(w) != 0;
    }
    let mut found = 0;
    let mut i = 0;
    while let Some(word) = token[i..].first_chunk::<8>() {
        found |= bad(u64::from_le_bytes(*word));
        i += 8;
    }
    if i < len {
        // The tail, as the last eight bytes (overlapping what was checked).
        if let Some(word) = token[len - 8..].first_chunk::<8>() {
            found |= bad(u64::from_le_bytes(*word));
        }
    }
    found != 0
}

/// Checks a byte string against the token rule: not empty, at most `max` bytes, no
/// byte `<= 0x20`, no `0x7f`.
#[inline]
pub(crate) fn check_token(token: &[u8], max: usize) -> Result<(), TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > max {
        return Err(TokenError::TooLong {
            len: token.len(),
            limit: max,
        });
    }
    if has_forbidden(token) {
        return Err(forbidden_at(token));
    }
    Ok(())
}

/// The first forbidden byte of a token that has one.
#[cold]
fn forbidden_at(token: &[u8]) -> TokenError {
    let offset = token.iter().position(|&b| forbidden(b)).unwrap_or(0);
    TokenError::ForbiddenByte {
        byte: token[offset],
        offset,
    }
}

/// Checks a memcached key: 1 to 250 bytes, no byte `<= 0x20`, no `0x7f`.
///
/// ```
/// use memcache_codec::KeyError;
/// use memcache_codec::command::check_key;
/// assert!(check_key(b"user:42").is_ok());
/// assert_eq!(check_key(b"a b"), Err(KeyError::ForbiddenByte { byte: b' ', offset: 1 }));
/// assert_eq!(check_key(&[b'k'; 251]), Err(KeyError::TooLong { len: 251 }));
/// ```
pub fn check_key(key: &[u8]) -> Result<(), KeyError> {
    check_token(key, MAX_KEY_LEN).map_err(KeyError::from)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of the padded base64 encoding of `n` bytes.
pub(crate) const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes the padded standard base64 encoding of `input` into `out`, which is
/// exactly [`base64_len`]`(input.len())` bytes (memcached's alphabet).
pub(crate) fn base64_encode_into(input: &[u8], out: &mut [u8]) {
    debug_assert_eq!(out.len(), base64_len(input.len()));
    for (chunk, quad) in input.chunks(3).zip(out.chunks_exact_mut(4)) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| ALPHABET[((n >> shift) & 63) as usize];
        quad[0] = sextet(18);
        quad[1] = sextet(12);
        quad[2] = if chunk.len() > 1 { sextet(6) } else { b'=' };
        quad[3] = if chunk.len() > 2 { sextet(0) } else { b'=' };
    }
}

fn base64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes padded standard base64 into `out` (a stack buffer of at least
/// `input.len() / 4 * 3` bytes); returns the decoded length, or `None` if `input` is
/// not canonical padded base64 or does not fit.
pub(crate) fn base64_decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    if input.len() % 4 != 0 {
        return None;
    }
    let mut len = 0;
    let quads = input.len() / 4;
    for (i, quad) in input.chunks_exact(4).enumerate() {
        let pad = if i + 1 == quads {
            quad.iter().rev().take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | base64_value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let take = 3 - pad;
        out.get_mut(len..len + take)?
            .copy_from_slice(&bytes[..take]);
        len += take;
    }
    Some(len)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes memcached's URI encoding (metadump keys, log values): `%XX` (either case)
/// is the byte `0xXX`, any other byte is itself. `None` for a `%` not followed by two
/// hex digits.
pub(crate) fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let hi = hex(*input.get(i + 1)?)?;
            let lo = hex(*input.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"md%3A2", Some(b"md:2")),
            (b"plain", Some(b"plain")),
            (b"%00%ff%FF%20", Some(b"\x00\xff\xff ")),
            (b"", Some(b"")),
            (b"a%", None),
            (b"a%4", None),
            (b"a%4g", None),
            (b"%%41", None),
            (b"%2541", Some(b"%41")),
        ];
        for (input, want) in cases {
            assert_eq!(
                percent_decode(input).as_deref(),
                *want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn key_rules() {
        let cases: &[(&[u8], Result<(), KeyError>)] = &[
            (b"k", Ok(())),
            (b"", Err(KeyError::Empty)),
            (
                b"a b",
                Err(KeyError::ForbiddenByte {
                    byte: b' ',
                    offset: 1,
                }),
            ),
            (
                b"a\rb",
                Err(KeyError::ForbiddenByte {
                    byte: b'\r',
                    offset: 1,
                }),
            ),
            (
                b"a\n",
                Err(KeyError::ForbiddenByte {
                    byte: b'\n',
                    offset: 1,
                }),
            ),
            (b"\0", Err(KeyError::ForbiddenByte { byte: 0, offset: 0 })),
            (
                b"x\x7f",
                Err(KeyError::ForbiddenByte {
                    byte: 0x7f,
                    offset: 1,
                }),
            ),
            (
                b"tab\t",
                Err(KeyError::ForbiddenByte {
                    byte: b'\t',
                    offset: 3,
                }),
            ),
            (&[b'k'; 250], Ok(())),
            (&[b'k'; 251], Err(KeyError::TooLong { len: 251 })),
            ("ключ".as_bytes(), Ok(())),
        ];
        for (key, want) in cases {
            assert_eq!(
                check_key(key),
                *want,
                "{:?}",
                key.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn word_check_agrees_with_bytewise() {
        // Every byte value at every position of tokens around the word size.
        for len in [1usize, 7, 8, 9, 16, 17, 250] {
            for pos in [0, len / 2, len - 1] {
                for b in 0..=255u8 {
                    let mut token = vec![b'a'; len];
                    token[pos] = b;
                    assert_eq!(has_forbidden(&token), forbidden(b), "{len} {pos} {b:#x}");
                }
            }
        }
        assert!(!has_forbidden("ключ-ключ-ключ".as_bytes()));
    }

    #[test]
    fn base64_round_trip() {
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\x00\xff\r\n ", "AP8NCiA="),
        ];
        for (raw, enc) in cases {
            let mut out = vec![0; base64_len(raw.len())];
            base64_encode_into(raw, &mut out);
            assert_eq!(out, enc.as_bytes());
            assert_eq!(base64_len(raw.len()), enc.len());
            let mut back = [0u8; 16];
            let n = base64_decode(enc.as_bytes(), &mut back).unwrap();
            assert_eq!(&back[..n], *raw);
        }
        let mut back = [0u8; 16];
        assert_eq!(base64_decode(b"Zg=", &mut back), None);
        assert_eq!(base64_decode(b"Z===", &mut back), None);
        assert_eq!(base64_decode(b"Z!==", &mut back), None);
    }
}
