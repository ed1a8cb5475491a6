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

use memcache_codec::{
    ArithMode, CommandError, Decr, Delete, Exptime, Get, GetMulti, Incr, MetaArithmetic,
    MetaDelete, MetaGet, MetaNoop, MetaSet, MetaSetMode, MetaStatus, Response, ServerErrorKind,
    Store, Token, Touch,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas(u64),
}

/// One generated command, kept until its completion is checked.
#[derive(Debug)]
enum Op {
    Get {
        key: usize,
        cas: bool,
        touch: bool,
    },
    Multi {
        keys: Vec<usize>,
        cas: bool,
    },
    Store {
        kind: StoreKind,
        key: usize,
        data: Vec<u8>,
        flags: u32,
    },
    Arith {
        key: usize,
        incr: bool,
        delta: u64,
    },
    Delete {
        key: usize,
    },
    Touch {
        key: usize,
    },
    Mg {
        key: usize,
        quiet: bool,
    },
    Ms {
        key: usize,
        data: Vec<u8>,
        flags: u32,
        mode: MetaSetMode,
        compare: Option<u64>,
        quiet: bool,
    },
    Md {
        key: usize,
        compare: Option<u64>,
    },
    Ma {
        key: usize,
        incr: bool,
        delta: u64,
    },
    Noop,
    /// `set ... noreply`: no completion; applied when the commands before it are.
    NoreplySet {
        key: usize,
        data: Vec<u8>,
        flags: u32,
    },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Self::Get {
                cas: false,
                touch: false,
                ..
            } => "get",
            Self::Get {
                cas: true,
                touch: false,
                ..
            } => "gets",
            Self::Get { touch: true, .. } => "gat",
            Self::Multi { .. } => "get-multi",
            Self::Store { kind, .. } => match kind {
                StoreKind::Set => "set",
                StoreKind::Add => "add",
                StoreKind::Replace => "replace",
                StoreKind::Append => "append",
                StoreKind::Prepend => "prepend",
                StoreKind::Cas(_) => "cas",
            },
            Self::Arith { incr: true, .. } => "incr",
            Self::Arith { incr: false, .. } => "decr",
            Self::Delete { .. } => "delete",
            Self::Touch { .. } => "touch",
            Self::Mg { quiet: false, .. } => "mg",
            Self::Mg { quiet: true, .. } => "mg-q",
            Self::Ms { quiet: false, .. } => "ms",
            Self::Ms { quiet: true, .. } => "ms-q",
            Self::Md { .. } => "md",
            Self::Ma { .. } => "ma",
            Self::Noop => "mn",
            Self::NoreplySet { .. } => "set-noreply",
        }
    }
}

#[derive(Debug, Clone)]
struct Item {
    /// Every value the server may hold: one, except after incr/decr (see below).
    values: Vec<Vec<u8>>,
    flags: u32,
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
    items: HashMap<usize, Item>,
    /// Every cas unique learned, for `cas` commands that should fail.
    learned: Vec<u64>,
    /// Outcome counts, to show the mix covered what it should.
    outcomes: BTreeMap<String, usize>,
    /// The last few commands on each key, for mismatch reports.
    history: HashMap<usize, VecDeque<String>>,
}

fn op_keys(op: &Op) -> Vec<usize> {
    match op {
        Op::Multi { keys, .. } => keys.clone(),
        &(Op::Get { key, .. }
        | Op::Store { key, .. }
        | Op::Arith { key, .. }
        | Op::Delete { key }
        | Op::Touch { key }
        | Op::Mg { key, .. }
        | Op::Ms { key, .. }
        | Op::Md { key, .. }
        | Op::Ma { key, .. }
        | Op::NoreplySet { key, .. }) => vec![key],
        Op::Noop => vec![],
    }
}

impl Model {
    fn remember(&mut self, op: &Op, what: &str) {
        for key in op_keys(op) {
            let history = self.history.entry(key).or_default();
            history.push_back(what.to_owned());
            if history.len() > 8 {
                history.pop_front();
            }
        }
    }

    fn history_of(&self, op: &Op) -> Vec<String> {
        op_keys(op)
            .into_iter()
            .filter_map(|k| Some(format!("key {k}: {:?}", self.history.get(&k)?)))
            .collect()
    }

