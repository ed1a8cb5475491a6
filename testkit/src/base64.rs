//! The base64 codec memcached 1.6.18 uses for meta keys: a strict encoder and
//! a lenient decoder that skips bytes outside the alphabet.

const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn value_of(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        b'=' => Some(0),
        _ => None,
    }
}

/// Decodes like memcached: characters outside the alphabet are skipped, the
/// number of alphabet characters must be a multiple of 4, decoding stops after
/// the first block with padding. `None` where memcached returns 0 (failure).
pub(crate) fn decode(src: &[u8]) -> Option<Vec<u8>> {
    let count = src.iter().filter(|b| value_of(**b).is_some()).count();
    if count == 0 || count % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(count / 4 * 3);
    let mut block = [0u8; 4];
    let mut filled = 0;
    let mut pad = 0;
    for &b in src {
        let Some(v) = value_of(b) else { continue };
        if b == b'=' {
            pad += 1;
        }
        block[filled] = v;
        filled += 1;
        if filled == 4 {
            out.push((block[0] << 2) | (block[1] >> 4));
            out.push((block[1] << 4) | (block[2] >> 2));
            out.push((block[2] << 6) | block[3]);
            filled = 0;
            if pad > 0 {
                match pad {
                    1 => {
                        out.pop();
                    }
                    2 => {
                        out.pop();
                        out.pop();
                    }
                    _ => return None,
                }
                break;
            }
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Standard base64 with `=` padding.
pub(crate) fn encode(src: &[u8], out: &mut Vec<u8>) {
    let mut chunks = src.chunks_exact(3);
    for c in &mut chunks {
        out.push(TABLE[usize::from(c[0] >> 2)]);
        out.push(TABLE[usize::from(((c[0] & 0x03) << 4) | (c[1] >> 4))]);
        out.push(TABLE[usize::from(((c[1] & 0x0f) << 2) | (c[2] >> 6))]);
        out.push(TABLE[usize::from(c[2] & 0x3f)]);
    }
    match *chunks.remainder() {
        [a] => {
            out.push(TABLE[usize::from(a >> 2)]);
            out.push(TABLE[usize::from((a & 0x03) << 4)]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            out.push(TABLE[usize::from(a >> 2)]);
            out.push(TABLE[usize::from(((a & 0x03) << 4) | (b >> 4))]);
            out.push(TABLE[usize::from((b & 0x0f) << 2)]);
            out.push(b'=');
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode(s, &mut v);
        v
    }

    #[test]
    fn round_trip() {
        for s in [&b"b11"[..], b"a", b"ab", b"abc", b"\x00\xff\r\n "] {
            assert_eq!(decode(&enc(s)).as_deref(), Some(s));
        }
        assert_eq!(enc(b"b11"), b"YjEx");
    }

    #[test]
    fn lenient_decoder() {
        assert_eq!(decode(b"YjEx"), Some(b"b11".to_vec()));
        // '_' is skipped: "h_b64" has 4 alphabet characters.
        assert_eq!(decode(b"h_b64"), decode(b"hb64"));
        assert_eq!(decode(b"b10"), None);
        assert_eq!(decode(b"!!!"), None);
        assert_eq!(decode(b"===="), None);
        assert_eq!(decode(b"YQ=="), Some(b"a".to_vec()));
    }
}
