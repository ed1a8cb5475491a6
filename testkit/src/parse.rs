//! Request framing: how memcached 1.6.18 cuts the byte stream into command
//! lines and data blocks. Shared by [`Server`](crate::Server) and
//! [`parse_request`].

use crate::numbers::{strtol32, strtoull};

/// memcached splits a line into at most this many tokens, counting the
/// terminal (empty) token it appends.
pub(crate) const MAX_TOKENS: usize = 24;
/// Longest key, in bytes as sent.
pub(crate) const KEY_MAX_LENGTH: usize = 250;
/// Size of a connection's read buffer (the window a line must fit in).
pub(crate) const READ_BUFFER_SIZE: usize = 16384;
/// Bytes buffered without a newline before the server gives up on the line
/// (unless it is a `get`/`gets` line).
pub(crate) const LINE_LIMIT: usize = 2048;
/// Meta commands take at most this many tokens (memcached's `ntokens`).
pub(crate) const META_MAX_NTOKENS: usize = 20;

/// A line split the way `tokenize_command()` does it: tokens separated by
/// runs of 0x20, at most 23 of them, and the unsplit rest of the line when the
/// limit was reached.
pub(crate) struct Tokens<'a> {
    pub(crate) toks: Vec<&'a [u8]>,
    pub(crate) rest: Option<&'a [u8]>,
}

impl<'a> Tokens<'a> {
    /// memcached's `ntokens`: the tokens plus the terminal token.
    pub(crate) fn ntokens(&self) -> usize {
        self.toks.len() + 1
    }

    /// Token `i`, or an empty slice past the end (memcached's terminal token).
    pub(crate) fn get(&self, i: usize) -> &'a [u8] {
        self.toks.get(i).copied().unwrap_or(b"")
    }

    /// The last real token (`tokens[ntokens - 2]`), used for `noreply`.
    pub(crate) fn last(&self) -> &'a [u8] {
        self.toks.last().copied().unwrap_or(b"")
    }
}

/// Splits `line` like memcached's `tokenize_command()` with 24 token slots.
pub(crate) fn tokenize(line: &[u8]) -> Tokens<'_> {
    let mut toks = Vec::new();
    let mut start = 0;
    let mut end = 0;
    let len = line.len();
    let mut stopped = false;
    while end < len {
        if line[end] == b' ' {
            if start != end {
                toks.push(&line[start..end]);
                if toks.len() == MAX_TOKENS - 1 {
                    end += 1;
                    start = end;
                    stopped = true;
                    break;
                }
            }
            start = end + 1;
        }
        end += 1;
    }
    if !stopped && start != end {
        toks.push(&line[start..end]);
    }
    let rest = if end < len { Some(&line[end..]) } else { None };
    Tokens { toks, rest }
}

/// The command line memcached sees for the bytes before a `\n`: one `\r`
/// before the `\n` is dropped (only if the line has more than one byte), and
/// the line ends at the first NUL because it is handled as a C string.
pub(crate) fn command_line(raw: &[u8]) -> &[u8] {
    let mut line = raw;
    if line.len() > 1 && line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    }
}

/// The exemption for long lines without a newline: after at most 100 leading
/// spaces, the line must start with `get ` or `gets `.
pub(crate) fn long_line_allowed(buf: &[u8]) -> bool {
    let spaces = buf.iter().take_while(|b| **b == b' ').count();
    if spaces > 100 {
        return false;
    }
    let rest = &buf[spaces..];
    rest.starts_with(b"get ") || rest.starts_with(b"gets ")
}

/// A classic storage command line that parsed.
pub(crate) struct StoreLine<'a> {
    pub(crate) key: &'a [u8],
    /// As parsed (`strtoull`): a server without large client flags keeps
    /// the low 32 bits.
    pub(crate) flags: u64,
    pub(crate) exptime: i32,
    /// Payload length plus the two bytes of the terminator.
    pub(crate) vlen: usize,
    pub(crate) cas: u64,
}

