//! 100 000 mixed commands against a real memcached, at least 100 of them in flight at
//! any time, every reply checked against a client-side model of the cache.
//!
//! The model is applied in completion order, which is the order memcached executes
//! the commands in, so each reply is checked against exactly the state the server saw.
//! Cas uniques are not predicted: the model learns them from replies that carry one
//! (`gets`, `mg c`, `ms c`) and forgets them when an item changes, and a `cas` is
//! expected to succeed exactly when the unique it sent is the one last learned.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use memcache_codec::command::GetMulti;
use memcache_codec::response::MetaStatus;
use memcache_codec::{CommandError, Response, ServerErrorKind, Token};
use memcache_testkit::command::{
    Cmd, Key, MaFlag, MaMode, MdFlag, MgFlag, MsFlag, MsMode, Sendable, StoreMode,
};

use crate::blocking::BlockingClient;
use crate::harness::{self, prefix};

const COMMANDS: usize = 100_000;
/// Pipeline depth: refill to `WINDOW` pending commands whenever fewer than `LOW` are.
const WINDOW: usize = 256;
const LOW: usize = 128;
const KEYS: usize = 400;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn letters(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| b'a' + self.below(26) as u8).collect()
    }

    /// A value: numbers (so incr/decr succeed), text, empty, bytes that look like
    /// protocol, or a few hundred bytes.
    fn value(&mut self) -> Vec<u8> {
        match self.below(20) {
            0..=6 => self.below(1_000_000).to_string().into_bytes(),
            7..=14 => {
                let len = self.below(20);
                self.letters(len)
            }
            15 => Vec::new(),
            16 => b"12\r\nEND\r\n".to_vec(),
            17 => b"VA 1\r\nHD\r\n".to_vec(),
            _ => {
                let len = 100 + self.below(200);
                self.letters(len)
            }
        }
    }

    /// A short tail for append/prepend.
    fn piece(&mut self) -> Vec<u8> {
        if self.percent(50) {
            self.below(100).to_string().into_bytes()
        } else {
            let len = 1 + self.below(3);
            self.letters(len)
        }
    }
}

/// An hour, the exptime of `gat` and `touch` (raw).
const HOUR: i32 = 3600;

/// The name an outcome is counted under.
fn name(cmd: &Cmd) -> &'static str {
    match cmd {
        Cmd::Get {
            cas: false,
            touch: None,
            ..
        } => "get",
        Cmd::Get {
            cas: true,
            touch: None,
            ..
        } => "gets",
        Cmd::Get { touch: Some(_), .. } => "gat",
        Cmd::GetMulti { .. } => "get-multi",
        Cmd::Store { noreply: true, .. } => "set-noreply",
        Cmd::Store { mode, .. } => match mode {
            StoreMode::Set => "set",
            StoreMode::Add => "add",
            StoreMode::Replace => "replace",
            StoreMode::Append => "append",
            StoreMode::Prepend => "prepend",
            StoreMode::Cas(_) => "cas",
        },
        Cmd::Incr { .. } => "incr",
        Cmd::Decr { .. } => "decr",
        Cmd::Delete { .. } => "delete",
        Cmd::Touch { .. } => "touch",
        Cmd::MetaGet { .. } if cmd.is_quiet() => "mg-q",
        Cmd::MetaGet { .. } => "mg",
        Cmd::MetaSet { .. } if cmd.is_quiet() => "ms-q",
        Cmd::MetaSet { .. } => "ms",
        Cmd::MetaDelete { .. } => "md",
        Cmd::MetaArithmetic { .. } => "ma",
        Cmd::MetaNoop => "mn",
        other => unreachable!("the mix has no {other:?}"),
    }
}

/// `incr`/`decr`/`ma`: the key, whether it increments, and the delta.
fn arith_of(cmd: &Cmd) -> Option<(&Key, bool, u64)> {
    match cmd {
        Cmd::Incr { key, delta, .. } => Some((key, true, *delta)),
        Cmd::Decr { key, delta, .. } => Some((key, false, *delta)),
        Cmd::MetaArithmetic { key, .. } => {
            let flags = cmd.meta_flags()?;
            let incr = flags.mode.and_then(MaMode::from_letter) != Some(MaMode::Decr);
            Some((key, incr, flags.delta.unwrap_or(1)))
        }
        _ => None,
    }
}

