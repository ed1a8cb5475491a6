//! The pending-command deque: what each command still waiting for a reply can
//! receive, in send order, plus the bytes its reply is checked against (keys,
//! opaque).
//!
//! A command joins the deque through a [`Draft`]: the writer records the key (or the
//! framed keys of a multi-key retrieval) and the opaque as it writes them, then
//! [commits](Draft::commit) the draft into a [`Token`], or drops it, which takes back
//! everything it recorded. The receive side reads an entry's key and opaque
//! ([`Pending::key`], [`Pending::opaque`]) and walks a multi-key retrieval's keys
//! with a [`KeyCursor`]; how they are stored is this file's business alone.
//!
//! Keys live in one arena shared by all entries instead of one allocation per
//! command: drafts append to it, completions release from its front, and it is
//! compacted only when its dead prefix outgrows its live part. Offsets into it are
//! logical (they never move; compaction only shifts its base).
//!
//! Tokens are not stored: the entry at index `i` has token `front + i`.

use std::collections::HashMap;

use crate::completion::Token;
use crate::error::EncodeError;
use crate::expect::{Expect, Facts, Family, Fixed, Status};

/// A command waiting for its reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    expect: Expect,
    /// `expect.family()`, kept at hand for the hot path.
    family: Family,
    /// `expect.fixed_replies()`, likewise.
    fixed: &'static [(Fixed, Status)],
    /// `QUIET`, `CANCELLED`, `AFTER_NOREPLY` bits.
    bits: u8,
    /// Length of the opaque (without its `O`), stored right after the keys; 0 if none.
    opaque_len: u8,
    /// How many keys a multi-key retrieval asked for (to size its reply).
    key_count: u32,
    /// Where the key (or the framed keys) start in the arena.
    keys_start: usize,
    /// Their length.
    keys_len: usize,
    /// Hash of the meta reply tag (opaque, echoed key), for the quiet-run check.
    tag: u64,
}

const QUIET: u8 = 1;
const CANCELLED: u8 = 2;
const AFTER_NOREPLY: u8 = 4;

impl Entry {
    #[inline]
    pub(crate) fn expect(&self) -> Expect {
        self.expect
    }

    /// The family that reads this command's reply.
    #[inline]
    pub(crate) fn family(&self) -> Family {
        self.family
    }

    /// The one-line replies made of a fixed word this command can get, the likely
    /// one first ([`Expect::fixed_replies`]).
    #[inline]
    pub(crate) fn fixed_replies(&self) -> &'static [(Fixed, Status)] {
        self.fixed
    }

    /// A quiet meta command: its reply may never come.
    #[inline]
    pub(crate) fn is_quiet(&self) -> bool {
        self.bits & QUIET != 0
    }

    /// The caller gave up on this command: read its reply, deliver nothing.
    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.bits & CANCELLED != 0
    }

    /// `noreply` commands were sent between the previous entry and this one, so an
    /// error line arriving here could be theirs.
    #[inline]
    pub(crate) fn after_noreply(&self) -> bool {
        self.bits & AFTER_NOREPLY != 0
    }

    /// How many keys a multi-key retrieval asked for.
    #[inline]
    pub(crate) fn key_count(&self) -> usize {
        self.key_count as usize
    }
}

/// What is left of a command once it leaves the deque.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Popped {
    pub(crate) token: Token,
    pub(crate) expect: Expect,
    pub(crate) cancelled: bool,
}

/// A position in a multi-key retrieval's requested keys: the keys not yet answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyCursor {
    pos: usize,
    end: usize,
}

/// Append-only byte store for the keys and opaques of pending entries.
#[derive(Debug, Default)]
struct Arena {
    bytes: Vec<u8>,
    /// Logical offset of `bytes[0]`.
    base: usize,
}

impl Arena {
    #[inline]
    fn end(&self) -> usize {
        self.base + self.bytes.len()
    }

    /// Drops everything at and after logical offset `end`.
    #[inline]
    fn truncate(&mut self, end: usize) {
        self.bytes.truncate(end - self.base);
    }

