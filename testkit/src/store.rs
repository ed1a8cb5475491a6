//! The item store: items keyed by bytes, memcached's relative clock, cas
//! counter, flush markers, slab classes, LRU order and memory accounting.

use std::collections::{BTreeMap, HashMap, HashSet};

/// Largest relative exptime; bigger values are absolute unix times.
pub(crate) const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;
/// memcached starts its relative clock this many seconds in the past.
pub(crate) const CLOCK_OFFSET: u64 = 62;
/// `sizeof(item)` on 64-bit 1.6.18.
const ITEM_HEADER: usize = 48;
/// Slab page size.
pub(crate) const SLAB_PAGE_SIZE: usize = 1024 * 1024;
/// Number of slab class slots (ids 1..=63 usable).
pub(crate) const MAX_SLAB_CLASSES: usize = 64;

/// One stored item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) value: Vec<u8>,
    /// Client flags (64 bits wide only with large client flags).
    pub(crate) flags: u64,
    /// Relative expiry time; 0 never expires.
    pub(crate) exptime: u32,
    /// Relative time of last access.
    pub(crate) time: u32,
    pub(crate) cas: u64,
    pub(crate) fetched: bool,
    pub(crate) active: bool,
    pub(crate) token_sent: bool,
    pub(crate) stale: bool,
    pub(crate) key_binary: bool,
    /// Position in the LRU (higher is newer); also identifies this item.
    pub(crate) seq: u64,
    /// The [`Store::feed`] in which the item was stored.
    pub(crate) born_feed: u64,
    /// The feed in which the item was stored or its expiry last changed.
    pub(crate) changed_feed: u64,
    /// Cached slab class id.
    pub(crate) class: usize,
}

impl Item {
    /// A fresh, unlinked item.
    pub(crate) fn new(value: Vec<u8>, flags: u64, exptime: u32) -> Self {
        Self {
            value,
            flags,
            exptime,
            time: 0,
            cas: 0,
            fetched: false,
            active: false,
            token_sent: false,
            stale: false,
            key_binary: false,
            seq: 0,
            born_feed: 0,
            changed_feed: 0,
            class: 0,
        }
    }
}

/// Result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit,
    Miss,
    Expired,
    Flushed,
}

/// Slab class geometry, computed like `slabs_init()`.
#[derive(Debug, Clone)]
pub(crate) struct Slabs {
    /// `sizes[i]` is the chunk size of class `i` (index 0 unused).
    pub(crate) sizes: Vec<usize>,
    pub(crate) item_size_max: usize,
}

impl Slabs {
    pub(crate) fn new(item_size_max: usize) -> Self {
        let chunk_max = (SLAB_PAGE_SIZE / 2).min(item_size_max.max(1));
        let factor = 1.25f64;
        let mut sizes = vec![0usize];
        let mut size = (ITEM_HEADER + 48) as f64;
        while sizes.len() < MAX_SLAB_CLASSES - 1 {
            let mut s = size as usize;
            if s as f64 >= chunk_max as f64 / factor {
                break;
            }
            if s % 8 != 0 {
                s += 8 - s % 8;
            }
            sizes.push(s);
            size = s as f64 * factor;
        }
        sizes.push(chunk_max);
        Self {
            sizes,
            item_size_max,
        }
    }

    /// Largest class id.
    pub(crate) fn largest(&self) -> usize {
        self.sizes.len() - 1
    }

    /// `slabs_clsid()`: the class for an item of `ntotal` bytes, or `None`
    /// when it is over the item size limit.
    pub(crate) fn class_for(&self, ntotal: usize) -> Option<usize> {
        if ntotal == 0 || ntotal > self.item_size_max {
            return None;
        }
        let found = self.sizes.iter().skip(1).position(|s| *s >= ntotal);
        Some(found.map_or(self.largest(), |i| i + 1))
    }

    /// Chunks per 1 MiB page for a class.
    pub(crate) fn per_page(&self, class: usize) -> usize {
        let size = self.sizes.get(class).copied().unwrap_or(1).max(1);
        (SLAB_PAGE_SIZE / size).max(1)
    }
}