    fn learn(&mut self, key: usize, cas: u64) -> Result<(), String> {
        let item = self.items.get_mut(&key).ok_or("cas for an absent item")?;
        match item.cas {
            Some(known) if known != cas => Err(format!("cas {cas}, model knows {known}")),
            _ => {
                item.cas = Some(cas);
                self.learned.push(cas);
                Ok(())
            }
        }
    }

    fn put(&mut self, key: usize, values: Vec<Vec<u8>>, flags: u32) {
        self.items.insert(
            key,
            Item {
                values,
                flags,
                cas: None,
            },
        );
    }

    /// A read returned `data` and `flags` for `key`.
    fn observe(&mut self, key: usize, data: &[u8], flags: u32) -> Result<(), String> {
        match self.items.get_mut(&key) {
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
        key: usize,
        incr: bool,
        delta: u64,
        reply: Arith,
    ) -> Result<&'static str, String> {
        let Some(item) = self.items.get_mut(&key) else {
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
    fn check(&mut self, op: &Op, result: Result<Response, CommandError>) -> Result<(), String> {
        let got = match result {
            Ok(response) => response,
            // An error line is only right for incr/decr/ma on a non-numeric value.
            Err(CommandError::Server(e)) if e.kind == ServerErrorKind::ClientError => {
                let &(Op::Arith { key, incr, delta } | Op::Ma { key, incr, delta }) = op else {
                    return Err(format!("got {e}"));
                };
                let outcome = self.arith(key, incr, delta, Arith::NonNumeric)?;
                self.count(op, outcome);
                return Ok(());
            }
            Err(e) => return Err(format!("got {e:?}")),
        };
        let outcome = match (op, got) {
            (&Op::Get { key, cas, .. }, got) => match (self.items.contains_key(&key), got) {
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
            (Op::Multi { keys, cas }, Response::Values(items)) => {
                let items = items.into_items();
                let hits: Vec<usize> = keys
                    .iter()
                    .copied()
                    .filter(|k| self.items.contains_key(k))
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
                Op::Store {
                    kind,
                    key,
                    data,
                    flags,
                },
                got,
            ) => {
                let present = self.items.get(key).cloned();
                let (expected, outcome) = match (kind, &present) {
                    (StoreKind::Set, _) => (Response::Stored, "stored"),
                    (StoreKind::Add, Some(_)) => (Response::NotStored, "not-stored"),
                    (StoreKind::Add, None) => (Response::Stored, "stored"),
                    (StoreKind::Replace | StoreKind::Append | StoreKind::Prepend, None) => {
                        (Response::NotStored, "not-stored")
                    }
                    (StoreKind::Replace | StoreKind::Append | StoreKind::Prepend, Some(_)) => {
                        (Response::Stored, "stored")
                    }
                    (StoreKind::Cas(_), None) => (Response::NotFound, "not-found"),
                    (StoreKind::Cas(unique), Some(item)) if item.cas == Some(*unique) => {
                        (Response::Stored, "stored")
                    }
                    (StoreKind::Cas(_), Some(_)) => (Response::Exists, "exists"),
                };
                if got != expected {
                    return Err(format!(
                        "model {present:?}, expected {expected:?}, got {got:?}"
                    ));
                }
                if expected == Response::Stored {
                    match (kind, present) {
                        (StoreKind::Append, Some(item)) => {
                            self.put(*key, item.concat(b"", data), item.flags)
                        }
                        (StoreKind::Prepend, Some(item)) => {
                            self.put(*key, item.concat(data, b""), item.flags)
                        }
                        _ => self.put(*key, vec![data.clone()], *flags),
                    }
                }
                outcome
            }
            (&Op::Arith { key, incr, delta }, got) => {
                let reply = match got {
                    Response::NotFound => Arith::NotFound,
                    Response::Counter(n) => Arith::Counter(n),
                    got => return Err(format!("got {got:?}")),
                };
                self.arith(key, incr, delta, reply)?
            }
            (Op::Delete { key }, got) => match (self.items.remove(key), got) {
                (Some(_), Response::Deleted) => "deleted",
                (None, Response::NotFound) => "not-found",
                (item, got) => return Err(format!("model {item:?}, got {got:?}")),
            },
            (Op::Touch { key }, got) => match (self.items.contains_key(key), got) {
                (true, Response::Touched) => "touched",
                (false, Response::NotFound) => "not-found",
                (present, got) => return Err(format!("present {present}, got {got:?}")),
            },
            (&Op::Mg { key, quiet }, Response::Meta(m)) => {
                match (self.items.contains_key(&key), m.status) {
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
            (
                Op::Ms {
                    key,
                    data,
                    flags,
                    mode,
                    compare,
                    quiet,
                },
                Response::Meta(m),
            ) => {
                let present = self.items.get(key).cloned();
                let status = match (mode, &present, compare) {
                    (MetaSetMode::Set, None, Some(_)) => MetaStatus::NotFound,
                    (MetaSetMode::Set, Some(item), Some(unique)) if item.cas != Some(*unique) => {
                        MetaStatus::Exists
                    }
                    (MetaSetMode::Set, ..) => MetaStatus::Success,
                    (MetaSetMode::Add, Some(_), _) => MetaStatus::NotStored,
                    (MetaSetMode::Add, None, _) => MetaStatus::Success,
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
                if m.status != status || m.inferred != (*quiet && stored) || !cas_ok {
                    return Err(format!("model {present:?}, expected {status:?}, got {m:?}"));
                }
                if stored {
                    match (mode, present) {
                        (MetaSetMode::Append, Some(item)) => {
                            self.put(*key, item.concat(b"", data), item.flags)
                        }
                        (MetaSetMode::Prepend, Some(item)) => {
                            self.put(*key, item.concat(data, b""), item.flags)
                        }
                        _ => self.put(*key, vec![data.clone()], *flags),
                    }
                    if let Some(unique) = m.cas() {
                        self.learn(*key, unique)?;
                    }
                }
                status.code()
            }
            (Op::Md { key, compare }, Response::Meta(m)) => {
                let present = self.items.get(key).cloned();
                let status = match (&present, compare) {
                    (None, _) => MetaStatus::NotFound,
                    (Some(item), Some(unique)) if item.cas != Some(*unique) => MetaStatus::Exists,
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
            (&Op::Ma { key, incr, delta }, Response::Meta(m)) => {
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
            (Op::Noop, Response::Noop) => "MN",
            (op, got) => return Err(format!("{op:?} got {got:?}")),
        };
        self.count(op, outcome);
        Ok(())
    }

    fn count(&mut self, op: &Op, outcome: &str) {
        *self
            .outcomes
            .entry(format!("{} {outcome}", op.name()))
            .or_default() += 1;
    }
}

/// Sends `op`; the token of its completion (`None` for noreply).
fn send(client: &mut BlockingClient, keys: &[String], op: &Op, opaque: &str) -> Option<Token> {
    let hour = Exptime::relative(3600).unwrap();
    let token = match op {
        &Op::Get { key, cas, touch } => {
            let get = Get::new(&keys[key]);
            let get = if cas { get.with_cas() } else { get };
            client.send(&if touch { get.touch(hour) } else { get })
        }
        Op::Multi { keys: which, cas } => {
            let names: Vec<&str> = which.iter().map(|&k| keys[k].as_str()).collect();
            let get = GetMulti::new(&names);
            client.send(&if *cas { get.with_cas() } else { get })
        }
        Op::Store {
            kind,
            key,
            data,
            flags,
        } => {
            let (key, data) = (&keys[*key], &data[..]);
            let store = match kind {
                StoreKind::Set => Store::set(key, data),
                StoreKind::Add => Store::add(key, data),
                StoreKind::Replace => Store::replace(key, data),
                StoreKind::Append => Store::append(key, data),
                StoreKind::Prepend => Store::prepend(key, data),
                StoreKind::Cas(unique) => Store::cas(key, data, *unique),
            };
            client.send(&store.flags(*flags))
        }
        &Op::Arith {
            key,
            incr: true,
            delta,
        } => client.send(&Incr::new(&keys[key], delta)),
        &Op::Arith {
            key,
            incr: false,
            delta,
        } => client.send(&Decr::new(&keys[key], delta)),
        &Op::Delete { key } => client.send(&Delete::new(&keys[key])),
        &Op::Touch { key } => client.send(&Touch::new(&keys[key], hour)),
        &Op::Mg { key, quiet } => {
            let mg = MetaGet::new(&keys[key])
                .return_value()
                .return_client_flags()
                .return_cas();
            client.send(&if quiet { mg.quiet() } else { mg }.opaque(opaque))
        }
        Op::Ms {
            key,
            data,
            flags,
            mode,
            compare,
            quiet,
        } => {
            let mut ms = MetaSet::new(&keys[*key], &data[..])
                .mode(*mode)
                .opaque(opaque);
            if matches!(
                mode,
                MetaSetMode::Set | MetaSetMode::Add | MetaSetMode::Replace
            ) {
                ms = ms.client_flags(*flags);
            }
            if let Some(unique) = compare {
                ms = ms.compare_cas(*unique);
            }
            client.send(&if *quiet { ms.quiet() } else { ms.return_cas() })
        }
        &Op::Md { key, compare } => {
            let md = MetaDelete::new(&keys[key]).opaque(opaque);
            client.send(&match compare {
                Some(unique) => md.compare_cas(unique),
                None => md,
            })
        }
        &Op::Ma { key, incr, delta } => {
            let mode = if incr {
                ArithMode::Incr
            } else {
                ArithMode::Decr
            };
            client.send(
                &MetaArithmetic::new(&keys[key])
                    .mode(mode)
                    .delta(delta)
                    .return_value(),
            )
        }
        Op::Noop => client.send(&MetaNoop),
        Op::NoreplySet { key, data, flags } => {
            let store = Store::set(&keys[*key], &data[..]).flags(*flags);
            client.send_noreply(&store).expect("noreply set");
            return None;
        }
    };
    Some(token.unwrap_or_else(|e| panic!("{op:?} refused: {e}")))
}

/// The next command(s): one op, or a quiet or noreply group closed by `mn`.
fn generate(rng: &mut Rng, model: &Model, ops: &mut Vec<Op>) {
    let key = |rng: &mut Rng| rng.below(KEYS);
    let flags = |rng: &mut Rng| {
        if rng.percent(70) {
            0
        } else {
            rng.next() as u32
        }
    };
    // A cas unique: the one the model knows now (often still right when the command
    // runs), one learned earlier (usually stale), or one never issued. The check, not
    // this choice, decides what the reply must be.
    let unique = |rng: &mut Rng, key: usize| match model.items.get(&key).and_then(|i| i.cas) {
        Some(cas) if rng.percent(80) => cas,
        _ if !model.learned.is_empty() && rng.percent(50) => {
            model.learned[rng.below(model.learned.len())]
        }
        _ => u64::MAX - rng.below(1000) as u64,
    };
    let op = match rng.below(100) {
        0..=11 => Op::Get {
            key: key(rng),
            cas: false,
            touch: rng.percent(10),
        },
        12..=17 => Op::Get {
            key: key(rng),
            cas: true,
            touch: rng.percent(10),
        },
        18..=23 => {
            let keys = (0..2 + rng.below(11)).map(|_| key(rng)).collect();
            Op::Multi {
                keys,
                cas: rng.percent(30),
            }
        }
        24..=37 => Op::Store {
            kind: StoreKind::Set,
            key: key(rng),
            data: rng.value(),
            flags: flags(rng),
        },
        38..=41 => Op::Store {
            kind: StoreKind::Add,
            key: key(rng),
            data: rng.value(),
            flags: flags(rng),
        },
        42..=45 => Op::Store {
            kind: StoreKind::Replace,
            key: key(rng),
            data: rng.value(),
            flags: flags(rng),
        },
        46..=48 => Op::Store {
            kind: StoreKind::Append,
            key: key(rng),
            data: rng.piece(),
            flags: flags(rng),
        },
        49..=51 => Op::Store {
            kind: StoreKind::Prepend,
            key: key(rng),
            data: rng.piece(),
            flags: flags(rng),
        },
        52..=56 => {
            let k = key(rng);
            let kind = StoreKind::Cas(unique(rng, k));
            Op::Store {
                kind,
                key: k,
                data: rng.value(),
                flags: flags(rng),
            }
        }
        57..=61 => Op::Arith {
            key: key(rng),
            incr: true,
            delta: rng.below(1000) as u64,
        },
        62..=64 => Op::Arith {
            key: key(rng),
            incr: false,
            delta: rng.below(1000) as u64,
        },
        65..=68 => Op::Delete { key: key(rng) },
        69..=71 => Op::Touch { key: key(rng) },
        72..=79 => Op::Mg {
            key: key(rng),
            quiet: false,
        },
        80..=85 => {
            let k = key(rng);
            let mode = [
                MetaSetMode::Set,
                MetaSetMode::Set,
                MetaSetMode::Add,
                MetaSetMode::Replace,
                MetaSetMode::Append,
                MetaSetMode::Prepend,
            ][rng.below(6)];
            let compare = (mode == MetaSetMode::Set && rng.percent(40)).then(|| unique(rng, k));
            let data = if matches!(mode, MetaSetMode::Append | MetaSetMode::Prepend) {
                rng.piece()
            } else {
                rng.value()
            };
            Op::Ms {
                key: k,
                data,
                flags: flags(rng),
                mode,
                compare,
                quiet: false,
            }
        }
        86..=88 => {
            let k = key(rng);
            Op::Md {
                key: k,
                compare: rng.percent(30).then(|| unique(rng, k)),
            }
        }
        89..=92 => Op::Ma {
            key: key(rng),
            incr: rng.percent(60),
            delta: rng.below(1000) as u64,
        },
        93..=96 => {
            // Quiet group: hits and refusals answer, the rest is inferred at the fence.
            for _ in 0..1 + rng.below(5) {
                ops.push(if rng.percent(60) {
                    Op::Mg {
                        key: key(rng),
                        quiet: true,
                    }
                } else {
                    let mode = if rng.percent(70) {
                        MetaSetMode::Set
                    } else {
                        MetaSetMode::Add
                    };
                    Op::Ms {
                        key: key(rng),
                        data: rng.value(),
                        flags: flags(rng),
                        mode,
                        compare: None,
                        quiet: true,
                    }
                });
            }
            Op::Noop
        }
        _ => {
            // noreply group, then the fence.
            for _ in 0..1 + rng.below(4) {
                ops.push(Op::NoreplySet {
                    key: key(rng),
                    data: rng.value(),
                    flags: flags(rng),
                });
            }
            Op::Noop
        }
    };
    ops.push(op);
}

#[test]
fn hundred_thousand_mixed_commands_match_a_model() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut client = server.client();
    let p = prefix("load");
    let keys: Vec<String> = (0..KEYS).map(|i| format!("{p}{i}")).collect();
    let seed = std::env::var("LIVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d);
    let mut rng = Rng(seed);
    let mut model = Model::default();
    // Sent commands in send order: the token of each that completes, and the op.
    let mut in_flight: VecDeque<(Option<Token>, Op)> = VecDeque::new();
    let (mut sent, mut checked, mut mismatches) = (0usize, 0usize, Vec::new());
    let mut least_in_flight = usize::MAX;
    let started = Instant::now();
    let mut fresh = Vec::new();

    while sent < COMMANDS || !in_flight.is_empty() {
        if sent < COMMANDS && client.codec().pending() < LOW {
            while sent < COMMANDS && client.codec().pending() < WINDOW {
                generate(&mut rng, &model, &mut fresh);
                for op in fresh.drain(..) {
                    let token = send(&mut client, &keys, &op, &sent.to_string());
                    in_flight.push_back((token, op));
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
            let Some((_, Op::NoreplySet { key, data, flags })) = in_flight.pop_front() else {
                unreachable!()
            };
            model.put(key, vec![data.clone()], flags);
            model.remember(&Op::NoreplySet { key, data, flags }, "noreply set");
        }
        let Some((token, op)) = in_flight.pop_front() else {
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
        let summary: String = format!("#{checked} {op:?} -> {:?}", completion.result)
            .chars()
            .take(160)
            .collect();
        if let Err(why) = model.check(&op, completion.result) {
            mismatches.push(format!(
                "#{checked} {op:?}: {why}\n  {:#?}",
                model.history_of(&op)
            ));
        }
        model.remember(&op, &summary);
        checked += 1;
    }

    // Last, the whole key space: what the server holds is what the model holds.
    let Response::Values(items) = harness::ok(&mut client, &GetMulti::new(&keys)) else {
        panic!()
    };
    let items = items.into_items();
    let held: Vec<usize> = (0..KEYS).filter(|k| model.items.contains_key(k)).collect();
    if held.len() != items.len() {
        mismatches.push(format!(
            "at the end the model holds {} keys, the server {}",
            held.len(),
            items.len()
        ));
    }
    for (&key, item) in held.iter().zip(&items) {
        if item.key != keys[key].as_bytes() {
            mismatches.push(format!(
                "at the end: model holds key {key}, server {:?}",
                item.key
            ));
        } else if let Err(why) = model.observe(key, &item.value.data, item.value.flags) {
            mismatches.push(format!("at the end, key {key}: {why}"));
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
