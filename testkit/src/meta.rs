//! The meta protocol commands: mg, ms, md, ma, me (mn is in the dispatcher).

use crate::base64;
use crate::classic::Delta;
use crate::numbers::{push_i64, push_u64, strtol32, strtoull};
use crate::parse::{KEY_MAX_LENGTH, META_MAX_NTOKENS, MsHeadError, Tokens, parse_ms_head};
use crate::server::{Comm, MsCtx, MsRet, Next, Pending, Server, error, positive_exptime};
use crate::store::Item;
use crate::version::since;

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";
const OPAQUE_MAX: usize = 32;

/// Flags found by `_meta_flag_preparse()`.
#[derive(Debug, Default, Clone)]
pub(crate) struct MetaFlags {
    no_update: bool,
    locked: bool,
    vivify: bool,
    value: bool,
    set_stale: bool,
    no_reply: bool,
    has_cas: bool,
    /// `E<cas>` (1.6.27).
    has_cas_in: bool,
    /// `x` (1.6.27, md): remove the value, keep the item.
    remove_val: bool,
    new_ttl: bool,
    key_binary: bool,
    mode: u8,
    exptime: u32,
    autoviv_exptime: u32,
    recache_time: u32,
    client_flags: u64,
    req_cas: u64,
    cas_in: u64,
    delta: u64,
    initial: u64,
}

/// Appends ` k<key>`, base64-encoded with a trailing ` b` for binary keys.
pub(crate) fn push_key(line: &mut Vec<u8>, key: &[u8], binary: bool) {
    line.extend_from_slice(b" k");
    if binary {
        base64::encode(key, line);
        line.extend_from_slice(b" b");
    } else {
        line.extend_from_slice(key);
    }
}

fn error_line(out: &mut Vec<u8>, msg: &[u8]) -> Next {
    out.extend_from_slice(msg);
    out.extend_from_slice(b"\r\n");
    Next::Continue
}