/// `ITEM_ntotal()`: header, key with NUL, client flags if non-zero
/// (`flags_size` bytes: 4, or 8 with large client flags), value with CRLF,
/// and the cas field.
pub(crate) fn ntotal(
    key_len: usize,
    flags: u64,
    flags_size: usize,
    value_len: usize,
    use_cas: bool,
) -> usize {
    ITEM_HEADER
        .saturating_add(key_len)
        .saturating_add(1)
        .saturating_add(if flags != 0 { flags_size } else { 0 })
        .saturating_add(value_len)
        .saturating_add(2)
        .saturating_add(if use_cas { 8 } else { 0 })
}

/// The store.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    items: HashMap<Vec<u8>, Item>,
    lru: BTreeMap<u64, Vec<u8>>,
    next_seq: u64,
    cas_counter: u64,
    pub(crate) use_cas: bool,
    /// `sizeof(client_flags_t)`: 4, or 8 with large client flags.
    pub(crate) flags_size: usize,
    /// `settings.oldest_live` (relative), 0 when no flush happened.
    pub(crate) oldest_live: u32,
    /// `settings.oldest_cas`.
    pub(crate) oldest_cas: u64,
    pub(crate) slabs: Slabs,
    /// Sum of `ntotal` over linked items.
    pub(crate) bytes: u64,
    /// Items per class.
    pub(crate) class_items: [u64; MAX_SLAB_CLASSES],
    /// Pages each class ever took (never given back).
    pub(crate) class_pages: [u64; MAX_SLAB_CLASSES],
    /// Items linked since start (or stats reset).
    pub(crate) total_items: u64,
    pub(crate) evictions: u64,
    pub(crate) reclaimed: u64,
    pub(crate) expired_unfetched: u64,
    /// Number of the current read event (one per `Server::feed`).
    pub(crate) feed: u64,
    /// Items referenced by the LRU maintainer's pending asynchronous bumps,
    /// released when the read event ends.
    pub(crate) bump_refs: HashSet<u64>,
    /// The feed of the last `flush_all`.
    pub(crate) flush_feed: u64,
}

impl Store {
    pub(crate) fn new(item_size_max: usize, use_cas: bool, flags_size: usize) -> Self {
        Self {
            items: HashMap::new(),
            lru: BTreeMap::new(),
            next_seq: 0,
            cas_counter: 0,
            use_cas,
            flags_size,
            oldest_live: 0,
            oldest_cas: 0,
            slabs: Slabs::new(item_size_max),
            bytes: 0,
            class_items: [0; MAX_SLAB_CLASSES],
            class_pages: [0; MAX_SLAB_CLASSES],
            total_items: 0,
            evictions: 0,
            reclaimed: 0,
            expired_unfetched: 0,
            feed: 0,
            bump_refs: HashSet::new(),
            flush_feed: 0,
        }
    }

    /// `get_cas_id()`: the next cas unique (0 with `-C`).
    pub(crate) fn next_cas(&mut self) -> u64 {
        if !self.use_cas {
            return 0;
        }
        self.cas_counter = self.cas_counter.wrapping_add(1);
        self.cas_counter
    }

    /// Uses up one cas unique without an item.
    pub(crate) fn skip_cas(&mut self) {
        self.cas_counter = self.cas_counter.wrapping_add(1);
    }

    /// Size of an item as memcached accounts it.
    pub(crate) fn item_ntotal(&self, key: &[u8], it: &Item) -> usize {
        self.ntotal(key.len(), it.flags, it.value.len())
    }

    /// [`ntotal`] with this store's cas and flags sizes.
    pub(crate) fn ntotal(&self, key_len: usize, flags: u64, value_len: usize) -> usize {
        ntotal(key_len, flags, self.flags_size, value_len, self.use_cas)
    }

    /// `item_size_ok()` for a value of `vlen` bytes (payload + 2).
    pub(crate) fn size_ok(&self, key_len: usize, flags: u64, vlen: usize) -> bool {
        let n = self.ntotal(key_len, flags, vlen.saturating_sub(2));
        self.slabs.class_for(n).is_some()
    }

