//! The pending-command deque: what each command still waiting for a reply can
//! receive, in send order, plus the bytes needed to check its reply (keys, opaque).
//!
//! Keys live in one arena shared by all entries instead of one allocation per
//! command: sends append to it, completions release from its front, and it is
//! compacted only when its dead prefix outgrows its live part.

use std::collections::{HashMap, VecDeque};

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

/// The reply a command can receive, which is all the receive state machine needs
/// to decode it.
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
}

impl Expect {
    /// True if the command carried a data block after its line.
    pub(crate) fn carries_data(self) -> bool {
        matches!(
            self,
            Self::Storage
                | Self::Meta {
                    kind: MetaKind::Set,
                    ..
                }
        )
    }

    /// True for quiet meta commands, whose reply may never come.
    pub(crate) fn is_quiet(self) -> bool {
        matches!(self, Self::Meta { quiet: true, .. })
    }
}

/// A range of the key arena, in logical offsets (they never move; compaction
/// shifts only the arena's base).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl Span {
    pub(crate) fn end(self) -> usize {
        self.start + self.len
    }
}

/// A command waiting for its reply.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) token: u64,
    pub(crate) expect: Expect,
    /// The key as raw bytes (single-key and meta commands), or for multi-key
    /// retrievals every key prefixed by its length byte, in request order.
    pub(crate) keys: Span,
    /// Meta opaque, without the `O`; empty span if none was sent.
    pub(crate) opaque: Option<Span>,
    /// How many keys a multi-key retrieval asked for (to size its reply).
    pub(crate) key_count: usize,
    /// A quiet meta command (`expect.is_quiet()`, kept at hand for the hot path).
    pub(crate) quiet: bool,
    /// The caller gave up on this command: read its reply, deliver nothing.
    pub(crate) cancelled: bool,
    /// `noreply` commands were sent between the previous entry and this one, so an
    /// error line arriving here could be theirs.
    pub(crate) after_noreply: bool,
    /// Hash of the meta reply tag (opaque, echoed key), for the quiet-run check.
    pub(crate) tag: u64,
}

/// What is left of a command once it leaves the deque.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Popped {
    pub(crate) token: u64,
    pub(crate) expect: Expect,
    pub(crate) cancelled: bool,
}

/// Append-only byte store for the keys and opaques of pending entries.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    bytes: Vec<u8>,
    /// Logical offset of `bytes[0]`.
    base: usize,
}

impl Arena {
    pub(crate) fn end(&self) -> usize {
        self.base + self.bytes.len()
    }

    pub(crate) fn push(&mut self, data: &[u8]) -> Span {
        let start = self.end();
        self.bytes.extend_from_slice(data);
        Span {
            start,
            len: data.len(),
        }
    }

    /// Appends `data` after a length byte (`data` is at most 255 bytes).
    #[inline]
    pub(crate) fn push_framed(&mut self, data: &[u8]) {
        self.bytes.reserve(data.len() + 1);
        self.bytes.push(data.len() as u8);
        self.bytes.extend_from_slice(data);
    }

    /// Drops everything at and after logical offset `end` (undoes pushes).
    pub(crate) fn truncate(&mut self, end: usize) {
        self.bytes.truncate(end - self.base);
    }

    pub(crate) fn get(&self, span: Span) -> &[u8] {
        let start = span.start - self.base;
        &self.bytes[start..start + span.len]
    }

    /// Nothing is live any more.
    #[inline]
    fn clear(&mut self) {
        self.base += self.bytes.len();
        self.bytes.clear();
    }

    /// Everything before the logical offset `live` is dead: drop it once it is most
    /// of the store, so the store stays within twice its live bytes.
    fn compact(&mut self, live: usize) {
        let dead = live - self.base;
        if dead > 4096 && dead > self.bytes.len() / 2 {
            self.bytes.drain(..dead);
            self.base = live;
        }
    }
}

/// The trailing run of quiet meta commands: those a new command's reply could be
/// mistaken for, because each may stay silent. It ends at (and excludes everything
/// before) the last command that always gets a reply.
#[derive(Debug, Default)]
struct QuietRun {
    /// Tokens from here on belong to the run.
    start_token: u64,
    /// Tag hash -> (entries in the run with that tag, union of their codes).
    tags: HashMap<u64, (u32, u8)>,
}

/// The deque.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    entries: VecDeque<Entry>,
    pub(crate) arena: Arena,
    next_token: u64,
    noreply_since_last: bool,
    run: QuietRun,
}

