//! Replays the admin exchanges recorded from real servers (the testkit's recordings,
//! `testkit/tests/data/`): Debian's memcached 1.6.18 (`memcached-1.6.18-admin.jsonl`,
//! every exchange), and the dumps and watchers of 1.6.17, 1.6.20, 1.6.27 and 1.6.45
//! (with and without large client flags), whose dump formats differ.
//!
//! As in `transcripts.rs`: each exchange's commands are built through the public API
//! (typed commands, and [`Raw`] for what they deliberately cannot write), their bytes
//! must equal the recorded send (or the send without what the codec refuses, checked),
//! and the recorded reply is fed whole, byte by byte and cut at every position, with
//! the same completions every time, equal to the expectation written here.

mod common;

use std::time::Instant;

use bytes::BytesMut;
use common::{Exchange, decode_every_way, load_file};
use memcache_codec::command::{
    Automove, Bget, Command, ConfigGetCluster, CrawlTarget, Delete, Exptime, Get, Lru, LruCrawler,
    LruMode, MetaGet, MetaNoop, MetaSet, Raw, RawShape, RefreshCerts, Slabs, Stats, Store,
    Verbosity, Watch, WatchKind,
};
use memcache_codec::{Codec, EncodeError};

/// One recording of the testkit.
fn recording(file: &str) -> &'static [Exchange] {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static FILES: OnceLock<Mutex<HashMap<String, &'static [Exchange]>>> = OnceLock::new();
    let mut files = FILES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    files.entry(file.to_owned()).or_insert_with(|| {
        let path = format!(
            "{}/testkit/tests/data/memcached-{file}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        Vec::leak(load_file(&path))
    })
}

fn exchange(file: &str, name: &str) -> &'static Exchange {
    recording(file)
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no exchange {name} in {file}"))
}

fn build(commands: &[&dyn Command]) -> (Codec, BytesMut) {
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    for c in commands {
        codec
            .send(*c, &mut out, Instant::now())
            .expect("valid command");
    }
    (codec, out)
}

/// Replays `name` of `file`: `commands` must write the recorded send, except for
/// `without` (requests the codec refuses to send, each checked to be refused with
/// `refusal` after the commands before it), and the reply must decode to `expected`.
fn replay_without(
    file: &str,
    name: &str,
    commands: &[&dyn Command],
    without: &[(&[u8], &dyn Command, EncodeError)],
    expected: &[&str],
) {
    let ex = exchange(file, name);
    let (mut codec, out) = build(commands);
    let mut want = ex.send.clone();
    for (part, command, refusal) in without {
        let at = want
            .windows(part.len())
            .rposition(|w| w == *part)
            .unwrap_or_else(|| panic!("{name}: {part:?} not in send"));
        want.drain(at..at + part.len());
        let mut more = BytesMut::new();
        assert_eq!(
            codec
                .send(*command, &mut more, Instant::now())
                .err()
                .as_ref(),
            Some(refusal),
            "{name}"
        );
        assert!(more.is_empty(), "{name}: a refused command wrote bytes");
    }
    assert!(
        out[..] == want[..],
        "{name}: encoded bytes differ\n  codec: {:?}\n  sent:  {:?}",
        common::text(&out),
        common::text(&want)
    );
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    if !expected
        .last()
        .is_some_and(|l| l.starts_with("Poisoned(") || l.starts_with("End("))
    {
        expected.push("End(pending=0, buffered=0)".into());
    }
    let got = decode_every_way(&|| build(commands).0, &ex.recv, ex.closes_connection, false);
    assert_eq!(got, expected, "{file} {name}");
}

fn replay(file: &str, name: &str, commands: &[&dyn Command], expected: &[&str]) {
    replay_without(file, name, commands, &[], expected);
}

const ADMIN: &str = "1.6.18-admin";

/// The exchanges of the 1.6.18 admin recording no command can write, and why.
const UNEXPRESSIBLE: &[(&str, &str)] = &[(
    "watch_bogus",
    "watch kinds are typed (WatchKind), and Raw refuses watch",
)];

