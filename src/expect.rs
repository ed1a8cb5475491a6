//! Every fact about what a pending command expects, in one place.
//!
//! A command's [`Expect`] is decided when it is sent and is all the receive side
//! needs to read its reply: which reply family reads it ([`Expect::family`]), the
//! fixed one-line replies it can get, the likely one first ([`Expect::fixed_replies`]),
//! the words that carry a server error for it ([`Expect::error_words`]), whether it
//! takes a number or a version line, what an empty multi-line reply means
//! ([`Expect::empty_reply`]), what a quiet command's silence means
//! ([`Expect::inferred`]), how it is described in errors ([`Expect::describe`]), and
//! whether memcached read its data block when it refused it
//! ([`Expect::block_was_read`]).
//!
//! Adding a reply kind means adding its facts here, its parser in
//! `receive/parse.rs`, and its reading in one family file of `receive/`.

use crate::command::RawShape;
use crate::error::{ServerError, ServerErrorKind};
use crate::response::{Items, MetaResponse, MetaStatus, Response, StatLines};

/// Reply codes of the meta protocol, as bits, so a command's possible codes are a mask.
pub(crate) mod code {
    pub(crate) const VA: u8 = 1;
    pub(crate) const HD: u8 = 2;
    pub(crate) const EN: u8 = 4;
    pub(crate) const NF: u8 = 8;
    pub(crate) const NS: u8 = 16;
    pub(crate) const EX: u8 = 32;
    pub(crate) const MN: u8 = 64;
    pub(crate) const ME: u8 = 128;
}

/// Which meta command an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKind {
    Get,
    Set,
    Delete,
    Arithmetic,
    Noop,
    Debug,
}

/// What a stats request answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatsShape {
    /// `STAT` lines then `END`.
    Stat,
    /// `ITEM` lines then `END` (`stats cachedump`).
    Item,
    /// `PREFIX` lines then `END` (`stats detail dump`).
    Prefix,
    /// `RESET` (`stats reset`).
    Reset,
    /// `OK` (`stats detail on|off`).
    Ok,
}

/// Which status words (besides `OK`) an admin command can answer with, as typed
/// outcomes ([`AdminStatus`](crate::response::AdminStatus)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdminWords {
    /// `slabs reassign`: `BUSY`, `BADCLASS`, `NOSPARE`, `NOTFULL`, `UNSAFE`, `SAME`.
    Reassign,
    /// `lru_crawler crawl` (and the dumps): `BUSY`, `BADCLASS`, `NOTSTARTED`.
    Crawl,
}

/// Which `lru_crawler` dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpKind {
    /// `metadump`: `key=<url-encoded> exp=... ` lines (bare `\n` line ends), `END`.
    Meta,
    /// `mgdump`: `mg <key>` / `mg <base64> b` lines, `EN`.
    Mg,
}

/// The reply a command can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// get/gets/gat/gats with one key: an optional `VALUE` then `END`.
    Single { cas: bool },
    /// The same with several keys: `VALUE`* then `END`.
    Multi { cas: bool },
    /// set/add/replace/append/prepend/cas: one status line.
    Storage,
    /// `DELETED` / `NOT_FOUND`.
    Delete,
    /// `TOUCHED` / `NOT_FOUND`.
    Touch,
    /// digits / `NOT_FOUND`.
    Arith,
    /// A stats reply of the given shape.
    Stats(StatsShape),
    /// `VERSION <v>`.
    Version,
    /// `OK` (verbosity, flush_all).
    Ok,
    /// `OK` / `MEMLIMIT_*` (cache_memlimit).
    Memlimit,
    /// quit / shutdown: end of stream (shutdown can also get an error line).
    Close,
    /// ASCII authentication: `STORED`, or the connection stays unauthenticated.
    Auth,
    /// A meta command.
    Meta {
        kind: MetaKind,
        /// Codes this entry can receive: all of the command's codes, or for a quiet
        /// command only those quiet mode does not suppress.
        codes: u8,
        quiet: bool,
        /// `k` was requested: replies echo the key.
        return_key: bool,
    },
    // The admin family (`receive/admin.rs`). Listed after the others, so the hot
    // families' matches are not disturbed.
    /// `OK`, or a status word of `words` with a message (`slabs reassign`,
    /// `lru_crawler crawl`).
    Admin(AdminWords),
    /// `lru_crawler metadump|mgdump`: an optional `OK`, entry lines held until the
    /// end line, or a status word.
    Dump(DumpKind),
    /// `config get cluster`: `CONFIG cluster 0 <bytes>`, the block, `END`.
    ClusterConfig,
    /// `refresh_certs`: `OK` or `Error <msg>`.
    RefreshCerts,
    /// `watch`: `OK` (then the entry becomes [`Expect::Log`]).
    Watch,
    /// A watch that got its `OK`: each line is a log line, until end of stream.
    Log,
    /// A raw command: the reply shape its caller declared, and whether it carried a
    /// data block.
    Raw { shape: RawShape, data: bool },
}