/// Validates a classic storage line with the right token count, in the order
/// memcached's `process_update_command()` does. The error is always
/// `CLIENT_ERROR bad command line format`, and no data block is read.
pub(crate) fn parse_store_line<'a>(t: &Tokens<'a>, with_cas: bool) -> Option<StoreLine<'a>> {
    let key = t.get(1);
    if key.len() > KEY_MAX_LENGTH {
        return None;
    }
    let flags = strtoull(t.get(2))?;
    let exptime = strtol32(t.get(3))?;
    let vlen = strtol32(t.get(4))?;
    let cas = if with_cas { strtoull(t.get(5))? } else { 0 };
    if !(0..=i32::MAX - 2).contains(&vlen) {
        return None;
    }
    Some(StoreLine {
        key,
        flags,
        exptime,
        vlen: vlen as usize + 2,
        cas,
    })
}

/// Why an `ms` line was refused before its data length was known (no data
/// block is read), or the length of the block that follows.
pub(crate) fn parse_ms_head(t: &Tokens<'_>) -> Result<usize, MsHeadError> {
    let n = t.ntokens();
    if n < 3 {
        return Err(MsHeadError::Error);
    }
    if t.get(1).len() > KEY_MAX_LENGTH || n == 3 {
        return Err(MsHeadError::Client("CLIENT_ERROR bad command line format"));
    }
    if n > META_MAX_NTOKENS {
        return Err(MsHeadError::Client("CLIENT_ERROR options flags too long"));
    }
    match strtol32(t.get(2)) {
        Some(v) if (0..=i32::MAX - 2).contains(&v) => Ok(v as usize + 2),
        _ => Err(MsHeadError::Client("CLIENT_ERROR bad command line format")),
    }
}

/// See [`parse_ms_head`].
pub(crate) enum MsHeadError {
    /// Plain `ERROR` (too few tokens).
    Error,
    /// A `CLIENT_ERROR` line.
    Client(&'static str),
}

/// Length of the data block (payload + 2) that follows this command line, if
/// the server reads or swallows one.
pub(crate) fn data_block_len(t: &Tokens<'_>) -> Option<usize> {
    let n = t.ntokens();
    match t.get(0) {
        b"set" | b"add" | b"replace" | b"append" | b"prepend" if n == 6 || n == 7 => {
            parse_store_line(t, false).map(|l| l.vlen)
        }
        b"cas" if n == 7 || n == 8 => parse_store_line(t, true).map(|l| l.vlen),
        b"ms" => parse_ms_head(t).ok(),
        _ => None,
    }
}

/// One request as memcached frames it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The first token of the line (empty for an empty line).
    pub command: &'a [u8],
    /// The remaining tokens, split on runs of spaces like memcached does
    /// (TAB, `\r` and other bytes are part of tokens). The line ends at the
    /// first NUL byte, and one `\r` before the `\n` is not part of it.
    pub args: Vec<&'a [u8]>,
    /// The data block (without its terminator) that follows the line, for
    /// `set`/`add`/`replace`/`append`/`prepend`/`cas`/`ms` lines that the
    /// server accepts far enough to read or swallow one. `None` when the line
    /// is rejected first (wrong token count, bad number, key too long, ...):
    /// the server then parses the next bytes as a new command.
    pub data: Option<&'a [u8]>,
}

/// What [`parse_request`] found at the start of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseResult<'a> {
    /// The request is not complete yet (no newline, or the data block has not
    /// fully arrived).
    Incomplete,
    /// A complete request that took `consumed` bytes of input.
    Request {
        /// The request.
        request: Request<'a>,
        /// Bytes of input it used, including the data block.
        consumed: usize,
    },
    /// A storage request whose `<bytes>` + 2 bytes do not end in `\r\n`. The
    /// server consumed `consumed` bytes, replies `CLIENT_ERROR bad data chunk`,
    /// and parses what follows as new commands. (For blocks it swallows
    /// unread — a value over the item size limit, or an `ms` line with a bad
    /// flag — the server does not look at the terminator.)
    BadDataChunk {
        /// The request, with the data block as the server read it (the
        /// `<bytes>` bytes before the two bad terminator bytes).
        request: Request<'a>,
        /// Bytes of input the server consumed.
        consumed: usize,
    },
    /// The server would close the connection without a reply: more than 2048
    /// bytes without a newline on a line that is not `get`/`gets`, or a line
    /// that does not fit the 16 KiB read buffer.
    LineTooLong,
}

