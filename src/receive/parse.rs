//! Pure parsers for one reply line (without its `\r\n`). They return byte ranges into
//! the line instead of `Bytes`, so the state machine splits the line off the buffer
//! only when a reply keeps some of it.
//!
//! Each parser quotes the grammar it implements from `protocol.txt` (and
//! RESPONSES.md where the real server differs).

use std::ops::Range;

use crate::error::{DecodeError, ServerErrorKind, Snippet};
use crate::pending::code;

/// Decimal digits to a `u64`: 1 to 20 digits, no sign, no overflow.
#[inline]
pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

#[inline]
fn parse_u32(digits: &[u8]) -> Option<u32> {
    parse_u64(digits)?.try_into().ok()
}

fn number<T>(value: Option<T>, field: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::BadNumber { field })
}

fn malformed(what: &'static str, line: &[u8]) -> DecodeError {
    DecodeError::Malformed {
        what,
        line: Snippet::of(line),
    }
}

/// Splits `line[from..]` on single spaces, yielding ranges into `line`.
struct Tokens<'l> {
    line: &'l [u8],
    pos: usize,
}

impl<'l> Tokens<'l> {
    fn new(line: &'l [u8], from: usize) -> Self {
        Self { line, pos: from }
    }

    /// The next token's range; `None` at the end. An empty token (two spaces, or a
    /// trailing space) is returned as an empty range for the caller to refuse.
    fn next_range(&mut self) -> Option<Range<usize>> {
        if self.pos > self.line.len() {
            return None;
        }
        let start = self.pos;
        let end = memchr::memchr(b' ', &self.line[start..]).map_or(self.line.len(), |i| start + i);
        self.pos = end + 1;
        Some(start..end)
    }

    fn next_token(&mut self) -> Option<&'l [u8]> {
        self.next_range().map(|r| &self.line[r])
    }

    /// Everything after the current position (for values that may hold spaces).
    fn rest(&self) -> Range<usize> {
        self.pos.min(self.line.len())..self.line.len()
    }
}

/// An error line, recognised by its first word.
///
/// ```text
/// error-line = "ERROR" [ (SP / ":") <msg> ] CRLF
///            / "CLIENT_ERROR" SP <msg> CRLF
///            / "SERVER_ERROR" SP <msg> CRLF
/// ```
/// (RESPONSES.md §2; 1.6.18 also sends `ERROR: shutdown not enabled` and newer servers
/// `SERVER_ERROR: ...`, so a colon is accepted after every word.)
pub(crate) fn error_line(line: &[u8]) -> Option<(ServerErrorKind, Range<usize>)> {
    let (kind, word_len) = match line.first()? {
        b'E' if line.starts_with(b"ERROR") => (ServerErrorKind::Error, 5),
        b'C' if line.starts_with(b"CLIENT_ERROR") => (ServerErrorKind::ClientError, 12),
        b'S' if line.starts_with(b"SERVER_ERROR") => (ServerErrorKind::ServerError, 12),
        _ => return None,
    };
    let message = match line.get(word_len) {
        None => word_len..word_len,
        Some(b' ') => word_len + 1..line.len(),
        Some(b':') => {
            let start = if line.get(word_len + 1) == Some(&b' ') {
                word_len + 2
            } else {
                word_len + 1
            };
            start..line.len()
        }
        Some(_) => return None,
    };
    Some((kind, message))
}

/// A `VALUE` header.
///
/// ```text
/// VALUE <key> <flags> <bytes> [<cas unique>]\r\n
/// ```
/// The cas field is present exactly for `gets` and `gats`.
#[derive(Debug, Clone)]
pub(crate) struct ValueHeader {
    pub(crate) key: Range<usize>,
    /// The key is the one the caller expected.
    pub(crate) expected: bool,
    pub(crate) flags: u32,
    pub(crate) len: u64,
    pub(crate) cas: Option<u64>,
    /// Where the fields end: the line's end, or its `\r`.
    pub(crate) end: usize,
}