impl Server {
    /// `_meta_flag_preparse()`: checks the flag tokens and decodes a base64
    /// key in place. On failure, the error line memcached would pick.
    fn preparse(
        &self,
        key: &mut Vec<u8>,
        flags: &[&[u8]],
        mut of: MetaFlags,
    ) -> Result<MetaFlags, &'static [u8]> {
        let mut seen = [false; 127];
        let mut errstr: &'static [u8] = BAD_FORMAT;
        let mut has_error = false;
        const BAD_TOKEN: &[u8] = b"CLIENT_ERROR bad token in command line format";
        for tok in flags {
            let Some(&o) = tok.first() else { continue };
            let arg = &tok[1..];
            let idx = usize::from(o);
            if idx >= seen.len() || seen[idx] {
                return Err(b"CLIENT_ERROR duplicate flag");
            }
            seen[idx] = true;
            match o {
                b'b' => {
                    match base64::decode(key) {
                        Some(decoded) => *key = decoded,
                        None => {
                            key.clear();
                            errstr = b"CLIENT_ERROR error decoding key";
                            has_error = true;
                        }
                    }
                    of.key_binary = true;
                }
                b'N' => {
                    of.locked = true;
                    of.vivify = true;
                    match strtol32(arg) {
                        Some(v) => of.autoviv_exptime = self.realtime(positive_exptime(v)),
                        None => {
                            errstr = BAD_TOKEN;
                            has_error = true;
                        }
                    }
                }
                b'T' => {
                    of.locked = true;
                    match strtol32(arg) {
                        Some(v) => {
                            of.exptime = self.realtime(positive_exptime(v));
                            of.new_ttl = true;
                        }
                        None => {
                            errstr = BAD_TOKEN;
                            has_error = true;
                        }
                    }
                }
                b'R' => {
                    of.locked = true;
                    match strtol32(arg) {
                        Some(v) => of.recache_time = self.realtime(positive_exptime(v)),
                        None => {
                            errstr = BAD_TOKEN;
                            has_error = true;
                        }
                    }
                }
                b'l' | b'h' => of.locked = true,
                b'O' | b'P' | b'L' | b'k' | b's' | b't' | b'c' | b'f' => {}
                b'v' => of.value = true,
                b'u' => of.no_update = true,
                b'q' => of.no_reply = true,
                b'F' => match strtoull(arg) {
                    Some(v) if self.opts.large_client_flags => of.client_flags = v,
                    // 1.6.45 reads `F` as a strict u32 on a normal build.
                    Some(v) if v > u64::from(u32::MAX) && self.since(since::STRICT_F) => {
                        has_error = true;
                    }
                    Some(v) => of.client_flags = u64::from(v as u32),
                    None => has_error = true,
                },
                b'E' if self.since(since::CAS_IN) => match strtoull(arg) {
                    Some(v) => {
                        of.cas_in = v;
                        of.has_cas_in = true;
                    }
                    None => {
                        errstr = BAD_TOKEN;
                        has_error = true;
                    }
                },
                b'x' if self.since(since::CAS_IN) => of.remove_val = true,
                b'C' => match strtoull(arg) {
                    Some(v) => {
                        of.req_cas = v;
                        of.has_cas = true;
                    }
                    None => {
                        errstr = BAD_TOKEN;
                        has_error = true;
                    }
                },
                b'M' => {
                    if tok.len() != 2 {
                        errstr = b"CLIENT_ERROR incorrect length for M token";
                        has_error = true;
                    } else {
                        of.mode = tok[1];
                    }
                }
                b'J' => match strtoull(arg) {
                    Some(v) => of.initial = v,
                    None => {
                        errstr = b"CLIENT_ERROR invalid numeric initial value";
                        has_error = true;
                    }
                },
                b'D' => match strtoull(arg) {
                    Some(v) => of.delta = v,
                    None => {
                        errstr = b"CLIENT_ERROR invalid numeric delta value";
                        has_error = true;
                    }
                },
                b'I' => of.set_stale = true,
                _ => return Err(b"CLIENT_ERROR invalid flag"),
            }
        }
        if has_error { Err(errstr) } else { Ok(of) }
    }

    /// `process_mget_command()`.
    pub(crate) fn cmd_mg(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        if n < 3 {
            return error(out);
        }
        if t.get(1).len() > KEY_MAX_LENGTH {
            return error_line(out, BAD_FORMAT);
        }
        if n == 3 && !self.since(since::MG_BARE) {
            return error_line(out, BAD_FORMAT);
        }
        if n > META_MAX_NTOKENS {
            return error_line(out, b"CLIENT_ERROR options flags are too long");
        }
        let flags = &t.toks[2..];
        let mut key = t.get(1).to_vec();
        let of = match self.preparse(&mut key, flags, MetaFlags::default()) {
            Ok(of) => of,
            Err(e) => return error_line(out, e),
        };
        self.counters.meta_cmds += 1;
        let now = self.current_time();
        let hit = self.get_item(&key, !of.locked && !of.no_update);
        let mut created = false;
        if !hit && of.vivify {
            let it = Item::new(Vec::new(), 0, 0);
            if of.has_cas_in {
                let maxbytes = self.settings.maxbytes;
                self.store.link_with_cas(&key, it, of.cas_in, now, maxbytes);
            } else {
                self.link(&key, it);
            }
            created = true;
        }
        if !hit && !created {
            self.counters.get_cmds += 1;
            self.counters.get_misses += 1;
            let mut line = b"EN".to_vec();
            // Before 1.6.18 `EN` echoes neither `O` nor `k`.
            let echo = if self.since(since::MG_BARE) {
                flags
            } else {
                &[]
            };
            for tok in echo {
                match tok.first() {
                    Some(b'O') => {
                        if tok.len() > OPAQUE_MAX {
                            return error_line(out, b"CLIENT_ERROR opaque token too long");
                        }
                        line.push(b' ');
                        line.extend_from_slice(tok);
                    }
                    Some(b'k') => push_key(&mut line, &key, of.key_binary),
                    _ => {}
                }
            }
            if !of.no_reply {
                out.extend_from_slice(&line);
                out.extend_from_slice(b"\r\n");
            }
            return Next::Continue;
        }
        let feed = self.store.feed;
        let conditional = self.since(since::MG_CAS);
        let Some(it) = self.store.get_mut(&key) else {
            return error_line(out, BAD_FORMAT);
        };
        let mut of = of;
        // 1.6.40: `C<cas>` matching the item's cas drops `v`.
        if conditional && of.has_cas && it.cas == of.req_cas {
            of.value = false;
        }
        let mut line = Vec::new();
        if of.value {
            line.extend_from_slice(b"VA ");
            push_u64(&mut line, it.value.len() as u64);
        } else {
            line.extend_from_slice(b"HD");
        }
        let mut won = false;
        let mut ttl_set = false;
        for tok in flags {
            let Some(&c) = tok.first() else { continue };
            match c {
                b'T' => {
                    ttl_set = true;
                    it.exptime = of.exptime;
                    it.changed_feed = feed;
                }
                b'N' if created => {
                    it.exptime = of.autoviv_exptime;
                    won = true;
                }
                b'R' if !it.token_sent
                    && !created
                    && it.exptime != 0
                    && it.exptime < of.recache_time =>
                {
                    won = true;
                }
                b's' => {
                    line.extend_from_slice(b" s");
                    push_u64(&mut line, it.value.len() as u64);
                }
                b't' => {
                    line.extend_from_slice(b" t");
                    if it.exptime == 0 {
                        line.extend_from_slice(b"-1");
                    } else {
                        push_u64(&mut line, u64::from(it.exptime.wrapping_sub(now)));
                    }
                }
                b'c' => {
                    line.extend_from_slice(b" c");
                    push_u64(&mut line, it.cas);
                }
                b'f' => {
                    line.extend_from_slice(b" f");
                    push_u64(&mut line, it.flags);
                }
                b'l' => {
                    line.extend_from_slice(b" l");
                    push_u64(&mut line, u64::from(now.wrapping_sub(it.time)));
                }
                b'h' => line.extend_from_slice(if it.fetched { b" h1" } else { b" h0" }),
                b'O' => {
                    if tok.len() > OPAQUE_MAX {
                        return error_line(out, b"CLIENT_ERROR opaque token too long");
                    }
                    line.push(b' ');
                    line.extend_from_slice(tok);
                }
                b'k' => push_key(&mut line, &key, it.key_binary),
                _ => {}
            }
        }
        if it.token_sent {
            line.extend_from_slice(b" Z");
        }
        if it.stale {
            line.extend_from_slice(b" X");
            if !it.token_sent {
                won = true;
            }
        }
        if won {
            line.extend_from_slice(b" W");
            it.token_sent = true;
        }
        line.extend_from_slice(b"\r\n");
        if of.value {
            line.extend_from_slice(&it.value);
            line.extend_from_slice(b"\r\n");
        }
        let (class, seq) = (it.class, it.seq);
        out.extend_from_slice(&line);
        self.pin(seq);
        if of.locked && !of.no_update {
            self.store.bump(&key, now);
        }
        if ttl_set {
            self.counters.touch_cmds += 1;
            self.counters.slab_mut(class).touch_hits += 1;
        } else {
            self.counters.get_cmds += 1;
            self.counters.slab_mut(class).get_hits += 1;
        }
        Next::Continue
    }

    /// `process_mset_command()`.
    pub(crate) fn cmd_ms(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let vlen = match parse_ms_head(t) {
            Ok(vlen) => vlen,
            Err(MsHeadError::Error) => return error(out),
            Err(MsHeadError::Client(msg)) => return error_line(out, msg.as_bytes()),
        };
        self.counters.meta_cmds += 1;
        let flags = &t.toks[3..];
        let mut key = t.get(1).to_vec();
        let of = match self.preparse(&mut key, flags, MetaFlags::default()) {
            Ok(of) => of,
            Err(e) => {
                error_line(out, e);
                return Next::Swallow(vlen);
            }
        };
        let mut rets = Vec::new();
        let mut opaque_error = false;
        for tok in flags {
            match tok.first() {
                Some(b'O') => {
                    if tok.len() > OPAQUE_MAX {
                        opaque_error = true;
                    } else {
                        rets.push(MsRet::Opaque(tok.to_vec()));
                    }
                }
                Some(b'k') => rets.push(MsRet::Key),
                Some(b'c') => {
                    rets.push(MsRet::Cas);
                    // 1.6.20's return-flag stash falls through from `c`
                    // into `s`.
                    if self.since(since::MS_SIZE) && !self.since(since::MS_C_FIXED) {
                        rets.push(MsRet::Size);
                    }
                }
                Some(b's') if self.since(since::MS_SIZE) => rets.push(MsRet::Size),
                _ => {}
            }
        }
        let vivify = of.vivify && self.since(since::MS_SIZE);
        let mut exptime = of.exptime;
        let mut comm = match of.mode {
            0 | b'S' => Comm::Set,
            b'E' => Comm::Add,
            b'A' if vivify => Comm::AppendViv,
            b'P' if vivify => Comm::PrependViv,
            b'A' => Comm::Append,
            b'P' => Comm::Prepend,
            b'R' => Comm::Replace,
            _ => {
                error_line(out, b"CLIENT_ERROR invalid mode for ms M token");
                return Next::Swallow(vlen);
            }
        };
        if matches!(comm, Comm::AppendViv | Comm::PrependViv) {
            exptime = of.autoviv_exptime;
        }
        if of.has_cas && (comm == Comm::Set || comm == Comm::Replace) {
            comm = Comm::Cas;
        }
        if opaque_error {
            error_line(out, b"CLIENT_ERROR opaque token too long");
            return Next::Swallow(vlen);
        }
        if !self.store.size_ok(key.len(), of.client_flags, vlen) {
            error_line(out, b"SERVER_ERROR object too large for cache");
            self.counters.store_too_large += 1;
            if self.get_item(&key, false) {
                self.store.unlink(&key);
            }
            return Next::Swallow(vlen);
        }
        self.store
            .note_alloc(self.store.ntotal(key.len(), of.client_flags, vlen - 2));
        Next::Read(Box::new(Pending {
            key,
            flags: of.client_flags,
            exptime,
            req_cas: of.req_cas,
            comm,
            data: Vec::with_capacity(vlen.min(64 * 1024)),
            need: vlen,
            noreply: of.no_reply,
            meta: Some(MsCtx {
                rets,
                key_binary: of.key_binary,
                set_stale: of.set_stale && comm == Comm::Cas,
            }),
            cas_in: of.has_cas_in.then_some(of.cas_in),
        }))
    }

    /// `process_mdelete_command()`.
    pub(crate) fn cmd_md(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        if n < 3 {
            return error(out);
        }
        if t.get(1).len() > KEY_MAX_LENGTH {
            return error_line(out, BAD_FORMAT);
        }
        if n > META_MAX_NTOKENS {
            return error_line(out, b"CLIENT_ERROR options flags too long");
        }
        let flags = &t.toks[2..];
        let mut key = t.get(1).to_vec();
        let Ok(of) = self.preparse(&mut key, flags, MetaFlags::default()) else {
            return error_line(out, b"CLIENT_ERROR invalid or duplicate flag");
        };
        self.counters.meta_cmds += 1;
        let mut tail = Vec::new();
        for tok in flags {
            match tok.first() {
                Some(b'O') => {
                    if tok.len() > OPAQUE_MAX {
                        return error_line(out, b"CLIENT_ERROR opaque token too long");
                    }
                    tail.push(b' ');
                    tail.extend_from_slice(tok);
                }
                Some(b'k') => push_key(&mut tail, &key, of.key_binary),
                _ => {}
            }
        }
        let code: &[u8];
        let mut quiet = false;
        if self.get_item(&key, false) {
            let (cas, class) = self.store.get(&key).map_or((0, 0), |it| (it.cas, it.class));
            if of.has_cas && cas != of.req_cas {
                self.counters.delete_misses += 1;
                code = b"EX";
            } else if of.set_stale {
                if of.remove_val {
                    self.md_remove_value(&key, &of, cas);
                }
                let new_cas = if of.has_cas_in {
                    of.cas_in
                } else {
                    self.store.next_cas()
                };
                let feed = self.store.feed;
                if let Some(it) = self.store.get_mut(&key) {
                    if of.new_ttl {
                        it.exptime = of.exptime;
                        it.changed_feed = feed;
                    }
                    it.stale = true;
                    it.token_sent = false;
                    it.cas = new_cas;
                }
                quiet = of.no_reply;
                code = b"HD";
            } else {
                self.counters.slab_mut(class).delete_hits += 1;
                if of.remove_val {
                    self.md_remove_value(&key, &of, cas);
                } else {
                    self.store.unlink(&key);
                }
                quiet = of.no_reply;
                code = b"HD";
            }
        } else {
            self.counters.delete_misses += 1;
            code = b"NF";
        }
        if !quiet {
            out.extend_from_slice(code);
            out.extend_from_slice(&tail);
            out.extend_from_slice(b"\r\n");
        }
        Next::Continue
    }

    /// `md … x` (1.6.27): the item is replaced by an empty one with the
    /// `md` line's client flags (`F`, default 0) and TTL (`T`, default none),
    /// keeping its cas unless `E` gives one.
    fn md_remove_value(&mut self, key: &[u8], of: &MetaFlags, old_cas: u64) {
        let cas = if of.has_cas_in { of.cas_in } else { old_cas };
        let it = Item::new(Vec::new(), of.client_flags, of.exptime);
        let now = self.current_time();
        let maxbytes = self.settings.maxbytes;
        self.store.link_with_cas(key, it, cas, now, maxbytes);
    }

    /// `process_marithmetic_command()`.
    pub(crate) fn cmd_ma(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        if n < 3 {
            return error(out);
        }
        if t.get(1).len() > KEY_MAX_LENGTH {
            return error_line(out, BAD_FORMAT);
        }
        if n > META_MAX_NTOKENS {
            return error_line(out, b"CLIENT_ERROR options flags too long");
        }
        let flags = &t.toks[2..];
        let mut key = t.get(1).to_vec();
        let defaults = MetaFlags {
            delta: 1,
            ..MetaFlags::default()
        };
        let Ok(of) = self.preparse(&mut key, flags, defaults) else {
            return error_line(out, b"CLIENT_ERROR invalid or duplicate flag");
        };
        self.counters.meta_cmds += 1;
        let incr = match of.mode {
            0 | b'I' | b'+' => true,
            b'D' | b'-' => false,
            _ => return error_line(out, b"CLIENT_ERROR invalid mode for ma M token"),
        };
        // The item the reply describes: its value, cas and exptime, and
        // whether changes to its exptime reach the stored item.
        struct Target {
            digits: Vec<u8>,
            cas: u64,
            exptime: u32,
            linked: bool,
            created: bool,
        }
        let mut target = None;
        let mut code: &[u8] = b"";
        let mut quiet = false;
        match self.add_delta(&key, incr, of.delta, of.req_cas) {
            Delta::Ok {
                digits,
                in_place,
                cas,
                exptime,
            } => {
                quiet = of.no_reply;
                let mut cas = cas;
                if of.has_cas_in {
                    // `ITEM_set_cas(it, …)` on the item `do_add_delta()`
                    // returned: the replaced one when the value grew.
                    cas = of.cas_in;
                    if in_place {
                        if let Some(it) = self.store.get_mut(&key) {
                            it.cas = cas;
                        }
                    }
                }
                target = Some(Target {
                    digits,
                    cas,
                    exptime,
                    linked: in_place,
                    created: false,
                });
            }
            Delta::NonNumeric => {
                return error_line(
                    out,
                    b"CLIENT_ERROR cannot increment or decrement non-numeric value",
                );
            }
            Delta::NotFound => {
                if of.vivify {
                    let digits = of.initial.to_string().into_bytes();
                    let it = Item::new(digits.clone(), 0, 0);
                    let cas = if of.has_cas_in {
                        let (now, maxbytes) = (self.current_time(), self.settings.maxbytes);
                        self.store.link_with_cas(&key, it, of.cas_in, now, maxbytes)
                    } else {
                        self.link(&key, it)
                    };
                    target = Some(Target {
                        digits,
                        cas,
                        exptime: 0,
                        linked: true,
                        created: true,
                    });
                } else {
                    if incr {
                        self.counters.incr_misses += 1;
                    } else {
                        self.counters.decr_misses += 1;
                    }
                    code = b"NF";
                }
            }
            Delta::CasMismatch => code = b"EX",
        }
        let now = self.current_time();
        let mut line = Vec::new();
        match target {
            Some(mut tg) => {
                if of.value {
                    line.extend_from_slice(b"VA ");
                    push_u64(&mut line, tg.digits.len() as u64);
                } else {
                    line.extend_from_slice(b"HD");
                }
                for tok in flags {
                    let Some(&c) = tok.first() else { continue };
                    let mut new_exptime = None;
                    match c {
                        b'c' => {
                            line.extend_from_slice(b" c");
                            push_u64(&mut line, tg.cas);
                        }
                        b't' => {
                            line.extend_from_slice(b" t");
                            if tg.exptime == 0 {
                                line.extend_from_slice(b"-1");
                            } else {
                                push_u64(&mut line, u64::from(tg.exptime.wrapping_sub(now)));
                            }
                        }
                        b'T' => new_exptime = Some(of.exptime),
                        b'N' if tg.created => new_exptime = Some(of.autoviv_exptime),
                        b'O' => {
                            if tok.len() > OPAQUE_MAX {
                                return error_line(out, b"CLIENT_ERROR opaque token too long");
                            }
                            line.push(b' ');
                            line.extend_from_slice(tok);
                        }
                        b'k' => push_key(&mut line, &key, of.key_binary),
                        _ => {}
                    }
                    if let Some(e) = new_exptime {
                        tg.exptime = e;
                        if tg.linked {
                            let feed = self.store.feed;
                            if let Some(it) = self.store.get_mut(&key) {
                                it.exptime = e;
                                it.changed_feed = feed;
                            }
                        }
                    }
                }
                if of.value {
                    line.extend_from_slice(b"\r\n");
                    line.extend_from_slice(&tg.digits);
                }
            }
            None => {
                line.extend_from_slice(code);
                for tok in flags {
                    match tok.first() {
                        Some(b'O') => {
                            if tok.len() > OPAQUE_MAX {
                                return error_line(out, b"CLIENT_ERROR opaque token too long");
                            }
                            line.push(b' ');
                            line.extend_from_slice(tok);
                        }
                        Some(b'k') => push_key(&mut line, &key, of.key_binary),
                        _ => {}
                    }
                }
            }
        }
        if !quiet {
            out.extend_from_slice(&line);
            out.extend_from_slice(b"\r\n");
        }
        Next::Continue
    }

    /// `process_meta_command()` (`me`).
    pub(crate) fn cmd_me(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        if t.ntokens() < 3 || t.get(1).len() > KEY_MAX_LENGTH {
            return error_line(out, BAD_FORMAT);
        }
        let mut key = t.get(1).to_vec();
        if t.ntokens() >= 4 && t.get(2) == b"b" {
            match base64::decode(&key) {
                Some(k) => key = k,
                None => return error_line(out, BAD_FORMAT),
            }
        }
        self.counters.meta_cmds += 1;
        if !self.get_item(&key, false) {
            return error_line(out, b"EN");
        }
        let now = self.current_time();
        let Some(it) = self.store.get(&key) else {
            return error_line(out, b"EN");
        };
        let mut line = b"ME ".to_vec();
        if it.key_binary {
            base64::encode(&key, &mut line);
        } else {
            line.extend_from_slice(&key);
        }
        line.extend_from_slice(b" exp=");
        if it.exptime == 0 {
            line.extend_from_slice(b"-1");
        } else if self.since(since::ME_EXP_FIXED) {
            push_i64(&mut line, i64::from(it.exptime.wrapping_sub(now) as i32));
        } else {
            push_i64(&mut line, i64::from(now.wrapping_sub(it.exptime) as i32));
        }
        line.extend_from_slice(b" la=");
        push_u64(&mut line, u64::from(now.wrapping_sub(it.time)));
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
        error_line(out, &line)
    }
}

