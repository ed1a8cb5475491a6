//! The classic text protocol commands.

use crate::numbers::{push_u64, strtod, strtol32, strtoul32, strtoull};
use crate::parse::{KEY_MAX_LENGTH, Tokens, parse_store_line, tokenize};
use crate::server::{Comm, MsRet, Next, Pending, Server, error, positive_exptime, reply};
use crate::store::{Item, MAX_SLAB_CLASSES};
use crate::version::since;

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";
const NON_NUMERIC: &[u8] = b"CLIENT_ERROR cannot increment or decrement non-numeric value";

/// What `do_store_item()` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Stored,
    NotStored,
    Exists,
    NotFound,
}

/// What an `lru_crawler` command asks the crawler for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Crawl,
    Metadump,
    Mgdump,
}

/// What `do_add_delta()` answered.
pub(crate) enum Delta {
    Ok {
        digits: Vec<u8>,
        /// The item was changed in place (still the stored item).
        in_place: bool,
        cas: u64,
        exptime: u32,
    },
    NonNumeric,
    NotFound,
    CasMismatch,
}

impl Server {
    /// `process_get_command()`: get, gets, gat, gats, bget.
    pub(crate) fn cmd_get(
        &mut self,
        t: &Tokens<'_>,
        return_cas: bool,
        touch: bool,
        out: &mut Vec<u8>,
    ) -> Next {
        let mut first = 1;
        let mut exptime = 0;
        if touch {
            let Some(e) = strtol32(t.get(1)) else {
                reply(out, false, b"CLIENT_ERROR invalid exptime argument");
                return Next::Continue;
            };
            exptime = self.realtime(positive_exptime(e));
            first = 2;
        }
        let mut body = Vec::new();
        let mut toks = t.toks.clone();
        let mut rest = t.rest;
        loop {
            for key in toks.iter().skip(first) {
                if key.len() > KEY_MAX_LENGTH {
                    self.drop_queued_replies(out);
                    reply(out, false, BAD_FORMAT);
                    return Next::Continue;
                }
                let hit = if touch {
                    self.counters.touch_cmds += 1;
                    self.item_touch(key, exptime)
                } else {
                    self.counters.get_cmds += 1;
                    self.get_item(key, true)
                };
                if self.settings.detail_enabled {
                    self.prefixes.record_get(key, hit);
                }
                let Some(it) = hit.then(|| self.store.get(key)).flatten() else {
                    if touch {
                        self.counters.touch_misses += 1;
                    } else {
                        self.counters.get_misses += 1;
                    }
                    continue;
                };
                let class = it.class;
                body.extend_from_slice(b"VALUE ");
                body.extend_from_slice(key);
                body.push(b' ');
                push_u64(&mut body, it.flags);
                body.push(b' ');
                push_u64(&mut body, it.value.len() as u64);
                if return_cas {
                    body.push(b' ');
                    push_u64(&mut body, it.cas);
                }
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(&it.value);
                body.extend_from_slice(b"\r\n");
                if touch {
                    self.counters.slab_mut(class).touch_hits += 1;
                } else {
                    self.counters.slab_mut(class).get_hits += 1;
                }
            }
            match rest {
                Some(r) => {
                    let next = tokenize(r);
                    toks = next.toks;
                    rest = next.rest;
                    first = 0;
                }
                None => break,
            }
        }
        out.extend_from_slice(&body);
        out.extend_from_slice(b"END\r\n");
        self.request_flush();
        Next::Continue
    }

    /// `item_touch()`: a fetch that also sets the expiry time.
    pub(crate) fn item_touch(&mut self, key: &[u8], exptime: u32) -> bool {
        if !self.get_item(key, true) {
            return false;
        }
        let feed = self.store.feed;
        if let Some(it) = self.store.get_mut(key) {
            it.exptime = exptime;
            it.changed_feed = feed;
        }
        true
    }