/// Parses the `VALUE` header at the start of `bytes`: a whole line (without its
/// `\r\n`), or the unread bytes, in which case the fields stop at the line's `\r`
/// and the caller checks the `\r\n` (no search for the line's end is needed).
///
/// `expected` is the key the reply most likely carries (the next one requested): if
/// the line starts with it, no search for the end of the key is needed either.
#[inline]
pub(crate) fn value_header(
    bytes: &[u8],
    with_cas: bool,
    expected: &[u8],
) -> Result<ValueHeader, DecodeError> {
    // One pass: the key up to its space, then each number read as it is scanned.
    let bad = || {
        let line_end = memchr::memchr(b'\r', bytes).unwrap_or(bytes.len());
        malformed("VALUE", &bytes[..line_end])
    };
    let end = 6 + expected.len();
    let is_expected = !expected.is_empty()
        && bytes.get(end) == Some(&b' ')
        && bytes.get(6..end).is_some_and(|key| same(key, expected));
    let key_end = if is_expected {
        end
    } else {
        match bytes.get(6..).and_then(|rest| memchr::memchr(b' ', rest)) {
            Some(0) | None => return Err(bad()),
            Some(n) => 6 + n,
        }
    };
    let mut pos = key_end + 1;
    let flags = digits(bytes, &mut pos, "VALUE flags")?;
    if bytes.get(pos) != Some(&b' ') {
        return Err(bad());
    }
    pos += 1;
    let len = digits(bytes, &mut pos, "VALUE bytes")?;
    let cas = match bytes.get(pos) {
        Some(b' ') => {
            pos += 1;
            Some(digits(bytes, &mut pos, "VALUE cas")?)
        }
        _ => None,
    };
    if cas.is_some() != with_cas {
        return Err(bad());
    }
    Ok(ValueHeader {
        key: 6..key_end,
        expected: is_expected,
        flags: u32::try_from(flags).map_err(|_| DecodeError::BadNumber {
            field: "VALUE flags",
        })?,
        len,
        cas,
        end: pos,
    })
}

/// A whole `VALUE` line (without its `\r\n`): the fields must end where it does.
pub(crate) fn value_line(
    line: &[u8],
    with_cas: bool,
    expected: &[u8],
) -> Result<ValueHeader, DecodeError> {
    let header = value_header(line, with_cas, expected)?;
    if header.end != line.len() {
        return Err(malformed("VALUE", line));
    }
    Ok(header)
}

/// Byte equality, inline for the short strings keys usually are (a slice `==` calls
/// `memcmp`, whose call costs more than comparing a few bytes): eight bytes at a time.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    let (mut a, mut b) = (a, b);
    while let (Some((x, rest_a)), Some((y, rest_b))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        (a, b) = (rest_a, rest_b);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Reads the decimal digits at `*pos` (at least one, at most a `u64`) and moves past
/// them; what follows is the caller's to check.
#[inline]
fn digits(bytes: &[u8], pos: &mut usize, field: &'static str) -> Result<u64, DecodeError> {
    let mut n: u64 = 0;
    let mut count = 0;
    for &b in bytes.get(*pos..).unwrap_or_default() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if count == 20 {
            return Err(DecodeError::BadNumber { field });
        }
        // 19 digits never overflow; only the 20th needs checking.
        n = if count < 19 {
            n * 10 + u64::from(d)
        } else {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d)))
                .ok_or(DecodeError::BadNumber { field })?
        };
        count += 1;
    }
    if count == 0 {
        return Err(DecodeError::BadNumber { field });
    }
    *pos += count;
    Ok(n)
}

/// A `STAT <name> <value>` line; the value is the rest of the line (it may hold
/// spaces, RESPONSES.md §5.8).
pub(crate) fn stat_line(line: &[u8]) -> Result<(Range<usize>, Range<usize>), DecodeError> {
    let mut tokens = Tokens::new(line, 5);
    match tokens.next_range() {
        Some(name) if !name.is_empty() => Ok((name, tokens.rest())),
        _ => Err(malformed("STAT", line)),
    }
}