    /// `item_is_flushed()`.
    fn is_flushed(&self, it: &Item, now: u32) -> bool {
        let oldest = self.oldest_live;
        if oldest == 0 || oldest > now {
            return false;
        }
        it.time <= oldest || (self.oldest_cas != 0 && it.cas != 0 && it.cas < self.oldest_cas)
    }

    /// Whether the item is dead (flushed or expired) at `now`.
    pub(crate) fn state_of(&self, it: &Item, now: u32) -> Lookup {
        if self.is_flushed(it, now) {
            Lookup::Flushed
        } else if it.exptime != 0 && it.exptime <= now {
            Lookup::Expired
        } else {
            Lookup::Hit
        }
    }

    /// `do_item_get()`: finds a live item, unlinking it when flushed or
    /// expired, and bumps it when `update` is set.
    pub(crate) fn lookup(&mut self, key: &[u8], now: u32, update: bool) -> Lookup {
        let state = match self.items.get(key) {
            None => return Lookup::Miss,
            Some(it) => self.state_of(it, now),
        };
        match state {
            Lookup::Hit => {
                if update {
                    self.bump(key, now);
                }
            }
            Lookup::Expired | Lookup::Flushed => {
                if let Some(it) = self.unlink(key) {
                    self.reclaimed += 1;
                    if !it.fetched {
                        self.expired_unfetched += 1;
                    }
                }
            }
            Lookup::Miss => {}
        }
        state
    }

    /// `do_item_bump()` with the segmented LRU: the first fetch marks the item
    /// fetched, the second marks it active and refreshes its access time.
    /// An item stored in an earlier read event has been moved to the COLD LRU
    /// by then; activating it queues an asynchronous bump that keeps a
    /// reference to it until the event ends.
    pub(crate) fn bump(&mut self, key: &[u8], now: u32) {
        if let Some(it) = self.items.get_mut(key) {
            if !it.active {
                if !it.fetched {
                    it.fetched = true;
                } else {
                    it.active = true;
                    it.time = now;
                    if it.born_feed < self.feed {
                        self.bump_refs.insert(it.seq);
                    }
                }
            }
        }
    }