impl Pending {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&Entry> {
        self.entries.get(i)
    }

    pub(crate) fn front(&self) -> Option<&Entry> {
        self.entries.front()
    }

    /// Whether a meta command with this reply tag and these possible codes could have
    /// its reply mistaken for that of a quiet command still in the trailing run.
    pub(crate) fn conflicts_with_quiet_run(&self, tag: u64, codes: u8) -> bool {
        self.run
            .tags
            .get(&tag)
            .is_some_and(|&(_, run_codes)| run_codes & codes != 0)
    }

    pub(crate) fn note_noreply(&mut self) {
        self.noreply_since_last = true;
    }

    /// Appends an entry whose keys/opaque were already pushed to the arena.
    pub(crate) fn push(
        &mut self,
        expect: Expect,
        keys: Span,
        opaque: Option<Span>,
        key_count: usize,
        tag: u64,
    ) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        match expect {
            Expect::Meta {
                quiet: true, codes, ..
            } => {
                let slot = self.run.tags.entry(tag).or_insert((0, 0));
                slot.0 += 1;
                slot.1 |= codes;
            }
            _ => {
                // A command that always gets a reply: later replies can no longer be
                // mistaken for those of quiet commands before it.
                if !self.run.tags.is_empty() {
                    self.run.tags.clear();
                }
                self.run.start_token = self.next_token;
            }
        }
        self.entries.push_back(Entry {
            token,
            expect,
            keys,
            opaque,
            key_count,
            quiet: expect.is_quiet(),
            cancelled: false,
            after_noreply: std::mem::take(&mut self.noreply_since_last),
            tag,
        });
        token
    }

    /// Drops the key store's dead prefix (keys of completed commands) once it
    /// dominates; called before a command writes its keys.
    pub(crate) fn reclaim_keys(&mut self) {
        if let Some(front) = self.entries.front() {
            self.arena.compact(front.keys.start);
        }
    }

    /// Forgets a quiet entry that leaves the deque, if it is part of the trailing run.
    fn leave_run(&mut self, entry: &Entry) {
        if entry.quiet && entry.token >= self.run.start_token {
            if let Some(slot) = self.run.tags.get_mut(&entry.tag) {
                slot.0 -= 1;
                if slot.0 == 0 {
                    self.run.tags.remove(&entry.tag);
                }
            }
        }
    }

    /// Undoes the quiet entries pushed since the deque held `len` entries (a batch
    /// that failed half way), with their arena bytes and tokens.
    pub(crate) fn rollback_quiet(&mut self, len: usize) {
        while self.entries.len() > len {
            let Some(entry) = self.entries.pop_back() else {
                break;
            };
            debug_assert!(entry.expect.is_quiet(), "only quiet pushes are rolled back");
            self.leave_run(&entry);
            self.arena.truncate(entry.keys.start);
            self.next_token = entry.token;
            self.noreply_since_last = entry.after_noreply;
        }
    }

    /// The token the next pushed entry will get.
    pub(crate) fn next_token(&self) -> u64 {
        self.next_token
    }

    /// Removes the head entry; returns what completing it needs.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Popped> {
        let head = self.entries.front()?;
        let popped = Popped {
            token: head.token,
            expect: head.expect,
            cancelled: head.cancelled,
        };
        if head.quiet {
            let head = head.clone();
            self.leave_run(&head);
        }
        self.entries.pop_front();
        // The key store is reclaimed when sending (see `push`), except here, where
        // all of it is dead at once.
        if self.entries.is_empty() {
            self.arena.clear();
        }
        Some(popped)
    }

    /// Marks the entry with this token cancelled; false if it is not pending.
    pub(crate) fn cancel(&mut self, token: u64) -> bool {
        let Ok(i) = self.entries.binary_search_by_key(&token, |e| e.token) else {
            return false;
        };
        let entry = &mut self.entries[i];
        !std::mem::replace(&mut entry.cancelled, true)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}

/// FNV-1a over the parts of a meta reply tag. Deterministic and allocation-free; a
/// collision can only make the quiet-run check refuse a command it need not have.
pub(crate) fn tag_hash(opaque: Option<&[u8]>, echoed_key: Option<&[u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for part in [opaque, echoed_key] {
        match part {
            None => eat(0),
            Some(bytes) => {
                eat(1);
                bytes.iter().for_each(|&b| eat(b));
                eat(b' ');
            }
        }
    }
    h
}
