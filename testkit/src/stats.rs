//! `stats` and its sub-commands, the counters behind them, and the
//! per-prefix counters of `stats detail`.

use crate::numbers::strtoul32;
use crate::parse::Tokens;
use crate::server::{Next, Server, reply};
use crate::store::{Lookup, MAX_SLAB_CLASSES, SLAB_PAGE_SIZE};
use crate::version::since;

/// Per slab class counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SlabCounters {
    pub(crate) get_hits: u64,
    pub(crate) set_cmds: u64,
    pub(crate) delete_hits: u64,
    pub(crate) incr_hits: u64,
    pub(crate) decr_hits: u64,
    pub(crate) cas_hits: u64,
    pub(crate) cas_badval: u64,
    pub(crate) touch_hits: u64,
}

/// The thread and global counters of `stats`.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub(crate) get_cmds: u64,
    pub(crate) get_misses: u64,
    pub(crate) get_expired: u64,
    pub(crate) get_flushed: u64,
    pub(crate) touch_cmds: u64,
    pub(crate) touch_misses: u64,
    pub(crate) meta_cmds: u64,
    pub(crate) flush_cmds: u64,
    pub(crate) delete_misses: u64,
    pub(crate) incr_misses: u64,
    pub(crate) decr_misses: u64,
    pub(crate) cas_misses: u64,
    pub(crate) store_too_large: u64,
    pub(crate) auth_cmds: u64,
    pub(crate) auth_errors: u64,
    pub(crate) bytes_read: u64,
    pub(crate) bytes_written: u64,
    pub(crate) slabs: [SlabCounters; MAX_SLAB_CLASSES],
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            get_cmds: 0,
            get_misses: 0,
            get_expired: 0,
            get_flushed: 0,
            touch_cmds: 0,
            touch_misses: 0,
            meta_cmds: 0,
            flush_cmds: 0,
            delete_misses: 0,
            incr_misses: 0,
            decr_misses: 0,
            cas_misses: 0,
            store_too_large: 0,
            auth_cmds: 0,
            auth_errors: 0,
            bytes_read: 0,
            bytes_written: 0,
            slabs: [SlabCounters::default(); MAX_SLAB_CLASSES],
        }
    }
}

impl Counters {
    /// The counters of one class (class 0 for anything out of range).
    pub(crate) fn slab_mut(&mut self, class: usize) -> &mut SlabCounters {
        let i = if class < MAX_SLAB_CLASSES { class } else { 0 };
        &mut self.slabs[i]
    }

    fn total(&self, f: impl Fn(&SlabCounters) -> u64) -> u64 {
        self.slabs.iter().map(f).sum()
    }
}