    #[inline]
    fn get(&self, start: usize, len: usize) -> &[u8] {
        let start = start - self.base;
        &self.bytes[start..start + len]
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

/// A queue of entries: a `Vec` read from `head`. Completing is moving `head`; the
/// vector is cleared whenever the queue drains (the usual case: a pipeline answered),
/// and its dead prefix is dropped once it outgrows the live part, so memory stays
/// within twice the live entries. Cheaper than a ring buffer's index wrapping on the
/// hot path.
#[derive(Debug, Default)]
struct Queue {
    entries: Vec<Entry>,
    head: usize,
}

impl Queue {
    #[inline]
    fn len(&self) -> usize {
        self.entries.len() - self.head
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.head == self.entries.len()
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&Entry> {
        self.entries.get(self.head + i)
    }

    #[inline]
    fn get_mut(&mut self, i: usize) -> Option<&mut Entry> {
        self.entries.get_mut(self.head + i)
    }

    #[inline]
    fn front(&self) -> Option<&Entry> {
        self.entries.get(self.head)
    }

    fn back(&self) -> Option<&Entry> {
        if self.is_empty() {
            None
        } else {
            self.entries.last()
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries[self.head..].iter()
    }

    #[inline]
    fn push_back(&mut self, entry: Entry) {
        if self.head > 64 && self.head > self.entries.len() / 2 {
            self.entries.drain(..self.head);
            self.head = 0;
        }
        self.entries.push(entry);
    }

    fn pop_back(&mut self) -> Option<Entry> {
        if self.is_empty() {
            None
        } else {
            self.entries.pop()
        }
    }

    #[inline]
    fn pop_front(&mut self) -> Option<Entry> {
        let entry = *self.entries.get(self.head)?;
        self.head += 1;
        if self.head == self.entries.len() {
            self.entries.clear();
            self.head = 0;
        }
        Some(entry)
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
    entries: Queue,
    arena: Arena,
    /// The token of `entries[0]` (or of the next entry, when empty).
    front: u64,
    noreply_since_last: bool,
    run: QuietRun,
}

impl Pending {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest entry.
    pub(crate) fn back(&self) -> Option<&Entry> {
        self.entries.back()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&Entry> {
        self.entries.get(i)
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }

    /// The token the next committed entry will get.
    pub(crate) fn next_token(&self) -> u64 {
        self.front + self.entries.len() as u64
    }

    /// The key a single-key command sent (raw, not base64).
    #[inline]
    pub(crate) fn key(&self, entry: &Entry) -> &[u8] {
        self.arena.get(entry.keys_start, entry.keys_len)
    }

    /// The opaque a meta command sent, without its `O`.
    #[inline]
    pub(crate) fn opaque(&self, entry: &Entry) -> Option<&[u8]> {
        (entry.opaque_len > 0).then(|| {
            self.arena.get(
                entry.keys_start + entry.keys_len,
                usize::from(entry.opaque_len),
            )
        })
    }

    /// The requested keys of a multi-key retrieval, none answered yet.
    #[inline]
    pub(crate) fn keys(&self, entry: &Entry) -> KeyCursor {
        KeyCursor {
            pos: entry.keys_start,
            end: entry.keys_start + entry.keys_len,
        }
    }

    /// The next requested key not yet answered (empty past the last). The list is
    /// kept as the request wrote it, a space before each key.
    #[inline]
    pub(crate) fn next_key(&self, cursor: KeyCursor) -> &[u8] {
        if cursor.pos >= cursor.end {
            return &[];
        }
        let rest = self.arena.get(cursor.pos + 1, cursor.end - cursor.pos - 1);
        &rest[..until_space(rest)]
    }

    /// Moves `cursor` past the next requested key (which the caller found equal to
    /// the key answered, `len` bytes long).
    #[inline]
    pub(crate) fn skip_key(&self, cursor: &mut KeyCursor, len: usize) {
        cursor.pos += 1 + len;
    }

    /// Advances `cursor` over the requested keys up to and including `key`; false
    /// (and `cursor` unchanged) if `key` is not among the remaining ones.
    pub(crate) fn take_key(&self, cursor: &mut KeyCursor, key: &[u8]) -> bool {
        let mut at = *cursor;
        while at.pos < at.end {
            let requested = self.next_key(at);
            let len = requested.len();
            self.skip_key(&mut at, len);
            if requested == key {
                *cursor = at;
                return true;
            }
        }
        false
    }

    /// Starts a new entry. The key store's dead prefix (keys of completed commands)
    /// is reclaimed first, once it dominates.
    #[inline]
    pub(crate) fn draft(&mut self) -> Draft<'_> {
        if let Some(front) = self.entries.front() {
            self.arena.compact(front.keys_start);
        }
        let mark = self.arena.end();
        Draft {
            pending: self,
            mark,
            opaque_start: None,
            key_count: 0,
        }
    }

    /// A `noreply` command was written: the next entry's error line could be its.
    pub(crate) fn note_noreply(&mut self) {
        self.noreply_since_last = true;
    }

    /// Whether a quiet meta command with this reply tag and these possible codes
    /// could have its reply mistaken for that of a quiet command still in the run.
    fn conflicts_with_quiet_run(&self, tag: u64, codes: u8) -> bool {
        self.run
            .tags
            .get(&tag)
            .is_some_and(|&(_, run_codes)| run_codes & codes != 0)
    }

    /// A command that always gets a reply was committed with `token`: the trailing
    /// run of quiet commands starts after it.
    #[inline]
    fn end_quiet_run(&mut self, token: u64) {
        if !self.run.tags.is_empty() {
            self.run.tags.clear();
        }
        self.run.start_token = token + 1;
    }

    /// Forgets a quiet entry that leaves the deque, if it is part of the trailing run.
    fn leave_run(&mut self, token: u64, entry: &Entry) {
        if entry.is_quiet() && token >= self.run.start_token {
            if let Some(slot) = self.run.tags.get_mut(&entry.tag) {
                slot.0 -= 1;
                if slot.0 == 0 {
                    self.run.tags.remove(&entry.tag);
                }
            }
        }
    }

    /// Undoes the entries committed since the deque held `len` entries (a batch that
    /// failed half way), with their keys and tokens.
    pub(crate) fn rollback(&mut self, len: usize) {
        while self.entries.len() > len {
            let Some(entry) = self.entries.pop_back() else {
                break;
            };
            let token = self.front + self.entries.len() as u64;
            self.leave_run(token, &entry);
            self.arena.truncate(entry.keys_start);
            self.noreply_since_last = entry.after_noreply();
        }
    }

    /// How many entries at the front are quiet commands followed by a `quit` or
    /// `shutdown` with nothing loud in between: at end of stream the server answered
    /// everything before the close, so their silence means what it says. 0 if there
    /// is no such close.
    pub(crate) fn quiet_before_close(&self) -> usize {
        for (i, entry) in self.entries.iter().enumerate() {
            if entry.expect() == Expect::Close {
                return i;
            }
            if !entry.is_quiet() {
                return 0;
            }
        }
        0
    }

    /// Removes the head entry; returns what completing it needs.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Popped> {
        let entry = self.entries.pop_front()?;
        let token = self.front;
        self.front += 1;
        if entry.is_quiet() {
            self.leave_run(token, &entry);
        }
        // The key store is reclaimed when drafting (see `draft`), except here, where
        // all of it is dead at once.
        if self.entries.is_empty() {
            self.arena.clear();
        }
        Some(Popped {
            token: Token(token),
            expect: entry.expect,
            cancelled: entry.is_cancelled(),
        })
    }

    /// Removes the head entry; returns its token and whether it was cancelled.
    #[inline(always)]
    pub(crate) fn pop_head(&mut self) -> Option<(Token, bool)> {
        let entry = self.entries.front()?;
        let cancelled = entry.is_cancelled();
        if entry.is_quiet() {
            return self.pop().map(|p| (p.token, p.cancelled));
        }
        self.entries.pop_front();
        let token = Token(self.front);
        self.front += 1;
        if self.entries.is_empty() {
            self.arena.clear();
        }
        Some((token, cancelled))
    }

    /// The head entry's token and whether it was cancelled, leaving it in the deque
    /// (a `watch` completes more than once).
    pub(crate) fn head_token(&self) -> Option<(Token, bool)> {
        self.entries
            .front()
            .map(|entry| (Token(self.front), entry.is_cancelled()))
    }

    /// The head entry now expects `facts.expect` (a `watch` that got its `OK` reads
    /// log lines from then on).
    pub(crate) fn set_head_expect(&mut self, facts: Facts) {
        if let Some(entry) = self.entries.get_mut(0) {
            entry.expect = facts.expect;
            entry.family = facts.family;
            entry.fixed = facts.fixed;
        }
    }

    /// Marks the entry with this token cancelled; false if it is not pending.
    pub(crate) fn cancel(&mut self, token: Token) -> bool {
        let Some(i) = token.0.checked_sub(self.front) else {
            return false;
        };
        let Some(entry) = usize::try_from(i)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        else {
            return false;
        };
        let was = entry.is_cancelled();
        entry.bits |= CANCELLED;
        !was
    }
}

/// An entry being written: records what the reply will be checked against, then
/// [commits](Self::commit) into the deque or, dropped, takes it all back.
#[must_use = "a draft joins the deque only when committed"]
pub(crate) struct Draft<'p> {
    pending: &'p mut Pending,
    /// The arena's end when the draft began.
    mark: usize,
    /// Where the opaque starts, once recorded.
    opaque_start: Option<usize>,
    key_count: u32,
}

impl Draft<'_> {
    /// Whether the queue is empty: the drafted command would be the only one pending.
    #[inline]
    pub(crate) fn is_first(&self) -> bool {
        self.pending.is_empty()
    }

    /// The token this draft will get if committed.
    #[inline]
    pub(crate) fn token(&self) -> u64 {
        self.pending.next_token()
    }

    /// Whether quiet meta commands sent since the last command that always gets a
    /// reply are still pending: their silence is only settled by a later reply.
    pub(crate) fn after_quiet(&self) -> bool {
        !self.pending.run.tags.is_empty()
    }

    /// Records the key of a single-key command.
    #[inline]
    pub(crate) fn key(&mut self, key: &[u8]) {
        debug_assert!(self.opaque_start.is_none() && self.key_count == 0);
        self.pending.arena.bytes.extend_from_slice(key);
    }

    /// Records the requested keys of a multi-key retrieval, `count` of them, as the
    /// request wrote them: a space before each (keys hold no space), one copy.
    #[inline]
    pub(crate) fn key_list(&mut self, list: &[u8], count: usize) {
        debug_assert!(self.opaque_start.is_none() && list.first() == Some(&b' '));
        self.pending.arena.bytes.extend_from_slice(list);
        self.key_count = u32::try_from(count).unwrap_or(u32::MAX);
    }

    /// Records the opaque of a meta command (after its key; at most 255 bytes).
    #[inline]
    pub(crate) fn opaque(&mut self, opaque: &[u8]) {
        debug_assert!(self.opaque_start.is_none() && opaque.len() <= 255);
        self.opaque_start = Some(self.pending.arena.end());
        self.pending.arena.bytes.extend_from_slice(opaque);
    }

    /// Joins the deque expecting `facts.expect`. A quiet meta command (or one after
    /// quiet ones) whose reply could not be told apart from an earlier quiet command's
    /// is refused with [`EncodeError::AmbiguousQuiet`], and the draft is taken back.
    #[inline]
    pub(crate) fn commit(self, facts: Facts) -> Result<Token, EncodeError> {
        let end = self.pending.arena.end();
        let keys_end = self.opaque_start.unwrap_or(end);
        let (keys_start, keys_len) = (self.mark, keys_end - self.mark);
        let opaque_len = end - keys_end;
        let pending = &mut *self.pending;
        let token = pending.next_token();
        let mut bits = 0;
        let mut tag = 0;
        match facts.expect {
            Expect::Meta {
                codes,
                quiet,
                return_key,
                ..
            } if quiet || !pending.run.tags.is_empty() => {
                let arena = &pending.arena;
                let opaque = self.opaque_start.map(|start| arena.get(start, opaque_len));
                let key = return_key.then(|| arena.get(keys_start, keys_len));
                tag = tag_hash(opaque, key);
                if pending.conflicts_with_quiet_run(tag, codes) {
                    return Err(EncodeError::AmbiguousQuiet);
                }
                if quiet {
                    bits |= QUIET;
                    let slot = pending.run.tags.entry(tag).or_insert((0, 0));
                    slot.0 += 1;
                    slot.1 |= codes;
                } else {
                    pending.end_quiet_run(token);
                }
            }
            // A command that always gets a reply: later replies can no longer be
            // mistaken for those of quiet commands before it.
            _ => pending.end_quiet_run(token),
        }
        if std::mem::take(&mut pending.noreply_since_last) {
            bits |= AFTER_NOREPLY;
        }
        pending.entries.push_back(Entry {
            expect: facts.expect,
            family: facts.family,
            fixed: facts.fixed,
            bits,
            opaque_len: opaque_len as u8,
            key_count: self.key_count,
            keys_start,
            keys_len,
            tag,
        });
        // Committed: what the draft recorded now belongs to the entry.
        std::mem::forget(self);
        Ok(Token(token))
    }
}

impl Drop for Draft<'_> {
    /// Not committed: take back everything the draft recorded.
    fn drop(&mut self) {
        self.pending.arena.truncate(self.mark);
    }
}

/// The length of the key at the front of `rest`: up to the first space, or all of it.
/// Eight bytes at a time (a word holds a space exactly when xoring it with spaces
/// leaves a zero byte), keys being short.
#[inline]
fn until_space(rest: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(word) = rest.get(at..at + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default()) ^ (ONES * 0x20);
        let zero = w.wrapping_sub(ONES) & !w & TOPS;
        if zero != 0 {
            return at + (zero.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    rest[at..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(rest.len(), |i| at + i)
}

/// FNV-1a over the parts of a meta reply tag. Deterministic and allocation-free; a
/// collision can only make the quiet-run check refuse a command it need not have.
fn tag_hash(opaque: Option<&[u8]>, echoed_key: Option<&[u8]>) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::MetaKind;

    fn meta(quiet: bool) -> Expect {
        Expect::Meta {
            kind: MetaKind::Get,
            codes: if quiet { 1 | 2 } else { 1 | 2 | 4 },
            quiet,
            return_key: false,
        }
    }

    #[test]
    fn a_dropped_draft_leaves_nothing() {
        let mut pending = Pending::default();
        let mut draft = pending.draft();
        draft.key(b"kept");
        let token = draft
            .commit(Facts::of(Expect::Single { cas: false }))
            .unwrap();
        let mut draft = pending.draft();
        draft.key(b"dropped");
        draft.opaque(b"7");
        drop(draft);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.next_token(), token.0 + 1);
        let entry = *pending.get(0).unwrap();
        assert_eq!(pending.key(&entry), b"kept");
        assert_eq!(pending.arena.end() - pending.arena.base, 4);
    }

    #[test]
    fn requested_keys_are_walked_in_order() {
        let mut pending = Pending::default();
        let mut draft = pending.draft();
        draft.key_list(b" a bb a", 3);
        draft
            .commit(Facts::of(Expect::Multi { cas: false }))
            .unwrap();
        let entry = *pending.get(0).unwrap();
        assert_eq!(entry.key_count(), 3);
        let mut cursor = pending.keys(&entry);
        assert_eq!(pending.next_key(cursor), b"a");
        assert!(pending.take_key(&mut cursor, b"bb"));
        assert_eq!(pending.next_key(cursor), b"a");
        assert!(!pending.take_key(&mut cursor, b"bb"), "already passed");
        assert!(pending.take_key(&mut cursor, b"a"));
        assert_eq!(pending.next_key(cursor), b"");
        for len in 0..30 {
            let key = vec![b'k'; len];
            let mut list = key.clone();
            list.extend_from_slice(b" rest");
            assert_eq!(until_space(&list), len);
            assert_eq!(until_space(&key), len);
        }
    }

    #[test]
    fn quiet_commands_that_cannot_be_told_apart_are_refused() {
        let mut pending = Pending::default();
        pending.draft().commit(Facts::of(meta(true))).unwrap();
        assert_eq!(
            pending.draft().commit(Facts::of(meta(true))),
            Err(EncodeError::AmbiguousQuiet)
        );
        let mut draft = pending.draft();
        draft.key(b"k");
        draft.opaque(b"1");
        let tagged = draft.commit(Facts::of(meta(true))).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.opaque(pending.get(1).unwrap()), Some(&b"1"[..]));
        // A loud command ends the run.
        pending.draft().commit(Facts::of(Expect::Version)).unwrap();
        pending.draft().commit(Facts::of(meta(true))).unwrap();
        assert!(pending.cancel(tagged));
        assert!(!pending.cancel(tagged));
        assert!(!pending.cancel(Token(99)));
        pending.rollback(2);
        assert_eq!(pending.next_token(), 2);
        while pending.pop().is_some() {}
        assert_eq!(pending.next_token(), 2);
    }
}