/// The exchanges of the 1.6.18 admin recording replayed below.
const REPLAYED: &[&str] = &[
    "metadump_empty",
    "admin_setup",
    "metadump_all",
    "metadump_class",
    "metadump_classes",
    "metadump_hash",
    "metadump_bad_class",
    "metadump_after_reply",
    "metadump_pipelined",
    "mgdump_unknown",
    "crawl",
    "crawler_tocrawl_sleep",
    "crawler_enable_running",
    "crawler_disable_enable",
    "crawler_disabled_crawl",
    "crawler_enable",
    "slabs_automove",
    "slabs_reassign",
    "lru_tune",
    "config_get_cluster",
    "refresh_certs",
    "bget",
    "stats_detail",
    "stats_cachedump",
    "watch_pipelined",
    "watch_fetchers",
    "mg_bare",
    "verbosity_reset",
];

#[test]
fn every_admin_exchange_is_covered_once() {
    for ex in recording(ADMIN) {
        let replayed = REPLAYED.contains(&ex.name.as_str());
        let unexpressible = UNEXPRESSIBLE.iter().any(|(n, _)| *n == ex.name);
        assert!(replayed ^ unexpressible, "{}", ex.name);
    }
    assert_eq!(REPLAYED.len() + UNEXPRESSIBLE.len(), recording(ADMIN).len());
    // What makes `watch bogus` unexpressible, checked.
    let mut out = BytesMut::new();
    assert!(matches!(
        Codec::new().send(
            &Raw::new("watch bogus", RawShape::Line),
            &mut out,
            Instant::now()
        ),
        Err(EncodeError::RawRefused(_))
    ));
}

const MD1: &str = "md1 exp=-1 la=1796544156 cas=1 fetch=false cls=1 size=63";
const MD2: &str = "md:2 exp=1796544256 la=1796544156 cas=2 fetch=false cls=7 size=367";

#[test]
fn metadump_on_1_6_18() {
    let all = LruCrawler::metadump(CrawlTarget::All);
    replay(ADMIN, "metadump_empty", &[&all], &["MetaDump[]"]);
    let yyy = "y".repeat(300);
    replay(
        ADMIN,
        "admin_setup",
        &[
            &Store::set("md1", "x"),
            &Store::set("md:2", &yyy)
                .client_flags(7)
                .exptime(Exptime::in_seconds(100).unwrap()),
        ],
        &["Stored", "Stored"],
    );
    let both = format!("MetaDump[{MD1}, {MD2}]");
    replay(ADMIN, "metadump_all", &[&all], &[&both]);
    let one = format!("MetaDump[{MD1}]");
    replay(
        ADMIN,
        "metadump_class",
        &[&LruCrawler::metadump(CrawlTarget::Classes(&[1]))],
        &[&one],
    );
    replay(
        ADMIN,
        "metadump_classes",
        &[&LruCrawler::metadump(CrawlTarget::Classes(&[1, 5]))],
        &[&one],
    );
    replay(
        ADMIN,
        "metadump_hash",
        &[&LruCrawler::metadump(CrawlTarget::Hash)],
        &[&both],
    );
    replay(
        ADMIN,
        "metadump_bad_class",
        &[&LruCrawler::metadump(CrawlTarget::Classes(&[99]))],
        &["Admin(BADCLASS invalid class id)"],
    );
    let fetched = format!("MetaDump[{}, {MD2}]", MD1.replace("false", "true"));
    replay(
        ADMIN,
        "metadump_after_reply",
        &[&Get::new("md1"), &all],
        &["Hit(0 \"x\")", &fetched],
    );
    replay(
        ADMIN,
        "metadump_pipelined",
        &[&Store::set("q", "x"), &all],
        &[
            "Stored",
            "Err(ERROR cannot pipeline other commands before metadump)",
        ],
    );
    replay(
        ADMIN,
        "mgdump_unknown",
        &[&LruCrawler::mgdump(CrawlTarget::All)],
        &["Err(ERROR)"],
    );
}