/// A `stats cachedump` line: `ITEM <key> [<bytes> b; <expiry> s]`.
pub(crate) fn item_line(line: &[u8]) -> Result<(Range<usize>, u64, u64), DecodeError> {
    let bad = || malformed("ITEM", line);
    let mut tokens = Tokens::new(line, 5);
    let key = tokens
        .next_range()
        .filter(|r| !r.is_empty())
        .ok_or_else(bad)?;
    let size = tokens.next_token().and_then(|t| t.strip_prefix(b"["));
    let b = tokens.next_token();
    let expiry = tokens.next_token();
    let s = tokens.next_token();
    match (size, b, expiry, s, tokens.next_range()) {
        (Some(size), Some(b"b;"), Some(expiry), Some(b"s]"), None) => Ok((
            key,
            number(parse_u64(size), "ITEM size")?,
            number(parse_u64(expiry), "ITEM expiry")?,
        )),
        _ => Err(bad()),
    }
}

/// A `stats detail dump` line: `PREFIX <prefix> get <n> hit <n> set <n> del <n>`.
pub(crate) fn prefix_line(line: &[u8]) -> Result<(Range<usize>, [u64; 4]), DecodeError> {
    let mut tokens = Tokens::new(line, 7);
    let prefix = tokens
        .next_range()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| malformed("PREFIX", line))?;
    let mut counts = [0u64; 4];
    for (name, slot) in ["get", "hit", "set", "del"].iter().zip(&mut counts) {
        if tokens.next_token() != Some(name.as_bytes()) {
            return Err(malformed("PREFIX", line));
        }
        *slot = number(tokens.next_token().and_then(parse_u64), "PREFIX count")?;
    }
    if tokens.next_range().is_some() {
        return Err(malformed("PREFIX", line));
    }
    Ok((prefix, counts))
}

/// A meta reply header: its code and size, and where the flags the codec checks
/// against the command are. Every return flag this crate knows is validated here
/// (numbers in range), so `MetaResponse`'s accessors can read them without failing.
///
/// ```text
/// <RC> [<size>] <flag>*\r\n     RC = VA (with size) / HD / EN / NF / NS / EX / MN
/// ```
#[derive(Debug, Clone, Default)]
pub(crate) struct MetaHeader {
    /// One of the `code::*` bits.
    pub(crate) code: u8,
    /// `VA`'s data length.
    pub(crate) size: u64,
    /// The return flags, as one range (empty if none).
    pub(crate) flags: Range<usize>,
    pub(crate) opaque: Option<Range<usize>>,
    pub(crate) key: Option<Range<usize>>,
    pub(crate) key_is_base64: bool,
}

impl MetaHeader {
    /// A bare `EN` with no flags: what servers before memcached#880 send for a miss,
    /// without the opaque or key echo.
    pub(crate) fn is_bare_miss(&self) -> bool {
        self.code == code::EN && self.flags.is_empty()
    }
}

/// The return flags parsed into typed fields.
const KNOWN_RETURN_FLAGS: &[u8] = b"cftshlkObWXZ";

/// Reads the return code of a meta line, if it is one.
pub(crate) fn meta_code(line: &[u8]) -> Option<u8> {
    if line.len() > 2 && line[2] != b' ' {
        return None;
    }
    Some(match line.get(..2)? {
        b"VA" => code::VA,
        b"HD" => code::HD,
        b"EN" => code::EN,
        b"NF" => code::NF,
        b"NS" => code::NS,
        b"EX" => code::EX,
        b"MN" => code::MN,
        b"ME" => code::ME,
        _ => return None,
    })
}

