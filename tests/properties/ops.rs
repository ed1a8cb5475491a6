//! Generated sessions: the testkit's command strategies over this test's key pool and
//! operands, flags only newer servers take, and the cas choice each conditional
//! command resolves when it is sent.

use memcache_codec::command::Exptime;
use memcache_testkit::Options;
use memcache_testkit::command::strategy::{self, Domain};
use memcache_testkit::command::{Cmd, Key, MdFlag, MgFlag, MsFlag, MsMode, Opaque};
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

/// The server a session talks to: the reference model of a release, whose profile
/// the codec learns with a probe before the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// memcached 1.6.18, 4-byte flags: what the live tests run against.
    V1_6_18,
    /// The newest release the model knows (1.6.45), built with 8-byte flags: `E`,
    /// `md x`, `mg C`, `ms s`, `N` on append, flags above `u32::MAX`, `me` `exp`
    /// positive.
    Latest,
}

impl Profile {
    pub fn options(self) -> Options {
        match self {
            Self::V1_6_18 => Options::default(),
            Self::Latest => Options::latest(true),
        }
    }

    /// The flags of newer releases work (else the codec refuses them).
    pub fn newer(self) -> bool {
        self == Self::Latest
    }
}

pub fn profile() -> impl Strategy<Value = Profile> {
    prop_oneof![Just(Profile::V1_6_18), Just(Profile::Latest)]
}

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
        4 => Just(Exptime::never()),
        1 => Just(Exptime::expired()),
        1 => Just(Exptime::in_seconds(100).unwrap()),
        1 => Just(Exptime::in_seconds(Exptime::MAX_RELATIVE_SECS).unwrap()),
        1 => Just(Exptime::at(NOW + 1000).unwrap()),
        1 => Just(Exptime::at(NOW - 1000).unwrap()),
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
        client_flags: Domain::large_client_flag_values().boxed(),
        cas: Just(0).boxed(),
        opaque: Just(Opaque::from("0")).boxed(),
        ..Domain::new(&keys)
    }
}

/// Flags only newer releases take, each added now and then where it applies.
#[derive(Debug, Clone)]
struct Newer {
    /// `E<cas>` on an `ms` in set mode (never 0: 0 stands for "never matches").
    new_cas: Option<u64>,
    /// `s` on an `ms`.
    return_size: bool,
    /// `N<ttl>` on an `ms` in append or prepend mode.
    vivify: Option<i32>,
    /// `x` on an `md`, with an `E` half the time.
    remove_value: bool,
    /// `C<cas>` on an `mg` (resolved at send time like every `C`).
    compare_cas: bool,
}

fn newer() -> impl Strategy<Value = Newer> {
    (
        proptest::option::weighted(0.15, 1u64..(1 << 40)),
        proptest::bool::weighted(0.15),
        proptest::option::weighted(0.3, exptime()),
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(new_cas, return_size, vivify, remove_value, compare_cas)| Newer {
                new_cas,
                return_size,
                vivify,
                remove_value,
                compare_cas,
            },
        )
}

impl Newer {
    fn apply(self, mut cmd: Cmd) -> Cmd {
        match &mut cmd {
            Cmd::MetaSet { flags, .. } => {
                let mode = flags.iter().find_map(|f| match f {
                    MsFlag::Mode(m) => Some(*m),
                    _ => None,
                });
                if mode == Some(MsMode::Set) {
                    flags.extend(self.new_cas.map(MsFlag::NewCas));
                }
                if self.return_size {
                    flags.push(MsFlag::ReturnSize);
                }
                if matches!(mode, Some(MsMode::Append | MsMode::Prepend)) {
                    flags.extend(self.vivify.map(MsFlag::Autovivify));
                }
            }
            Cmd::MetaDelete { flags, .. } if self.remove_value => {
                flags.push(MdFlag::RemoveValue);
                flags.extend(self.new_cas.map(MdFlag::NewCas));
            }
            Cmd::MetaGet { flags, .. } if self.compare_cas => flags.push(MgFlag::CompareCas(0)),
            _ => {}
        }
        cmd
    }
}

/// A command: the testkit's, sometimes with flags of newer releases.
pub fn op() -> impl Strategy<Value = Op> {
    (strategy::cmd(&domain()), newer(), cas_choice()).prop_map(|(cmd, newer, cas)| Op {
        cmd: newer.apply(cmd),
        cas,
    })
}

/// A session: batches of pipelined commands; each batch is answered before the next
/// is sent, so conditional commands can use uniques seen earlier.
pub fn session() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 1..24), 1..6)
}