#[test]
fn lru_crawler_on_1_6_18() {
    let busy = "Admin(BUSY currently processing crawler request)";
    let badclass = "Admin(BADCLASS invalid class id)";
    replay(
        ADMIN,
        "crawl",
        &[
            &LruCrawler::crawl(CrawlTarget::All),
            &LruCrawler::crawl(CrawlTarget::Classes(&[1])),
            &LruCrawler::crawl(CrawlTarget::Classes(&[1, 2])),
            &LruCrawler::crawl(CrawlTarget::Classes(&[99])),
            // Class ids are typed: a bad one only raw.
            &Raw::new("lru_crawler crawl x", RawShape::Line),
        ],
        &["Ok", busy, busy, badclass, "Raw[BADCLASS invalid class id]"],
    );
    replay(
        ADMIN,
        "crawler_tocrawl_sleep",
        &[
            &LruCrawler::tocrawl(100),
            &LruCrawler::sleep(200),
            // Refused typed (more than a second), sent raw.
            &Raw::new("lru_crawler sleep 2000000", RawShape::Line),
            &Raw::new("lru_crawler tocrawl x", RawShape::Line),
            &Raw::new("lru_crawler", RawShape::Line),
            &Raw::new("lru_crawler bogus", RawShape::Line),
        ],
        &[
            "Ok",
            "Ok",
            "Err(CLIENT_ERROR sleep must be one second or less)",
            "Err(CLIENT_ERROR bad command line format)",
            "Err(ERROR)",
            "Err(ERROR)",
        ],
    );
    let mut out = BytesMut::new();
    assert!(matches!(
        Codec::new().send(&LruCrawler::sleep(2_000_000), &mut out, Instant::now()),
        Err(EncodeError::InvalidArgument(_))
    ));
    replay(
        ADMIN,
        "crawler_enable_running",
        &[&LruCrawler::enable()],
        &["Err(ERROR failed to start lru crawler thread)"],
    );
    replay(
        ADMIN,
        "crawler_disable_enable",
        &[&LruCrawler::disable()],
        &["Ok"],
    );
    replay(
        ADMIN,
        "crawler_disabled_crawl",
        &[
            &LruCrawler::crawl(CrawlTarget::All),
            &LruCrawler::metadump(CrawlTarget::All),
        ],
        &[
            "Err(CLIENT_ERROR lru crawler disabled)",
            "Err(CLIENT_ERROR lru crawler disabled)",
        ],
    );
    replay(ADMIN, "crawler_enable", &[&LruCrawler::enable()], &["Ok"]);
}

#[test]
fn slabs_on_1_6_18() {
    replay_without(
        ADMIN,
        "slabs_automove",
        &[
            &Slabs::automove(Automove::Standby),
            &Slabs::automove(Automove::Normal),
            &Slabs::automove(Automove::Aggressive),
            &Raw::new("slabs automove 3", RawShape::Line),
            &Raw::new("slabs automove x", RawShape::Line),
            &Raw::new("slabs automove", RawShape::Line),
            &MetaNoop,
        ],
        // No reply would pair with a noreply raw command.
        &[(
            b"slabs automove 1 noreply\r\n",
            &Raw::new("slabs automove 1 noreply", RawShape::Line),
            EncodeError::RawRefused("with noreply no reply comes to pair with the command"),
        )],
        &[
            "Ok",
            "Ok",
            "Ok",
            "Err(ERROR)",
            "Err(CLIENT_ERROR bad command line format)",
            "Err(ERROR)",
            "Noop",
        ],
    );
    replay(
        ADMIN,
        "slabs_reassign",
        &[
            &Slabs::reassign(1, 1),
            &Slabs::reassign(99, 1),
            &Slabs::reassign(1, 5),
            &Slabs::reassign_any(5),
            &Raw::new("slabs reassign x 1", RawShape::Line),
            &Raw::new("slabs reassign 1", RawShape::Line),
            &Raw::new("slabs bogus", RawShape::Line),
        ],
        &[
            "Admin(SAME src and dst class are identical)",
            "Admin(BADCLASS invalid src or dst class id)",
            "Admin(NOSPARE source class has no spare pages)",
            "Admin(BADCLASS invalid src or dst class id)",
            "Err(CLIENT_ERROR bad command line format)",
            "Err(ERROR)",
            "Err(ERROR)",
        ],
    );
}

#[test]
fn lru_tuning_on_1_6_18() {
    let tune = Lru::tune(10, 40, 0.1, 2.0);
    let too_hot = Lru::tune(50, 40, 0.1, 2.0);
    let mut out = BytesMut::new();
    assert!(matches!(
        Codec::new().send(&Lru::tune(10, 40, 0.0, 2.0), &mut out, Instant::now()),
        Err(EncodeError::InvalidArgument(_))
    ));
    replay(
        ADMIN,
        "lru_tune",
        &[
            &tune,
            &too_hot,
            &Raw::new("lru tune 10 40 0 2", RawShape::Line),
            &Raw::new("lru tune x 40 0.1 2", RawShape::Line),
            &Lru::mode(LruMode::Flat),
            &Lru::mode(LruMode::Segmented),
            &Raw::new("lru mode bogus", RawShape::Line),
            &Lru::temp_ttl(100),
            &Lru::temp_ttl(-1),
            &Raw::new("lru temp_ttl x", RawShape::Line),
            &Raw::new("lru bogus", RawShape::Line),
            &Raw::new("lru", RawShape::Line),
        ],
        &[
            "Ok",
            "Err(ERROR hot and warm pcts must not exceed 80)",
            "Err(ERROR hot/warm age factors must be greater than 0)",
            "Err(ERROR)",
            "Ok",
            "Ok",
            "Err(ERROR)",
            "Ok",
            "Ok",
            "Err(ERROR)",
            "Err(ERROR)",
            "Err(ERROR)",
        ],
    );
}

