//! Framing: finding line ends, sizing data blocks, every cap the server's bytes are
//! checked against, and the one count of bytes examined.
//!
//! *Examined* bytes are the bytes searched for a line's end plus the two checked
//! after each data block. Every line counts its length plus its `\r\n` exactly once,
//! whether a family's parser took it straight from the unread bytes
//! ([`Framing::took_line`]) or the resumable search found its end
//! ([`Framing::find_line`], which counts a partial line as it searches it and never
//! searches a byte twice); data blocks are never searched. So a reply costs the same
//! count whole or cut into any reads, and trickling bytes in costs O(n).

use crate::error::DecodeError;
use crate::limits::Limits;

#[derive(Debug)]
pub(super) struct Framing {
    pub(super) limits: Limits,
    examined: u64,
}

impl Framing {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            examined: 0,
        }
    }

    pub(super) fn examined(&self) -> u64 {
        self.examined
    }

    /// Finds the end of the line at the front of `rest`: its length without the
    /// `\r\n`, or `None` when more bytes are needed. `scanned` is how many bytes of
    /// it earlier calls searched (they hold no `\n`); the search resumes there.
    #[inline]
    pub(super) fn find_line(
        &mut self,
        rest: &[u8],
        scanned: &mut usize,
    ) -> Result<Option<usize>, DecodeError> {
        let Some(newline) = self.find_newline(rest, scanned)? else {
            return Ok(None);
        };
        if newline == 0 || rest[newline - 1] != b'\r' {
            return Err(DecodeError::BareNewline);
        }
        Ok(Some(newline - 1))
    }

    /// Like [`find_line`](Self::find_line), for the replies whose lines may end in a
    /// bare `\n` (metadump item lines, `watch` log lines): the line's length without
    /// its end, and the end's length (1 for `\n`, 2 for `\r\n`). Each byte is
    /// searched once and counted once, as there.
    #[cold]
    pub(super) fn find_lf_line(
        &mut self,
        rest: &[u8],
        scanned: &mut usize,
    ) -> Result<Option<(usize, usize)>, DecodeError> {
        let Some(newline) = self.find_newline(rest, scanned)? else {
            return Ok(None);
        };
        let (len, end) = if newline > 0 && rest[newline - 1] == b'\r' {
            (newline - 1, 2)
        } else {
            (newline, 1)
        };
        if len > self.limits.max_line_len {
            return Err(DecodeError::LineTooLong {
                limit: self.limits.max_line_len,
            });
        }
        Ok(Some((len, end)))
    }

    /// The resumable search both share: where the next `\n` is in `rest`, searching
    /// only bytes not searched before (from `scanned`) and no further than the line
    /// cap allows, counting each byte searched once.
    #[inline(always)]
    fn find_newline(
        &mut self,
        rest: &[u8],
        scanned: &mut usize,
    ) -> Result<Option<usize>, DecodeError> {
        // A caller that consumed buffered bytes behind our back gets a fresh search.
        let from = (*scanned).min(rest.len());
        let cap = self.limits.max_line_len.saturating_add(2);
        let window = rest.len().min(cap);
        let found = rest
            .get(from..window)
            .and_then(|unsearched| memchr::memchr(b'\n', unsearched));
        let Some(i) = found else {
            self.examined += window.saturating_sub(from) as u64;
            if window >= cap {
                return Err(DecodeError::LineTooLong {
                    limit: self.limits.max_line_len,
                });
            }
            *scanned = window.max(from);
            return Ok(None);
        };
        self.examined += i as u64 + 1;
        *scanned = 0;
        Ok(Some(from + i))
    }

    /// Whether a parser may take a line of `len` bytes (without its `\r\n`) straight
    /// from the unread bytes: a longer one is the search's to refuse.
    #[inline]
    pub(super) fn line_fits(&self, len: usize) -> bool {
        len <= self.limits.max_line_len
    }

    /// A parser took a line of `len` bytes (without its `\r\n`) straight from the
    /// unread bytes: it counts as searched.
    #[inline]
    pub(super) fn took_line(&mut self, len: usize) {
        self.examined += len as u64 + 2;
    }

    /// Counts the two bytes after a data block, which the caller found to be `\r\n`.
    #[inline]
    pub(super) fn took_terminator(&mut self) {
        self.examined += 2;
    }

    /// Checks the two bytes after a data block.
    #[inline]
    pub(super) fn terminator(&mut self, after_data: &[u8]) -> Result<(), DecodeError> {
        self.examined += 2;
        if after_data != b"\r\n" {
            return Err(DecodeError::BadDataTerminator);
        }
        Ok(())
    }

    /// Sizes the data block a header line of `header_len` bytes (with its `\r\n`)
    /// announced, for a reply already holding `held` bytes: its length, within the
    /// value cap (and, with its header and terminator, within what memory can
    /// address), and with the held bytes, header and terminator within the reply
    /// cap. Checked before a byte of it is buffered.
    #[inline]
    pub(super) fn block(
        &self,
        held: usize,
        header_len: usize,
        len: u64,
    ) -> Result<usize, DecodeError> {
        let limits = &self.limits;
        let too_large = DecodeError::ValueTooLarge {
            len,
            limit: limits.max_value_len,
        };
        let data_len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= limits.max_value_len)
            .ok_or(too_large.clone())?;
        let framed = data_len
            .checked_add(header_len)
            .and_then(|n| n.checked_add(2))
            .ok_or(too_large)?;
        if held
            .checked_add(framed)
            .is_none_or(|n| n > limits.max_reply_len)
        {
            return Err(DecodeError::ReplyTooLarge {
                limit: limits.max_reply_len,
            });
        }
        Ok(data_len)
    }

    /// Checks that a reply holding `held` bytes may hold `more`.
    #[inline]
    pub(super) fn hold(&self, held: usize, more: usize) -> Result<(), DecodeError> {
        if held.saturating_add(more) > self.limits.max_reply_len {
            return Err(DecodeError::ReplyTooLarge {
                limit: self.limits.max_reply_len,
            });
        }
        Ok(())
    }

    /// Checks that a retrieval reply holding `items` values may take one more.
    #[inline]
    pub(super) fn one_more_value(&self, items: usize) -> Result<(), DecodeError> {
        if items >= self.limits.max_values_per_reply {
            return Err(DecodeError::TooManyValues {
                limit: self.limits.max_values_per_reply,
            });
        }
        Ok(())
    }

    /// Checks that a stats reply holding `lines` lines may take one more.
    #[inline]
    pub(super) fn one_more_stat_line(&self, lines: usize) -> Result<(), DecodeError> {
        if lines >= self.limits.max_stat_lines {
            return Err(DecodeError::TooManyStatLines {
                limit: self.limits.max_stat_lines,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing() -> Framing {
        Framing::new(Limits::DEFAULT.with_max_line_len(8).with_max_value_len(100))
    }

    #[test]
    fn a_line_searched_in_pieces_counts_once() {
        let mut f = framing();
        let mut scanned = 0;
        assert_eq!(f.find_line(b"STO", &mut scanned), Ok(None));
        assert_eq!((scanned, f.examined()), (3, 3));
        assert_eq!(f.find_line(b"STORED\r", &mut scanned), Ok(None));
        assert_eq!(f.find_line(b"STORED\r\nEND", &mut scanned), Ok(Some(6)));
        assert_eq!((scanned, f.examined()), (0, 8));
        f.took_line(3);
        assert_eq!(f.examined(), 13);
    }

    #[test]
    fn lines_are_capped_and_end_in_crlf() {
        let mut f = framing();
        let mut scanned = 0;
        assert_eq!(f.find_line(b"12345678\r\n", &mut scanned), Ok(Some(8)));
        assert_eq!(
            f.find_line(b"123456789\r\n", &mut scanned),
            Err(DecodeError::LineTooLong { limit: 8 })
        );
        let mut scanned = 0;
        assert_eq!(
            f.find_line(b"abc\n", &mut scanned),
            Err(DecodeError::BareNewline)
        );
        assert!(f.line_fits(8) && !f.line_fits(9));
    }

    #[test]
    fn lf_lines_end_at_either_line_end_and_count_once() {
        let mut f = framing();
        let mut scanned = 0;
        assert_eq!(f.find_lf_line(b"key=a", &mut scanned), Ok(None));
        assert_eq!((scanned, f.examined()), (5, 5));
        assert_eq!(
            f.find_lf_line(b"key=a \nEND", &mut scanned),
            Ok(Some((6, 1)))
        );
        assert_eq!((scanned, f.examined()), (0, 7));
        assert_eq!(f.find_lf_line(b"END\r\n", &mut scanned), Ok(Some((3, 2))));
        assert_eq!(f.find_lf_line(b"\n", &mut scanned), Ok(Some((0, 1))));
        assert_eq!(f.examined(), 13);
        // The cap: 8 bytes, whichever the line end.
        assert_eq!(
            f.find_lf_line(b"12345678\n", &mut scanned),
            Ok(Some((8, 1)))
        );
        assert_eq!(
            f.find_lf_line(b"123456789\n", &mut scanned),
            Err(DecodeError::LineTooLong { limit: 8 })
        );
        let mut scanned = 0;
        assert_eq!(
            f.find_lf_line(b"1234567890", &mut scanned),
            Err(DecodeError::LineTooLong { limit: 8 })
        );
    }

    #[test]
    fn blocks_are_checked_against_both_caps_without_overflow() {
        let f = Framing::new(
            Limits::DEFAULT
                .with_max_value_len(usize::MAX)
                .with_max_reply_len(1000),
        );
        assert_eq!(f.block(0, 10, 988), Ok(988));
        assert_eq!(
            f.block(0, 10, 989),
            Err(DecodeError::ReplyTooLarge { limit: 1000 })
        );
        assert_eq!(
            f.block(900, 10, 1 << 40),
            Err(DecodeError::ReplyTooLarge { limit: 1000 })
        );
        assert_eq!(f.block(900, 10, 88), Ok(88));
        let f = Framing::new(
            Limits::DEFAULT
                .with_max_value_len(usize::MAX)
                .with_max_reply_len(usize::MAX),
        );
        assert_eq!(
            f.block(usize::MAX - 10, 10, 5),
            Err(DecodeError::ReplyTooLarge { limit: usize::MAX })
        );
        assert_eq!(
            f.block(0, 10, u64::MAX),
            Err(DecodeError::ValueTooLarge {
                len: u64::MAX,
                limit: usize::MAX
            })
        );
        let f = framing();
        assert_eq!(
            f.block(0, 10, 101),
            Err(DecodeError::ValueTooLarge {
                len: 101,
                limit: 100
            })
        );
        let mut f = framing();
        assert_eq!(f.terminator(b"\r\n"), Ok(()));
        assert_eq!(f.terminator(b"\n\r"), Err(DecodeError::BadDataTerminator));
        assert_eq!(f.examined(), 4);
    }
}