#[derive(Debug, Clone)]
struct Item {
    /// Every value the server may hold: one, except after incr/decr (see below).
    values: Vec<Vec<u8>>,
    flags: u64,
    /// The cas unique, if a reply told us since the item last changed.
    cas: Option<u64>,
}

impl Item {
    fn concat(&self, head: &[u8], tail: &[u8]) -> Vec<Vec<u8>> {
        self.values
            .iter()
            .map(|v| [head, v, tail].concat())
            .collect()
    }
}

/// memcached's `safe_strtoull` on an item's data: optional leading space, digits
/// without overflow, then a space (the data is followed by `\r\n` on the server).
fn numeric(data: &[u8]) -> Option<u64> {
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = data.iter().position(|&b| !is_space(b))?;
    let digits = data[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let mut value = 0u64;
    for &d in &data[start..start + digits] {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    match data.get(start + digits) {
        None => Some(value),
        Some(&b) if is_space(b) => Some(value),
        Some(_) => None,
    }
}

/// What an incr/decr/ma answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arith {
    NotFound,
    Counter(u64),
    NonNumeric,
}

/// The cache as the client believes it is.
#[derive(Default)]
struct Model {
    items: HashMap<Key, Item>,
    /// Every cas unique learned, for `cas` commands that should fail.
    learned: Vec<u64>,
    /// Outcome counts, to show the mix covered what it should.
    outcomes: BTreeMap<String, usize>,
    /// The last few commands on each key, for mismatch reports.
    history: HashMap<Key, VecDeque<String>>,
}

impl Model {
    fn remember(&mut self, cmd: &Cmd, what: &str) {
        for key in cmd.keys() {
            let history = self.history.entry(key.clone()).or_default();
            history.push_back(what.to_owned());
            if history.len() > 8 {
                history.pop_front();
            }
        }
    }

    fn history_of(&self, cmd: &Cmd) -> Vec<String> {
        cmd.keys()
            .iter()
            .filter_map(|k| Some(format!("key {k:?}: {:?}", self.history.get(k)?)))
            .collect()
    }

    fn learn(&mut self, key: &Key, cas: u64) -> Result<(), String> {
        let item = self.items.get_mut(key).ok_or("cas for an absent item")?;
        match item.cas {
            Some(known) if known != cas => Err(format!("cas {cas}, model knows {known}")),
            _ => {
                item.cas = Some(cas);
                self.learned.push(cas);
                Ok(())
            }
        }
    }

    fn put(&mut self, key: &Key, values: Vec<Vec<u8>>, flags: u64) {
        self.items.insert(
            key.clone(),
            Item {
                values,
                flags,
                cas: None,
            },
        );
    }

    /// A read returned `data` and `flags` for `key`.
    fn observe(&mut self, key: &Key, data: &[u8], flags: u64) -> Result<(), String> {
        match self.items.get_mut(key) {
            Some(item) if item.flags == flags && item.values.iter().any(|v| v == data) => {
                if item.values.len() > 1 {
                    let how = if data.ends_with(b" ") {
                        "padded"
                    } else {
                        "new item"
                    };
                    *self
                        .outcomes
                        .entry(format!("incr/decr result read back: {how}"))
                        .or_default() += 1;
                }
                item.values = vec![data.to_vec()];
                Ok(())
            }
            item => Err(format!(
                "model {item:?}, got flags {flags} data {:?}",
                data.escape_ascii().to_string()
            )),
        }
    }

    /// incr/decr/ma answered `reply`: check it and apply it.
    ///
    /// memcached writes the new number over the old value, space-padded, when it is
    /// not longer and memcached holds the only reference to the item. An `mg` whose
    /// reply is still queued, or an LRU bump in flight (a second fetch of an item in
    /// the COLD LRU is bumped asynchronously), also hold one: then it stores a new
    /// item of just the digits. Pipelined, the client cannot tell which, so the model
    /// keeps both until a read shows the value.
    fn arith(
        &mut self,
        key: &Key,
        incr: bool,
        delta: u64,
        reply: Arith,
    ) -> Result<&'static str, String> {
        let Some(item) = self.items.get_mut(key) else {
            return if reply == Arith::NotFound {
                Ok("not-found")
            } else {
                Err(format!("absent, got {reply:?}"))
            };
        };
        let mut values = Vec::new();
        for old in &item.values {
            let outcome = match numeric(old) {
                None => Arith::NonNumeric,
                Some(n) if incr => Arith::Counter(n.wrapping_add(delta)),
                Some(n) => Arith::Counter(n.saturating_sub(delta)),
            };
            match outcome {
                _ if outcome != reply => {}
                Arith::Counter(new) => {
                    let digits = new.to_string().into_bytes();
                    if digits.len() <= old.len() {
                        let mut padded = digits.clone();
                        padded.resize(old.len(), b' ');
                        values.push(padded);
                    }
                    values.push(digits);
                }
                _ => values.push(old.clone()),
            }
        }
        if values.is_empty() {
            return Err(format!("model {item:?}, got {reply:?}"));
        }
        values.sort();
        values.dedup();
        if let Arith::Counter(_) = reply {
            item.cas = None;
        }
        item.values = values;
        Ok(if reply == Arith::NonNumeric {
            "non-numeric"
        } else {
            "counted"
        })
    }

    /// Checks one completion against the model and applies the command.
    fn check(&mut self, cmd: &Cmd, result: Result<Response, CommandError>) -> Result<(), String> {
        let got = match result {
            Ok(response) => response,
            // An error line is only right for incr/decr/ma on a non-numeric value.
            Err(CommandError::Server(e)) if e.kind == ServerErrorKind::ClientError => {
                let Some((key, incr, delta)) = arith_of(cmd) else {
                    return Err(format!("got {e}"));
                };
                let outcome = self.arith(key, incr, delta, Arith::NonNumeric)?;
                self.count(cmd, outcome);
                return Ok(());
            }
            Err(e) => return Err(format!("got {e:?}")),
        };
        let flags = cmd.meta_flags().unwrap_or_default();
        let outcome = match (cmd, got) {
            (Cmd::Get { key, cas, .. }, got) => match (self.items.contains_key(key), got) {
                (false, Response::Miss) => "miss",
                (true, Response::Hit(v)) => {
                    self.observe(key, &v.data, v.flags)?;
                    match (cas, v.cas) {
                        (false, None) => {}
                        (true, Some(unique)) => self.learn(key, unique)?,
                        (_, unique) => return Err(format!("cas field {unique:?}")),
                    }
                    "hit"
                }
                (present, got) => return Err(format!("present {present}, got {got:?}")),
            },
            (Cmd::GetMulti { keys, cas, .. }, Response::Items(items)) => {
                let items = items.into_vec();
                let hits: Vec<&Key> = keys
                    .iter()
                    .filter(|k| self.items.contains_key(*k))
                    .collect();
                if hits.len() != items.len() {
                    return Err(format!("model has {hits:?}, got {} items", items.len()));
                }
                for (&key, item) in hits.iter().zip(&items) {
                    self.observe(key, &item.value.data, item.value.flags)?;
                    match (cas, item.value.cas) {
                        (false, None) => {}
                        (true, Some(unique)) => self.learn(key, unique)?,
                        (_, unique) => return Err(format!("cas field {unique:?}")),
                    }
                }
                if items.is_empty() { "none" } else { "some" }
            }
            (
                Cmd::Store {
                    mode,
                    key,
                    value,
                    flags,
                    ..
                },
                got,
            ) => {
                let data = &value.0;
                let present = self.items.get(key).cloned();
                let (expected, outcome) = match (mode, &present) {
                    (StoreMode::Set, _) => (Response::Stored, "stored"),
                    (StoreMode::Add, Some(_)) => (Response::NotStored, "not-stored"),
                    (StoreMode::Add, None) => (Response::Stored, "stored"),
                    (StoreMode::Replace | StoreMode::Append | StoreMode::Prepend, None) => {
                        (Response::NotStored, "not-stored")
                    }
                    (StoreMode::Replace | StoreMode::Append | StoreMode::Prepend, Some(_)) => {
                        (Response::Stored, "stored")
                    }
                    (StoreMode::Cas(_), None) => (Response::NotFound, "not-found"),
                    (StoreMode::Cas(unique), Some(item)) if item.cas == Some(*unique) => {
                        (Response::Stored, "stored")
                    }
                    (StoreMode::Cas(_), Some(_)) => (Response::Exists, "exists"),
                };
                if got != expected {
                    return Err(format!(
                        "model {present:?}, expected {expected:?}, got {got:?}"
                    ));
                }
                if expected == Response::Stored {
                    match (mode, present) {
                        (StoreMode::Append, Some(item)) => {
                            self.put(key, item.concat(b"", data), item.flags)
                        }
                        (StoreMode::Prepend, Some(item)) => {
                            self.put(key, item.concat(data, b""), item.flags)
                        }
                        _ => self.put(key, vec![data.clone()], *flags),
                    }
                }
                outcome
            }
            (Cmd::Incr { .. } | Cmd::Decr { .. }, got) => {
                let (key, incr, delta) = arith_of(cmd).expect("incr or decr");
                let reply = match got {
                    Response::NotFound => Arith::NotFound,
                    Response::Counter(n) => Arith::Counter(n),
                    got => return Err(format!("got {got:?}")),
                };
                self.arith(key, incr, delta, reply)?
            }
            (Cmd::Delete { key, .. }, got) => match (self.items.remove(key), got) {
                (Some(_), Response::Deleted) => "deleted",
                (None, Response::NotFound) => "not-found",
                (item, got) => return Err(format!("model {item:?}, got {got:?}")),
            },
            (Cmd::Touch { key, .. }, got) => match (self.items.contains_key(key), got) {
                (true, Response::Touched) => "touched",
                (false, Response::NotFound) => "not-found",
                (present, got) => return Err(format!("present {present}, got {got:?}")),
            },
            (Cmd::MetaGet { key, .. }, Response::Meta(m)) => {
                let quiet = cmd.is_quiet();
                match (self.items.contains_key(key), m.status) {
                    (false, MetaStatus::Miss) if m.inferred == quiet => "miss",
                    (true, MetaStatus::Value) if !m.inferred => {
                        let data = m.value().ok_or("no value")?;
                        self.observe(key, data, m.client_flags().ok_or("no flags")?)?;
                        self.learn(key, m.cas().ok_or("no cas")?)?;
                        "hit"
                    }
                    (present, _) => return Err(format!("present {present}, got {m:?}")),
                }
            }
            (Cmd::MetaSet { key, value, .. }, Response::Meta(m)) => {
                let data = &value.0;
                let quiet = cmd.is_quiet();
                let mode = flags
                    .mode
                    .and_then(MsMode::from_letter)
                    .unwrap_or(MsMode::Set);
                let present = self.items.get(key).cloned();
                let status = match (mode, &present, flags.compare_cas) {
                    (MsMode::Set, None, Some(_)) => MetaStatus::NotFound,
                    (MsMode::Set, Some(item), Some(unique)) if item.cas != Some(unique) => {
                        MetaStatus::Exists
                    }
                    (MsMode::Set, ..) => MetaStatus::Success,
                    (MsMode::Add, Some(_), _) => MetaStatus::NotStored,
                    (MsMode::Add, None, _) => MetaStatus::Success,
                    (_, None, _) => MetaStatus::NotStored,
                    (_, Some(_), _) => MetaStatus::Success,
                };
                let stored = status == MetaStatus::Success;
                let cas_ok = match (quiet, m.cas()) {
                    (true, None) => true,
                    (false, Some(0)) => !stored,
                    (false, Some(_)) => stored,
                    _ => false,
                };
                if m.status != status || m.inferred != (quiet && stored) || !cas_ok {
                    return Err(format!("model {present:?}, expected {status:?}, got {m:?}"));
                }
                if stored {
                    match (mode, present) {
                        (MsMode::Append, Some(item)) => {
                            self.put(key, item.concat(b"", data), item.flags)
                        }
                        (MsMode::Prepend, Some(item)) => {
                            self.put(key, item.concat(data, b""), item.flags)
                        }
                        _ => self.put(key, vec![data.clone()], flags.client_flags.unwrap_or(0)),
                    }
                    if let Some(unique) = m.cas() {
                        self.learn(key, unique)?;
                    }
                }
                status.code()
            }
            (Cmd::MetaDelete { key, .. }, Response::Meta(m)) => {
                let present = self.items.get(key).cloned();
                let status = match (&present, flags.compare_cas) {
                    (None, _) => MetaStatus::NotFound,
                    (Some(item), Some(unique)) if item.cas != Some(unique) => MetaStatus::Exists,
                    (Some(_), _) => MetaStatus::Success,
                };
                if m.status != status {
                    return Err(format!("model {present:?}, expected {status:?}, got {m:?}"));
                }
                if status == MetaStatus::Success {
                    self.items.remove(key);
                }
                status.code()
            }
            (Cmd::MetaArithmetic { .. }, Response::Meta(m)) => {
                let (key, incr, delta) = arith_of(cmd).expect("ma");
                let reply = match (m.status, m.value()) {
                    (MetaStatus::NotFound, None) => Arith::NotFound,
                    (MetaStatus::Value, Some(digits)) => {
                        let text = std::str::from_utf8(digits).map_err(|e| e.to_string())?;
                        Arith::Counter(text.parse().map_err(|_| format!("VA {text:?}"))?)
                    }
                    _ => return Err(format!("got {m:?}")),
                };
                self.arith(key, incr, delta, reply)?;
                m.status.code()
            }
            (Cmd::MetaNoop, Response::Noop) => "MN",
            (cmd, got) => return Err(format!("{cmd:?} got {got:?}")),
        };
        self.count(cmd, outcome);
        Ok(())
    }

    fn count(&mut self, cmd: &Cmd, outcome: &str) {
        *self
            .outcomes
            .entry(format!("{} {outcome}", name(cmd)))
            .or_default() += 1;
    }
}