/// What the pending deque keeps of a command's [`Expect`] for the hot path: the
/// expectation, and the facts derived from it, worked out once (at compile time for
/// commands whose expectation is fixed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    pub(crate) expect: Expect,
    pub(crate) family: Family,
    pub(crate) fixed: &'static [(Fixed, Status)],
}

impl Facts {
    #[inline]
    pub(crate) const fn of(expect: Expect) -> Self {
        Self {
            expect,
            family: expect.family(),
            fixed: expect.fixed_replies(),
        }
    }
}

/// The reader a reply goes to, chosen once per reply from the head command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// One line: a fixed word, a number, `VERSION <v>`, or an error line.
    Status,
    /// `VALUE` items and `END`.
    Retrieval,
    /// `STAT`, `ITEM` or `PREFIX` lines and `END`.
    Stats,
    /// `VA`/`HD`/`EN`/`NF`/`NS`/`EX`/`MN`/`ME`, with quiet commands' silences.
    Meta,
    /// Admin commands, the dumps, `watch` and its log lines, raw commands.
    Admin,
}

/// A one-line reply that keeps none of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Stored,
    NotStored,
    Exists,
    NotFound,
    Deleted,
    Touched,
    Ok,
    Reset,
    Authenticated,
}

impl Status {
    #[inline]
    pub(crate) fn response(self) -> Response {
        match self {
            Self::Stored => Response::Stored,
            Self::NotStored => Response::NotStored,
            Self::Exists => Response::Exists,
            Self::NotFound => Response::NotFound,
            Self::Deleted => Response::Deleted,
            Self::Touched => Response::Touched,
            Self::Ok => Response::Ok,
            Self::Reset => Response::Reset,
            Self::Authenticated => Response::Authenticated,
        }
    }
}

/// A fixed reply line with its `\r\n`, also kept as a masked 16-byte pattern, so
/// checking whether the unread bytes start with it is one compare.
#[derive(Debug)]
pub(crate) struct Fixed {
    /// The line without its `\r\n`.
    pub(crate) text: &'static [u8],
    word: u128,
    mask: u128,
}

impl Fixed {
    const fn new(text: &'static [u8]) -> Self {
        let len = text.len() + 2;
        assert!(len <= 16);
        let mut bytes = [0u8; 16];
        let mut i = 0;
        while i < text.len() {
            bytes[i] = text[i];
            i += 1;
        }
        bytes[text.len()] = b'\r';
        bytes[text.len() + 1] = b'\n';
        Self {
            text,
            word: u128::from_le_bytes(bytes),
            mask: u128::MAX >> (8 * (16 - len)),
        }
    }