/// Parses a meta reply line whose code is not `ME`. Unknown return flags are kept
/// (servers add flags); known ones must be well-formed.
pub(crate) fn meta_header(line: &[u8], code_bit: u8) -> Result<MetaHeader, DecodeError> {
    let mut header = MetaHeader {
        code: code_bit,
        ..MetaHeader::default()
    };
    let mut tokens = Tokens::new(line, 3);
    if code_bit == code::VA {
        header.size = number(tokens.next_token().and_then(parse_u64), "VA size")?;
    }
    let flags_start = tokens.pos.min(line.len());
    // memcached returns each flag once; a repeated one could be checked on one
    // occurrence and read on another, so it is refused.
    let mut seen = 0u64;
    while let Some(range) = tokens.next_range() {
        if range.is_empty() {
            return Err(malformed("meta", line));
        }
        let letter = line[range.start];
        if let Some(bit) = KNOWN_RETURN_FLAGS.iter().position(|&l| l == letter) {
            if seen & (1 << bit) != 0 {
                return Err(malformed("meta", line));
            }
            seen |= 1 << bit;
        }
        let token = &line[range.start + 1..range.end];
        let token_range = range.start + 1..range.end;
        let valid = match letter {
            b'c' | b's' | b'l' => parse_u64(token).is_some(),
            b'f' => parse_u32(token).is_some(),
            b't' => token == b"-1" || parse_u32(token).is_some(),
            b'h' => matches!(token, b"0" | b"1"),
            _ => true,
        };
        if !valid {
            let field = match letter {
                b'c' => "meta c",
                b's' => "meta s",
                b'l' => "meta l",
                b'f' => "meta f",
                b't' => "meta t",
                _ => "meta h",
            };
            return Err(DecodeError::BadNumber { field });
        }
        match letter {
            b'k' if !token.is_empty() => header.key = Some(token_range),
            b'O' => header.opaque = Some(token_range),
            b'b' if token.is_empty() => header.key_is_base64 = true,
            b'W' | b'X' | b'Z' if token.is_empty() => {}
            b'k' | b'b' | b'W' | b'X' | b'Z' => return Err(malformed("meta", line)),
            // An unknown flag is kept in `raw_flags`, not an error.
            _ => {}
        }
    }
    header.flags = flags_start..line.len();
    if code_bit == code::MN && !header.flags.is_empty() {
        return Err(malformed("MN", line));
    }
    Ok(header)
}