#[cfg(test)]
mod tests {
    use crate::Server;
    use crate::tests::reply_text as run;

    #[test]
    fn quiet_modes() {
        let mut s = Server::new();
        // mg q: only EN is dropped
        assert_eq!(
            run(&mut s, b"set q1 0 0 2\r\nq1\r\nmg miss v q O1\r\nmg q1 v q O2\r\nmg q1 q k\r\nmg miss2 q k O3\r\nmn\r\n"),
            "STORED\r\nVA 2 O2\r\nq1\r\nHD kq1\r\nMN\r\n"
        );
        // ms q: only HD is dropped; bad data chunk is always sent
        assert_eq!(
            run(
                &mut s,
                b"ms m 1 q\r\na\r\nms m 1 q ME O4\r\nb\r\nms m 2 q\r\nabcd\r\nmn\r\n"
            ),
            "NS O4\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n"
        );
        // md q: only HD is dropped
        assert_eq!(
            run(
                &mut s,
                b"set d 0 0 1\r\nx\r\nmd d q k O1\r\nmd d q k O2\r\nmn\r\n"
            ),
            "STORED\r\nNF kd O2\r\nMN\r\n"
        );
        // ma q: success dropped, but not an N-create, NF or errors
        assert_eq!(
            run(&mut s, b"ma n N0 q\r\nma n q\r\nma n q v\r\nma n v\r\nma none q\r\nset x 0 0 1\r\nx\r\nma x q\r\nmn\r\n"),
            "HD\r\nVA 1\r\n3\r\nNF\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nMN\r\n"
        );
        // errors always come back, and q does not leak into the next command
        assert_eq!(
            run(&mut s, b"mg q1 q v v\r\nmd d q Y\r\nversion\r\n"),
            "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\nVERSION 1.6.18\r\n"
        );
    }

