//! A client-side model of what memcached answers (1.6.18, and with
//! [`Oracle::newer`] the flags of later releases: `E`, `md x`, `mg C`, `ms s`, `N`
//! on append), independent of the reference server model: the property tests check
//! the codec's typed results against it. Cas uniques are server-assigned (or given
//! with `E`), so the oracle learns them from replies and tracks which are known to
//! be current.

use std::collections::HashMap;

use memcache_codec::command::Exptime;
use memcache_codec::profile::ServerVersion;
use memcache_codec::response::{MetaStatus, Ttl};
use memcache_codec::{CommandError, Completion, Response, ServerErrorKind};
use memcache_testkit::command::{Cmd, Key, MaMode, MsMode, StatsArgs, StoreMode};

use super::ops::{CasChoice, NOW};

/// An item's value as far as the session knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Known(Vec<u8>),
    /// An `incr`/`decr` result shorter than the old value: memcached rewrites it in
    /// place, space-padded to the old length, only when nothing else references the
    /// item (a queued `mg` reply or a pending LRU bump does); so the digits of `n`,
    /// then zero or more spaces, until a read tells.
    Number(u64),
    /// Bytes the session cannot know (an append to a `Number`).
    Unknown,
}

impl Val {
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            Self::Known(v) => v == data,
            Self::Number(n) => {
                let digits = n.to_string();
                data.starts_with(digits.as_bytes())
                    && data[digits.len()..].iter().all(|&b| b == b' ')
            }
            Self::Unknown => true,
        }
    }

    fn known(&self) -> Option<&[u8]> {
        match self {
            Self::Known(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Item {
    value: Val,
    flags: u64,
    /// Absolute expiry (unix seconds), or `None` for never.
    expires: Option<u64>,
}

#[derive(Debug, Default, Clone)]
struct CasState {
    /// The unique the item has now, if a reply told us after its last change.
    current: Option<u64>,
    /// A unique the item had before a change: certainly not current.
    stale: Option<u64>,
    /// Bumped on every change, to know whether an observation is still current.
    version: u64,
}

/// What a command must complete with.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// `noreply`: no completion.
    Nothing,
    Hit {
        flags: u64,
        data: Val,
        cas: bool,
    },
    Miss,
    Items(Vec<(Key, u64, Val)>, bool),
    /// The session cannot predict this one (arithmetic on unknown bytes).
    Any,
    Stored,
    NotStored,
    Exists,
    NotFound,
    Deleted,
    Touched,
    Counter(u64),
    NonNumeric,
    Version,
    Ok,
    Stats(StatsArgs),
    Meta {
        status: MetaStatus,
        inferred: bool,
        value: Option<Val>,
        client_flags: Option<u64>,
        size: Option<u64>,
        ttl: Option<Ttl>,
        cas: bool,
    },
    Noop,
    /// `ME`, with the item's time left as [`MetaDebug::ttl`] must read it.
    MetaDebug(Ttl),
}

/// The keys a command read, with each item's version when it ran: a unique or value
/// in its reply is remembered if the item has not changed since.
pub type Observation = Vec<(Key, u64)>;

/// What a reply taught the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Learned {
    Cas(Key, u64),
    Value(Key, Vec<u8>),
}

#[derive(Debug, Default, Clone)]
pub struct Oracle {
    items: HashMap<Key, Item>,
    cas: HashMap<Key, CasState>,
    /// The server takes the flags of newer releases.
    newer: bool,
}

enum Delta {
    NotFound,
    NonNumeric,
    Value(u64),
    Unpredictable,
}

impl Oracle {
    /// An oracle for a server that takes the flags of newer releases (1.6.40+).
    pub fn newer() -> Self {
        Self {
            newer: true,
            ..Self::default()
        }
    }

    /// The item's unique is now `unique` (given with `E`).
    fn set_cas(&mut self, key: &Key, unique: u64) {
        self.cas.entry(key.clone()).or_default().current = Some(unique);
    }

    fn alive(&self, key: &Key) -> Option<&Item> {
        self.items.get(key)
    }

    fn expiry(exptime: Exptime) -> Result<Option<u64>, ()> {
        match exptime.as_raw() {
            0 => Ok(None),
            t if t < 0 => Err(()),
            t if t as u32 <= Exptime::MAX_RELATIVE_SECS => Ok(Some(NOW + t as u64)),
            t if t as u64 <= NOW => Err(()),
            t => Ok(Some(t as u64)),
        }
    }

    fn changed(&mut self, key: &Key) {
        let state = self.cas.entry(key.clone()).or_default();
        state.stale = state.current.or(state.stale);
        state.current = None;
        state.version += 1;
    }

    fn put(&mut self, key: &Key, value: Vec<u8>, flags: u64, exptime: Exptime) {
        self.changed(key);
        match Self::expiry(exptime) {
            Ok(expires) => {
                self.items.insert(
                    key.clone(),
                    Item {
                        value: Val::Known(value),
                        flags,
                        expires,
                    },
                );
            }
            // Stored, but expired at once.
            Err(()) => {
                self.items.remove(key);
            }
        }
    }

    fn touch(&mut self, key: &Key, exptime: Exptime) {
        match Self::expiry(exptime) {
            Ok(expires) => {
                if let Some(item) = self.items.get_mut(key) {
                    item.expires = expires;
                }
            }
            Err(()) => {
                self.items.remove(key);
                self.changed(key);
            }
        }
    }

    fn version(&self, key: &Key) -> u64 {
        self.cas.get(key).map_or(0, |c| c.version)
    }

    /// The unique a conditional command sends.
    pub fn resolve_cas(&self, key: &Key, choice: CasChoice) -> u64 {
        match choice {
            CasChoice::Zero => 0,
            CasChoice::Latest => self
                .cas
                .get(key)
                .and_then(|c| c.current.or(c.stale))
                .unwrap_or(0),
        }
    }

    fn cas_matches(&self, key: &Key, unique: u64) -> bool {
        self.cas.get(key).and_then(|c| c.current) == Some(unique)
    }

    /// Learns what a reply revealed about `key` as of `version`.
    pub fn learn(&mut self, learned: Learned, observation: &Observation) {
        let key = match &learned {
            Learned::Cas(key, _) | Learned::Value(key, _) => key.clone(),
        };
        let Some(&(_, version)) = observation.iter().find(|(k, _)| *k == key) else {
            return;
        };
        if self.version(&key) != version {
            return;
        }
        match learned {
            Learned::Cas(_, unique) => self.cas.entry(key).or_default().current = Some(unique),
            Learned::Value(_, data) => {
                if let Some(item) = self.items.get_mut(&key) {
                    item.value = Val::Known(data);
                }
            }
        }
    }

    /// memcached's `safe_strtoull` on the stored data (which ends in `\r\n`).
    fn numeric(value: &[u8]) -> Option<u64> {
        if value.is_empty() {
            return None;
        }
        let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        let mut data = value.to_vec();
        data.extend_from_slice(b"\r\n");
        let mut i = data.iter().take_while(|&&b| space(b)).count();
        let negative = data.get(i) == Some(&b'-');
        if matches!(data.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = data[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = std::str::from_utf8(&data[i..i + digits])
            .ok()?
            .parse()
            .ok()?;
        let n = if negative { n.wrapping_neg() } else { n };
        if !space(data[i + digits]) {
            return None;
        }
        if (n as i64) < 0 && negative {
            return None;
        }
        Some(n)
    }

    fn delta(&mut self, key: &Key, incr: bool, delta: u64) -> Delta {
        let Some(item) = self.items.get(key) else {
            return Delta::NotFound;
        };
        let old = match &item.value {
            Val::Known(v) => match Self::numeric(v) {
                Some(n) => n,
                None => return Delta::NonNumeric,
            },
            Val::Number(n) => *n,
            Val::Unknown => {
                // Applied or refused, nobody knows: neither the value nor whether the
                // unique known so far is still current.
                self.items.get_mut(key).expect("checked").value = Val::Unknown;
                let state = self.cas.entry(key.clone()).or_default();
                (state.current, state.stale) = (None, None);
                state.version += 1;
                return Delta::Unpredictable;
            }
        };
        let new = if incr {
            old.wrapping_add(delta)
        } else {
            old.saturating_sub(delta)
        };
        let digits = new.to_string().into_bytes();
        let value = match item.value.known() {
            Some(old_value) if digits.len() >= old_value.len() => Val::Known(digits),
            _ => Val::Number(new),
        };
        let item = self.items.get_mut(key).expect("checked");
        item.value = value;
        self.changed(key);
        Delta::Value(new)
    }

    fn concat(&mut self, key: &Key, data: &[u8], append: bool) {
        let item = self.items.get_mut(key).expect("present");
        item.value = match &item.value {
            Val::Known(old) if append => Val::Known([&old[..], data].concat()),
            Val::Known(old) => Val::Known([data, &old[..]].concat()),
            _ => Val::Unknown,
        };
        self.changed(key);
    }

    fn fetch(&mut self, key: &Key, touch: Option<Exptime>) -> Option<Item> {
        let item = self.alive(key)?.clone();
        if let Some(t) = touch {
            self.touch(key, t);
        }
        Some(item)
    }

    /// Applies `cmd` (its cas unique resolved) and returns what it must complete
    /// with, and whether a unique in its reply should be remembered.
    pub fn apply(&mut self, cmd: &Cmd) -> (Expected, Observation) {
        let quiet = cmd.is_quiet();
        let silent = |e: Expected, noreply: bool| if noreply { Expected::Nothing } else { e };
        let exptime = |raw: &i32| Exptime::from_raw(*raw);
        match cmd {
            Cmd::Get { key, cas, touch } => {
                let observation = vec![(key.clone(), self.version(key))];
                let expected = match self.fetch(key, touch.as_ref().map(exptime)) {
                    Some(item) => Expected::Hit {
                        flags: item.flags,
                        data: item.value,
                        cas: *cas,
                    },
                    None => Expected::Miss,
                };
                (expected, observation)
            }
            Cmd::GetMulti { keys, cas, touch } => {
                let observation = keys.iter().map(|k| (k.clone(), self.version(k))).collect();
                let mut hits = Vec::new();
                for key in keys {
                    if let Some(item) = self.fetch(key, touch.as_ref().map(exptime)) {
                        hits.push((key.clone(), item.flags, item.value));
                    }
                }
                (Expected::Items(hits, *cas), observation)
            }
            Cmd::Store {
                mode,
                key,
                value,
                flags,
                exptime: raw,
                noreply,
            } => {
                let (value, exptime) = (&value.0, exptime(raw));
                let present = self.alive(key).is_some();
                let result = match mode {
                    StoreMode::Set => {
                        self.put(key, value.clone(), *flags, exptime);
                        Expected::Stored
                    }
                    StoreMode::Add if present => Expected::NotStored,
                    StoreMode::Add => {
                        self.put(key, value.clone(), *flags, exptime);
                        Expected::Stored
                    }
                    StoreMode::Replace if present => {
                        self.put(key, value.clone(), *flags, exptime);
                        Expected::Stored
                    }
                    StoreMode::Append | StoreMode::Prepend if present => {
                        self.concat(key, value, *mode == StoreMode::Append);
                        Expected::Stored
                    }
                    StoreMode::Replace | StoreMode::Append | StoreMode::Prepend => {
                        Expected::NotStored
                    }
                    StoreMode::Cas(_) if !present => Expected::NotFound,
                    StoreMode::Cas(unique) if self.cas_matches(key, *unique) => {
                        self.put(key, value.clone(), *flags, exptime);
                        Expected::Stored
                    }
                    StoreMode::Cas(_) => Expected::Exists,
                };
                (silent(result, *noreply), Vec::new())
            }
            Cmd::Incr {
                key,
                delta,
                noreply,
            }
            | Cmd::Decr {
                key,
                delta,
                noreply,
            } => {
                let incr = matches!(cmd, Cmd::Incr { .. });
                let result = match self.delta(key, incr, *delta) {
                    Delta::NotFound => Expected::NotFound,
                    Delta::NonNumeric => Expected::NonNumeric,
                    Delta::Value(n) => Expected::Counter(n),
                    Delta::Unpredictable => Expected::Any,
                };
                (silent(result, *noreply), Vec::new())
            }
            Cmd::Delete { key, noreply } => {
                let result = if self.items.remove(key).is_some() {
                    self.changed(key);
                    Expected::Deleted
                } else {
                    Expected::NotFound
                };
                (silent(result, *noreply), Vec::new())
            }
            Cmd::Touch {
                key,
                exptime: raw,
                noreply,
            } => {
                let result = if self.alive(key).is_some() {
                    self.touch(key, exptime(raw));
                    Expected::Touched
                } else {
                    Expected::NotFound
                };
                (silent(result, *noreply), Vec::new())
            }
            Cmd::Version => (Expected::Version, Vec::new()),
            Cmd::Verbosity { noreply, .. } => (silent(Expected::Ok, *noreply), Vec::new()),
            Cmd::Stats(args) => (Expected::Stats(args.clone()), Vec::new()),
            Cmd::MetaGet { key, .. } => {
                let flags = cmd.meta_flags().expect("a meta command");
                let touch = flags.ttl.as_ref().map(exptime);
                let observation = vec![(key.clone(), self.version(key))];
                // 1.6.40: a `C` that matches the item's unique (before a touch
                // changes it) drops `v`.
                let unchanged = self.newer
                    && flags
                        .compare_cas
                        .is_some_and(|unique| self.cas_matches(key, unique));
                match self.fetch(key, touch) {
                    Some(item) => {
                        let ttl = match (flags.has(b't'), touch) {
                            (false, _) | (true, Some(_)) => None,
                            (true, None) => Some(
                                item.expires
                                    .map_or(Ttl::Never, |e| Ttl::Seconds((e - NOW) as u32)),
                            ),
                        };
                        let size = item.value.known().map(|v| v.len() as u64);
                        let value = flags.has(b'v') && !unchanged;
                        let expected = Expected::Meta {
                            status: if value {
                                MetaStatus::Value
                            } else {
                                MetaStatus::Success
                            },
                            inferred: false,
                            value: value.then_some(item.value),
                            client_flags: flags.has(b'f').then_some(item.flags),
                            size: if flags.has(b's') { size } else { None },
                            ttl,
                            cas: flags.has(b'c'),
                        };
                        (expected, observation)
                    }
                    None => (meta(MetaStatus::Miss, quiet), Vec::new()),
                }
            }
            Cmd::MetaSet { key, value, .. } => {
                let flags = cmd.meta_flags().expect("a meta command");
                let value = &value.0;
                let mode = flags
                    .mode
                    .and_then(MsMode::from_letter)
                    .unwrap_or(MsMode::Set);
                let return_cas = flags.has(b'c');
                let present = self.alive(key).is_some();
                let client_flags = flags.client_flags.unwrap_or(0);
                let exptime = flags.ttl.as_ref().map_or(Exptime::never(), exptime);
                let status = match (mode, flags.compare_cas) {
                    (_, Some(_)) if !present => MetaStatus::NotFound,
                    (_, Some(unique)) if !self.cas_matches(key, unique) => MetaStatus::Exists,
                    (MsMode::Set, _) => {
                        self.put(key, value.clone(), client_flags, exptime);
                        MetaStatus::Success
                    }
                    (MsMode::Add, _) if present => MetaStatus::NotStored,
                    (MsMode::Add, _) => {
                        self.put(key, value.clone(), client_flags, exptime);
                        MetaStatus::Success
                    }
                    (MsMode::Replace, _) if present => {
                        self.put(key, value.clone(), client_flags, exptime);
                        MetaStatus::Success
                    }
                    (MsMode::Append | MsMode::Prepend, _) if present => {
                        self.concat(key, value, mode == MsMode::Append);
                        MetaStatus::Success
                    }
                    // 1.6.20: `N` on append/prepend creates the missing item.
                    (MsMode::Append | MsMode::Prepend, _)
                        if self.newer && flags.vivify.is_some() =>
                    {
                        let ttl = Exptime::from_raw(flags.vivify.expect("checked"));
                        self.put(key, value.clone(), client_flags, ttl);
                        MetaStatus::Success
                    }
                    _ => MetaStatus::NotStored,
                };
                if let (true, MetaStatus::Success, Some(unique)) =
                    (self.newer, status, flags.new_cas)
                {
                    self.set_cas(key, unique);
                }
                let observe = if return_cas && status == MetaStatus::Success {
                    vec![(key.clone(), self.version(key))]
                } else {
                    Vec::new()
                };
                let mut expected = meta(status, quiet && status == MetaStatus::Success);
                if let Expected::Meta { cas, size, .. } = &mut expected {
                    *cas = return_cas && !(quiet && status == MetaStatus::Success);
                    // 1.6.20: `s` returns the stored size.
                    if flags.has(b's')
                        && status == MetaStatus::Success
                        && !quiet
                        && matches!(mode, MsMode::Set | MsMode::Add | MsMode::Replace)
                    {
                        *size = Some(value.len() as u64);
                    }
                }
                (expected, observe)
            }
            Cmd::MetaDelete { key, .. } => {
                let flags = cmd.meta_flags().expect("a meta command");
                let status = if self.alive(key).is_none() {
                    MetaStatus::NotFound
                } else if flags
                    .compare_cas
                    .is_some_and(|unique| !self.cas_matches(key, unique))
                {
                    MetaStatus::Exists
                } else if self.newer && flags.has(b'x') {
                    // 1.6.27: the item stays, empty, with client flags 0, no TTL, and
                    // its unique (or the one `E` gives).
                    assert!(flags.ttl.is_none() && flags.client_flags.is_none());
                    let item = self.items.get_mut(key).expect("alive");
                    (item.value, item.flags, item.expires) = (Val::Known(Vec::new()), 0, None);
                    let state = self.cas.entry(key.clone()).or_default();
                    state.version += 1;
                    if let Some(unique) = flags.new_cas {
                        state.stale = state.current.or(state.stale);
                        state.current = Some(unique);
                    }
                    MetaStatus::Success
                } else {
                    self.items.remove(key);
                    self.changed(key);
                    MetaStatus::Success
                };
                (
                    meta(status, quiet && status == MetaStatus::Success),
                    Vec::new(),
                )
            }
            Cmd::MetaArithmetic { key, .. } => {
                let flags = cmd.meta_flags().expect("a meta command");
                let decr = flags.mode.and_then(MaMode::from_letter) == Some(MaMode::Decr);
                let return_value = flags.has(b'v');
                let delta = flags.delta.unwrap_or(1);
                match self.delta(key, !decr, delta) {
                    Delta::Value(n) => {
                        // Silent in quiet mode: inferred as plain success, no value.
                        let status = if return_value && !quiet {
                            MetaStatus::Value
                        } else {
                            MetaStatus::Success
                        };
                        let mut expected = meta(status, quiet);
                        if let Expected::Meta { value, .. } = &mut expected {
                            *value = (return_value && !quiet)
                                .then(|| Val::Known(n.to_string().into_bytes()));
                        }
                        (expected, Vec::new())
                    }
                    Delta::NonNumeric => (Expected::NonNumeric, Vec::new()),
                    Delta::Unpredictable => (Expected::Any, Vec::new()),
                    Delta::NotFound => match flags.vivify {
                        Some(ttl) => {
                            let initial = flags.initial.unwrap_or(0);
                            self.put(
                                key,
                                initial.to_string().into_bytes(),
                                0,
                                Exptime::from_raw(ttl),
                            );
                            // 1.6.18 answers an autovivify even in quiet mode.
                            let status = if return_value {
                                MetaStatus::Value
                            } else {
                                MetaStatus::Success
                            };
                            let mut expected = meta(status, false);
                            if let Expected::Meta { value, .. } = &mut expected {
                                *value = return_value
                                    .then(|| Val::Known(initial.to_string().into_bytes()));
                            }
                            (expected, Vec::new())
                        }
                        None => (meta(MetaStatus::NotFound, false), Vec::new()),
                    },
                }
            }
            Cmd::MetaNoop => (Expected::Noop, Vec::new()),
            Cmd::MetaDebug { key, .. } => {
                if let Some(item) = self.alive(key) {
                    let ttl = item
                        .expires
                        .map_or(Ttl::Never, |e| Ttl::Seconds((e - NOW) as u32));
                    (Expected::MetaDebug(ttl), Vec::new())
                } else {
                    (Expected::Miss, Vec::new())
                }
            }
            other => unreachable!("sessions do not generate {other:?}"),
        }
    }
}

/// Whether `response` is the shape of reply `stats` with `args` gets.
pub fn stats_fit(args: &StatsArgs, response: &Response) -> bool {
    match args {
        // As memcached's `process_stat()` reads them: the first word, and the second
        // of `detail`.
        StatsArgs::Words(words) => {
            let w: Vec<&[u8]> = words.iter().map(|w| &w.0[..]).collect();
            match &w[..] {
                [b"reset", ..] => matches!(response, Response::Reset),
                [b"detail", b"on" | b"off", ..] => matches!(response, Response::Ok),
                [b"detail", b"dump", ..] => matches!(response, Response::DetailDump(_)),
                [b"cachedump", ..] => matches!(response, Response::CacheDump(_)),
                _ => matches!(response, Response::Stats(_)),
            }
        }
        StatsArgs::Word(w) if w.0 == b"reset" => matches!(response, Response::Reset),
        StatsArgs::Detail(_) => matches!(response, Response::Ok),
        StatsArgs::DetailDump => matches!(response, Response::DetailDump(_)),
        StatsArgs::CacheDump { .. } => matches!(response, Response::CacheDump(_)),
        _ => matches!(response, Response::Stats(_)),
    }
}

fn meta(status: MetaStatus, inferred: bool) -> Expected {
    Expected::Meta {
        status,
        inferred,
        value: None,
        client_flags: None,
        size: None,
        ttl: None,
        cas: false,
    }
}

/// Checks a completion against the expectation; returns what it revealed about
/// `key`, the item a single-key read or `ms` addressed (`None` for other commands).
pub fn check(
    expected: &Expected,
    done: &Completion,
    key: Option<&Key>,
    server: ServerVersion,
) -> Result<Vec<Learned>, String> {
    let fail = || Err(format!("expected {expected:?}, got {:?}", done.result));
    if *expected == Expected::Any {
        return Ok(Vec::new());
    }
    let response = match &done.result {
        Ok(r) => r,
        Err(CommandError::Server(e))
            if *expected == Expected::NonNumeric
                && e.kind == ServerErrorKind::ClientError
                && &e.message[..] == b"cannot increment or decrement non-numeric value" =>
        {
            return Ok(Vec::new());
        }
        Err(_) => return fail(),
    };
    let nothing = Ok(Vec::new());
    match (expected, response) {
        (Expected::Hit { flags, data, cas }, Response::Hit(v))
            if v.flags == *flags && data.matches(&v.data) && v.cas.is_some() == *cas =>
        {
            Ok(key
                .into_iter()
                .flat_map(|key| {
                    let mut learned = vec![Learned::Value(key.clone(), v.data.to_vec())];
                    learned.extend(v.cas.map(|c| Learned::Cas(key.clone(), c)));
                    learned
                })
                .collect())
        }
        (Expected::Items(hits, cas), Response::Items(items))
            if items.len() == hits.len()
                && items.iter().zip(hits).all(|(item, (key, flags, data))| {
                    item.key == &key.0[..]
                        && item.flags == *flags
                        && data.matches(item.data)
                        && item.cas.is_some() == *cas
                }) =>
        {
            Ok(items
                .iter()
                .zip(hits)
                .map(|(item, (key, _, _))| Learned::Value(key.clone(), item.data.to_vec()))
                .collect())
        }
        (Expected::Miss, Response::Miss)
        | (Expected::Stored, Response::Stored)
        | (Expected::NotStored, Response::NotStored)
        | (Expected::Exists, Response::Exists)
        | (Expected::NotFound, Response::NotFound)
        | (Expected::Deleted, Response::Deleted)
        | (Expected::Touched, Response::Touched)
        | (Expected::Version, Response::Version(_))
        | (Expected::Ok, Response::Ok)
        | (Expected::Noop, Response::Noop) => nothing,
        (Expected::MetaDebug(ttl), Response::MetaDebug(me))
            if me.ttl(Some(server)) == Some(*ttl) =>
        {
            nothing
        }
        (Expected::Counter(n), Response::Counter(m)) if n == m => nothing,
        (Expected::Stats(args), r) => {
            if stats_fit(args, r) {
                nothing
            } else {
                fail()
            }
        }
        (
            Expected::Meta {
                status,
                inferred,
                value,
                client_flags,
                size,
                ttl,
                cas,
            },
            Response::Meta(m),
        ) if m.status == *status
            && m.inferred == *inferred
            && match (value, m.value()) {
                (None, None) => true,
                (Some(want), Some(got)) => want.matches(got),
                _ => false,
            }
            && (client_flags.is_none() || m.client_flags() == *client_flags)
            && (size.is_none() || m.size() == *size)
            && (ttl.is_none() || m.ttl() == *ttl)
            && (!*cas || m.cas().is_some()) =>
        {
            let mut learned = Vec::new();
            if let (Some(key), Some(v)) = (key, m.value()) {
                learned.push(Learned::Value(key.clone(), v.to_vec()));
            }
            if let (Some(key), Some(c), true) = (key, m.cas(), *cas) {
                learned.push(Learned::Cas(key.clone(), c));
            }
            Ok(learned)
        }
        _ => fail(),
    }
}