/// `ME <key> <k>=<v>*`: the key and the field list.
pub(crate) fn meta_debug_line(line: &[u8]) -> Result<(Range<usize>, Range<usize>), DecodeError> {
    let mut tokens = Tokens::new(line, 3);
    match tokens.next_range() {
        Some(key) if !key.is_empty() => Ok((key, tokens.rest())),
        _ => Err(malformed("ME", line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"99999999999999999999", None),
            (b"000000000000000000001", None),
            (b"", None),
            (b"-1", None),
            (b"+1", None),
            (b"1 ", None),
            (b"1a", None),
        ];
        for (digits, want) in cases {
            assert_eq!(
                parse_u64(digits),
                *want,
                "{:?}",
                digits.escape_ascii().to_string()
            );
        }
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
    }

    #[test]
    fn error_lines() {
        type Case<'a> = (&'a [u8], Option<(ServerErrorKind, &'a [u8])>);
        let cases: &[Case<'_>] = &[
            (b"ERROR", Some((ServerErrorKind::Error, b""))),
            (
                b"ERROR Too many open connections",
                Some((ServerErrorKind::Error, b"Too many open connections")),
            ),
            (
                b"ERROR: shutdown not enabled",
                Some((ServerErrorKind::Error, b"shutdown not enabled")),
            ),
            (
                b"CLIENT_ERROR bad data chunk",
                Some((ServerErrorKind::ClientError, b"bad data chunk")),
            ),
            (
                b"SERVER_ERROR: shutdown not enabled",
                Some((ServerErrorKind::ServerError, b"shutdown not enabled")),
            ),
            (
                b"SERVER_ERROR object too large for cache",
                Some((ServerErrorKind::ServerError, b"object too large for cache")),
            ),
            (b"ERRORS", None),
            (b"END", None),
            (b"", None),
            (b"CLIENT_ERRORx", None),
        ];
        for (line, want) in cases {
            let got = error_line(line).map(|(k, r)| (k, &line[r]));
            assert_eq!(got, *want, "{:?}", line.escape_ascii().to_string());
        }
    }

    #[test]
    fn value_headers() {
        let h = value_line(b"VALUE k 42 5", false, b"").unwrap();
        assert_eq!((h.key, h.flags, h.len, h.cas), (6..7, 42, 5, None));
        let h = value_line(b"VALUE key 0 3 18446744073709551615", true, b"key").unwrap();
        assert_eq!(h.cas, Some(u64::MAX));
        let bad: &[(&[u8], bool)] = &[
            (b"VALUE k 0 5 1", false),
            (b"VALUE k 0 5", true),
            (b"VALUE k 0", false),
            (b"VALUE  0 5", false),
            (b"VALUE k 0 5 ", false),
            (b"VALUE k 0  5", false),
            (b"VALUE k 4294967296 5", false),
            (b"VALUE k 0 x", false),
            (b"VALUE k 0 5 18446744073709551616", true),
        ];
        for (line, cas) in bad {
            assert!(
                value_line(line, *cas, b"k").is_err() && value_line(line, *cas, b"").is_err(),
                "{:?}",
                line.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn stats_lines() {
        let line = b"STAT version 1.6.18 with spaces";
        let (name, value) = stat_line(line).unwrap();
        assert_eq!(
            (&line[name], &line[value]),
            (&b"version"[..], &b"1.6.18 with spaces"[..])
        );
        let line = b"STAT empty";
        let (name, value) = stat_line(line).unwrap();
        assert_eq!((&line[name], &line[value]), (&b"empty"[..], &b""[..]));
        assert!(stat_line(b"STAT ").is_err());

        let line = b"ITEM foo [5 b; 0 s]";
        let (key, size, exp) = item_line(line).unwrap();
        assert_eq!((&line[key], size, exp), (&b"foo"[..], 5, 0));
        assert!(item_line(b"ITEM foo [5 b; 0 s] x").is_err());
        assert!(item_line(b"ITEM foo 5 b; 0 s]").is_err());

        let line = b"PREFIX user get 3 hit 2 set 1 del 0";
        let (prefix, counts) = prefix_line(line).unwrap();
        assert_eq!((&line[prefix], counts), (&b"user"[..], [3, 2, 1, 0]));
        assert!(prefix_line(b"PREFIX user get 3 hit 2 set 1").is_err());
        assert!(prefix_line(b"PREFIX user hit 3 get 2 set 1 del 0").is_err());
    }

    #[test]
    fn meta_headers() {
        let line = b"VA 5 s5 f9 ks_mg O12345 c53 t-1 b W X Z h1 l7 Q9";
        let h = meta_header(line, meta_code(line).unwrap()).unwrap();
        assert_eq!(h.code, code::VA);
        assert_eq!(h.size, 5);
        assert_eq!(&line[h.key.clone().unwrap()], b"s_mg");
        assert_eq!(&line[h.opaque.clone().unwrap()], b"12345");
        assert!(h.key_is_base64);
        assert_eq!(&line[h.flags.clone()], &line[5..]);

        assert!(meta_header(b"HD t300 t", code::HD).is_err(), "repeated");
        assert!(meta_header(b"HD t300", code::HD).is_ok());
        assert!(meta_header(b"EN", code::EN).unwrap().is_bare_miss());
        assert!(!meta_header(b"EN O1", code::EN).unwrap().is_bare_miss());
        for bad in [
            &b"HD c"[..],
            b"HD f4294967296",
            b"HD t-2",
            b"HD h2",
            b"HD  c1",
            b"HD c1 ",
            b"HD k",
            b"HD Wx",
            b"HD O1 O1",
            b"HD ka kb",
            b"HD W W",
            b"HD c1 t2 c1",
        ] {
            assert!(
                meta_header(bad, code::HD).is_err(),
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }
        assert!(meta_header(b"VA x", code::VA).is_err());
        assert!(meta_header(b"MN x", code::MN).is_err());
        assert_eq!(meta_code(b"HDX"), None);
        assert_eq!(meta_code(b"H"), None);
        assert_eq!(meta_code(b"MN"), Some(code::MN));
    }
}
