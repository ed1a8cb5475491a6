//! Number parsing that behaves like the C library calls memcached 1.6.18 uses
//! (`safe_strtoul`, `safe_strtol`, `safe_strtoull`, `safe_strtod` on LP64).
//!
//! A token is a C string: it ends at the end of the slice. `strto*` skips
//! leading white space and accepts one sign; memcached then accepts the number
//! only if the first byte after the digits is white space or the end.

/// `isspace()` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `strtoull`/`strtol` saw: the sign, the magnitude (`None` on overflow of
/// 64 bits) and where the digits ended. `None` if no digit was found.
fn scan(s: &[u8]) -> Option<(bool, Option<u64>, usize)> {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&sign) = s.get(i) {
        if sign == b'+' || sign == b'-' {
            negative = sign == b'-';
            i += 1;
        }
    }
    let start = i;
    let mut magnitude: Option<u64> = Some(0);
    while let Some(&d) = s.get(i) {
        if !d.is_ascii_digit() {
            break;
        }
        magnitude = magnitude
            .and_then(|m| m.checked_mul(10))
            .and_then(|m| m.checked_add(u64::from(d - b'0')));
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((negative, magnitude, i))
}

/// memcached's acceptance test for the byte after the number.
fn ends_ok(s: &[u8], end: usize) -> bool {
    match s.get(end) {
        None => true,
        Some(&b) => is_c_space(b),
    }
}

/// `safe_strtoull`: a u64; `-N` is accepted only when the wrapped result still
/// looks positive as an i64 (so `-0` is 0 and `-1` is refused).
pub(crate) fn strtoull(s: &[u8]) -> Option<u64> {
    let (negative, magnitude, end) = scan(s)?;
    let magnitude = magnitude?;
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    if !ends_ok(s, end) {
        return None;
    }
    if (value as i64) < 0 && s[..end].contains(&b'-') {
        return None;
    }
    Some(value)
}

/// `safe_strtoul` with a `uint32_t` destination: parsed as an unsigned long
/// (64 bits) and then truncated, so 4294967296 becomes 0.
pub(crate) fn strtoul32(s: &[u8]) -> Option<u32> {
    strtoull(s).map(|v| v as u32)
}

/// `safe_strtol` with an `int32_t` destination: parsed as a long (64 bits),
/// refused on overflow of 64 bits, then truncated to 32 bits.
pub(crate) fn strtol32(s: &[u8]) -> Option<i32> {
    let (negative, magnitude, end) = scan(s)?;
    let magnitude = magnitude?;
    let value: i64 = if negative {
        if magnitude > 1u64 << 63 {
            return None;
        }
        (magnitude as i64).wrapping_neg()
    } else {
        if magnitude > i64::MAX as u64 {
            return None;
        }
        magnitude as i64
    };
    if !ends_ok(s, end) {
        return None;
    }
    Some(value as i32)
}

/// `safe_strtod`: decimal floating point (optionally with exponent), `inf`,
/// `infinity` and `nan`. Hexadecimal floats are not recognised.
pub(crate) fn strtod(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let start = i;
    if let Some(&sign) = s.get(i) {
        if sign == b'+' || sign == b'-' {
            i += 1;
        }
    }
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    let end = if lower.starts_with(b"infinity") {
        i + 8
    } else if lower.starts_with(b"inf") || lower.starts_with(b"nan") {
        i + 3
    } else {
        let mut j = i;
        let mut digits = 0;
        while s.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
            digits += 1;
        }
        if s.get(j) == Some(&b'.') {
            j += 1;
            while s.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        if matches!(s.get(j), Some(b'e' | b'E')) {
            let mut k = j + 1;
            if matches!(s.get(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if s.get(k).is_some_and(u8::is_ascii_digit) {
                while s.get(k).is_some_and(u8::is_ascii_digit) {
                    k += 1;
                }
                j = k;
            }
        }
        j
    };
    if !ends_ok(s, end) {
        return None;
    }
    let text = std::str::from_utf8(&s[start..end]).ok()?;
    let value: f64 = text.parse().ok()?;
    if value.is_infinite() && !lower.starts_with(b"inf") {
        // ERANGE
        return None;
    }
    Some(value)
}

/// Decimal rendering of a u64 without allocation surprises.
pub(crate) fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(v.to_string().as_bytes());
}

/// Decimal rendering of an i64.
pub(crate) fn push_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(v.to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_rules() {
        assert_eq!(strtoull(b"12"), Some(12));
        assert_eq!(strtoull(b" 12"), Some(12));
        assert_eq!(strtoull(b"+5"), Some(5));
        assert_eq!(strtoull(b"-0"), Some(0));
        assert_eq!(strtoull(b"-1"), None);
        assert_eq!(strtoull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(strtoull(b"18446744073709551616"), None);
        assert_eq!(strtoull(b"12 34"), Some(12));
        assert_eq!(strtoull(b"12\t"), Some(12));
        assert_eq!(strtoull(b"12x"), None);
        assert_eq!(strtoull(b"0x10"), None);
        assert_eq!(strtoull(b""), None);
        assert_eq!(strtoull(b"   "), None);
        assert_eq!(strtoull(b"-18446744073709551615"), Some(1));
        assert_eq!(strtoul32(b"4294967296"), Some(0));
        assert_eq!(strtoul32(b"4294967297"), Some(1));
    }

    #[test]
    fn signed_rules() {
        assert_eq!(strtol32(b"-1"), Some(-1));
        assert_eq!(strtol32(b"2147483648"), Some(i32::MIN));
        assert_eq!(strtol32(b"4294967297"), Some(1));
        assert_eq!(strtol32(b"9223372036854775808"), None);
        assert_eq!(strtol32(b"-9223372036854775808"), Some(0));
        assert_eq!(strtol32(b"abc"), None);
        assert_eq!(strtol32(b"5\r"), Some(5));
    }

    #[test]
    fn floats() {
        assert_eq!(strtod(b"0.5"), Some(0.5));
        assert_eq!(strtod(b"2"), Some(2.0));
        assert_eq!(strtod(b"1e3"), Some(1000.0));
        assert_eq!(strtod(b"x"), None);
        assert_eq!(strtod(b"1.5x"), None);
        assert!(strtod(b"nan").is_some_and(f64::is_nan));
    }
}