    /// The line's length with its `\r\n`.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.text.len() + 2
    }

    /// Whether `bytes` start with the line and its `\r\n`.
    #[inline]
    pub(crate) fn starts(&self, bytes: &[u8]) -> bool {
        match bytes.first_chunk::<16>() {
            Some(word) => u128::from_le_bytes(*word) & self.mask == self.word,
            None => bytes
                .get(..self.len())
                .is_some_and(|l| l.starts_with(self.text) && l.ends_with(b"\r\n")),
        }
    }
}

const STORED: Fixed = Fixed::new(b"STORED");
const NOT_STORED: Fixed = Fixed::new(b"NOT_STORED");
const EXISTS: Fixed = Fixed::new(b"EXISTS");
const NOT_FOUND: Fixed = Fixed::new(b"NOT_FOUND");
const DELETED: Fixed = Fixed::new(b"DELETED");
const TOUCHED: Fixed = Fixed::new(b"TOUCHED");
const OK: Fixed = Fixed::new(b"OK");
const RESET: Fixed = Fixed::new(b"RESET");

/// `END`: the end of a multi-line reply (retrieval, stats).
pub(crate) const END: Fixed = Fixed::new(b"END");
/// `HD` with nothing after it: a meta success that echoes nothing.
pub(crate) const BARE_HD: Fixed = Fixed::new(b"HD");
/// `EN` with nothing after it: a miss that echoes nothing (and `me`'s miss).
pub(crate) const EN: Fixed = Fixed::new(b"EN");
/// `MN`: the reply to `mn`.
pub(crate) const MN: Fixed = Fixed::new(b"MN");

impl Expect {
    /// The family that reads this command's reply.
    #[inline]
    pub(crate) const fn family(self) -> Family {
        match self {
            Self::Single { .. } | Self::Multi { .. } => Family::Retrieval,
            Self::Stats(StatsShape::Stat | StatsShape::Item | StatsShape::Prefix) => Family::Stats,
            Self::Meta { .. } => Family::Meta,
            Self::Admin(_)
            | Self::Dump(_)
            | Self::ClusterConfig
            | Self::RefreshCerts
            | Self::Watch
            | Self::Log
            | Self::Raw { .. } => Family::Admin,
            _ => Family::Status,
        }
    }