#[test]
fn config_certs_bget_stats_on_1_6_18() {
    replay(
        ADMIN,
        "config_get_cluster",
        &[&ConfigGetCluster],
        &["Err(ERROR)"],
    );
    replay(
        ADMIN,
        "refresh_certs",
        &[&RefreshCerts],
        &["Err(Error TLS not enabled)"],
    );
    let keys = ["md1", "nope", "md:2"];
    let values = format!("Items[md1 0 \"x\", md:2 7 \"{}\"]", "y".repeat(300));
    replay(ADMIN, "bget", &[&Bget::new(&keys)], &[&values]);
    let usage = "Err(CLIENT_ERROR usage: stats detail on|off|dump)";
    replay(
        ADMIN,
        "stats_detail",
        &[
            &Stats::detail(true),
            &Get::new("a:1"),
            &Store::set("a:2", "x"),
            &Delete::new("a:3"),
            &Stats::args(&["detail", "dump"]),
            &Stats::args(&["detail", "off"]),
            &Stats::args(&["detail", "bogus"]),
            &Stats::args(&["detail"]),
        ],
        &[
            "Ok",
            "Miss",
            "Stored",
            "NotFound",
            "DetailDump[a 1 0 1 1]",
            "Ok",
            usage,
            usage,
        ],
    );
    replay(
        ADMIN,
        "stats_cachedump",
        &[
            &Stats::cachedump(1, 0),
            &Stats::args(&["cachedump", "1", "1"]),
            &Stats::cachedump(99, 0),
            &Stats::args(&["cachedump", "1"]),
            &Stats::args(&["cachedump", "x", "0"]),
        ],
        &[
            "CacheDump[a:2 1 0, md1 1 0, q 1 0]",
            "CacheDump[a:2 1 0]",
            "Err(CLIENT_ERROR Illegal slab id)",
            "Err(CLIENT_ERROR bad command line)",
            "Err(CLIENT_ERROR bad command line format)",
        ],
    );
}

#[test]
fn watch_and_the_rest_on_1_6_18() {
    replay(
        ADMIN,
        "watch_pipelined",
        &[&Store::set("w", "x"), &Watch::new()],
        &[
            "Stored",
            "Err(ERROR cannot pipeline other commands before watch)",
        ],
    );
    let watch = Watch::new()
        .kind(WatchKind::Mutations)
        .kind(WatchKind::Fetchers);
    replay_without(
        ADMIN,
        "watch_fetchers",
        &[&watch],
        // memcached ignores what follows a watch: the codec refuses to send it.
        &[(
            b"version\r\n",
            &memcache_codec::command::Version,
            EncodeError::Watching,
        )],
        &["Watching", "End(pending=1, buffered=0)"],
    );
    replay(
        ADMIN,
        "mg_bare",
        &[&MetaGet::new("md1"), &MetaGet::new("nope")],
        &["Meta(HD)", "Meta(EN)"],
    );
    replay(ADMIN, "verbosity_reset", &[&Verbosity::new(0)], &["Ok"]);
}

