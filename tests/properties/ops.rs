//! Generated sessions: the testkit's command strategies over this test's key pool and
//! operands, and the cas choice each conditional command resolves when it is sent.

use memcache_codec::Exptime;
use memcache_testkit::command::strategy::{self, Domain};
use memcache_testkit::command::{Cmd, Key, Opaque};
use proptest::prelude::*;

use super::oracle::Oracle;

/// The keys a session uses: few, so commands collide; one of 250 bytes.
pub const KEYS: &[&str] = &[
    "a",
    "b",
    "user:42",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
];

/// The model server's clock during a session (2027-01-15).
pub const NOW: u64 = 1_800_000_000;

/// Which cas unique a conditional command uses, resolved when it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasChoice {
    /// The latest unique the session observed for the key (0 if none).
    Latest,
    /// 0, which never matches (memcached starts uniques at 1).
    Zero,
}

/// One command of a generated session, its cas unique and opaque not chosen yet.
#[derive(Debug, Clone)]
pub struct Op {
    pub cmd: Cmd,
    /// The unique a `cas` or meta `C` will send.
    pub cas: CasChoice,
}

impl Op {
    /// A command without a choice to make.
    pub fn plain(cmd: Cmd) -> Self {
        Self {
            cmd,
            cas: CasChoice::Zero,
        }
    }

    /// The command to send: its cas unique as the oracle resolves it, its opaque (if
    /// it has one) `opaque`.
    pub fn resolve(&self, oracle: &Oracle, opaque: String) -> Cmd {
        let mut cmd = self.cmd.clone();
        let key = Key::from(cmd.key().unwrap_or_default());
        if let Some(unique) = cmd.compare_cas_mut() {
            *unique = oracle.resolve_cas(&key, self.cas);
        }
        if let Some(o) = cmd.opaque_mut() {
            *o = Opaque::from(opaque);
        }
        cmd
    }
}

/// The item whose value or unique the reply of `cmd` may reveal.
pub fn read_key(cmd: &Cmd) -> Option<&Key> {
    match cmd {
        Cmd::Get { key, .. } | Cmd::MetaGet { key, .. } | Cmd::MetaSet { key, .. } => Some(key),
        _ => None,
    }
}

// ---------------------------------------------------------------- strategies

fn exptime() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => Just(Exptime::NEVER),
        1 => Just(Exptime::EXPIRED),
        1 => Just(Exptime::relative(100).unwrap()),
        1 => Just(Exptime::relative(Exptime::MAX_RELATIVE_SECS).unwrap()),
        1 => Just(Exptime::unix(NOW + 1000).unwrap()),
        1 => Just(Exptime::unix(NOW - 1000).unwrap()),
    ]
    .prop_map(Exptime::as_raw)
}

fn cas_choice() -> impl Strategy<Value = CasChoice> {
    prop_oneof![3 => Just(CasChoice::Latest), 1 => Just(CasChoice::Zero)]
}

/// What sessions draw from: [`KEYS`] (the long one a fifth of the time), the exptimes
/// above, the testkit's values (protocol text, CRLF, empty, numbers for incr, any
/// bytes), numbers and client flags; uniques and opaques are placeholders, set at send
/// time ([`Op::resolve`]).
pub fn domain() -> Domain {
    let keys: Vec<&[u8]> = KEYS.iter().map(|k| k.as_bytes()).collect();
    Domain {
        key: prop_oneof![
            4 => strategy::pool::<Key>(&keys[..3]),
            1 => Just(Key::from(KEYS[3])),
        ]
        .boxed(),
        exptime: exptime().boxed(),
        cas: Just(0).boxed(),
        opaque: Just(Opaque::from("0")).boxed(),
        ..Domain::new(&keys)
    }
}

pub fn op() -> impl Strategy<Value = Op> {
    (strategy::cmd(&domain()), cas_choice()).prop_map(|(cmd, cas)| Op { cmd, cas })
}

/// A session: batches of pipelined commands; each batch is answered before the next
/// is sent, so conditional commands can use uniques seen earlier.
pub fn session() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 1..24), 1..6)
}