    #[test]
    fn base64_keys() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"ms YjEx 1 b k c\r\nx\r\nmg YjEx b k v\r\nmg b11 k v\r\nget b11\r\nmg YjEx k v\r\nme YjEx b\r\n"),
            "HD kYjEx b c1\r\nVA 1 kYjEx b\r\nx\r\nVA 1 kYjEx b\r\nx\r\nVALUE b11 0 1\r\nx\r\nEND\r\nEN kYjEx\r\n\
             ME YjEx exp=-1 la=0 cas=1 fetch=yes cls=1 size=63\r\n"
        );
        assert_eq!(
            run(&mut s, b"md YjEy b q\r\nmd YjEy b k\r\nma YjEy b k N0\r\nmd YjEy b k O5\r\nmg !!! b\r\nme b10 b\r\n"),
            "NF\r\nNF kYjEy b\r\nHD kYjEy b\r\nHD kYjEy b O5\r\nCLIENT_ERROR error decoding key\r\nCLIENT_ERROR bad command line format\r\n"
        );
        // a plain key fetched with b (decodes to the same bytes) prints the raw key
        assert_eq!(
            run(&mut s, b"set abc 0 0 1\r\nx\r\nmg YWJj b k\r\n"),
            "STORED\r\nHD kabc\r\n"
        );
        // an ms error after the length swallows the data
        assert_eq!(
            run(&mut s, b"ms !!! 1 b\r\nx\r\nmn\r\n"),
            "CLIENT_ERROR error decoding key\r\nMN\r\n"
        );
    }

    #[test]
    fn mg_flags_and_tokens() {
        let mut s = Server::new();
        assert_eq!(
            run(
                &mut s,
                b"set k 9 0 5\r\nhello\r\nmg k s v f k O12345 c t\r\nmg missing k O77 v\r\n"
            ),
            "STORED\r\nVA 5 s5 f9 kk O12345 c1 t-1\r\nhello\r\nEN kmissing O77\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"mg v N30 k v t\r\nmg v k v t\r\nms v 1\r\nz\r\nmg v v\r\n"
            ),
            "VA 0 kv t30 W\r\n\r\nVA 0 kv t30 Z\r\n\r\nHD\r\nVA 1\r\nz\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"set r 0 100 1\r\nx\r\nmg r R30 v\r\nmg r R200 v\r\nmg r R200 v\r\n"
            ),
            "STORED\r\nVA 1\r\nx\r\nVA 1 W\r\nx\r\nVA 1 Z\r\nx\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"set i 0 0 1\r\nx\r\nmd i I T30\r\nmg i v\r\nmg i v\r\nmg i t\r\n"
            ),
            "STORED\r\nHD\r\nVA 1 X W\r\nx\r\nVA 1 Z X\r\nx\r\nHD t30 Z X\r\n"
        );
        assert_eq!(
            run(&mut s, b"mg\r\nmg k v v\r\nmg k Y\r\nmg k Ooooooooooooooooooooooooooooooooooooooooo\r\nmg k E1\r\nmg k MAA\r\nmg k Tx Nx\r\nmg k Fx\r\nmg k \x80\r\n"),
            "ERROR\r\nCLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR opaque token too long\r\n\
             CLIENT_ERROR invalid flag\r\nCLIENT_ERROR incorrect length for M token\r\nCLIENT_ERROR bad token in command line format\r\n\
             CLIENT_ERROR bad command line format\r\nCLIENT_ERROR duplicate flag\r\n"
        );
        // 17 flags are fine, 18 are too many
        let ok = run(&mut s, b"mg k s v f k O1 c t l h u q N0 R1 T1 P1 L1 C1\r\n");
        assert!(ok.starts_with("VA 5 s5 f9 kk O1 c1 t-1 l0 h"), "{ok}");
        assert_eq!(
            run(
                &mut s,
                b"mg k s v f k O1 c t l h u q N0 R1 T1 P1 L1 C1 b\r\n"
            ),
            "CLIENT_ERROR options flags are too long\r\n"
        );
    }

    #[test]
    fn ms_modes_cas_and_errors() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"ms m 1 MR\r\na\r\nms m 1 MA\r\na\r\nms m 1 ME\r\na\r\nms m 1 ME\r\nb\r\nms m 1 MA\r\nc\r\nms m 1 MP\r\nd\r\nmg m v\r\n"),
            "NS\r\nNS\r\nHD\r\nNS\r\nHD\r\nHD\r\nVA 3\r\ndac\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"ms c 1 C999\r\na\r\nms c 1 c\r\na\r\nms c 1 C999 c k\r\nb\r\n"
            ),
            "NF\r\nHD c4\r\nEX c0 kc\r\n"
        );
        assert_eq!(
            run(&mut s, b"ms e\r\nms e -1\r\nx\r\nms e 1 MZ\r\nx\r\nms e 1 MSS\r\nx\r\nms e S5\r\nhello\r\nmn\r\n"),
            "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n\
             CLIENT_ERROR invalid mode for ms M token\r\nCLIENT_ERROR incorrect length for M token\r\n\
             CLIENT_ERROR bad command line format\r\nERROR\r\nMN\r\n"
        );
        // stale set with a lower cas
        assert_eq!(
            run(
                &mut s,
                b"set f 0 0 1\r\nx\r\nmd f I q\r\nmg f v\r\nms f 1 C1 I\r\nz\r\nmg f v\r\n"
            ),
            "STORED\r\nVA 1 X W\r\nx\r\nHD\r\nVA 1 Z X\r\nz\r\n"
        );
    }

    #[test]
    fn ma_and_me() {
        let mut s = Server::new();
        assert_eq!(
            run(&mut s, b"set a 0 0 1\r\n5\r\nma a\r\nma a v\r\nma missing\r\nma b N0 J10 v\r\nma b MD D3 v\r\nma b M- v\r\nma b MX\r\nma b Dx\r\nma b C1\r\nma b C0 v\r\n"),
            "STORED\r\nHD\r\nVA 1\r\n7\r\nNF\r\nVA 2\r\n10\r\nVA 1\r\n7\r\nVA 1\r\n6\r\n\
             CLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid or duplicate flag\r\nEX\r\nVA 1\r\n7\r\n"
        );
        // T on an item that grew is lost (1.6.18 sets it on the replaced item)
        assert_eq!(
            run(&mut s, b"set g 0 0 1\r\n9\r\nma g T100 t v\r\nmg g t v\r\nset h 0 0 2\r\n10\r\nma h T100 t\r\nmg h t v\r\n"),
            "STORED\r\nVA 2 t100\r\n10\r\nVA 2 t-1\r\n10\r\nSTORED\r\nHD t100\r\nVA 2 t100\r\n11\r\n"
        );
        assert_eq!(
            run(&mut s, b"set me 0 100 1\r\nx\r\nme me\r\nme nope\r\nme\r\n"),
            "STORED\r\nME me exp=-100 la=0 cas=12 fetch=no cls=1 size=62\r\nEN\r\nCLIENT_ERROR bad command line format\r\n"
        );
    }

    fn at(version: (u16, u16, u16)) -> Server {
        Server::with_options(crate::Options {
            version: crate::Version::new(version.0, version.1, version.2),
            ..crate::Options::default()
        })
    }

    #[test]
    fn bare_mg_and_en_echo_from_1_6_18() {
        let input = b"set k 0 0 1\r\nx\r\nmg k\r\nmg nope O5 k\r\nmn\r\n";
        assert_eq!(
            run(&mut at((1, 6, 17)), input),
            "STORED\r\nCLIENT_ERROR bad command line format\r\nEN\r\nMN\r\n"
        );
        assert_eq!(
            run(&mut at((1, 6, 18)), input),
            "STORED\r\nHD\r\nEN O5 knope\r\nMN\r\n"
        );
    }

    #[test]
    fn ms_size_flag_and_the_1_6_20_c_bug() {
        let input =
            b"ms a 2 s\r\nab\r\nms a 1 c\r\nx\r\nms a 1 MA s c\r\ny\r\nms b 2 MA s\r\nzz\r\n";
        assert_eq!(
            run(&mut at((1, 6, 18)), input),
            "HD\r\nHD c2\r\nHD c3\r\nNS\r\n"
        );
        assert_eq!(
            run(&mut at((1, 6, 20)), input),
            "HD s2\r\nHD c2 s1\r\nHD s2 c3 s2\r\nNS s2\r\n"
        );
        // 1.6.27 starts its cas counter at 1, and a failed store uses one up
        assert_eq!(
            run(&mut at((1, 6, 27)), input),
            "HD s2\r\nHD c3\r\nHD s2 c4\r\nNS s2\r\n"
        );
    }

    #[test]
    fn ms_append_with_n_autovivifies_from_1_6_20() {
        let input =
            b"ms v 2 MA N50 F3\r\nab\r\nmg v v t f\r\nms v 2 MP N9 T0\r\ncd\r\nmg v v t\r\n";
        assert_eq!(run(&mut at((1, 6, 18)), input), "NS\r\nEN\r\nNS\r\nEN\r\n");
        assert_eq!(
            run(&mut at((1, 6, 20)), input),
            "HD\r\nVA 2 t50 f3\r\nab\r\nHD\r\nVA 4 t50\r\ncdab\r\n"
        );
    }

    #[test]
    fn me_exp_sign_flips_in_1_6_24() {
        let input = b"set k 0 100 1\r\nx\r\nme k\r\n";
        assert!(run(&mut at((1, 6, 23)), input).contains(" exp=-100 "));
        assert!(run(&mut at((1, 6, 24)), input).contains(" exp=100 "));
    }

    #[test]
    fn e_flag_from_1_6_27() {
        let input = b"ms e 1 E999 c\r\nx\r\n";
        assert_eq!(
            run(&mut at((1, 6, 26)), input),
            "CLIENT_ERROR invalid flag\r\n"
        );
        let mut s = at((1, 6, 27));
        assert_eq!(run(&mut s, input), "HD c999\r\n");
        assert_eq!(
            run(
                &mut s,
                b"md e I E1000\r\nmg e c v\r\nma n N0 J7 E5 c v\r\nma n E77 c\r\nmg w N30 E444 c\r\nms e 1 Ex\r\nx\r\n"
            ),
            "HD\r\nVA 1 c1000 X W\r\nx\r\nVA 1 c5\r\n7\r\nHD c77\r\nHD c444 W\r\n\
             CLIENT_ERROR bad token in command line format\r\n"
        );
        // ma E on a value that grows: the reply has E's cas, the item a new one
        assert_eq!(
            run(&mut s, b"set g 0 0 1\r\n9\r\nma g E88 c v\r\nmg g c\r\n"),
            "STORED\r\nVA 2 c88\r\n10\r\nHD c4\r\n"
        );
    }

    #[test]
    fn md_x_from_1_6_27() {
        let input = b"set x 5 0 3\r\nabc\r\nmd x x\r\nmg x v s f c t\r\n";
        assert_eq!(
            run(&mut at((1, 6, 18)), input),
            "STORED\r\nCLIENT_ERROR invalid or duplicate flag\r\nVA 3 s3 f5 c1 t-1\r\nabc\r\n"
        );
        let mut s = at((1, 6, 27));
        assert_eq!(
            run(&mut s, input),
            "STORED\r\nHD\r\nVA 0 s0 f0 c2 t-1\r\n\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                b"set y 5 0 3\r\nabc\r\nmd y x F9 T100 E123\r\nmg y v f t c\r\nmd y x I\r\nmg y v\r\nmd nope x\r\nmd y x C1\r\n"
            ),
            "STORED\r\nHD\r\nVA 0 f9 t100 c123\r\n\r\nHD\r\nVA 0 X W\r\n\r\nNF\r\nEX\r\n"
        );
    }

    #[test]
    fn mg_c_is_conditional_from_1_6_40() {
        let input = b"ms c 2\r\nva\r\nmg c C2 v c\r\nmg c C3 v c\r\nmg c C2 s T9 t\r\n";
        assert_eq!(
            run(&mut at((1, 6, 39)), input),
            "HD\r\nVA 2 c2\r\nva\r\nVA 2 c2\r\nva\r\nHD s2 t9\r\n"
        );
        assert_eq!(
            run(&mut at((1, 6, 40)), input),
            "HD\r\nHD c2\r\nVA 2 c2\r\nva\r\nHD s2 t9\r\n"
        );
    }

    #[test]
    fn client_flags_width() {
        let input =
            b"ms f 1 F4294967297\r\nx\r\nmg f f\r\nms g 1 F18446744073709551616\r\nx\r\nmn\r\n";
        // a normal build keeps the low 32 bits, 1.6.45 refuses meta F above them
        assert_eq!(
            run(&mut Server::new(), input),
            "HD\r\nHD f1\r\nCLIENT_ERROR bad command line format\r\nMN\r\n"
        );
        assert_eq!(
            run(&mut at((1, 6, 45)), input),
            "CLIENT_ERROR bad command line format\r\nEN\r\nCLIENT_ERROR bad command line format\r\nMN\r\n"
        );
        let mut large = Server::with_options(crate::Options::latest(true));
        assert_eq!(
            run(&mut large, input),
            "HD\r\nHD f4294967297\r\nCLIENT_ERROR bad command line format\r\nMN\r\n"
        );
        // 8 bytes of flags in the item
        assert!(run(&mut large, b"me f\r\n").ends_with(" size=69\r\n"));
    }
}