    /// The one-line replies made of a fixed word this command can get, the likely
    /// one first.
    #[inline]
    pub(crate) const fn fixed_replies(self) -> &'static [(Fixed, Status)] {
        match self {
            Self::Storage => &[
                (STORED, Status::Stored),
                (NOT_STORED, Status::NotStored),
                (EXISTS, Status::Exists),
                (NOT_FOUND, Status::NotFound),
            ],
            Self::Delete => &[(DELETED, Status::Deleted), (NOT_FOUND, Status::NotFound)],
            Self::Touch => &[(TOUCHED, Status::Touched), (NOT_FOUND, Status::NotFound)],
            Self::Arith => &[(NOT_FOUND, Status::NotFound)],
            Self::Ok
            | Self::Memlimit
            | Self::Stats(StatsShape::Ok)
            | Self::Admin(_)
            | Self::RefreshCerts => &[(OK, Status::Ok)],
            Self::Stats(StatsShape::Reset) => &[(RESET, Status::Reset)],
            Self::Auth => &[(STORED, Status::Authenticated)],
            _ => &[],
        }
    }

    /// Words other than `ERROR`/`CLIENT_ERROR`/`SERVER_ERROR` that start a server
    /// error line for this command (followed by nothing, or a space and a message).
    #[inline]
    pub(crate) fn error_words(self) -> &'static [(&'static [u8], ServerErrorKind)] {
        match self {
            Self::Memlimit => &[
                (b"MEMLIMIT_TOO_SMALL", ServerErrorKind::MemlimitTooSmall),
                (
                    b"MEMLIMIT_ADJUST_FAILED",
                    ServerErrorKind::MemlimitAdjustFailed,
                ),
            ],
            Self::Watch => &[
                (b"WATCHER_TOO_MANY", ServerErrorKind::WatcherTooMany),
                (b"WATCHER_FAILED", ServerErrorKind::WatcherFailed),
            ],
            // memcached writes the error of `refresh_certs` as it comes (RESPONSES.md
            // §5.9): `Error TLS not enabled`, `Error loading the key: ...`.
            Self::RefreshCerts => &[(b"Error", ServerErrorKind::RefreshCertsFailed)],
            _ => &[],
        }
    }

    /// The status words (besides `OK`) this command can answer with as a typed
    /// outcome rather than an error.
    pub(crate) fn admin_words(self) -> &'static [(&'static [u8], AdminWord)] {
        match self {
            Self::Admin(AdminWords::Reassign) => &[
                (b"BUSY", AdminWord::Busy),
                (b"BADCLASS", AdminWord::BadClass),
                (b"NOSPARE", AdminWord::NoSpare),
                (b"NOTFULL", AdminWord::NotFull),
                (b"UNSAFE", AdminWord::Unsafe),
                (b"SAME", AdminWord::Same),
            ],
            Self::Admin(AdminWords::Crawl) | Self::Dump(_) => &[
                (b"BUSY", AdminWord::Busy),
                (b"BADCLASS", AdminWord::BadClass),
                (b"NOTSTARTED", AdminWord::NotStarted),
            ],
            _ => &[],
        }
    }

    /// The reply is a decimal number (`incr`/`decr`).
    #[inline]
    pub(crate) fn takes_number(self) -> bool {
        self == Self::Arith
    }

    /// The reply is `VERSION <v>`.
    #[inline]
    pub(crate) fn takes_version(self) -> bool {
        self == Self::Version
    }

    /// What `END` with nothing before it means.
    pub(crate) fn empty_reply(self) -> Response {
        match self {
            Self::Multi { .. } => Response::Items(Items::default()),
            Self::Stats(StatsShape::Item) => Response::CacheDump(Vec::new()),
            Self::Stats(StatsShape::Prefix) => Response::DetailDump(Vec::new()),
            Self::Stats(_) => Response::Stats(StatLines::default()),
            _ => Response::Miss,
        }
    }

    /// True if the command carried a data block after its line.
    #[inline]
    pub(crate) fn carries_data(self) -> bool {
        matches!(
            self,
            Self::Storage
                | Self::Meta {
                    kind: MetaKind::Set,
                    ..
                }
                | Self::Raw { data: true, .. }
        )
    }

    /// What a quiet command's silence means: `mg` missed, the others succeeded.
    pub(crate) fn inferred(self) -> Response {
        let status = match self {
            Self::Meta {
                kind: MetaKind::Get,
                ..
            } => MetaStatus::Miss,
            _ => MetaStatus::Success,
        };
        Response::Meta(MetaResponse::silence(status))
    }

    /// Whether memcached read (or swallowed) the data block of the storage command it
    /// answered with `error`. If not, it will parse the block as commands
    /// (RESPONSES.md §2.3).
    pub(crate) fn block_was_read(self, error: &ServerError) -> bool {
        match error.kind {
            // `object too large`, `out of memory storing object`: swallowed.
            ServerErrorKind::ServerError => true,
            ServerErrorKind::ClientError => {
                matches!(
                    self,
                    Self::Meta {
                        kind: MetaKind::Set,
                        ..
                    }
                ) && MS_ERRORS_AFTER_THE_LENGTH.contains(&&error.message[..])
            }
            // `ERROR`: the line was not understood at all; for classic storage, any
            // `CLIENT_ERROR` means the line was refused before the length was read.
            _ => false,
        }
    }

    /// What the command can receive, for error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Single { .. } | Self::Multi { .. } => "VALUE or END",
            Self::Storage => "STORED, NOT_STORED, EXISTS or NOT_FOUND",
            Self::Delete => "DELETED or NOT_FOUND",
            Self::Touch => "TOUCHED or NOT_FOUND",
            Self::Arith => "a number or NOT_FOUND",
            Self::Stats(StatsShape::Stat) => "STAT or END",
            Self::Stats(StatsShape::Item) => "ITEM or END",
            Self::Stats(StatsShape::Prefix) => "PREFIX or END",
            Self::Stats(StatsShape::Reset) => "RESET",
            Self::Stats(StatsShape::Ok) | Self::Ok => "OK",
            Self::Version => "VERSION",
            Self::Memlimit => "OK or MEMLIMIT_*",
            Self::Close => "end of stream",
            Self::Auth => "STORED (authenticated)",
            Self::Meta { kind, .. } => match kind {
                MetaKind::Get => "VA, HD or EN",
                MetaKind::Set => "HD, NS, EX or NF",
                MetaKind::Delete => "HD, NF or EX",
                MetaKind::Arithmetic => "VA, HD, NF, NS or EX",
                MetaKind::Noop => "MN",
                MetaKind::Debug => "ME or EN",
            },
            Self::Admin(AdminWords::Reassign) => {
                "OK, BUSY, BADCLASS, NOSPARE, NOTFULL, UNSAFE or SAME"
            }
            Self::Admin(AdminWords::Crawl) => "OK, BUSY, BADCLASS or NOTSTARTED",
            Self::Dump(DumpKind::Meta) => "key= lines, END, BUSY, BADCLASS or NOTSTARTED",
            Self::Dump(DumpKind::Mg) => "mg lines, EN, BUSY, BADCLASS or NOTSTARTED",
            Self::ClusterConfig => "CONFIG cluster and END",
            Self::RefreshCerts => "OK or Error",
            Self::Watch => "OK, WATCHER_TOO_MANY or WATCHER_FAILED",
            Self::Log => "a log line",
            Self::Raw { shape, .. } => match shape {
                RawShape::Line => "one line",
                RawShape::Lines => "lines until END",
                RawShape::Block { end: true, .. } => "a header and data block then END, or END",
                RawShape::Block { end: false, .. } => "a header and data block, or one line",
            },
        }
    }
}