    /// `process_update_command()`: set, add, replace, append, prepend, cas.
    pub(crate) fn cmd_update(&mut self, t: &Tokens<'_>, comm: Comm, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        let Some(line) = parse_store_line(t, comm == Comm::Cas) else {
            reply(out, noreply, BAD_FORMAT);
            // 1.6.40's parser checks the length first and swallows the
            // block when the rest of the line is bad.
            let vlen = strtol32(t.get(4)).filter(|v| (0..=i32::MAX - 2).contains(v));
            if let Some(vlen) = vlen.filter(|_| self.since(since::PARSER_REWRITE)) {
                return Next::Swallow(vlen as usize + 2);
            }
            return Next::Continue;
        };
        let exptime = self.realtime(positive_exptime(line.exptime));
        let flags = self.client_flags(line.flags);
        if self.settings.detail_enabled {
            self.prefixes.record_set(line.key);
        }
        if !self.store.size_ok(line.key.len(), flags, line.vlen) {
            reply(out, noreply, b"SERVER_ERROR object too large for cache");
            self.counters.store_too_large += 1;
            if comm == Comm::Set && self.get_item(line.key, false) {
                self.store.unlink(line.key);
            }
            return Next::Swallow(line.vlen);
        }
        self.store
            .note_alloc(self.store.ntotal(line.key.len(), flags, line.vlen - 2));
        Next::Read(Box::new(Pending {
            key: line.key.to_vec(),
            flags,
            exptime,
            req_cas: line.cas,
            comm,
            data: Vec::with_capacity(line.vlen.min(64 * 1024)),
            need: line.vlen,
            noreply,
            meta: None,
            cas_in: None,
        }))
    }

    /// Client flags as the server keeps them: all 64 bits with large client
    /// flags, else the low 32 (`strtoul` into a `uint32_t`).
    pub(crate) fn client_flags(&self, parsed: u64) -> u64 {
        if self.opts.large_client_flags {
            parsed
        } else {
            u64::from(parsed as u32)
        }
    }

    /// `complete_nread_ascii()`: the data block arrived.
    pub(crate) fn complete_nread(&mut self, p: Pending, out: &mut Vec<u8>) {
        let Pending {
            key,
            flags,
            exptime,
            req_cas,
            comm,
            mut data,
            need,
            noreply,
            meta,
            cas_in,
        } = p;
        let n = self.store.ntotal(key.len(), flags, need - 2);
        let class = self.store.slabs.class_for(n).unwrap_or(0);
        self.counters.slab_mut(class).set_cmds += 1;
        if data.get(need - 2..) != Some(&b"\r\n"[..]) {
            let noreply = noreply && meta.is_none();
            reply(out, noreply, b"CLIENT_ERROR bad data chunk");
            return;
        }
        data.truncate(need - 2);
        let sent_len = data.len() as u64;
        let mut it = Item::new(data, flags, exptime);
        let mut set_stale = false;
        if let Some(m) = &meta {
            it.key_binary = m.key_binary;
            set_stale = m.set_stale;
        }
        // From 1.6.27 the new item's cas is taken before the store is tried
        // (`store_item(…, c->cas ? c->cas : get_cas_id(), …)`), so a failed
        // store uses one up too.
        let cas_in = if self.since(since::CAS_IN) {
            Some(cas_in.unwrap_or_else(|| self.store.next_cas()))
        } else {
            None
        };
        let (result, cas, stored_len) = self.store_item(&key, it, comm, req_cas, set_stale, cas_in);
        match meta {
            None => {
                let line: &[u8] = match result {
                    Outcome::Stored => b"STORED",
                    Outcome::NotStored => b"NOT_STORED",
                    Outcome::Exists => b"EXISTS",
                    Outcome::NotFound => b"NOT_FOUND",
                };
                reply(out, noreply, line);
            }
            Some(m) => {
                let mut line = Vec::new();
                line.extend_from_slice(match result {
                    Outcome::Stored => b"HD",
                    Outcome::NotStored => b"NS",
                    Outcome::Exists => b"EX",
                    Outcome::NotFound => b"NF",
                });
                for r in &m.rets {
                    match r {
                        MsRet::Opaque(o) => {
                            line.push(b' ');
                            line.extend_from_slice(o);
                        }
                        MsRet::Key => crate::meta::push_key(&mut line, &key, m.key_binary),
                        MsRet::Cas => {
                            line.extend_from_slice(b" c");
                            push_u64(&mut line, cas);
                        }
                        MsRet::Size => {
                            line.extend_from_slice(b" s");
                            push_u64(&mut line, stored_len.unwrap_or(sent_len));
                        }
                    }
                }
                reply(out, noreply && result == Outcome::Stored, &line);
            }
        }
    }

    /// `do_store_item()`: returns the result, the new cas (0 unless stored)
    /// and, after an append or prepend, the length of the combined value.
    /// `cas_in` is the cas a stored item gets (1.6.27); `None` takes the
    /// next one when it is linked.
    pub(crate) fn store_item(
        &mut self,
        key: &[u8],
        mut it: Item,
        comm: Comm,
        req_cas: u64,
        cas_stale: bool,
        cas_in: Option<u64>,
    ) -> (Outcome, u64, Option<u64>) {
        let it_cas = if self.store.use_cas { req_cas } else { 0 };
        let link = |server: &mut Self, it: Item| match cas_in {
            Some(cas) => {
                let now = server.current_time();
                let maxbytes = server.settings.maxbytes;
                server.store.link_with_cas(key, it, cas, now, maxbytes)
            }
            None => server.link(key, it),
        };
        if !self.get_item(key, false) {
            return match comm {
                Comm::Add | Comm::Set | Comm::AppendViv | Comm::PrependViv => {
                    (Outcome::Stored, link(self, it), None)
                }
                Comm::Cas => {
                    self.counters.cas_misses += 1;
                    (Outcome::NotFound, 0, None)
                }
                Comm::Replace | Comm::Append | Comm::Prepend => (Outcome::NotStored, 0, None),
            };
        }
        let Some(old) = self.store.get(key) else {
            return (Outcome::NotStored, 0, None);
        };
        let (old_cas, old_exptime, old_token, old_flags, old_class) =
            (old.cas, old.exptime, old.token_sent, old.flags, old.class);
        #[derive(PartialEq)]
        enum CasRes {
            None,
            Match,
            Stale,
            BadVal,
        }
        let cas_res = if it_cas == 0 {
            CasRes::None
        } else if it_cas == old_cas {
            CasRes::Match
        } else if cas_stale && it_cas < old_cas {
            CasRes::Stale
        } else {
            CasRes::BadVal
        };
        match comm {
            Comm::Add => {
                let now = self.current_time();
                self.store.touch_time(key, now);
                (Outcome::NotStored, 0, None)
            }
            Comm::Cas => match cas_res {
                CasRes::Match => {
                    self.counters.slab_mut(old_class).cas_hits += 1;
                    (Outcome::Stored, link(self, it), None)
                }
                CasRes::Stale => {
                    it.exptime = old_exptime;
                    it.stale = true;
                    it.token_sent = old_token;
                    self.counters.slab_mut(old_class).cas_hits += 1;
                    (Outcome::Stored, link(self, it), None)
                }
                CasRes::None | CasRes::BadVal => {
                    self.counters.slab_mut(old_class).cas_badval += 1;
                    (Outcome::Exists, 0, None)
                }
            },
            Comm::Append | Comm::Prepend | Comm::AppendViv | Comm::PrependViv => {
                if cas_res != CasRes::None && cas_res != CasRes::Match {
                    return (Outcome::Exists, 0, None);
                }
                let old_value = &old.value;
                if !self
                    .store
                    .size_ok(key.len(), old_flags, old_value.len() + it.value.len() + 2)
                {
                    return (Outcome::NotStored, 0, None);
                }
                let mut value = Vec::with_capacity(old_value.len() + it.value.len());
                if matches!(comm, Comm::Append | Comm::AppendViv) {
                    value.extend_from_slice(old_value);
                    value.extend_from_slice(&it.value);
                } else {
                    value.extend_from_slice(&it.value);
                    value.extend_from_slice(old_value);
                }
                let len = value.len() as u64;
                let combined = Item::new(value, old_flags, old_exptime);
                (Outcome::Stored, link(self, combined), Some(len))
            }
            Comm::Replace | Comm::Set => (Outcome::Stored, link(self, it), None),
        }
    }

    /// `process_touch_command()`.
    pub(crate) fn cmd_touch(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        let key = t.get(1);
        if key.len() > KEY_MAX_LENGTH {
            reply(out, noreply, BAD_FORMAT);
            return Next::Continue;
        }
        let Some(e) = strtol32(t.get(2)) else {
            reply(out, noreply, b"CLIENT_ERROR invalid exptime argument");
            return Next::Continue;
        };
        let exptime = self.realtime(positive_exptime(e));
        self.counters.touch_cmds += 1;
        if self.item_touch(key, exptime) {
            let class = self.store.get(key).map_or(0, |it| it.class);
            self.counters.slab_mut(class).touch_hits += 1;
            reply(out, noreply, b"TOUCHED");
        } else {
            self.counters.touch_misses += 1;
            reply(out, noreply, b"NOT_FOUND");
        }
        Next::Continue
    }

    /// `do_add_delta()`. `req_cas` 0 means no cas check.
    pub(crate) fn add_delta(&mut self, key: &[u8], incr: bool, delta: u64, req_cas: u64) -> Delta {
        if !self.get_item(key, false) {
            return Delta::NotFound;
        }
        let chunk_max = self.store.slabs.sizes.last().copied().unwrap_or(0);
        let Some(it) = self.store.get(key) else {
            return Delta::NotFound;
        };
        let size = self.store.ntotal(key.len(), it.flags, it.value.len());
        if it.value.is_empty() || size > chunk_max {
            return Delta::NonNumeric;
        }
        if req_cas != 0 && it.cas != req_cas {
            return Delta::CasMismatch;
        }
        let Some(value) = strtoull(&it.value) else {
            return Delta::NonNumeric;
        };
        let (class, old_len, flags, exptime) = (it.class, it.value.len(), it.flags, it.exptime);
        let shared = self.is_pinned(it.seq);
        let new = if incr {
            value.wrapping_add(delta)
        } else {
            value.saturating_sub(delta)
        };
        if incr {
            self.counters.slab_mut(class).incr_hits += 1;
        } else {
            self.counters.slab_mut(class).decr_hits += 1;
        }
        let digits = new.to_string().into_bytes();
        if digits.len() <= old_len && !shared {
            let cas = self.store.next_cas();
            let now = self.current_time();
            if let Some(it) = self.store.get_mut(key) {
                it.cas = cas;
                it.value.clear();
                it.value.extend_from_slice(&digits);
                it.value.resize(old_len, b' ');
            }
            self.store.touch_time(key, now);
            Delta::Ok {
                digits,
                in_place: true,
                cas,
                exptime,
            }
        } else {
            let cas = self.link(key, Item::new(digits.clone(), flags, exptime));
            Delta::Ok {
                digits,
                in_place: false,
                cas,
                exptime,
            }
        }
    }

    /// `process_arithmetic_command()`: incr, decr.
    pub(crate) fn cmd_arith(&mut self, t: &Tokens<'_>, incr: bool, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        let key = t.get(1);
        if key.len() > KEY_MAX_LENGTH {
            reply(out, noreply, BAD_FORMAT);
            return Next::Continue;
        }
        let Some(delta) = strtoull(t.get(2)) else {
            reply(out, noreply, b"CLIENT_ERROR invalid numeric delta argument");
            return Next::Continue;
        };
        match self.add_delta(key, incr, delta, 0) {
            Delta::Ok { digits, .. } => reply(out, noreply, &digits),
            Delta::NonNumeric => reply(out, noreply, NON_NUMERIC),
            Delta::NotFound | Delta::CasMismatch => {
                if incr {
                    self.counters.incr_misses += 1;
                } else {
                    self.counters.decr_misses += 1;
                }
                reply(out, noreply, b"NOT_FOUND");
            }
        }
        Next::Continue
    }

    /// `process_delete_command()`.
    pub(crate) fn cmd_delete(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        let mut noreply = false;
        if n > 3 {
            let hold_is_zero = t.get(2) == b"0";
            noreply = t.last() == b"noreply";
            let valid =
                (n == 4 && (hold_is_zero || noreply)) || (n == 5 && hold_is_zero && noreply);
            if !valid {
                reply(
                    out,
                    noreply,
                    b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
                );
                return Next::Continue;
            }
        }
        let key = t.get(1);
        if key.len() > KEY_MAX_LENGTH {
            reply(out, noreply, BAD_FORMAT);
            return Next::Continue;
        }
        if self.settings.detail_enabled {
            self.prefixes.record_delete(key);
        }
        if self.get_item(key, false) {
            let class = self.store.get(key).map_or(0, |it| it.class);
            self.counters.slab_mut(class).delete_hits += 1;
            self.store.unlink(key);
            reply(out, noreply, b"DELETED");
        } else {
            self.counters.delete_misses += 1;
            reply(out, noreply, b"NOT_FOUND");
        }
        Next::Continue
    }

    /// `process_verbosity_command()`.
    pub(crate) fn cmd_verbosity(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        match strtoul32(t.get(1)) {
            Some(level) => {
                self.settings.verbose = level.min(2);
                reply(out, noreply, b"OK");
            }
            None => reply(out, noreply, BAD_FORMAT),
        }
        Next::Continue
    }

    /// `process_flush_all_command()`.
    pub(crate) fn cmd_flush_all(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        self.counters.flush_cmds += 1;
        if !self.opts.flush_enabled {
            reply(out, noreply, b"CLIENT_ERROR flush_all not allowed");
            return Next::Continue;
        }
        let mut exptime = 0;
        if t.ntokens() != if noreply { 3 } else { 2 } {
            match strtol32(t.get(1)) {
                Some(e) => exptime = e,
                None => {
                    reply(out, noreply, b"CLIENT_ERROR invalid exptime argument");
                    return Next::Continue;
                }
            }
        }
        let now = self.current_time();
        let new_oldest = if exptime > 0 {
            self.realtime(i64::from(exptime))
        } else {
            now
        };
        self.store.flush_feed = self.store.feed;
        if self.since(since::FLUSH_NO_CAS) {
            // 1.6.25: `oldest_live = new_oldest - 1`, then
            // `item_flush_expired()` unlinks every item whose time is at or
            // after it; older items read as flushed once it has passed.
            let oldest = new_oldest.wrapping_sub(1);
            self.store.oldest_live = oldest;
            self.store.oldest_cas = 0;
            self.store.unlink_touched_since(oldest);
        } else if self.store.use_cas {
            self.store.oldest_live = new_oldest.wrapping_sub(1);
            if self.store.oldest_live <= now {
                self.store.oldest_cas = self.store.next_cas();
            }
        } else {
            self.store.oldest_live = new_oldest;
        }
        reply(out, noreply, b"OK");
        Next::Continue
    }

    /// `process_memlimit_command()`.
    pub(crate) fn cmd_memlimit(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        match strtoul32(t.get(1)) {
            None => reply(out, noreply, b"ERROR"),
            Some(mb) if mb < 8 => reply(
                out,
                noreply,
                b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m",
            ),
            Some(mb) if mb > 1_000_000_000 => reply(
                out,
                noreply,
                b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes",
            ),
            Some(mb) => {
                self.settings.maxbytes = u64::from(mb) * 1024 * 1024;
                reply(out, noreply, b"OK");
            }
        }
        Next::Continue
    }

    /// `process_shutdown_command()`.
    pub(crate) fn cmd_shutdown(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        if !self.opts.shutdown_enabled {
            reply(out, false, b"ERROR: shutdown not enabled");
            return Next::Continue;
        }
        let n = t.ntokens();
        if n == 2 || (n == 3 && t.get(1) == b"graceful") {
            self.shut_down();
            return Next::Abort;
        }
        reply(out, false, b"CLIENT_ERROR invalid shutdown mode");
        Next::Continue
    }

    /// `process_slabs_command()`.
    pub(crate) fn cmd_slabs(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        if n == 5 && t.get(1) == b"reassign" {
            let (Some(src), Some(dst)) = (strtol32(t.get(2)), strtol32(t.get(3))) else {
                reply(out, false, BAD_FORMAT);
                return Next::Continue;
            };
            let line: &[u8] = self.slabs_reassign(src, dst);
            reply(out, false, line);
            return Next::Continue;
        }
        if n >= 4 && t.get(1) == b"automove" {
            let noreply = t.last() == b"noreply";
            if t.get(2) == b"ratio" {
                match strtod(t.get(3)) {
                    Some(r) if n >= 5 => self.settings.slab_automove_ratio = r,
                    _ => {
                        reply(out, noreply, b"ERROR");
                        return Next::Continue;
                    }
                }
            } else {
                match strtoul32(t.get(2)) {
                    None => {
                        reply(out, noreply, BAD_FORMAT);
                        return Next::Continue;
                    }
                    Some(level @ 0..=2) => self.settings.slab_automove = level,
                    Some(_) => {
                        reply(out, noreply, b"ERROR");
                        return Next::Continue;
                    }
                }
            }
            reply(out, noreply, b"OK");
            return Next::Continue;
        }
        error(out)
    }

    fn slabs_reassign(&mut self, src: i32, dst: i32) -> &'static [u8] {
        if src == dst {
            return b"SAME src and dst class are identical";
        }
        let largest = self.store.slabs.largest() as i32;
        let mut src = src;
        if src == -1 {
            src = (1..=largest)
                .find(|c| *c != dst && self.store.class_pages[*c as usize] > 1)
                .unwrap_or(-1);
        }
        if src < 0 || src > largest || dst < 0 || dst > largest {
            return b"BADCLASS invalid src or dst class id";
        }
        let (s, d) = (src as usize, dst as usize);
        if self.store.class_pages[s] < 2 {
            return b"NOSPARE source class has no spare pages";
        }
        self.store.class_pages[s] -= 1;
        self.store.class_pages[d] += 1;
        b"OK"
    }

    /// `process_lru_command()`.
    pub(crate) fn cmd_lru(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        let n = t.ntokens();
        let sub = t.get(1);
        if sub == b"tune" && n >= 7 {
            let parsed = (
                strtoul32(t.get(2)),
                strtoul32(t.get(3)),
                strtod(t.get(4)),
                strtod(t.get(5)),
            );
            let (Some(hot), Some(warm), Some(hot_factor), Some(factor)) = parsed else {
                reply(out, noreply, b"ERROR");
                return Next::Continue;
            };
            if hot.wrapping_add(warm) > 80 {
                reply(out, noreply, b"ERROR hot and warm pcts must not exceed 80");
            } else if factor <= 0.0 || hot_factor <= 0.0 {
                reply(
                    out,
                    noreply,
                    b"ERROR hot/warm age factors must be greater than 0",
                );
            } else {
                self.settings.hot_lru_pct = hot;
                self.settings.warm_lru_pct = warm;
                self.settings.hot_max_factor = hot_factor;
                self.settings.warm_max_factor = factor;
                reply(out, noreply, b"OK");
            }
        } else if sub == b"mode" && n >= 4 {
            match t.get(2) {
                b"flat" => {
                    self.settings.lru_segmented = false;
                    reply(out, noreply, b"OK");
                }
                b"segmented" => {
                    self.settings.lru_segmented = true;
                    reply(out, noreply, b"OK");
                }
                _ => reply(out, noreply, b"ERROR"),
            }
        } else if sub == b"temp_ttl" && n >= 4 {
            match strtol32(t.get(2)) {
                None => reply(out, noreply, b"ERROR"),
                Some(ttl) => {
                    if ttl < 0 {
                        self.settings.temp_lru = false;
                    } else {
                        self.settings.temp_lru = true;
                        self.settings.temporary_ttl = ttl;
                    }
                    reply(out, noreply, b"OK");
                }
            }
        } else {
            reply(out, noreply, b"ERROR");
        }
        Next::Continue
    }

    /// The class list of `lru_crawler crawl|metadump`; `None` for a bad one.
    fn crawl_classes(&self, arg: &[u8], metadump: bool) -> Option<Vec<bool>> {
        let mut classes = vec![false; MAX_SLAB_CLASSES];
        if arg == b"all" || (metadump && arg == b"hash") {
            classes.iter_mut().skip(1).for_each(|c| *c = true);
            return Some(classes);
        }
        for part in arg.split(|b| *b == b',').filter(|p| !p.is_empty()) {
            let id = strtoul32(part)? as usize;
            if !(1..MAX_SLAB_CLASSES).contains(&id) {
                return None;
            }
            classes[id] = true;
        }
        Some(classes)
    }

    /// `lru_crawler crawl|metadump|mgdump <classes>`.
    ///
    /// `lru_crawler disable` stops the thread asynchronously: in the same
    /// read event the crawler refuses to start (`ERROR an unknown error
    /// happened`), later it is disabled (`CLIENT_ERROR lru crawler
    /// disabled`). A `crawl` keeps the crawler busy for the rest of the read
    /// event (`BUSY …`); a dump runs to its end before the next read.
    fn crawler_job(&mut self, job: Job, arg: &[u8], out: &mut Vec<u8>) -> Next {
        let feed = self.store.feed;
        let stopping = self.settings.crawler_stopped_in == Some(feed);
        if !self.settings.crawler_running && !stopping {
            reply(out, false, b"CLIENT_ERROR lru crawler disabled");
            return Next::Continue;
        }
        if job != Job::Crawl {
            if !self.opts.dump_enabled {
                let line: &[u8] = if job == Job::Metadump {
                    b"ERROR metadump not allowed"
                } else {
                    b"ERROR key dump not allowed"
                };
                reply(out, false, line);
                return Next::Continue;
            }
            if self.replies_queued() {
                let line: &[u8] = if job == Job::Metadump {
                    b"ERROR cannot pipeline other commands before metadump"
                } else {
                    b"ERROR cannot pipeline other commands before mgdump"
                };
                reply(out, false, line);
                return Next::Continue;
            }
        }
        let Some(classes) = self.crawl_classes(arg, job != Job::Crawl) else {
            reply(out, false, b"BADCLASS invalid class id");
            return Next::Continue;
        };
        if stopping {
            reply(out, false, b"ERROR an unknown error happened");
            return Next::Continue;
        }
        if self.settings.crawl_busy_in == Some(feed) {
            reply(out, false, b"BUSY currently processing crawler request");
            return Next::Continue;
        }
        match job {
            Job::Crawl => {
                self.settings.crawl_busy_in = Some(feed);
                reply(out, false, b"OK");
                Next::Continue
            }
            Job::Metadump => {
                self.metadump(&classes, out);
                Next::Pause
            }
            Job::Mgdump => {
                self.mgdump(&classes, out);
                Next::Pause
            }
        }
    }

    /// `process_lru_crawler_command()`.
    pub(crate) fn cmd_lru_crawler(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        let sub = t.get(1);
        match (n, sub) {
            (4, b"crawl") => self.crawler_job(Job::Crawl, t.get(2), out),
            (4, b"metadump") => self.crawler_job(Job::Metadump, t.get(2), out),
            (4, b"mgdump") if self.since(since::MGDUMP) => {
                self.crawler_job(Job::Mgdump, t.get(2), out)
            }
            (4, b"tocrawl") => {
                match strtoul32(t.get(2)) {
                    None => reply(out, false, BAD_FORMAT),
                    Some(v) => {
                        self.settings.lru_crawler_tocrawl = v;
                        reply(out, false, b"OK");
                    }
                }
                Next::Continue
            }
            (4, b"sleep") => {
                match strtoul32(t.get(2)) {
                    None => reply(out, false, BAD_FORMAT),
                    Some(v) if v > 1_000_000 => {
                        reply(out, false, b"CLIENT_ERROR sleep must be one second or less")
                    }
                    Some(v) => {
                        self.settings.lru_crawler_sleep = v;
                        reply(out, false, b"OK");
                    }
                }
                Next::Continue
            }
            (3, b"enable") => {
                let stopping = self.settings.crawler_stopped_in == Some(self.store.feed);
                if self.settings.crawler_running || stopping {
                    reply(out, false, b"ERROR failed to start lru crawler thread");
                } else {
                    self.settings.crawler_running = true;
                    reply(out, false, b"OK");
                }
                Next::Continue
            }
            (3, b"disable") => {
                if self.settings.crawler_running {
                    // The thread stops asynchronously, after this read event.
                    self.settings.crawler_stopped_in = Some(self.store.feed);
                }
                self.settings.crawler_running = false;
                reply(out, false, b"OK");
                Next::Continue
            }
            _ => error(out),
        }
    }

    /// Live keys of the chosen classes in crawler order: class by class,
    /// oldest first.
    fn crawl_order(&self, classes: &[bool]) -> Vec<Vec<u8>> {
        let now = self.current_time();
        // The crawler walks each LRU from its tail: oldest first.
        let mut keys: Vec<(usize, Vec<u8>)> = self
            .store
            .live_keys(now)
            .into_iter()
            .rev()
            .filter_map(|key| {
                let class = self.store.get(&key)?.class;
                classes
                    .get(class)
                    .copied()
                    .unwrap_or(false)
                    .then_some((class, key))
            })
            .collect();
        keys.sort_by_key(|(class, _)| *class);
        keys.into_iter().map(|(_, key)| key).collect()
    }

    /// `lru_crawler mgdump` (1.6.19): `mg <key>` (`mg <base64> b` for a
    /// binary key) per live item, then `EN`; `OK` first from 1.6.43.
    fn mgdump(&mut self, classes: &[bool], out: &mut Vec<u8>) {
        if self.since(since::DUMP_OK) {
            out.extend_from_slice(b"OK\r\n");
        }
        for key in self.crawl_order(classes) {
            let Some(it) = self.store.get(&key) else {
                continue;
            };
            out.extend_from_slice(b"mg ");
            if it.key_binary {
                crate::base64::encode(&key, out);
                out.extend_from_slice(b" b\r\n");
            } else {
                out.extend_from_slice(&key);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"EN\r\n");
    }

    /// The item lines of `lru_crawler metadump`, then `END`. From 1.6.24
    /// each line ends in ` flags=<n>`, from 1.6.39 with a space before the
    /// `\n`; from 1.6.43 an `OK` line comes first.
    fn metadump(&mut self, classes: &[bool], out: &mut Vec<u8>) {
        if self.since(since::DUMP_OK) {
            out.extend_from_slice(b"OK\r\n");
        }
        let started = self.process_started;
        let with_flags = self.since(since::ME_EXP_FIXED);
        let trailing_space = self.since(since::METADUMP_SPACE);
        for key in self.crawl_order(classes) {
            let Some(it) = self.store.get(&key) else {
                continue;
            };
            let mut line = b"key=".to_vec();
            for &b in &key {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    line.push(b);
                } else {
                    line.extend_from_slice(format!("%{b:02X}").as_bytes());
                }
            }
            line.extend_from_slice(b" exp=");
            if it.exptime == 0 {
                line.extend_from_slice(b"-1");
            } else {
                push_u64(&mut line, u64::from(it.exptime).saturating_add(started));
            }
            line.extend_from_slice(b" la=");
            push_u64(&mut line, u64::from(it.time).saturating_add(started));
            line.extend_from_slice(b" cas=");
            push_u64(&mut line, it.cas);
            line.extend_from_slice(if it.fetched {
                b" fetch=yes"
            } else {
                b" fetch=no"
            });
            line.extend_from_slice(b" cls=");
            push_u64(&mut line, it.class as u64);
            line.extend_from_slice(b" size=");
            push_u64(&mut line, self.store.item_ntotal(&key, it) as u64);
            if with_flags {
                line.extend_from_slice(b" flags=");
                push_u64(&mut line, it.flags);
            }
            if trailing_space {
                line.push(b' ');
            }
            line.push(b'\n');
            out.extend_from_slice(&line);
        }
        out.extend_from_slice(b"END\r\n");
    }

    /// `process_watch_command()`.
    pub(crate) fn cmd_watch(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        if !self.opts.watch_enabled {
            reply(out, noreply, b"CLIENT_ERROR watch commands not allowed");
            return Next::Continue;
        }
        if self.replies_queued() {
            reply(
                out,
                noreply,
                b"ERROR cannot pipeline other commands before watch",
            );
            return Next::Continue;
        }
        const KINDS: [&[u8]; 10] = [
            b"rawcmds",
            b"evictions",
            b"fetchers",
            b"mutations",
            b"sysevents",
            b"connevents",
            b"proxyreqs",
            b"proxyevents",
            b"proxyuser",
            b"deletions",
        ];
        let known =
            |k: &&[u8]| KINDS.contains(k) && (*k != b"deletions" || self.since(since::MS_SIZE));
        if !t.toks.iter().skip(1).all(known) {
            reply(out, noreply, b"ERROR");
            return Next::Continue;
        }
        out.extend_from_slice(b"OK\r\n");
        Next::Watch
    }

    /// `process_extstore_command()` on a build with extstore but no store file.
    pub(crate) fn cmd_extstore(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let noreply = t.last() == b"noreply";
        let n = t.ntokens();
        let arg = t.get(2);
        let s = &mut self.settings;
        let ok = if n < 4 {
            false
        } else {
            let set = |v: &mut u32| strtoul32(arg).map(|x| *v = x).is_some();
            match t.get(1) {
                b"free_memchunks" if n > 4 => {
                    matches!((strtoul32(arg), strtoul32(t.get(3))), (Some(c), Some(_)) if (c as usize) < MAX_SLAB_CLASSES)
                }
                b"item_size" => set(&mut s.ext_item_size),
                b"item_age" => set(&mut s.ext_item_age),
                b"low_ttl" => set(&mut s.ext_low_ttl),
                b"recache_rate" => set(&mut s.ext_recache_rate),
                b"compact_under" => set(&mut s.ext_compact_under),
                b"drop_under" => set(&mut s.ext_drop_under),
                b"max_sleep" => set(&mut s.ext_max_sleep),
                b"max_frag" => strtod(arg).map(|x| s.ext_max_frag = x).is_some(),
                b"drop_unread" => strtoul32(arg).map(|x| s.ext_drop_unread = x != 0).is_some(),
                _ => false,
            }
        };
        reply(out, noreply, if ok { b"OK" } else { b"ERROR" });
        Next::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::Server;
    use crate::tests::reply_text as run;

    #[test]
    fn incr_pads_in_place_and_grows() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"set a 0 0 3\r\n100\r\ndecr a 1\r\nget a\r\n"),
            "STORED\r\n99\r\nVALUE a 0 3\r\n99 \r\nEND\r\n"
        );
        assert_eq!(
            run(&mut s, b"set b 0 0 1\r\n9\r\nincr b 1\r\nget b\r\n"),
            "STORED\r\n10\r\nVALUE b 0 2\r\n10\r\nEND\r\n"
        );
        assert_eq!(
            run(&mut s, b"set c 0 0 5\r\n12 34\r\nincr c 1\r\nget c\r\n"),
            "STORED\r\n13\r\nVALUE c 0 5\r\n13   \r\nEND\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"set d 0 0 20\r\n18446744073709551615\r\nincr d 1\r\ndecr d 5\r\n"
            ),
            "STORED\r\n0\r\n0\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"set e 0 0 3\r\n 12\r\nincr e 1\r\nset f 0 0 2\r\n-0\r\nincr f 1\r\n"
            ),
            "STORED\r\n13\r\nSTORED\r\n1\r\n"
        );
        for bad in [
            &b"abc"[..],
            b"0x10",
            b"",
            b"   ",
            b"-5",
            b"18446744073709551616",
        ] {
            let mut input = format!("set g 0 0 {}\r\n", bad.len()).into_bytes();
            input.extend_from_slice(bad);
            input.extend_from_slice(b"\r\nincr g 1\r\n");
            assert_eq!(
                run(&mut s, &input),
                "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            run(&mut s, b"incr a abc\r\nincr a -1\r\nincr nokey 1\r\n"),
            "CLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\n"
        );
    }

    #[test]
    fn noreply_table() {
        let mut s = Server::new();
        // normal statuses are suppressed
        assert_eq!(
            run(
                &mut s,
                b"set k 0 0 1 noreply\r\na\r\nadd k 0 0 1 noreply\r\nb\r\nincr k 1 noreply\r\n\
                  touch k 1 noreply\r\ndelete nokey noreply\r\nflush_all 0 noreply\r\nverbosity 1 noreply\r\n\
                  cache_memlimit 64 noreply\r\nversion\r\n"
            ),
            "VERSION 1.6.18\r\n"
        );
        // CLIENT_ERROR and SERVER_ERROR are suppressed too; the too-large data is swallowed
        let mut big = b"set big 0 0 1048577 noreply\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'z', 1048577));
        big.extend_from_slice(
            b"\r\nset n 0 0 1\r\nx\r\nincr n 1 noreply\r\nset m 0 0 -1 noreply\r\nversion\r\n",
        );
        assert_eq!(run(&mut s, &big), "STORED\r\nVERSION 1.6.18\r\n");
        // a wrong token count still gets ERROR; leftovers of a suppressed bad chunk too
        assert_eq!(
            run(
                &mut s,
                b"set k 0 noreply\r\nset k 0 0 1 noreply\r\nxyz\r\nversion\r\n"
            ),
            "ERROR\r\nERROR\r\nVERSION 1.6.18\r\n"
        );
        // delete with a bad extra argument and noreply: suppressed
        assert_eq!(
            run(&mut s, b"delete k x noreply\r\ndelete k 5\r\n"),
            "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
        );
    }

    #[test]
    fn bad_data_chunk_desync() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"set a 0 0 3\r\nabcde\r\n"),
            "CLIENT_ERROR bad data chunk\r\nERROR\r\n"
        );
        assert_eq!(
            run(&mut s, b"set b 0 0 5\r\nab\r\nget b\r\n"),
            "CLIENT_ERROR bad data chunk\r\nERROR\r\n"
        );
        // the short block swallowed "ge" of the get; "t b" ran as a command
        assert_eq!(run(&mut s, b"get a b\r\n"), "END\r\n");
        // command-line errors do not swallow the data
        assert_eq!(
            run(&mut s, b"cas c 0 0 1 abc\r\nx\r\nset d ace 0 0 1\r\nx\r\n"),
            "CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"
        );
        // but a too-large value is swallowed
        let mut big = b"set big 0 0 1048577\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'z', 1048577));
        big.extend_from_slice(b"\r\nget big\r\n");
        assert_eq!(
            run(&mut s, &big),
            "SERVER_ERROR object too large for cache\r\nEND\r\n"
        );
    }

    #[test]
    fn largest_value() {
        let mut s = Server::new();
        for (flags, len, ok) in [
            (0, 1048512, true),
            (0, 1048513, false),
            (1, 1048508, true),
            (1, 1048509, false),
        ] {
            let mut input = format!("set kkkkk {flags} 0 {len}\r\n").into_bytes();
            input.extend(std::iter::repeat_n(b'v', len));
            input.extend_from_slice(b"\r\n");
            let expected = if ok {
                "STORED\r\n"
            } else {
                "SERVER_ERROR object too large for cache\r\n"
            };
            assert_eq!(run(&mut s, &input), expected, "flags {flags} len {len}");
        }
    }

    #[test]
    fn exptime_rules() {
        let mut s = Server::new();
        let now = s.time();
        let input = format!(
            "set never 0 0 1\r\nx\r\nset neg 0 -1 1\r\nx\r\nset rel 0 2592000 1\r\nx\r\n\
             set abs_past 0 2592001 1\r\nx\r\nset abs 0 {} 1\r\nx\r\nset short 0 10 1\r\nx\r\n\
             set wrap 0 2147483648 1\r\nx\r\n\
             get never neg rel abs_past abs short wrap\r\n",
            now + 100
        );
        assert_eq!(
            run(&mut s, input.as_bytes()),
            "STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n\
             VALUE never 0 1\r\nx\r\nVALUE rel 0 1\r\nx\r\nVALUE abs 0 1\r\nx\r\nVALUE short 0 1\r\nx\r\nEND\r\n"
        );
        s.advance(10);
        assert_eq!(
            run(&mut s, b"get short abs\r\n"),
            "VALUE abs 0 1\r\nx\r\nEND\r\n"
        );
        s.advance(90);
        assert_eq!(
            run(&mut s, b"get abs never\r\n"),
            "VALUE never 0 1\r\nx\r\nEND\r\n"
        );
        // gat with a negative time returns the value once
        assert_eq!(
            run(&mut s, b"gat -1 never\r\nget never\r\n"),
            "VALUE never 0 1\r\nx\r\nEND\r\nEND\r\n"
        );
        // touch moves the expiry
        assert_eq!(
            run(&mut s, b"set t 0 5 1\r\nx\r\ntouch t 100\r\n"),
            "STORED\r\nTOUCHED\r\n"
        );
        s.advance(50);
        assert_eq!(run(&mut s, b"get t\r\n"), "VALUE t 0 1\r\nx\r\nEND\r\n");
    }

    #[test]
    fn flush_all_delay() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"set a 0 0 1\r\nx\r\nflush_all 10\r\nget a\r\n"),
            "STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
        );
        s.advance(10);
        assert_eq!(
            run(&mut s, b"get a\r\nset b 0 0 1\r\ny\r\nget b\r\n"),
            "END\r\nSTORED\r\nVALUE b 0 1\r\ny\r\nEND\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"flush_all\r\nget b\r\nflush_all abc\r\nflush_all 0 0 0\r\n"
            ),
            "OK\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\n"
        );
    }

    #[test]
    fn gets_and_cas() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"set a 0 0 1\r\nx\r\ngets a\r\ncas a 0 0 1 1\r\ny\r\ncas a 0 0 1 1\r\nz\r\ncas a 0 0 1 0\r\nz\r\ncas b 0 0 1 5\r\nz\r\n"),
            "STORED\r\nVALUE a 0 1 1\r\nx\r\nEND\r\nSTORED\r\nEXISTS\r\nEXISTS\r\nNOT_FOUND\r\n"
        );
    }
}