/// `MurmurHash3_x86_32` with seed 0, memcached's default hash.
pub(crate) fn murmur3_32(data: &[u8]) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h: u32 = 0;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k: u32 = 0;
        for (i, b) in tail.iter().enumerate() {
            k ^= u32::from(*b) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

#[derive(Debug, Clone, Default)]
struct PrefixCounts {
    prefix: Vec<u8>,
    gets: u64,
    hits: u64,
    sets: u64,
    deletes: u64,
}

/// `stats detail` counters, in memcached's 256-bucket hash order.
#[derive(Debug, Clone)]
pub(crate) struct Prefixes {
    buckets: Vec<Vec<PrefixCounts>>,
}

impl Default for Prefixes {
    fn default() -> Self {
        Self {
            buckets: vec![Vec::new(); 256],
        }
    }
}

impl Prefixes {
    /// `stats_prefix_find()`: the part before the first `:`, if there is
    /// one before the end (or a NUL).
    fn find(&mut self, key: &[u8]) -> Option<&mut PrefixCounts> {
        let len = key
            .iter()
            .position(|b| *b == b':' || *b == 0)
            .unwrap_or(key.len());
        if len == key.len() {
            return None;
        }
        let prefix = &key[..len];
        let bucket = (murmur3_32(prefix) % 256) as usize;
        let list = &mut self.buckets[bucket];
        let i = match list.iter().position(|p| p.prefix == prefix) {
            Some(i) => i,
            None => {
                list.insert(
                    0,
                    PrefixCounts {
                        prefix: prefix.to_vec(),
                        ..PrefixCounts::default()
                    },
                );
                0
            }
        };
        list.get_mut(i)
    }

    pub(crate) fn record_get(&mut self, key: &[u8], hit: bool) {
        if let Some(p) = self.find(key) {
            p.gets += 1;
            if hit {
                p.hits += 1;
            }
        }
    }

    pub(crate) fn record_set(&mut self, key: &[u8]) {
        if let Some(p) = self.find(key) {
            p.sets += 1;
        }
    }

    pub(crate) fn record_delete(&mut self, key: &[u8]) {
        if let Some(p) = self.find(key) {
            p.deletes += 1;
        }
    }

    fn clear(&mut self) {
        self.buckets.iter_mut().for_each(Vec::clear);
    }

    fn dump(&self, out: &mut Vec<u8>) {
        for p in self.buckets.iter().flatten() {
            out.extend_from_slice(b"PREFIX ");
            out.extend_from_slice(&p.prefix);
            out.extend_from_slice(
                format!(
                    " get {} hit {} set {} del {}\r\n",
                    p.gets, p.hits, p.sets, p.deletes
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"END\r\n");
    }
}

fn stat(out: &mut Vec<u8>, name: &str, value: impl std::fmt::Display) {
    out.extend_from_slice(format!("STAT {name} {value}\r\n").as_bytes());
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Per-class summary of the live items.
#[derive(Default, Clone, Copy)]
struct ClassItems {
    number: u64,
    requested: u64,
    oldest: u32,
}

impl Server {
    fn class_items(&self) -> Vec<ClassItems> {
        let now = self.current_time();
        let mut classes = vec![ClassItems::default(); MAX_SLAB_CLASSES];
        for key in self.store.linked_keys(now) {
            let Some(it) = self.store.get(&key) else {
                continue;
            };
            if let Some(c) = classes.get_mut(it.class) {
                c.number += 1;
                c.requested += self.store.item_ntotal(&key, it) as u64;
                c.oldest = c.oldest.max(now.wrapping_sub(it.time));
            }
        }
        classes
    }

    /// `process_stat()`.
    pub(crate) fn cmd_stats(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        if n == 2 {
            self.stats_general(out);
            return Next::Continue;
        }
        match t.get(1) {
            b"reset" => {
                self.counters = crate::stats::Counters {
                    bytes_read: 0,
                    bytes_written: 0,
                    ..crate::stats::Counters::default()
                };
                self.store.total_items = 0;
                self.store.evictions = 0;
                self.store.reclaimed = 0;
                self.store.expired_unfetched = 0;
                self.prefixes.clear();
                reply(out, false, b"RESET");
            }
            b"detail" => match t.get(2) {
                b"on" if n >= 4 => {
                    self.settings.detail_enabled = true;
                    reply(out, false, b"OK");
                }
                b"off" if n >= 4 => {
                    self.settings.detail_enabled = false;
                    reply(out, false, b"OK");
                }
                b"dump" if n >= 4 => self.prefixes.dump(out),
                _ => reply(out, false, b"CLIENT_ERROR usage: stats detail on|off|dump"),
            },
            b"settings" => {
                self.stats_settings(out);
                out.extend_from_slice(b"END\r\n");
            }
            b"cachedump" => self.stats_cachedump(t, out),
            b"conns" => {
                self.stats_conns(out);
                out.extend_from_slice(b"END\r\n");
            }
            b"extstore" => out.extend_from_slice(b"END\r\n"),
            b"items" => self.stats_items(out),
            b"slabs" => self.stats_slabs(out),
            b"sizes" => self.stats_sizes(out),
            b"sizes_enable" => {
                if self.settings.sizes_since.is_none() {
                    let cas = self.store.next_cas();
                    self.settings.sizes_since = Some(cas);
                }
                stat(out, "sizes_status", "enabled");
            }
            b"sizes_disable" => {
                self.settings.sizes_since = None;
                stat(out, "sizes_status", "disabled");
            }
            _ => reply(out, false, b"ERROR"),
        }
        Next::Continue
    }

    fn stats_general(&self, out: &mut Vec<u8>) {
        let c = &self.counters;
        let now = self.current_time();
        let live = self.class_items();
        let curr_items: u64 = live.iter().map(|x| x.number).sum();
        let curr_bytes: u64 = live.iter().map(|x| x.requested).sum();
        let get_hits = c.total(|s| s.get_hits);
        stat(out, "pid", 4242);
        stat(out, "uptime", now.saturating_sub(60));
        stat(out, "time", self.now);
        stat(out, "version", self.opts.version);
        stat(out, "libevent", "2.1.12-stable");
        stat(out, "pointer_size", 64);
        stat(out, "rusage_user", "0.000000");
        stat(out, "rusage_system", "0.000000");
        stat(out, "max_connections", self.opts.max_connections);
        stat(out, "curr_connections", 1);
        stat(out, "total_connections", self.total_connections);
        stat(out, "rejected_connections", 0);
        stat(out, "connection_structures", 2);
        stat(out, "response_obj_oom", 0);
        stat(out, "response_obj_count", 1);
        stat(out, "response_obj_bytes", 65536);
        stat(out, "read_buf_count", 8);
        stat(out, "read_buf_bytes", 131072);
        stat(out, "read_buf_bytes_free", 49152);
        stat(out, "read_buf_oom", 0);
        stat(out, "reserved_fds", 20);
        stat(out, "cmd_get", c.get_cmds);
        stat(out, "cmd_set", c.total(|s| s.set_cmds));
        stat(out, "cmd_flush", c.flush_cmds);
        stat(out, "cmd_touch", c.touch_cmds);
        stat(out, "cmd_meta", c.meta_cmds);
        stat(out, "get_hits", get_hits);
        stat(out, "get_misses", c.get_misses);
        stat(out, "get_expired", c.get_expired);
        stat(out, "get_flushed", c.get_flushed);
        stat(out, "delete_misses", c.delete_misses);
        stat(out, "delete_hits", c.total(|s| s.delete_hits));
        stat(out, "incr_misses", c.incr_misses);
        stat(out, "incr_hits", c.total(|s| s.incr_hits));
        stat(out, "decr_misses", c.decr_misses);
        stat(out, "decr_hits", c.total(|s| s.decr_hits));
        stat(out, "cas_misses", c.cas_misses);
        stat(out, "cas_hits", c.total(|s| s.cas_hits));
        stat(out, "cas_badval", c.total(|s| s.cas_badval));
        stat(out, "touch_hits", c.total(|s| s.touch_hits));
        stat(out, "touch_misses", c.touch_misses);
        stat(out, "store_too_large", c.store_too_large);
        stat(out, "store_no_memory", 0);
        stat(out, "auth_cmds", c.auth_cmds);
        stat(out, "auth_errors", c.auth_errors);
        stat(out, "bytes_read", c.bytes_read);
        stat(out, "bytes_written", c.bytes_written);
        stat(out, "limit_maxbytes", self.settings.maxbytes);
        stat(out, "accepting_conns", 1);
        stat(out, "listen_disabled_num", 0);
        stat(out, "time_in_listen_disabled_us", 0);
        stat(out, "threads", 4);
        stat(out, "conn_yields", 0);
        stat(out, "hash_power_level", 16);
        stat(out, "hash_bytes", 524288);
        stat(out, "hash_is_expanding", 0);
        // 1.6.34 renamed `slab_reassign_evictions_nomem` and added a
        // counter; 1.6.40 added the last busy status.
        let automove_v2 = self.since(since::AUTOMOVE_V2);
        let mut names = vec!["slab_reassign_rescues", "slab_reassign_chunk_rescues"];
        if !automove_v2 {
            names.push("slab_reassign_evictions_nomem");
        }
        names.extend(["slab_reassign_inline_reclaim", "slab_reassign_busy_items"]);
        names.push("slab_reassign_busy_deletes");
        if automove_v2 {
            names.push("slab_reassign_busy_nomem");
        }
        for name in names {
            stat(out, name, 0);
        }
        if self.since(since::MG_CAS) {
            stat(out, "slab_reassign_last_busy_status", "none");
        }
        for name in [
            "slab_reassign_running",
            "slabs_moved",
            "lru_crawler_running",
        ] {
            stat(out, name, 0);
        }
        stat(out, "lru_crawler_starts", 1);
        stat(out, "lru_maintainer_juggles", 0);
        for name in [
            "malloc_fails",
            "log_worker_dropped",
            "log_worker_written",
            "log_watcher_skipped",
            "log_watcher_sent",
            "log_watchers",
            "unexpected_napi_ids",
            "round_robin_fallback",
        ] {
            stat(out, name, 0);
        }
        stat(out, "bytes", curr_bytes);
        stat(out, "curr_items", curr_items);
        stat(out, "total_items", self.store.total_items);
        stat(out, "slab_global_page_pool", 0);
        stat(out, "expired_unfetched", self.store.expired_unfetched);
        stat(out, "evicted_unfetched", 0);
        stat(out, "evicted_active", 0);
        stat(out, "evictions", self.store.evictions);
        stat(out, "reclaimed", self.store.reclaimed);
        for name in [
            "crawler_reclaimed",
            "crawler_items_checked",
            "lrutail_reflocked",
            "moves_to_cold",
            "moves_to_warm",
            "moves_within_lru",
            "direct_reclaims",
            "lru_bumps_dropped",
        ] {
            stat(out, name, 0);
        }
        out.extend_from_slice(b"END\r\n");
    }

    fn stats_settings(&self, out: &mut Vec<u8>) {
        let s = &self.settings;
        let o = &self.opts;
        stat(out, "maxbytes", s.maxbytes);
        stat(out, "maxconns", o.max_connections);
        stat(out, "tcpport", o.tcp_port);
        stat(out, "udpport", 0);
        stat(out, "inter", o.listen.as_deref().unwrap_or("NULL"));
        stat(out, "verbosity", s.verbose);
        stat(out, "oldest", self.store.oldest_live);
        stat(out, "evictions", "on");
        stat(out, "domain_socket", "NULL");
        stat(out, "umask", 700);
        stat(out, "shutdown_command", yes_no(o.shutdown_enabled));
        stat(out, "growth_factor", "1.25");
        stat(out, "chunk_size", 48);
        stat(out, "num_threads", 4);
        stat(out, "num_threads_per_udp", 4);
        stat(out, "stat_key_prefix", ":");
        stat(out, "detail_enabled", yes_no(s.detail_enabled));
        stat(out, "reqs_per_event", 20);
        stat(out, "cas_enabled", yes_no(o.cas_enabled));
        stat(out, "tcp_backlog", 1024);
        let auth = o.auth.as_ref().map(|a| a.authfile.as_str());
        let protocol = if auth.is_some() {
            "ascii"
        } else {
            "auto-negotiate"
        };
        stat(out, "binding_protocol", protocol);
        stat(out, "auth_enabled_sasl", "no");
        stat(out, "auth_enabled_ascii", auth.unwrap_or("no"));
        stat(out, "item_size_max", o.item_size_max);
        stat(out, "maxconns_fast", "yes");
        stat(out, "hashpower_init", 0);
        stat(out, "slab_reassign", "yes");
        stat(out, "slab_automove", s.slab_automove);
        stat(
            out,
            "slab_automove_ratio",
            format!("{:.2}", s.slab_automove_ratio),
        );
        let window = if self.since(since::AUTOMOVE_V2) {
            10
        } else {
            30
        };
        stat(out, "slab_automove_window", window);
        stat(
            out,
            "slab_chunk_max",
            self.store.slabs.sizes.last().copied().unwrap_or(0),
        );
        stat(out, "lru_crawler", "yes");
        stat(out, "lru_crawler_sleep", s.lru_crawler_sleep);
        stat(out, "lru_crawler_tocrawl", s.lru_crawler_tocrawl);
        stat(out, "tail_repair_time", 0);
        stat(out, "flush_enabled", yes_no(o.flush_enabled));
        stat(out, "dump_enabled", yes_no(o.dump_enabled));
        stat(out, "hash_algorithm", "murmur3");
        stat(out, "lru_maintainer_thread", "yes");
        stat(out, "lru_segmented", yes_no(s.lru_segmented));
        stat(out, "hot_lru_pct", s.hot_lru_pct);
        stat(out, "warm_lru_pct", s.warm_lru_pct);
        stat(out, "hot_max_factor", format!("{:.2}", s.hot_max_factor));
        stat(out, "warm_max_factor", format!("{:.2}", s.warm_max_factor));
        stat(out, "temp_lru", yes_no(s.temp_lru));
        stat(out, "temporary_ttl", s.temporary_ttl);
        stat(out, "idle_timeout", 0);
        stat(out, "watcher_logbuf_size", 262144);
        stat(out, "worker_logbuf_size", 65536);
        stat(out, "read_buf_mem_limit", 0);
        stat(out, "track_sizes", yes_no(s.sizes_since.is_some()));
        stat(out, "inline_ascii_response", "no");
        stat(out, "ext_item_size", s.ext_item_size);
        stat(out, "ext_item_age", s.ext_item_age);
        stat(out, "ext_low_ttl", s.ext_low_ttl);
        stat(out, "ext_recache_rate", s.ext_recache_rate);
        stat(out, "ext_wbuf_size", 4194304);
        stat(out, "ext_compact_under", s.ext_compact_under);
        stat(out, "ext_drop_under", s.ext_drop_under);
        stat(out, "ext_max_sleep", s.ext_max_sleep);
        stat(out, "ext_max_frag", format!("{:.2}", s.ext_max_frag));
        stat(out, "slab_automove_freeratio", "0.010");
        stat(out, "ext_drop_unread", yes_no(s.ext_drop_unread));
        stat(out, "ssl_enabled", "no");
        stat(out, "ssl_chain_cert", "(null)");
        stat(out, "ssl_key", "(null)");
        stat(out, "ssl_verify_mode", 0);
        stat(out, "ssl_keyformat", 1);
        stat(out, "ssl_ciphers", "NULL");
        stat(out, "ssl_ca_cert", "NULL");
        stat(out, "ssl_wbuf_size", 16384);
        stat(out, "ssl_session_cache", "no");
        stat(out, "ssl_kernel_tls", "no");
        stat(out, "ssl_min_version", "tlsv1.2");
        if self.since(since::MG_CAS) {
            stat(out, "num_napi_ids", 0);
        } else {
            stat(out, "num_napi_ids", "(null)");
        }
        stat(out, "memory_file", "(null)");
        if self.since(since::LARGE_FLAGS) {
            stat(out, "client_flags_size", self.store.flags_size);
        }
    }

    fn listeners(&self) -> Vec<String> {
        let port = self.opts.tcp_port;
        match &self.opts.listen {
            Some(addr) => vec![format!("tcp:{addr}:{port}")],
            None => vec![format!("tcp:0.0.0.0:{port}"), format!("tcp6:[::]:{port}")],
        }
    }

    fn stats_conns(&self, out: &mut Vec<u8>) {
        let listeners = self.listeners();
        let uptime = self.current_time().saturating_sub(60);
        let mut fd = 22;
        for l in &listeners {
            stat(out, &format!("{fd}:addr"), l);
            stat(out, &format!("{fd}:state"), "conn_listening");
            stat(out, &format!("{fd}:secs_since_last_cmd"), uptime);
            fd += 1;
        }
        let port = self.opts.tcp_port;
        let local = match &self.opts.listen {
            Some(addr) => format!("tcp:{addr}:{port}"),
            None => format!("tcp:127.0.0.1:{port}"),
        };
        let client_port = 40000 + self.conn_id() % 20000;
        stat(
            out,
            &format!("{fd}:addr"),
            format!("tcp:127.0.0.1:{client_port}"),
        );
        stat(out, &format!("{fd}:listen_addr"), local);
        stat(out, &format!("{fd}:state"), "conn_parse_cmd");
        stat(out, &format!("{fd}:secs_since_last_cmd"), 0);
    }

    fn stats_items(&self, out: &mut Vec<u8>) {
        let classes = self.class_items();
        for (id, c) in classes.iter().enumerate() {
            if c.number == 0 {
                continue;
            }
            let s = |out: &mut Vec<u8>, name: &str, v: u64| {
                stat(out, &format!("items:{id}:{name}"), v);
            };
            s(out, "number", c.number);
            s(out, "number_hot", 0);
            s(out, "number_warm", 0);
            s(out, "number_cold", c.number);
            s(out, "age_hot", 0);
            s(out, "age_warm", 0);
            s(out, "age", u64::from(c.oldest));
            s(out, "mem_requested", c.requested);
            for name in [
                "evicted",
                "evicted_nonzero",
                "evicted_time",
                "outofmemory",
                "tailrepairs",
                "reclaimed",
                "expired_unfetched",
                "evicted_unfetched",
                "evicted_active",
                "crawler_reclaimed",
                "crawler_items_checked",
                "lrutail_reflocked",
                "moves_to_cold",
                "moves_to_warm",
                "moves_within_lru",
                "direct_reclaims",
                "hits_to_hot",
                "hits_to_warm",
                "hits_to_cold",
                "hits_to_temp",
            ] {
                s(out, name, 0);
            }
        }
        out.extend_from_slice(b"END\r\n");
    }

    fn stats_slabs(&self, out: &mut Vec<u8>) {
        let classes = self.class_items();
        let mut active = 0;
        let mut malloced = 0u64;
        let last = self.store.slabs.sizes.len().min(MAX_SLAB_CLASSES);
        for (id, &pages) in self.store.class_pages.iter().enumerate().take(last).skip(1) {
            if pages == 0 {
                continue;
            }
            active += 1;
            let size = self.store.slabs.sizes.get(id).copied().unwrap_or(0);
            let per = self.store.slabs.per_page(id) as u64;
            let total = pages * per;
            let used = classes.get(id).map_or(0, |c| c.number).min(total);
            malloced += pages * SLAB_PAGE_SIZE as u64;
            let sc = self.counters.slabs.get(id).copied().unwrap_or_default();
            let s = |out: &mut Vec<u8>, name: &str, v: u64| {
                stat(out, &format!("{id}:{name}"), v);
            };
            s(out, "chunk_size", size as u64);
            s(out, "chunks_per_page", per);
            s(out, "total_pages", pages);
            s(out, "total_chunks", total);
            s(out, "used_chunks", used);
            s(out, "free_chunks", total - used);
            s(out, "free_chunks_end", 0);
            s(out, "get_hits", sc.get_hits);
            s(out, "cmd_set", sc.set_cmds);
            s(out, "delete_hits", sc.delete_hits);
            s(out, "incr_hits", sc.incr_hits);
            s(out, "decr_hits", sc.decr_hits);
            s(out, "cas_hits", sc.cas_hits);
            s(out, "cas_badval", sc.cas_badval);
            s(out, "touch_hits", sc.touch_hits);
        }
        stat(out, "active_slabs", active);
        stat(out, "total_malloced", malloced);
        out.extend_from_slice(b"END\r\n");
    }

    fn stats_sizes(&self, out: &mut Vec<u8>) {
        let Some(since) = self.settings.sizes_since else {
            stat(out, "sizes_status", "disabled");
            out.extend_from_slice(b"END\r\n");
            return;
        };
        let now = self.current_time();
        let mut buckets = std::collections::BTreeMap::<usize, u64>::new();
        for key in self.store.live_keys(now) {
            let Some(it) = self.store.get(&key) else {
                continue;
            };
            if it.cas < since {
                continue;
            }
            let bucket = self.store.item_ntotal(&key, it).div_ceil(32) * 32;
            *buckets.entry(bucket).or_default() += 1;
        }
        for (size, count) in buckets {
            stat(out, &size.to_string(), count);
        }
        out.extend_from_slice(b"END\r\n");
    }

    fn stats_cachedump(&self, t: &Tokens<'_>, out: &mut Vec<u8>) {
        if !self.opts.dump_enabled {
            reply(out, false, b"CLIENT_ERROR stats cachedump not allowed");
            return;
        }
        if t.ntokens() < 5 {
            reply(out, false, b"CLIENT_ERROR bad command line");
            return;
        }
        let (Some(id), Some(limit)) = (strtoul32(t.get(2)), strtoul32(t.get(3))) else {
            reply(out, false, b"CLIENT_ERROR bad command line format");
            return;
        };
        if id as usize >= MAX_SLAB_CLASSES {
            reply(out, false, b"CLIENT_ERROR Illegal slab id");
            return;
        }
        let now = self.current_time();
        let mut shown = 0u32;
        let mut size = 0usize;
        for key in self.store.live_keys(now) {
            if limit != 0 && shown >= limit {
                break;
            }
            let Some(it) = self.store.get(&key) else {
                continue;
            };
            if it.class != id as usize || it.key_binary {
                continue;
            }
            debug_assert_eq!(self.store.state_of(it, now), Lookup::Hit);
            let exp = if it.exptime == 0 {
                0
            } else {
                u64::from(it.exptime).saturating_add(self.process_started)
            };
            let shown_key = key.split(|b| *b == 0).next().unwrap_or(&[]);
            let mut line = b"ITEM ".to_vec();
            line.extend_from_slice(shown_key);
            line.extend_from_slice(format!(" [{} b; {} s]\r\n", it.value.len(), exp).as_bytes());
            if size + line.len() + 6 > 2 * 1024 * 1024 {
                break;
            }
            size += line.len();
            out.extend_from_slice(&line);
            shown += 1;
        }
        out.extend_from_slice(b"END\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::murmur3_32;

    #[test]
    fn murmur3_vectors() {
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
    }
}