/// A status word an admin command answers with instead of `OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdminWord {
    Busy,
    BadClass,
    NoSpare,
    NotFull,
    Unsafe,
    Same,
    NotStarted,
}

/// The `CLIENT_ERROR`s memcached sends for an `ms` whose data length it had already
/// parsed: it swallows the data block, so the stream stays in step (RESPONSES.md
/// §2.3). The codec checks key, length and flag count before sending, so these are
/// what remains (a flag the server does not implement, such as `E` on 1.6.18).
const MS_ERRORS_AFTER_THE_LENGTH: &[&[u8]] = &[
    b"invalid flag",
    b"duplicate flag",
    b"bad token in command line format",
    b"opaque token too long",
    b"error decoding key",
    b"incorrect length for M token",
    b"invalid mode for ms M token",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_lines_match_exactly_their_line() {
        let mut long = b"STORED\r\n".to_vec();
        long.extend_from_slice(&[b'x'; 20]);
        for (bytes, want) in [
            (&b"STORED\r\n"[..], true),
            (&long[..], true),
            (b"STORED\r", false),
            (b"STORED\n\r", false),
            (b"STOREDX\r\n", false),
            (b"NOT_STORED\r\n", false),
            (b"", false),
        ] {
            assert_eq!(
                STORED.starts(bytes),
                want,
                "{:?}",
                bytes.escape_ascii().to_string()
            );
        }
        assert!(NOT_STORED.starts(b"NOT_STORED\r\nSTORED\r\n"));
        assert!(!BARE_HD.starts(b"HD c1\r\n"));
        assert!(BARE_HD.starts(b"HD\r\n"));
    }

    #[test]
    fn likely_reply_comes_first() {
        assert_eq!(Expect::Storage.fixed_replies()[0].1, Status::Stored);
        assert_eq!(Expect::Delete.fixed_replies()[0].1, Status::Deleted);
        assert_eq!(Expect::Touch.fixed_replies()[0].1, Status::Touched);
    }
}
