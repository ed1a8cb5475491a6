//! Pure parsers for one reply line. They return byte ranges into what they read
//! instead of `Bytes`, so the family readers split bytes off the buffer only when a
//! reply keeps some of them.
//!
//! The parsers of the lines a reply usually starts with (a `VALUE` header, a meta
//! header, a number) read a [`Text`]: either a whole line whose end the search found,
//! or the unread bytes, whose line ends at the first `\r\n`. On the unread bytes a
//! parser succeeds only on a clean line, exactly as it would on the same line found
//! by the search, and refuses anything else; the reader then searches for the line's
//! end and runs the same parser on the line, which decides. That is what makes the
//! quick path and the slow one a single grammar: the outcome of a reply does not
//! depend on where the reads cut it.
//!
//! Each parser quotes the grammar it implements from `protocol.txt` (and
//! RESPONSES.md where the real server differs).

use std::ops::Range;

use crate::error::{DecodeError, ServerErrorKind, Snippet};
use crate::expect::code;

/// What a parser reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum Text<'a> {
    /// The unread bytes: the line (if it is all there) ends at the first `\r\n`.
    Unread(&'a [u8]),
    /// A whole line, without its `\r\n`.
    Line(&'a [u8]),
}

/// Why a parser did not take what it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The line is not of this shape at all (another parser may take it).
    NotThis,
    /// The unread bytes end before the line does, or hold something only the whole
    /// line can decide (never returned for a [`Text::Line`]).
    Unsure,
    /// The line has this shape, but missing or extra fields.
    Malformed(&'static str),
    /// A number field is not decimal digits or does not fit its type.
    BadNumber(&'static str),
}

impl Refusal {
    /// The decode error for a whole line this parser refused; `None` for
    /// [`Refusal::NotThis`], which the caller decides.
    pub(super) fn error(self, line: &[u8]) -> Option<DecodeError> {
        match self {
            Self::NotThis | Self::Unsure => None,
            Self::Malformed(what) => Some(malformed(what, line)),
            Self::BadNumber(field) => Some(DecodeError::BadNumber { field }),
        }
    }
}

pub(super) fn malformed(what: &'static str, line: &[u8]) -> DecodeError {
    DecodeError::Malformed {
        what,
        line: Snippet::of(line),
    }
}

/// The largest `u64`, in decimal: a 20-digit number fits exactly when it is not
/// above this (same length, so bytewise order is numeric order).
const U64_MAX_DIGITS: &[u8; 20] = b"18446744073709551615";

/// Decimal digits to a `u64`: 1 to 20 digits, no sign, no overflow.
#[inline]
pub(super) fn parse_u64(digits_only: &[u8]) -> Option<u64> {
    let mut pos = 0;
    let n = digits(digits_only, &mut pos, "").ok()?;
    (pos == digits_only.len()).then_some(n)
}

/// Reads the decimal digits at `*pos` (at least one, at most a `u64`) and moves past
/// them; what follows is the caller's to check. Overflow is decided once, from the
/// digit count (19 digits always fit; 20 fit up to `u64::MAX`), not per digit.
#[inline(always)]
fn digits(bytes: &[u8], pos: &mut usize, field: &'static str) -> Result<u64, Refusal> {
    let rest = bytes.get(*pos..).unwrap_or_default();
    let mut n: u64 = 0;
    let mut count = 0;
    while let Some(&b) = rest.get(count) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        count += 1;
    }
    let fits = match count {
        1..=19 => true,
        20 => rest[..20] <= U64_MAX_DIGITS[..],
        _ => false,
    };
    if !fits {
        return Err(Refusal::BadNumber(field));
    }
    *pos += count;
    Ok(n)
}

/// Whether the line ends at `pos`: for a whole line, its end; for unread bytes, a
/// `\r\n` there. `Err(Unsure)` when unread bytes run out or hold anything else
/// (which only the whole line can decide).
#[inline(always)]
fn ends_at(text: Text<'_>, pos: usize) -> Result<bool, Refusal> {
    match text {
        Text::Line(line) => Ok(pos == line.len()),
        Text::Unread(bytes) => match bytes.get(pos..pos + 2) {
            Some(b"\r\n") => Ok(true),
            _ => Err(Refusal::Unsure),
        },
    }
}

/// Byte equality, inline for the short strings keys usually are (a slice `==` calls
/// `memcmp`, whose call costs more than comparing a few bytes): eight bytes at a time.
#[inline]
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
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

/// An error line, recognised by its first word.
///
/// ```text
/// error-line = "ERROR" [ (SP / ":") <msg> ] CRLF
///            / "CLIENT_ERROR" SP <msg> CRLF
///            / "SERVER_ERROR" SP <msg> CRLF
/// ```
/// (RESPONSES.md §2; 1.6.18 also sends `ERROR: shutdown not enabled` and newer servers
/// `SERVER_ERROR: ...`, so a colon is accepted after every word.)
pub(super) fn error_line(line: &[u8]) -> Option<(ServerErrorKind, Range<usize>)> {
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

/// A status word that carries a message (`MEMLIMIT_TOO_SMALL <msg>`): the message,
/// if `line` is `word` alone or `word`, a space and a message.
pub(super) fn word_with_message(line: &[u8], word: &[u8]) -> Option<Range<usize>> {
    let rest = line.strip_prefix(word)?;
    match rest.first() {
        None => Some(line.len()..line.len()),
        Some(b' ') => Some(word.len() + 1..line.len()),
        Some(_) => None,
    }
}

/// The reply to `incr`/`decr`: `<value>\r\n`, decimal digits. Returns the number and
/// the line's length.
#[inline]
pub(super) fn number(text: Text<'_>) -> Result<(u64, usize), Refusal> {
    match text {
        Text::Line(line) => match parse_u64(line) {
            Some(n) => Ok((n, line.len())),
            None if line.first().is_some_and(u8::is_ascii_digit) => {
                Err(Refusal::BadNumber("counter"))
            }
            None => Err(Refusal::NotThis),
        },
        Text::Unread(bytes) => {
            let mut pos = 0;
            let n = digits(bytes, &mut pos, "counter").map_err(|_| Refusal::Unsure)?;
            ends_at(text, pos)?;
            Ok((n, pos))
        }
    }
}

/// `VERSION <version>`: the version's range.
pub(super) fn version_line(line: &[u8]) -> Option<Range<usize>> {
    line.starts_with(b"VERSION ").then_some(8..line.len())
}

/// A `VALUE` header.
///
/// ```text
/// VALUE <key> <flags> <bytes> [<cas unique>]\r\n
/// ```
/// The cas field is present exactly for `gets` and `gats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ValueHeader {
    pub(super) key: Range<usize>,
    /// The key is the one the caller expected.
    pub(super) expected: bool,
    pub(super) flags: u64,
    pub(super) len: u64,
    pub(super) cas: Option<u64>,
    /// The line's length without its `\r\n`.
    pub(super) line_len: usize,
}

/// Parses a `VALUE` header. `expected` is the key the reply most likely carries (the
/// next one requested): if the line starts with it, no search for the key's end is
/// needed. On unread bytes, a key that is not the expected one must hold no byte up
/// to a space (no requested key does), else the whole line decides.
#[inline(always)]
pub(super) fn value_header(
    text: Text<'_>,
    with_cas: bool,
    expected: &[u8],
) -> Result<ValueHeader, Refusal> {
    let bytes = match text {
        Text::Unread(bytes) | Text::Line(bytes) => bytes,
    };
    if !bytes.starts_with(b"VALUE ") {
        return Err(if bytes.len() < 6 && b"VALUE ".starts_with(bytes) {
            Refusal::Unsure
        } else {
            Refusal::NotThis
        });
    }
    let bad = Refusal::Malformed("VALUE");
    let end = 6 + expected.len();
    let is_expected = !expected.is_empty()
        && bytes.get(end) == Some(&b' ')
        && bytes.get(6..end).is_some_and(|key| same(key, expected));
    let key_end = if is_expected {
        end
    } else {
        let rest = bytes.get(6..).unwrap_or_default();
        let space = match text {
            Text::Line(_) => memchr::memchr(b' ', rest),
            // Any byte up to a space (a line end among them) is the line's to decide.
            Text::Unread(_) => match rest.iter().position(|&b| b <= b' ') {
                Some(i) if rest[i] == b' ' => Some(i),
                _ => return Err(Refusal::Unsure),
            },
        };
        match space {
            Some(0) | None => return Err(bad),
            Some(n) => 6 + n,
        }
    };
    let mut pos = key_end + 1;
    let flags = digits(bytes, &mut pos, "VALUE flags")?;
    if bytes.get(pos) != Some(&b' ') {
        return Err(bad);
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
        return Err(bad);
    }
    if !ends_at(text, pos)? {
        return Err(bad);
    }
    Ok(ValueHeader {
        key: 6..key_end,
        expected: is_expected,
        flags,
        len,
        cas,
        line_len: pos,
    })
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

/// A `STAT <name> <value>` line; the value is the rest of the line (it may hold
/// spaces, RESPONSES.md §5.8).
pub(super) fn stat_line(line: &[u8]) -> Result<(Range<usize>, Range<usize>), Refusal> {
    let mut tokens = Tokens::new(line, 5);
    match tokens.next_range() {
        Some(name) if !name.is_empty() => Ok((name, tokens.rest())),
        _ => Err(Refusal::Malformed("STAT")),
    }
}

/// A `stats cachedump` line: `ITEM <key> [<bytes> b; <expiry> s]`.
pub(super) fn item_line(line: &[u8]) -> Result<(Range<usize>, u64, u64), Refusal> {
    let bad = Refusal::Malformed("ITEM");
    let mut tokens = Tokens::new(line, 5);
    let key = tokens.next_range().filter(|r| !r.is_empty()).ok_or(bad)?;
    let size = tokens.next_token().and_then(|t| t.strip_prefix(b"["));
    let b = tokens.next_token();
    let expiry = tokens.next_token();
    let s = tokens.next_token();
    match (size, b, expiry, s, tokens.next_range()) {
        (Some(size), Some(b"b;"), Some(expiry), Some(b"s]"), None) => Ok((
            key,
            parse_u64(size).ok_or(Refusal::BadNumber("ITEM size"))?,
            parse_u64(expiry).ok_or(Refusal::BadNumber("ITEM expiry"))?,
        )),
        _ => Err(bad),
    }
}

/// A `stats detail dump` line: `PREFIX <prefix> get <n> hit <n> set <n> del <n>`.
pub(super) fn prefix_line(line: &[u8]) -> Result<(Range<usize>, [u64; 4]), Refusal> {
    let bad = Refusal::Malformed("PREFIX");
    let mut tokens = Tokens::new(line, 7);
    let prefix = tokens.next_range().filter(|r| !r.is_empty()).ok_or(bad)?;
    let mut counts = [0u64; 4];
    for (name, slot) in ["get", "hit", "set", "del"].iter().zip(&mut counts) {
        if tokens.next_token() != Some(name.as_bytes()) {
            return Err(bad);
        }
        *slot = tokens
            .next_token()
            .and_then(parse_u64)
            .ok_or(Refusal::BadNumber("PREFIX count"))?;
    }
    if tokens.next_range().is_some() {
        return Err(bad);
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MetaHeader {
    /// `VA`'s data length.
    pub(super) size: u64,
    /// The line's length without its `\r\n`.
    pub(super) line_len: usize,
    /// Where the return flags start (`line_len` if there are none).
    pub(super) flags_start: usize,
    /// The echoed opaque's and key's ranges (start, end), when `echoed` says so.
    /// Kept as two `u32`s each: a meta line is far shorter (longer ones are refused).
    opaque: (u32, u32),
    key: (u32, u32),
    echoed: u8,
    /// One of the `code::*` bits.
    pub(super) code: u8,
    pub(super) key_is_base64: bool,
}

const OPAQUE: u8 = 1;
const KEY: u8 = 2;

impl MetaHeader {
    /// The return flags' range.
    pub(super) fn flags(&self) -> Range<usize> {
        self.flags_start..self.line_len
    }

    /// The echoed opaque (`O`), without its letter.
    #[inline]
    pub(super) fn opaque(&self) -> Option<Range<usize>> {
        (self.echoed & OPAQUE != 0).then_some(self.opaque.0 as usize..self.opaque.1 as usize)
    }

    /// The echoed key (`k`), without its letter.
    #[inline]
    pub(super) fn key(&self) -> Option<Range<usize>> {
        (self.echoed & KEY != 0).then_some(self.key.0 as usize..self.key.1 as usize)
    }

    /// Whether an opaque or a key is echoed.
    #[inline]
    pub(super) fn echoes(&self) -> bool {
        self.echoed != 0
    }

    /// A bare `EN` with no flags: what servers before memcached#880 send for a miss,
    /// without the opaque or key echo.
    pub(super) fn is_bare_miss(&self) -> bool {
        self.code == code::EN && self.flags_start == self.line_len
    }
}

/// The return code of a meta line, if it is one.
#[inline]
fn meta_code(two: [u8; 2]) -> Option<u8> {
    Some(match &two {
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

/// Whether a whole line starts with a meta return code other than `ME` (whose line
/// is a different shape, see [`meta_debug_line`]).
pub(super) fn is_meta_line(line: &[u8]) -> bool {
    match line.first_chunk::<2>().and_then(|two| meta_code(*two)) {
        Some(c) => c != code::ME && (line.len() == 2 || line[2] == b' '),
        None => false,
    }
}

/// The end of the token starting at `pos`: the next space, or the line's end.
#[inline]
fn token_end(line: &[u8], pos: usize) -> usize {
    line[pos..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |i| pos + i)
}

/// Reads the number at `*pos` that makes up the rest of a token: digits up to a
/// space or the line's end, else `BadNumber(field)`.
#[inline]
fn token_number(line: &[u8], pos: &mut usize, field: &'static str) -> Result<u64, Refusal> {
    let n = digits(line, pos, field)?;
    match line.get(*pos) {
        None | Some(b' ') => Ok(n),
        Some(_) => Err(Refusal::BadNumber(field)),
    }
}

/// Parses a meta reply header line (any code but `ME`) in one pass: the code, `VA`'s
/// size, then each return flag, its value checked as it is read. Unknown return
/// flags are kept (servers add flags); known ones must be well-formed, and each may
/// appear once (a repeated one could be checked on one occurrence and read on
/// another).
pub(super) fn meta_header(line: &[u8]) -> Result<MetaHeader, Refusal> {
    let code = match line.first_chunk::<2>().and_then(|two| meta_code(*two)) {
        Some(c) if c != code::ME => c,
        _ => return Err(Refusal::NotThis),
    };
    let len = line.len();
    if u32::try_from(len).is_err() {
        return Err(Refusal::Malformed("meta"));
    }
    let mut pos = match line.get(2) {
        None => 2,
        Some(b' ') => 3,
        Some(_) => return Err(Refusal::NotThis),
    };
    let mut header = MetaHeader {
        code,
        line_len: len,
        ..MetaHeader::default()
    };
    if code == code::VA {
        if pos == 2 {
            return Err(Refusal::BadNumber("VA size"));
        }
        header.size = token_number(line, &mut pos, "VA size")?;
        pos = (pos + 1).min(len);
    }
    header.flags_start = pos;
    // memcached 1.6.10 to 1.6.17 end `md` and `ma` replies in a space (`HD \r\n`)
    // and can put two spaces before a flag (`HD  O1`): empty tokens are skipped.
    let mut seen = 0u16;
    // Marks a known flag seen; a second one is refused.
    let mut once = |bit: u16| {
        let repeated = seen & bit != 0;
        seen |= bit;
        if repeated {
            Err(Refusal::Malformed("meta"))
        } else {
            Ok(())
        }
    };
    while pos < len {
        let letter = line[pos];
        pos += 1;
        match letter {
            b'c' => {
                once(1)?;
                token_number(line, &mut pos, "meta c")?;
            }
            b'f' => {
                once(2)?;
                // 64-bit on servers built with large client flags.
                token_number(line, &mut pos, "meta f")?;
            }
            b't' => {
                once(4)?;
                if line[pos..].starts_with(b"-1") && matches!(line.get(pos + 2), None | Some(b' '))
                {
                    pos += 2;
                } else if token_number(line, &mut pos, "meta t")? > u64::from(u32::MAX) {
                    return Err(Refusal::BadNumber("meta t"));
                }
            }
            b's' => {
                once(8)?;
                token_number(line, &mut pos, "meta s")?;
            }
            b'h' => {
                once(16)?;
                if !matches!(line.get(pos), Some(b'0' | b'1'))
                    || !matches!(line.get(pos + 1), None | Some(b' '))
                {
                    return Err(Refusal::BadNumber("meta h"));
                }
                pos += 1;
            }
            b'l' => {
                once(32)?;
                token_number(line, &mut pos, "meta l")?;
            }
            b'k' | b'O' => {
                once(if letter == b'k' { 64 } else { 128 })?;
                let end = token_end(line, pos);
                // Within the line, whose length fits a `u32` (checked above).
                let range = (pos as u32, end as u32);
                if letter == b'O' {
                    header.opaque = range;
                    header.echoed |= OPAQUE;
                } else if end == pos {
                    return Err(Refusal::Malformed("meta"));
                } else {
                    header.key = range;
                    header.echoed |= KEY;
                }
                pos = end;
            }
            b'b' | b'W' | b'X' | b'Z' => {
                once(match letter {
                    b'b' => 256,
                    b'W' => 512,
                    b'X' => 1024,
                    _ => 2048,
                })?;
                if !matches!(line.get(pos), None | Some(b' ')) {
                    return Err(Refusal::Malformed("meta"));
                }
                header.key_is_base64 |= letter == b'b';
            }
            // An empty token (two spaces): nothing to read.
            b' ' => continue,
            // An unknown flag is kept in the raw flags, not an error.
            _ => pos = token_end(line, pos),
        }
        // Now at the token's end: the line's end, or a space before the next token
        // (or before the end: a trailing space).
        if pos < len {
            pos += 1;
        }
    }
    if code == code::MN && header.flags_start != header.line_len {
        return Err(Refusal::Malformed("MN"));
    }
    Ok(header)
}

/// The length of the line at the front of `rest` if it ends (`\r\n`) within
/// `max_len` bytes and holds no `\r` or `\n` before: a short line's end found with
/// one search, so its parser reads a whole line. `None` leaves it to the resumable
/// search, which decides everything else.
///
/// Meta lines are short, so the search is eight bytes at a time in a register (a
/// word holds a `\r` or `\n` exactly when xoring it with either byte leaves a zero
/// byte), which costs less than setting up a vector search.
#[inline]
pub(super) fn short_line(rest: &[u8], max_len: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let window = &rest[..rest.len().min(max_len.saturating_add(2))];
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & TOPS;
    let mut at = 0;
    let found = loop {
        let Some(word) = window.get(at..at + 8) else {
            break window[at..]
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map(|i| at + i)?;
        };
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let hits =
            zero_byte(w ^ (ONES * u64::from(b'\r'))) | zero_byte(w ^ (ONES * u64::from(b'\n')));
        if hits != 0 {
            // The lowest flagged byte is a real match (borrows only run upward).
            break at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    };
    (window.get(found..found + 2) == Some(b"\r\n")).then_some(found)
}

/// `ME <key> <k>=<v>*`: the key and the field list.
pub(super) fn meta_debug_line(line: &[u8]) -> Result<(Range<usize>, Range<usize>), Refusal> {
    if !line.starts_with(b"ME ") {
        return Err(Refusal::NotThis);
    }
    let mut tokens = Tokens::new(line, 3);
    match tokens.next_range() {
        Some(key) if !key.is_empty() => Ok((key, tokens.rest())),
        _ => Err(Refusal::Malformed("ME")),
    }
}

/// An `lru_crawler metadump` item line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DumpLine {
    /// The key as sent (URL-encoded), and whether it holds a `%` escape.
    pub(super) key: Range<usize>,
    pub(super) escaped: bool,
    pub(super) exp: i64,
    pub(super) last_access: u64,
    pub(super) cas: u64,
    pub(super) fetched: bool,
    pub(super) class: Option<u32>,
    pub(super) size: Option<u64>,
    pub(super) flags: Option<u64>,
    /// The line's length without trailing spaces.
    pub(super) len: usize,
}

/// Whether `value` is memcached's URI encoding: every `%` followed by two hex digits.
fn uri_encoded(value: &[u8]) -> bool {
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'%', &value[i..]) {
        let at = i + p;
        match value.get(at + 1..at + 3) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => i = at + 3,
            _ => return false,
        }
    }
    true
}

/// An `lru_crawler metadump` item line.
///
/// ```text
/// item = "key=" <url-encoded key> SP "exp=" ("-1" / <unix>) SP "la=" <unix>
///        SP "cas=" <u64> SP "fetch=" ("yes" / "no") SP "cls=" <u32> SP "size=" <u64>
///        [SP "flags=" <u64>] *(SP <name> "=" <value>) *SP
/// ```
/// (RESPONSES.md §5.9; `flags=` from 1.6.24, trailing space from 1.6.39.) The fields
/// protocol.txt promises (`key`, `exp`, `la`, `cas`, `fetch`) are required; a known
/// field twice, an empty token, a token without `=`, a bad number or a bad `%`
/// escape is malformed. Other fields are kept in the line.
pub(super) fn dump_line(line: &[u8]) -> Result<DumpLine, Refusal> {
    let bad = Refusal::Malformed("metadump");
    if !line.starts_with(b"key=") {
        return Err(Refusal::NotThis);
    }
    let len = line.len() - line.iter().rev().take_while(|&&b| b == b' ').count();
    let body = &line[..len];
    let mut key = None;
    let (mut exp, mut la, mut cas, mut fetched) = (None, None, None, None);
    let (mut class, mut size, mut flags) = (None, None, None);
    let mut pos = 0;
    for token in body.split(|&b| b == b' ') {
        let start = pos;
        pos += token.len() + 1;
        let eq = memchr::memchr(b'=', token).ok_or(bad)?;
        let (name, value) = (&token[..eq], &token[eq + 1..]);
        fn set<T>(
            slot: &mut Option<T>,
            value: Option<T>,
            field: &'static str,
        ) -> Result<(), Refusal> {
            if slot.is_some() {
                return Err(Refusal::Malformed("metadump"));
            }
            *slot = Some(value.ok_or(Refusal::BadNumber(field))?);
            Ok(())
        }
        match name {
            b"key" => {
                if value.is_empty() || !uri_encoded(value) {
                    return Err(bad);
                }
                set(
                    &mut key,
                    Some(start + 4..start + token.len()),
                    "metadump key",
                )?;
            }
            b"exp" => {
                let n = match value {
                    b"-1" => Some(-1),
                    _ => parse_u64(value).and_then(|n| i64::try_from(n).ok()),
                };
                set(&mut exp, n, "metadump exp")?;
            }
            b"la" => set(&mut la, parse_u64(value), "metadump la")?,
            b"cas" => set(&mut cas, parse_u64(value), "metadump cas")?,
            b"fetch" => {
                let f = match value {
                    b"yes" => Some(true),
                    b"no" => Some(false),
                    _ => None,
                };
                set(&mut fetched, f, "metadump fetch")?;
            }
            b"cls" => set(
                &mut class,
                parse_u64(value).and_then(|n| u32::try_from(n).ok()),
                "metadump cls",
            )?,
            b"size" => set(&mut size, parse_u64(value), "metadump size")?,
            b"flags" => set(&mut flags, parse_u64(value), "metadump flags")?,
            b"" => return Err(bad),
            _ => {}
        }
    }
    let (Some(key), Some(exp), Some(last_access), Some(cas), Some(fetched)) =
        (key, exp, la, cas, fetched)
    else {
        return Err(bad);
    };
    let escaped = line[key.clone()].contains(&b'%');
    Ok(DumpLine {
        key,
        escaped,
        exp,
        last_access,
        cas,
        fetched,
        class,
        size,
        flags,
        len,
    })
}

/// An `lru_crawler mgdump` line: `mg <key>`, or `mg <base64 key> b` for a binary key
/// (memcached 1.6.19 and later). The key's range, and whether it is base64.
pub(super) fn mgdump_line(line: &[u8]) -> Result<(Range<usize>, bool), Refusal> {
    let Some(rest) = line.strip_prefix(b"mg ") else {
        return Err(Refusal::NotThis);
    };
    let bad = Refusal::Malformed("mgdump");
    let (key_len, base64) = match memchr::memchr(b' ', rest) {
        None => (rest.len(), false),
        Some(n) if &rest[n..] == b" b" => (n, true),
        Some(_) => return Err(bad),
    };
    if key_len == 0 {
        return Err(bad);
    }
    Ok((3..3 + key_len, base64))
}

/// The header of an ElastiCache `config get` reply: `CONFIG <key> <flags> <bytes>`;
/// the block's length.
pub(super) fn config_header(line: &[u8]) -> Result<u64, Refusal> {
    if !line.starts_with(b"CONFIG ") {
        return Err(Refusal::NotThis);
    }
    let bad = Refusal::Malformed("CONFIG");
    let mut tokens = Tokens::new(line, 7);
    tokens.next_token().filter(|k| !k.is_empty()).ok_or(bad)?;
    tokens
        .next_token()
        .and_then(parse_u64)
        .ok_or(Refusal::BadNumber("CONFIG flags"))?;
    let bytes = tokens
        .next_token()
        .and_then(parse_u64)
        .ok_or(Refusal::BadNumber("CONFIG bytes"))?;
    if tokens.next_range().is_some() {
        return Err(bad);
    }
    Ok(bytes)
}

/// The body of `config get cluster`: `<version>\n<host>|<ip>|<port> ...\n` (a `\r`
/// before a `\n` is tolerated, and so is a missing last `\n`). The version, and each
/// node's host, IP and port ranges within `block`.
#[allow(clippy::type_complexity)]
pub(super) fn cluster_config(
    block: &[u8],
) -> Option<(u64, Vec<(Range<usize>, Range<usize>, u16)>)> {
    let mut lines = Vec::new();
    let mut pos = 0;
    while pos < block.len() {
        let end = memchr::memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i);
        let mut line = pos..end;
        if block[line.clone()].last() == Some(&b'\r') {
            line.end -= 1;
        }
        lines.push(line);
        pos = end + 1;
    }
    let mut lines = lines.into_iter();
    let version = parse_u64(&block[lines.next()?])?;
    let mut nodes = Vec::new();
    if let Some(list) = lines.next() {
        let mut at = list.start;
        for token in block[list.clone()].split(|&b| b == b' ') {
            let start = at;
            at += token.len() + 1;
            if token.is_empty() {
                continue;
            }
            let mut parts = token.splitn(3, |&b| b == b'|');
            let host = parts.next()?;
            let ip = parts.next()?;
            let port = parts.next()?;
            if host.is_empty() {
                return None;
            }
            let port = u16::try_from(parse_u64(port)?).ok()?;
            let host_range = start..start + host.len();
            let ip_start = host_range.end + 1;
            nodes.push((host_range, ip_start..ip_start + ip.len(), port));
        }
    }
    // Anything after the node list must be empty lines.
    if lines.any(|l| !l.is_empty()) {
        return None;
    }
    Some((version, nodes))
}

/// Token `index` of `line` (split on spaces) as a decimal length, if it is one: the
/// data block a raw command's header announces.
pub(super) fn length_token(line: &[u8], index: usize) -> Option<u64> {
    line.split(|&b| b == b' ').nth(index).and_then(parse_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `line` both ways: as a found line, and as the unread bytes `line\r\n`
    /// followed by more. Unread, the parser must agree with the line or be unsure.
    fn both<T: std::fmt::Debug + PartialEq>(
        line: &[u8],
        parse: impl Fn(Text<'_>) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let whole = parse(Text::Line(line));
        let mut unread = line.to_vec();
        unread.extend_from_slice(b"\r\nEND\r\n");
        // Unread, a parser may refuse a line it takes whole, never the reverse.
        match (&whole, parse(Text::Unread(&unread))) {
            (Ok(a), Ok(b)) => assert_eq!(*a, b),
            (Err(w), Ok(u)) => panic!(
                "{:?}: line {w:?}, unread {u:?}",
                line.escape_ascii().to_string()
            ),
            _ => {}
        }
        // Cut anywhere, the unread bytes are never taken.
        for cut in 0..line.len() + 1 {
            assert!(parse(Text::Unread(&unread[..cut])).is_err());
        }
        whole
    }

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
            let parsed = both(digits, number);
            assert_eq!(parsed.ok().map(|(n, _)| n), *want);
        }
        assert_eq!(
            number(Text::Line(b"12a")),
            Err(Refusal::BadNumber("counter"))
        );
        assert_eq!(number(Text::Line(b"STORED")), Err(Refusal::NotThis));
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
        assert_eq!(word_with_message(b"BUSY", b"BUSY"), Some(4..4));
        assert_eq!(word_with_message(b"BUSY now", b"BUSY"), Some(5..8));
        assert_eq!(word_with_message(b"BUSYX", b"BUSY"), None);
    }

    fn value_line(line: &[u8], cas: bool, expected: &[u8]) -> Result<ValueHeader, Refusal> {
        both(line, |text| value_header(text, cas, expected))
    }

    #[test]
    fn value_headers() {
        let h = value_line(b"VALUE k 42 5", false, b"").unwrap();
        assert_eq!((h.key, h.flags, h.len, h.cas), (6..7, 42, 5, None));
        // 8-byte client flags (memcached 1.6.22+ built with large client flags).
        let h = value_line(b"VALUE k 18446744073709551615 5", false, b"").unwrap();
        assert_eq!(h.flags, u64::MAX);
        let h = value_line(b"VALUE key 0 3 18446744073709551615", true, b"key").unwrap();
        assert_eq!(h.cas, Some(u64::MAX));
        assert!(h.expected);
        let h = value_line(b"VALUE keys 0 3", false, b"key").unwrap();
        assert!(!h.expected);
        let bad: &[(&[u8], bool)] = &[
            (b"VALUE k 0 5 1", false),
            (b"VALUE k 0 5", true),
            (b"VALUE k 0", false),
            (b"VALUE  0 5", false),
            (b"VALUE k 0 5 ", false),
            (b"VALUE k 0  5", false),
            (b"VALUE k 18446744073709551616 5", false),
            (b"VALUE k 0 x", false),
            (b"VALUE k 0 5 18446744073709551616", true),
            (b"VALUE k 0 5\rx", false),
        ];
        for (line, cas) in bad {
            for expected in [&b"k"[..], b""] {
                assert!(
                    value_line(line, *cas, expected).is_err(),
                    "{:?}",
                    line.escape_ascii()
                );
            }
        }
        // A found line cannot hold a line end, so bytes like these are a key's; on the
        // unread bytes only the found line can decide.
        for line in [&b"VALUE k\r 0 5"[..], b"VALUE k\n 0 5"] {
            assert!(value_line(line, false, b"k").is_ok());
            let mut unread = line.to_vec();
            unread.extend_from_slice(b"\r\n");
            assert_eq!(
                value_header(Text::Unread(&unread), false, b"k"),
                Err(Refusal::Unsure)
            );
        }
        assert_eq!(
            value_header(Text::Line(b"STORED"), false, b""),
            Err(Refusal::NotThis)
        );
        assert_eq!(
            value_header(Text::Unread(b"VAL"), false, b""),
            Err(Refusal::Unsure)
        );
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

    fn meta(line: &[u8]) -> Result<MetaHeader, Refusal> {
        let mut unread = line.to_vec();
        unread.extend_from_slice(b"\r\nEND\r\n");
        if let Some(len) = short_line(&unread, 8192) {
            assert_eq!(len, line.len(), "{:?}", line.escape_ascii().to_string());
        }
        meta_header(line)
    }

    #[test]
    fn meta_headers() {
        let line = b"VA 5 s5 f9 ks_mg O12345 c53 t-1 b W X Z h1 l7 Q9";
        let h = meta(line).unwrap();
        assert_eq!(h.code, code::VA);
        assert_eq!(h.size, 5);
        assert_eq!(&line[h.key().unwrap()], b"s_mg");
        assert_eq!(&line[h.opaque().unwrap()], b"12345");
        assert!(meta(b"HD O").unwrap().opaque() == Some(4..4));
        assert_eq!(meta(b"HD c1").unwrap().opaque(), None);
        assert!(h.key_is_base64);
        assert_eq!(&line[h.flags()], &line[5..]);
        let h = meta(b"VA 5").unwrap();
        assert_eq!((h.size, h.flags()), (5, 4..4));

        assert_eq!(
            meta(b"HD t300 t"),
            Err(Refusal::Malformed("meta")),
            "repeated"
        );
        assert!(meta(b"HD t300").is_ok());
        // memcached 1.6.10 to 1.6.17: `md`/`ma` replies end in a space, and a flag
        // can follow two spaces.
        for line in [
            &b"HD "[..],
            b"NF ",
            b"EX ",
            b"HD  O1",
            b"HD c1 ",
            b"HD  c1  t2 ",
        ] {
            assert!(meta(line).is_ok(), "{:?}", line.escape_ascii().to_string());
        }
        assert_eq!(&b"HD  O1"[meta(b"HD  O1").unwrap().opaque().unwrap()], b"1");
        assert_eq!(
            meta(b"HD  c1  c2"),
            Err(Refusal::Malformed("meta")),
            "repeated"
        );
        assert!(meta(b"EN").unwrap().is_bare_miss());
        assert!(!meta(b"EN O1").unwrap().is_bare_miss());
        for bad in [
            &b"HD c"[..],
            b"HD f18446744073709551616",
            b"HD t-2",
            b"HD h2",
            b"HD k",
            b"HD Wx",
            b"HD O1 O1",
            b"HD ka kb",
            b"HD W W",
            b"HD c1 t2 c1",
            b"HD c1\rX",
        ] {
            assert!(meta(bad).is_err(), "{:?}", bad.escape_ascii().to_string());
        }
        assert_eq!(meta(b"VA x"), Err(Refusal::BadNumber("VA size")));
        assert_eq!(meta(b"VA"), Err(Refusal::BadNumber("VA size")));
        assert_eq!(meta(b"MN x"), Err(Refusal::Malformed("MN")));
        assert_eq!(meta(b"HDX"), Err(Refusal::NotThis));
        assert_eq!(meta(b"H"), Err(Refusal::NotThis));
        assert_eq!(meta(b"ME k exp=1"), Err(Refusal::NotThis));
        assert!(meta(b"MN").is_ok());
        // Found, a line holding a line end is a token's; unread, the search decides.
        assert!(meta_header(b"HD Ox\ny").is_ok());
        assert!(meta_header(b"HD Ox\ry").is_ok());
        assert_eq!(short_line(b"HD Ox\ny\r\n", 100), None);
        assert_eq!(short_line(b"HD Ox\ry\r\n", 100), None);
        assert_eq!(short_line(b"HD Oxy\r\n", 100), Some(6));
        assert_eq!(short_line(b"HD Oxy\r\n", 5), None);
        assert_eq!(short_line(b"HD Oxy\r", 100), None);
        // Every position, against a bytewise search.
        for len in 0..40 {
            for end in [&b"\r\n"[..], b"\n", b"\r", b"\rx\r\n", b""] {
                let mut line = vec![b'a'; len];
                line.extend_from_slice(end);
                line.extend_from_slice(b"tail\r\n");
                let first = line.iter().position(|&b| b == b'\r' || b == b'\n');
                let want = first.filter(|&i| line.get(i..i + 2) == Some(b"\r\n"));
                assert_eq!(
                    short_line(&line, 100),
                    want.filter(|&i| i <= 100),
                    "{len} {end:?}"
                );
            }
        }
        assert!(is_meta_line(b"MN") && is_meta_line(b"HD c1") && !is_meta_line(b"HDX"));
        assert!(!is_meta_line(b"ME k"));
    }

    #[test]
    fn metadump_lines() {
        // 1.6.18, 1.6.27 (flags=), 1.6.45 (flags= and a trailing space).
        let line = b"key=md%3A2 exp=1796544256 la=1796544156 cas=2 fetch=no cls=7 size=367";
        let d = dump_line(line).unwrap();
        assert_eq!(&line[d.key.clone()], b"md%3A2");
        assert!(d.escaped);
        assert_eq!(
            (
                d.exp,
                d.last_access,
                d.cas,
                d.fetched,
                d.class,
                d.size,
                d.flags,
                d.len
            ),
            (
                1796544256,
                1796544156,
                2,
                false,
                Some(7),
                Some(367),
                None,
                line.len()
            )
        );
        let d = dump_line(b"key=g2 exp=-1 la=1 cas=5 fetch=yes cls=1 size=63 flags=0").unwrap();
        assert_eq!(
            (d.exp, d.fetched, d.flags, d.escaped),
            (-1, true, Some(0), false)
        );
        let line = b"key=l2 exp=-1 la=1 cas=3 fetch=yes cls=1 size=70 flags=18446744073709551615 ";
        let d = dump_line(line).unwrap();
        assert_eq!((d.flags, d.len), (Some(u64::MAX), line.len() - 1));
        // The promised fields only; unknown ones are kept, in any order.
        let d = dump_line(b"key=k fetch=no cas=1 future=x la=2 exp=3").unwrap();
        assert_eq!((d.exp, d.class, d.size), (3, None, None));
        for bad in [
            &b"key=k exp=-1 la=2 cas=1"[..],
            b"key=k exp=-1 la=2 cas=1 fetch=no fetch=no",
            b"key=k key=j exp=-1 la=2 cas=1 fetch=no",
            b"key=k%4 exp=-1 la=2 cas=1 fetch=no",
            b"key=k%%41 exp=-1 la=2 cas=1 fetch=no",
            b"key= exp=-1 la=2 cas=1 fetch=no",
            b"key=k  exp=-1 la=2 cas=1 fetch=no",
            b"key=k exp=-1 la=2 cas=1 fetch=no x",
            b"key=k exp=-1 la=2 cas=1 fetch=no =x",
            b"key=k exp=-3 la=2 cas=1 fetch=no",
            b"key=k exp=-1 la=2 cas=1 fetch=YES",
            b"key=k exp=-1 la=2 cas=1 fetch=no cls=-1",
            b"key=k exp=-1 la=2 cas=1 fetch=no size=1x",
        ] {
            assert!(
                matches!(
                    dump_line(bad),
                    Err(Refusal::Malformed(_) | Refusal::BadNumber(_))
                ),
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }
        assert_eq!(dump_line(b"END"), Err(Refusal::NotThis));
        assert_eq!(dump_line(b"OK"), Err(Refusal::NotThis));
    }

    #[test]
    fn mgdump_config_and_raw_lines() {
        assert_eq!(mgdump_line(b"mg d1"), Ok((3..5, false)));
        assert_eq!(mgdump_line(b"mg YjEx b"), Ok((3..7, true)));
        for bad in [&b"mg "[..], b"mg  a", b"mg a c", b"mg a b b", b"mg a b "] {
            assert_eq!(
                mgdump_line(bad),
                Err(Refusal::Malformed("mgdump")),
                "{bad:?}"
            );
        }
        assert_eq!(mgdump_line(b"EN"), Err(Refusal::NotThis));

        assert_eq!(config_header(b"CONFIG cluster 0 147"), Ok(147));
        assert_eq!(config_header(b"CONFIGX"), Err(Refusal::NotThis));
        assert_eq!(
            config_header(b"CONFIG cluster 0"),
            Err(Refusal::BadNumber("CONFIG bytes"))
        );
        assert_eq!(
            config_header(b"CONFIG  0 1"),
            Err(Refusal::Malformed("CONFIG"))
        );
        assert_eq!(
            config_header(b"CONFIG c 0 1 x"),
            Err(Refusal::Malformed("CONFIG"))
        );

        let block = b"12\nhost.a|10.0.0.1|11211 host.b||11212\n";
        let (version, nodes) = cluster_config(block).unwrap();
        assert_eq!(version, 12);
        let nodes: Vec<_> = nodes
            .into_iter()
            .map(|(h, i, p)| (&block[h], &block[i], p))
            .collect();
        assert_eq!(
            nodes,
            [
                (&b"host.a"[..], &b"10.0.0.1"[..], 11211),
                (&b"host.b"[..], &b""[..], 11212)
            ]
        );
        assert_eq!(
            cluster_config(b"3\r\nh|i|1\r\n").map(|(v, n)| (v, n.len())),
            Some((3, 1))
        );
        assert_eq!(
            cluster_config(b"3").map(|(v, n)| (v, n.len())),
            Some((3, 0))
        );
        for bad in [
            &b""[..],
            b"x\n",
            b"1\nh|i\n",
            b"1\n|i|1\n",
            b"1\nh|i|65536\n",
            b"1\nh|i|1\nmore\n",
        ] {
            assert_eq!(
                cluster_config(bad),
                None,
                "{:?}",
                bad.escape_ascii().to_string()
            );
        }

        assert_eq!(length_token(b"VALUE k 0 5", 3), Some(5));
        assert_eq!(length_token(b"VA 2 t-1", 1), Some(2));
        assert_eq!(length_token(b"EN", 1), None);
        assert_eq!(length_token(b"VA x", 1), None);
    }
}