#[test]
fn dumps_and_watchers_of_newer_servers() {
    // 1.6.45: OK first (1.6.43), flags= (1.6.24), a space before the LF (1.6.39).
    let ex = exchange("1.6.45", "metadump_flags");
    let got = decode_every_way(
        &|| build(&[&LruCrawler::metadump(CrawlTarget::Classes(&[1]))]).0,
        &ex.recv,
        false,
        false,
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with(
            "MetaDump[f2 exp=-1 la=1796544211 cas=25 fetch=true cls=1 size=66 flags=1, e6 exp=1796544237"
        ),
        "{}",
        got[0]
    );
    assert!(got[0].contains("d1 exp=-1 la=1796544212 cas=26 fetch=false cls=1 size=66 flags=7,"));
    assert_eq!(got[0].matches(" flags=").count(), 19);
    replay(
        "1.6.45",
        "metadump_setup",
        &[&Store::set("d1", "x").client_flags(7)],
        &["Stored"],
    );
    replay(
        "1.6.45",
        "mgdump_setup",
        &[&MetaSet::new("b11", "z").base64_key()],
        &["Meta(HD)"],
    );
    let keys = "d1, e6, s1, b11, x3, s2, c1, s3, v1, v2, e1, e2, e3, e4, e5, x1, x2, x4, me1, f2";
    replay(
        "1.6.45",
        "mgdump",
        &[&LruCrawler::mgdump(CrawlTarget::Classes(&[1]))],
        &[&format!("MgDump[{keys}]")],
    );
    let ex = exchange("1.6.45", "mgdump_hash");
    let got = decode_every_way(
        &|| build(&[&LruCrawler::mgdump(CrawlTarget::Hash)]).0,
        &ex.recv,
        false,
        false,
    );
    assert!(
        got[0].starts_with("MgDump[e6, x1, ") && got[0].contains(", b11, "),
        "{got:?}"
    );
    replay_without(
        "1.6.45",
        "mgdump_pipelined",
        &[&Store::set("q", "x"), &LruCrawler::mgdump(CrawlTarget::All)],
        // Nothing is sent behind a dump: the server's second error line has no
        // command to belong to.
        &[(
            b"lru_crawler mgdump 99\r\n",
            &LruCrawler::mgdump(CrawlTarget::Classes(&[99])),
            EncodeError::DumpPending,
        )],
        &[
            "Stored",
            "Err(ERROR cannot pipeline other commands before mgdump)",
            "Poisoned(decode: byte 0x45 arrived with no command pending)",
        ],
    );
    replay(
        "1.6.45",
        "mgdump_bad_class",
        &[&LruCrawler::mgdump(CrawlTarget::Classes(&[99]))],
        &["Admin(BADCLASS invalid class id)"],
    );
    let deletions = Watch::new().kind(WatchKind::Deletions);
    replay(
        "1.6.45",
        "watch_deletions",
        &[&deletions],
        &["Watching", "End(pending=1, buffered=0)"],
    );
    replay(
        "1.6.45-large-client-flags",
        "metadump_u64_flags",
        &[&LruCrawler::metadump(CrawlTarget::Classes(&[1]))],
        &["MetaDump[\
            l1 exp=-1 la=1796544221 cas=2 fetch=true cls=1 size=70 flags=4294967296, \
            l2 exp=-1 la=1796544222 cas=3 fetch=true cls=1 size=70 flags=18446744073709551615, \
            l4 exp=-1 la=1796544222 cas=4 fetch=false cls=1 size=70 flags=1]"],
    );

    // 1.6.17: no flags=, no mgdump, no deletions watcher.
    let g = |n, rest: &str| format!("g{n} exp={rest}");
    replay(
        "1.6.17-gates",
        "metadump",
        &[&LruCrawler::metadump(CrawlTarget::Classes(&[1]))],
        &[&format!(
            "MetaDump[{}, {}, {}]",
            g(1, "1796544332 la=1796544232 cas=1 fetch=true cls=1 size=67"),
            g(2, "-1 la=1796544233 cas=4 fetch=false cls=1 size=63"),
            g(5, "-1 la=1796544234 cas=5 fetch=true cls=1 size=62")
        )],
    );
    replay(
        "1.6.17-gates",
        "mgdump",
        &[&LruCrawler::mgdump(CrawlTarget::Classes(&[1]))],
        &["Err(ERROR)"],
    );
    replay(
        "1.6.17-gates",
        "watch_deletions",
        &[&deletions],
        &["Err(ERROR)"],
    );
    // 1.6.20: mgdump without OK.
    replay(
        "1.6.20-gates",
        "mgdump",
        &[&LruCrawler::mgdump(CrawlTarget::Classes(&[1]))],
        &["MgDump[g1, g2, g3, g5]"],
    );
    // 1.6.27: flags= without the trailing space.
    let ex = exchange("1.6.27-gates", "metadump");
    let got = decode_every_way(
        &|| build(&[&LruCrawler::metadump(CrawlTarget::Classes(&[1]))]).0,
        &ex.recv,
        false,
        false,
    );
    assert!(
        got[0].starts_with(
            "MetaDump[g2 exp=-1 la=1796544242 cas=5 fetch=false cls=1 size=63 flags=0, "
        ) && got[0].matches(" flags=0").count() == 5,
        "{got:?}"
    );
}