/// Sends `cmd` with `opaque` as its opaque (if it has one); the token of its
/// completion (`None` for noreply).
fn send(client: &mut BlockingClient, cmd: &mut Cmd, opaque: &str) -> Option<Token> {
    if let Some(o) = cmd.opaque_mut() {
        *o = opaque.into();
    }
    let token = cmd.with_command(|c| match c {
        Sendable::Reply(c) => client.send(c).map(Some),
        Sendable::Noreply(c) => client.send_noreply(c).map(|()| None),
    });
    token.unwrap_or_else(|e| panic!("{cmd:?} refused: {e}"))
}

/// The next command(s): one, or a quiet or noreply group closed by `mn`.
fn generate(rng: &mut Rng, model: &Model, keys: &[Key], cmds: &mut Vec<Cmd>) {
    let key = |rng: &mut Rng| keys[rng.below(keys.len())].clone();
    let flags = |rng: &mut Rng| {
        if rng.percent(70) {
            0
        } else {
            u64::from(rng.next() as u32)
        }
    };
    // A cas unique: the one the model knows now (often still right when the command
    // runs), one learned earlier (usually stale), or one never issued. The check, not
    // this choice, decides what the reply must be.
    let unique = |rng: &mut Rng, key: &Key| match model.items.get(key).and_then(|i| i.cas) {
        Some(cas) if rng.percent(80) => cas,
        _ if !model.learned.is_empty() && rng.percent(50) => {
            model.learned[rng.below(model.learned.len())]
        }
        _ => u64::MAX - rng.below(1000) as u64,
    };
    let store = |mode, key, data: Vec<u8>, flags, noreply| Cmd::Store {
        mode,
        key,
        value: data.into(),
        flags,
        exptime: 0,
        noreply,
    };
    // `mg k v f c [q] O<n>`.
    let mg = |key, quiet: bool| {
        let mut flags = vec![
            MgFlag::ReturnValue,
            MgFlag::ReturnClientFlags,
            MgFlag::ReturnCas,
        ];
        if quiet {
            flags.push(MgFlag::Quiet);
        }
        flags.push(MgFlag::Opaque("0".into()));
        Cmd::MetaGet { key, flags }
    };
    // `ms k <len> M<mode> O<n> [F<flags>] [C<unique>] q|c`; no flags for append or
    // prepend.
    let ms = |key, data: Vec<u8>, client_flags, mode, compare: Option<u64>, quiet: bool| {
        let mut flags = vec![MsFlag::Mode(mode), MsFlag::Opaque("0".into())];
        if matches!(mode, MsMode::Set | MsMode::Add | MsMode::Replace) {
            flags.push(MsFlag::ClientFlags(client_flags));
        }
        flags.extend(compare.map(MsFlag::CompareCas));
        flags.push(if quiet {
            MsFlag::Quiet
        } else {
            MsFlag::ReturnCas
        });
        Cmd::MetaSet {
            key,
            value: data.into(),
            flags,
        }
    };
    let cmd = match rng.below(100) {
        0..=11 => Cmd::Get {
            key: key(rng),
            cas: false,
            touch: rng.percent(10).then_some(HOUR),
        },
        12..=17 => Cmd::Get {
            key: key(rng),
            cas: true,
            touch: rng.percent(10).then_some(HOUR),
        },
        18..=23 => {
            let keys = (0..2 + rng.below(11)).map(|_| key(rng)).collect();
            Cmd::GetMulti {
                keys,
                cas: rng.percent(30),
                touch: None,
            }
        }
        24..=37 => store(StoreMode::Set, key(rng), rng.value(), flags(rng), false),
        38..=41 => store(StoreMode::Add, key(rng), rng.value(), flags(rng), false),
        42..=45 => store(StoreMode::Replace, key(rng), rng.value(), flags(rng), false),
        46..=48 => store(StoreMode::Append, key(rng), rng.piece(), flags(rng), false),
        49..=51 => store(StoreMode::Prepend, key(rng), rng.piece(), flags(rng), false),
        52..=56 => {
            let k = key(rng);
            let mode = StoreMode::Cas(unique(rng, &k));
            store(mode, k, rng.value(), flags(rng), false)
        }
        57..=61 => Cmd::Incr {
            key: key(rng),
            delta: rng.below(1000) as u64,
            noreply: false,
        },
        62..=64 => Cmd::Decr {
            key: key(rng),
            delta: rng.below(1000) as u64,
            noreply: false,
        },
        65..=68 => Cmd::Delete {
            key: key(rng),
            noreply: false,
        },
        69..=71 => Cmd::Touch {
            key: key(rng),
            exptime: HOUR,
            noreply: false,
        },
        72..=79 => mg(key(rng), false),
        80..=85 => {
            let k = key(rng);
            let mode = [
                MsMode::Set,
                MsMode::Set,
                MsMode::Add,
                MsMode::Replace,
                MsMode::Append,
                MsMode::Prepend,
            ][rng.below(6)];
            let compare = (mode == MsMode::Set && rng.percent(40)).then(|| unique(rng, &k));
            let data = if matches!(mode, MsMode::Append | MsMode::Prepend) {
                rng.piece()
            } else {
                rng.value()
            };
            ms(k, data, flags(rng), mode, compare, false)
        }
        86..=88 => {
            let k = key(rng);
            let mut flags = vec![MdFlag::Opaque("0".into())];
            flags.extend(rng.percent(30).then(|| MdFlag::CompareCas(unique(rng, &k))));
            Cmd::MetaDelete { key: k, flags }
        }
        89..=92 => {
            let key = key(rng);
            let mode = if rng.percent(60) {
                MaMode::Incr
            } else {
                MaMode::Decr
            };
            let flags = vec![
                MaFlag::Mode(mode),
                MaFlag::Delta(rng.below(1000) as u64),
                MaFlag::ReturnValue,
            ];
            Cmd::MetaArithmetic { key, flags }
        }
        93..=96 => {
            // Quiet group: hits and refusals answer, the rest is inferred at the fence.
            for _ in 0..1 + rng.below(5) {
                cmds.push(if rng.percent(60) {
                    mg(key(rng), true)
                } else {
                    let mode = if rng.percent(70) {
                        MsMode::Set
                    } else {
                        MsMode::Add
                    };
                    let k = key(rng);
                    let data = rng.value();
                    ms(k, data, flags(rng), mode, None, true)
                });
            }
            Cmd::MetaNoop
        }
        _ => {
            // noreply group, then the fence.
            for _ in 0..1 + rng.below(4) {
                let k = key(rng);
                let data = rng.value();
                cmds.push(store(StoreMode::Set, k, data, flags(rng), true));
            }
            Cmd::MetaNoop
        }
    };
    cmds.push(cmd);
}