/// Parses the first request in `input` the way memcached 1.6.18 frames the
/// text protocol, assuming the whole input arrived in one read. (From 1.6.40
/// a classic storage line whose length parses but whose key, flags, exptime
/// or cas does not also has its data block read and thrown away; this
/// function does not know the version and frames it like 1.6.18.)
///
/// ```
/// use memcache_testkit::{parse_request, ParseResult};
///
/// let input = b"set k 0 0 5\r\nhello\r\nget k\r\n";
/// let ParseResult::Request { request, consumed } = parse_request(input) else { panic!() };
/// assert_eq!(request.command, b"set");
/// assert_eq!(request.args, [&b"k"[..], b"0", b"0", b"5"]);
/// assert_eq!(request.data, Some(&b"hello"[..]));
/// assert_eq!(consumed, 20);
/// ```
pub fn parse_request(input: &[u8]) -> ParseResult<'_> {
    let window = &input[..input.len().min(READ_BUFFER_SIZE)];
    let newline = match memchr::memchr(b'\n', window) {
        Some(i) => i,
        None => {
            if input.len() <= LINE_LIMIT {
                return ParseResult::Incomplete;
            }
            if !long_line_allowed(input) {
                return ParseResult::LineTooLong;
            }
            match memchr::memchr(b'\n', input) {
                Some(i) => i,
                None => return ParseResult::Incomplete,
            }
        }
    };
    let line = command_line(&input[..newline]);
    let tokens = tokenize(line);
    let mut words = line.split(|b| *b == b' ').filter(|w| !w.is_empty());
    let command = words.next().unwrap_or(b"");
    let args: Vec<&[u8]> = words.collect();
    let mut consumed = newline + 1;
    let mut request = Request {
        command,
        args,
        data: None,
    };
    if let Some(block) = data_block_len(&tokens) {
        let Some(end) = consumed.checked_add(block) else {
            return ParseResult::Incomplete;
        };
        if input.len() < end {
            return ParseResult::Incomplete;
        }
        request.data = Some(&input[consumed..end - 2]);
        let ok = &input[end - 2..end] == b"\r\n";
        consumed = end;
        if !ok {
            return ParseResult::BadDataChunk { request, consumed };
        }
    }
    ParseResult::Request { request, consumed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_matches_memcached() {
        let t = tokenize(b"  get  a b ");
        assert_eq!(t.toks, [&b"get"[..], b"a", b"b"]);
        assert!(t.rest.is_none());
        let line: Vec<u8> = (0..30)
            .flat_map(|i| format!("k{i} ").into_bytes())
            .collect();
        let t = tokenize(&line);
        assert_eq!(t.toks.len(), 23);
        assert_eq!(t.ntokens(), 24);
        assert!(t.rest.is_some_and(|r| r.starts_with(b"k23 ")));
        let exact: Vec<u8> = (0..23)
            .flat_map(|i| format!("k{i} ").into_bytes())
            .collect();
        assert!(tokenize(&exact).rest.is_none());
    }

    #[test]
    fn command_line_rules() {
        assert_eq!(command_line(b"version\r"), b"version");
        assert_eq!(command_line(b"\r"), b"\r");
        assert_eq!(command_line(b"get a\0b"), b"get a");
    }

    #[test]
    fn framing() {
        assert_eq!(parse_request(b"get a"), ParseResult::Incomplete);
        assert_eq!(
            parse_request(b"set k 0 0 5\r\nhel"),
            ParseResult::Incomplete
        );
        let ParseResult::Request { request, consumed } = parse_request(b"set k 0 0 x\r\nx\r\n")
        else {
            panic!("expected a request")
        };
        assert_eq!(request.data, None);
        assert_eq!(consumed, 13);
        let ParseResult::BadDataChunk { request, consumed } =
            parse_request(b"set k 0 0 3\r\nabcde\r\n")
        else {
            panic!("expected a bad chunk")
        };
        assert_eq!(request.data, Some(&b"abc"[..]));
        assert_eq!(consumed, 18);
        let ParseResult::Request { request, .. } = parse_request(b"ms k 2 T5 b\r\nab\r\n") else {
            panic!("expected a request")
        };
        assert_eq!(request.data, Some(&b"ab"[..]));
        let long = vec![b'a'; 3000];
        assert_eq!(parse_request(&long), ParseResult::LineTooLong);
        let mut get = b"get ".to_vec();
        get.extend(std::iter::repeat_n(b'k', 20000));
        assert_eq!(parse_request(&get), ParseResult::Incomplete);
        get.extend_from_slice(b"\r\n");
        assert!(matches!(parse_request(&get), ParseResult::Request { .. }));
    }
}