    /// `do_item_update()`: refreshes the access time.
    pub(crate) fn touch_time(&mut self, key: &[u8], now: u32) {
        if let Some(it) = self.items.get_mut(key) {
            it.time = now;
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&Item> {
        self.items.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Item> {
        self.items.get_mut(key)
    }

    /// Removes an item.
    pub(crate) fn unlink(&mut self, key: &[u8]) -> Option<Item> {
        let it = self.items.remove(key)?;
        self.lru.remove(&it.seq);
        let n = self.item_ntotal(key, &it) as u64;
        self.bytes = self.bytes.saturating_sub(n);
        if let Some(c) = self.class_items.get_mut(it.class) {
            *c = c.saturating_sub(1);
        }
        Some(it)
    }

    /// `do_item_link()`: stores `it` under `key` (replacing any item), with a
    /// new cas and access time; then evicts old items while over `maxbytes`.
    /// Returns the new cas.
    pub(crate) fn link(&mut self, key: &[u8], it: Item, now: u32, maxbytes: u64) -> u64 {
        let cas = self.next_cas();
        self.link_with_cas(key, it, cas, now, maxbytes)
    }

    /// [`link`](Self::link) with a cas chosen by the caller (1.6.27's
    /// `do_item_link(it, hv, cas)`).
    pub(crate) fn link_with_cas(
        &mut self,
        key: &[u8],
        mut it: Item,
        cas: u64,
        now: u32,
        maxbytes: u64,
    ) -> u64 {
        self.unlink(key);
        it.cas = cas;
        it.time = now;
        it.born_feed = self.feed;
        it.changed_feed = self.feed;
        self.next_seq += 1;
        it.seq = self.next_seq;
        let n = self.item_ntotal(key, &it);
        it.class = self
            .slabs
            .class_for(n)
            .unwrap_or_else(|| self.slabs.largest());
        let class = it.class;
        self.bytes = self.bytes.saturating_add(n as u64);
        if let Some(c) = self.class_items.get_mut(class) {
            *c += 1;
            let per = self.slabs.per_page(class) as u64;
            let pages = c.div_ceil(per);
            if let Some(p) = self.class_pages.get_mut(class) {
                *p = (*p).max(pages);
            }
        }
        self.total_items += 1;
        let cas = it.cas;
        self.lru.insert(it.seq, key.to_vec());
        self.items.insert(key.to_vec(), it);
        self.evict(key, maxbytes);
        cas
    }

    /// Evicts least recently linked items (other than `keep`) while the store
    /// is over `maxbytes`.
    fn evict(&mut self, keep: &[u8], maxbytes: u64) {
        while self.bytes > maxbytes {
            let victim = self.lru.values().find(|k| k.as_slice() != keep).cloned();
            let Some(victim) = victim else { break };
            self.unlink(&victim);
            self.evictions += 1;
        }
    }

    /// A new item of `ntotal` bytes was allocated (it may never be linked):
    /// its class takes a page if it has none free.
    pub(crate) fn note_alloc(&mut self, ntotal: usize) {
        let Some(class) = self.slabs.class_for(ntotal) else {
            return;
        };
        let per = self.slabs.per_page(class) as u64;
        if let (Some(count), Some(pages)) =
            (self.class_items.get(class), self.class_pages.get_mut(class))
        {
            *pages = (*pages).max((count + 1).div_ceil(per));
        }
    }

    /// `item_flush_expired()` (1.6.25): unlinks every item last accessed at
    /// or after `oldest` (relative time).
    pub(crate) fn unlink_touched_since(&mut self, oldest: u32) {
        let keys: Vec<Vec<u8>> = self
            .items
            .iter()
            .filter(|(_, it)| it.time >= oldest)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.unlink(&key);
        }
    }

    /// Keys of the items memcached still has linked: live ones, and dead ones
    /// the LRU crawler has not reclaimed yet (those that died in the current
    /// read event), most recently linked first.
    pub(crate) fn linked_keys(&self, now: u32) -> Vec<Vec<u8>> {
        self.lru
            .values()
            .rev()
            .filter(|k| {
                self.items
                    .get(k.as_slice())
                    .is_some_and(|it| match self.state_of(it, now) {
                        Lookup::Hit => true,
                        Lookup::Flushed => {
                            it.changed_feed == self.feed || self.flush_feed == self.feed
                        }
                        _ => it.changed_feed == self.feed,
                    })
            })
            .cloned()
            .collect()
    }

    /// Keys of live items, most recently linked first.
    pub(crate) fn live_keys(&self, now: u32) -> Vec<Vec<u8>> {
        self.lru
            .values()
            .rev()
            .filter(|k| {
                self.items
                    .get(k.as_slice())
                    .is_some_and(|it| self.state_of(it, now) == Lookup::Hit)
            })
            .cloned()
            .collect()
    }

    /// Number of items stored (live or not yet reclaimed).
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_classes_match_memcached_defaults() {
        let s = Slabs::new(1024 * 1024);
        assert_eq!(s.largest(), 39);
        assert_eq!(&s.sizes[1..8], &[96, 120, 152, 192, 240, 304, 384]);
        assert_eq!(s.sizes[38], 394840);
        assert_eq!(s.sizes[39], 524288);
        assert_eq!(s.class_for(64), Some(1));
        assert_eq!(s.class_for(161), Some(4));
        assert_eq!(s.class_for(600067), Some(39));
        assert_eq!(s.class_for(1048576), Some(39));
        assert_eq!(s.class_for(1048577), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(ntotal(4, 0, 4, 1, true), 64);
        assert_eq!(ntotal(4, 5, 4, 600000, true), 600067);
        // large client flags take 8 bytes
        assert_eq!(ntotal(4, 5, 8, 600000, true), 600071);
        assert_eq!(ntotal(4, 0, 8, 1, true), 64);
        // largest value for a 5-byte key with flags 0
        assert_eq!(ntotal(5, 0, 4, 1048512, true), 1048576);
    }
}