#[test]
fn hundred_thousand_mixed_commands_match_a_model() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut client = server.client();
    let p = prefix("load");
    let keys: Vec<Key> = (0..KEYS).map(|i| format!("{p}{i}").into()).collect();
    let seed = std::env::var("LIVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d);
    let mut rng = Rng(seed);
    let mut model = Model::default();
    // Sent commands in send order: the token of each that completes, and the command.
    let mut in_flight: VecDeque<(Option<Token>, Cmd)> = VecDeque::new();
    let (mut sent, mut checked, mut mismatches) = (0usize, 0usize, Vec::new());
    let mut least_in_flight = usize::MAX;
    let started = Instant::now();
    let mut fresh = Vec::new();

    while sent < COMMANDS || !in_flight.is_empty() {
        if sent < COMMANDS && client.codec().pending() < LOW {
            while sent < COMMANDS && client.codec().pending() < WINDOW {
                generate(&mut rng, &model, &keys, &mut fresh);
                for mut cmd in fresh.drain(..) {
                    let token = send(&mut client, &mut cmd, &sent.to_string());
                    in_flight.push_back((token, cmd));
                    sent += 1;
                }
            }
            client.flush().expect("write");
        }
        if sent < COMMANDS {
            least_in_flight = least_in_flight.min(client.codec().pending());
        }
        // Noreply commands ahead of the next completion ran before it: apply them.
        while let Some((None, _)) = in_flight.front() {
            let Some((_, cmd)) = in_flight.pop_front() else {
                unreachable!()
            };
            let Cmd::Store {
                mode: StoreMode::Set,
                key,
                value,
                flags,
                noreply: true,
                ..
            } = &cmd
            else {
                unreachable!("only sets are sent noreply: {cmd:?}")
            };
            model.put(key, vec![value.0.clone()], *flags);
            model.remember(&cmd, "noreply set");
        }
        let Some((token, cmd)) = in_flight.pop_front() else {
            continue;
        };
        let completion = client.recv().expect("a completion for every command");
        assert_eq!(
            Some(completion.token),
            token,
            "completions arrive in send order"
        );
        if let Err(CommandError::Connection(e)) = &completion.result {
            panic!("connection failed after {checked} checked commands: {e}");
        }
        let summary: String = format!("#{checked} {cmd:?} -> {:?}", completion.result)
            .chars()
            .take(160)
            .collect();
        if let Err(why) = model.check(&cmd, completion.result) {
            mismatches.push(format!(
                "#{checked} {cmd:?}: {why}\n  {:#?}",
                model.history_of(&cmd)
            ));
        }
        model.remember(&cmd, &summary);
        checked += 1;
    }

    // Last, the whole key space: what the server holds is what the model holds.
    let Response::Items(items) = harness::ok(&mut client, &GetMulti::new(&keys)) else {
        panic!()
    };
    let items = items.into_vec();
    let held: Vec<&Key> = keys
        .iter()
        .filter(|k| model.items.contains_key(*k))
        .collect();
    if held.len() != items.len() {
        mismatches.push(format!(
            "at the end the model holds {} keys, the server {}",
            held.len(),
            items.len()
        ));
    }
    for (&key, item) in held.iter().zip(&items) {
        if item.key != key.0[..] {
            mismatches.push(format!(
                "at the end: model holds key {key:?}, server {:?}",
                item.key
            ));
        } else if let Err(why) = model.observe(key, &item.value.data, item.value.flags) {
            mismatches.push(format!("at the end, key {key:?}: {why}"));
        }
    }

    let elapsed = started.elapsed();
    println!(
        "{sent} commands ({checked} with replies) in {elapsed:.2?}, {:.0}/s, at least \
         {least_in_flight} in flight, {} keys held at the end, {} mismatches",
        sent as f64 / elapsed.as_secs_f64(),
        model.items.len(),
        mismatches.len()
    );
    println!("outcomes: {:?}", model.outcomes);
    assert!(sent >= COMMANDS);
    assert!(
        least_in_flight >= 100,
        "only {least_in_flight} in flight at times"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first ones:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    // The mix reached every interesting outcome.
    for outcome in [
        "get hit",
        "get miss",
        "gets hit",
        "gat hit",
        "get-multi some",
        "add not-stored",
        "add stored",
        "replace not-stored",
        "append stored",
        "prepend not-stored",
        "cas stored",
        "cas exists",
        "cas not-found",
        "incr counted",
        "incr non-numeric",
        "decr not-found",
        "delete deleted",
        "touch touched",
        "mg hit",
        "mg-q miss",
        "ms HD",
        "ms NS",
        "ms EX",
        "ms-q HD",
        "md HD",
        "md EX",
        "ma VA",
        "ma non-numeric",
        "mn MN",
    ] {
        assert!(
            model.outcomes.contains_key(outcome),
            "no {outcome:?} in {:?}",
            model.outcomes
        );
    }
}
