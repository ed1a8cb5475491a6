//! The distribution modes against the implementations they name, key by key.
//!
//! * libmemcached 1.1.4 itself (`tests/oracle/libmemcached_oracle.c`, built here
//!   when `libmemcached-dev` and `pkg-config` are installed) for ketama weighted,
//!   ketama and modula, with every libmemcached hash this crate offers;
//! * pymemcache itself for rendezvous (keys passed as `str` and as `bytes`), a port
//!   of gomemcache's selector, and a reimplementation of memcached's proxy defaults
//!   over the `xxhash` package, checked against the jump hash reference values
//!   (`tests/oracle/python_oracle.py`).
//!
//! The answers are kept in `tests/data/distribution/*.bin` (a header naming a digest
//! of the server lists and keys, then one byte per key: the server's index), so a
//! machine without the oracles still checks every key. Where an oracle is present
//! it is run again and must agree with the file and with the crate; with `CI=true`
//! a missing oracle fails the test. `DIST_VECTORS=write` rewrites the files from the
//! oracles (`tests/oracle/regenerate.sh`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use memcache_codec::distribution::{
    Distribution, LibmemcachedHash, Mode, PythonKeys, Server, parse_servers,
};

// ---------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------

/// splitmix64: a fixed key generator, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// `len` bytes drawn from `alphabet`.
    fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

/// Which keys a consumer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// Any bytes: ASCII, UTF-8, binary.
    Any,
    /// What pymemcache takes as `str` (allow_unicode_keys): no whitespace, no NUL,
    /// at most 250 UTF-8 bytes.
    PyStr,
    /// What pymemcache takes as `bytes`: no ASCII whitespace, no NUL.
    PyBytes,
}

const UNICODE: [&str; 10] = ["é", "ü", "ß", "ж", "键", "€", "😀", "ñ", "Ω", "ا"];

fn printable() -> Vec<u8> {
    (0x21..=0x7e).collect()
}

fn unicode_text(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mut text = String::new();
    for _ in 0..rng.range(1, 12) {
        if rng.below(2) == 0 {
            text.push_str(UNICODE[rng.below(UNICODE.len())]);
        } else {
            text.push(char::from(b'a' + rng.below(26) as u8));
        }
    }
    write!(text, ":{i}").unwrap();
    text.into_bytes()
}

fn keys(set: Keys, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    let fixed: [&[u8]; 4] = [b"", b"a", b"foo", b"user:42"];
    let mut keys: Vec<Vec<u8>> = fixed.iter().map(|k| k.to_vec()).collect();
    let ascii = printable();
    let any: Vec<u8> = (0..=255).collect();
    let high: Vec<u8> = (0x80..=0xff).collect();
    let py_bytes: Vec<u8> = (1..=255u8)
        .filter(|b| !b" \t\n\r\x0b\x0c".contains(b))
        .collect();
    for i in keys.len()..count {
        let key = match (set, i % 8) {
            (_, 0) => format!("user:{i}").into_bytes(),
            (_, 1) => format!("session:{:016x}", rng.next()).into_bytes(),
            (_, 2) => {
                let len = rng.range(1, 40);
                rng.bytes(len, &ascii)
            }
            (_, 3) => {
                let len = rng.range(200, 250);
                rng.bytes(len, &ascii)
            }
            (Keys::Any, 4) => {
                let len = rng.range(1, 32);
                rng.bytes(len, &any)
            }
            (Keys::Any, 5) => {
                let len = rng.range(1, 16);
                rng.bytes(len, &high)
            }
            (Keys::PyBytes, 4 | 5) => {
                let len = rng.range(1, 40);
                rng.bytes(len, &py_bytes)
            }
            (Keys::PyStr, 4) => {
                let len = rng.range(1, 8);
                rng.bytes(len, &ascii)
            }
            (_, 6) => format!("k{i}").into_bytes(),
            (Keys::PyBytes, _) => {
                let len = rng.range(1, 8);
                rng.bytes(len, &py_bytes)
            }
            _ => unicode_text(&mut rng, i),
        };
        keys.push(key);
    }
    keys
}

// ---------------------------------------------------------------------------------
// Server lists
// ---------------------------------------------------------------------------------

fn list(text: &str) -> Vec<Server> {
    parse_servers(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn numbered(n: usize, entry: impl Fn(usize) -> String) -> Vec<Server> {
    list(&(0..n).map(entry).collect::<Vec<_>>().join(","))
}

/// Server lists of 1, 2, 3, 10 and 50 servers: IPs and host names, port 11211 and
/// others, IPv6, with and without weights.
fn lists() -> Vec<(&'static str, Vec<Server>)> {
    vec![
        ("one", list("127.0.0.1:11211")),
        ("two", list("10.0.1.1:11211, 10.0.1.2:11211")),
        (
            "three-names",
            list("cache-a.example.com, cache-b.example.com, cache-c.example.com"),
        ),
        (
            "three-ports",
            list("127.0.0.1:11211, 127.0.0.1:11212, 127.0.0.1:11213"),
        ),
        (
            "three-ipv6",
            list("[::1]:11211, [::1]:11212, [fe80::1:2]:11211"),
        ),
        (
            "three-weighted",
            list("127.0.0.1:20001 1, 127.0.0.1:20002 2, 127.0.0.1:20003 3"),
        ),
        ("two-weighted", list("a.example:11211 1, b.example:11211 3")),
        (
            "ten",
            numbered(10, |i| format!("10.0.0.{}:{}", i + 1, 11211 + (i % 2))),
        ),
        (
            "ten-names",
            numbered(10, |i| format!("mc{:02}.cache.internal", i + 1)),
        ),
        (
            "ten-weighted",
            numbered(10, |i| format!("10.0.0.{}:11211 {}", i + 1, i + 1)),
        ),
        (
            "ten-one-heavy",
            numbered(10, |i| {
                format!("mc{i}:11211 {}", if i == 9 { 100 } else { 1 })
            }),
        ),
        (
            "fifty-names",
            numbered(50, |i| format!("memcached-{i:02}.prod.example.net:11211")),
        ),
        (
            "fifty-weighted",
            numbered(50, |i| {
                format!(
                    "192.168.{}.{}:{} {}",
                    i / 10,
                    i + 1,
                    11211 + (i % 3),
                    1 + (i * 7) % 13
                )
            }),
        ),
    ]
}

fn unweighted_lists() -> Vec<(&'static str, Vec<Server>)> {
    lists()
        .into_iter()
        .filter(|(_, servers)| servers.iter().all(|s| s.weight() == 1))
        .collect()
}

fn named(names: &[&str]) -> Vec<(&'static str, Vec<Server>)> {
    let all = lists();
    let picked: Vec<_> = all.into_iter().filter(|(n, _)| names.contains(n)).collect();
    assert_eq!(picked.len(), names.len());
    picked
}

// ---------------------------------------------------------------------------------
// Vector sets
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Oracle {
    Libmemcached,
    Python,
}

/// One server list and its keys, under one mode.
struct Case {
    /// The oracle's mode and parameter (`servers <mode> <param> <n>`).
    oracle_mode: &'static str,
    param: String,
    list_name: &'static str,
    servers: Vec<Server>,
    mode: Mode,
    keys: Vec<Vec<u8>>,
}

struct VectorSet {
    name: &'static str,
    oracle: Oracle,
    cases: Vec<Case>,
}

fn case(
    oracle_mode: &'static str,
    param: &str,
    mode: Mode,
    (list_name, servers): (&'static str, Vec<Server>),
    set: Keys,
    count: usize,
) -> Case {
    // Different keys for different lists, the same for a list across runs.
    let seed = list_name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) ^ count as u64;
    Case {
        oracle_mode,
        param: param.to_owned(),
        list_name,
        servers,
        mode,
        keys: keys(set, count, seed),
    }
}

impl VectorSet {
    /// The oracle's input.
    fn oracle_input(&self) -> Vec<u8> {
        let mut text = String::new();
        for c in &self.cases {
            writeln!(
                text,
                "servers {} {} {}",
                c.oracle_mode,
                c.param,
                c.servers.len()
            )
            .unwrap();
            for s in &c.servers {
                writeln!(text, "{} {} {}", s.host(), s.port(), s.weight()).unwrap();
            }
            writeln!(text, "keys {}", c.keys.len()).unwrap();
            for k in &c.keys {
                for b in k {
                    write!(text, "{b:02x}").unwrap();
                }
                text.push('\n');
            }
        }
        text.into_bytes()
    }

    /// FNV-1a 64 over everything the answers depend on.
    fn digest(&self) -> u64 {
        let input = self.oracle_input();
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for &b in self.name.as_bytes().iter().chain(&input) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    fn header(&self) -> String {
        format!(
            "memcache-codec distribution vectors v1 {} spec={:016x} answers={}\n",
            self.name,
            self.digest(),
            self.cases.iter().map(|c| c.keys.len()).sum::<usize>()
        )
    }

    fn path(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/distribution")
            .join(format!("{}.bin", self.name))
    }

    fn crate_answers(&self) -> Vec<u8> {
        let mut answers = Vec::new();
        for c in &self.cases {
            let d = Distribution::new(c.mode, c.servers.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", c.list_name));
            answers.extend(c.keys.iter().map(|k| d.server_for(k) as u8));
        }
        answers
    }

    /// Where `answers` differ from `want`, described.
    fn differences(&self, answers: &[u8], want: &[u8]) -> (usize, String) {
        let mut report = String::new();
        let mut count = 0;
        let mut i = 0;
        for c in &self.cases {
            for k in &c.keys {
                if answers.get(i) != want.get(i) {
                    count += 1;
                    if count <= 8 {
                        writeln!(
                            report,
                            "  {} {} key {:?}: {:?} vs {:?}",
                            c.oracle_mode,
                            c.list_name,
                            String::from_utf8_lossy(&k[..k.len().min(40)]),
                            answers.get(i),
                            want.get(i)
                        )
                        .unwrap();
                    }
                }
                i += 1;
            }
        }
        (count, report)
    }

    /// Checks the crate against the kept answers, and the oracle against both.
    fn check(&self) {
        let answers = self.crate_answers();
        let writing = std::env::var("DIST_VECTORS").is_ok_and(|v| v == "write");
        let fresh = match run_oracle(self.oracle, &self.oracle_input()) {
            Ok(out) => Some(out),
            Err(why) => {
                unavailable(self.oracle, &why);
                None
            }
        };
        if let Some(fresh) = &fresh {
            assert_eq!(
                fresh.len(),
                answers.len(),
                "{}: oracle answer count",
                self.name
            );
            let (n, report) = self.differences(&answers, fresh);
            assert_eq!(
                n,
                0,
                "{}: the crate disagrees with the oracle on {n} of {} keys (crate vs oracle):\n{report}",
                self.name,
                answers.len()
            );
            if writing {
                let mut file = self.header().into_bytes();
                file.extend_from_slice(fresh);
                std::fs::create_dir_all(self.path().parent().unwrap()).unwrap();
                std::fs::write(self.path(), file).unwrap();
            }
        } else if writing {
            panic!("DIST_VECTORS=write needs the {:?} oracle", self.oracle);
        }
        let kept = std::fs::read(self.path()).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (DIST_VECTORS=write with the oracle makes it)",
                self.path().display()
            )
        });
        let header = self.header();
        let (head, body) =
            kept.split_at(kept.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1));
        assert_eq!(
            String::from_utf8_lossy(head),
            header,
            "{}: the kept vectors are for other lists or keys: regenerate them",
            self.name
        );
        let (n, report) = self.differences(&answers, body);
        assert_eq!(
            n,
            0,
            "{}: the crate disagrees with the kept vectors on {n} of {} keys (crate vs kept):\n{report}",
            self.name,
            answers.len()
        );
        eprintln!(
            "{}: {} keys agree with the kept vectors{}",
            self.name,
            answers.len(),
            if fresh.is_some() {
                " and the oracle"
            } else {
                ""
            }
        );
    }
}

// ---------------------------------------------------------------------------------
// Oracles
// ---------------------------------------------------------------------------------

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

/// The C oracle, compiled once per run; `Err` says why it cannot be.
fn libmemcached_oracle() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let flags = Command::new("pkg-config")
                .args(["--cflags", "--libs", "libmemcached"])
                .output()
                .map_err(|e| format!("pkg-config: {e}"))?;
            if !flags.status.success() {
                return Err(format!(
                    "pkg-config finds no libmemcached: {}",
                    String::from_utf8_lossy(&flags.stderr).trim()
                ));
            }
            let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libmemcached_oracle");
            let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
            let out = Command::new("cc")
                .args(["-O1", "-o"])
                .arg(&exe)
                .arg(oracle_dir().join("libmemcached_oracle.c"))
                .args(flags.split_whitespace())
                .output()
                .map_err(|e| format!("cc: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cc failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(exe)
        })
        .clone()
}

/// The Python that has pymemcache and xxhash: `MEMCACHE_CODEC_PYTHON`, else
/// Debian's `/usr/bin/python3` (where apt's python3-pylibmc lives), else `python3`.
fn python() -> Result<String, String> {
    static FOUND: OnceLock<Result<String, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let python = std::env::var("MEMCACHE_CODEC_PYTHON").unwrap_or_else(|_| {
                if Path::new("/usr/bin/python3").exists() {
                    "/usr/bin/python3".into()
                } else {
                    "python3".into()
                }
            });
            let out = Command::new(&python)
                .args(["-c", "import pymemcache, xxhash"])
                .output()
                .map_err(|e| format!("{python}: {e}"))?;
            if out.status.success() {
                Ok(python)
            } else {
                Err(format!(
                    "{python} lacks pymemcache or xxhash (pip install pymemcache xxhash): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        })
        .clone()
}

fn run_oracle(oracle: Oracle, input: &[u8]) -> Result<Vec<u8>, String> {
    let mut command = match oracle {
        Oracle::Libmemcached => Command::new(libmemcached_oracle()?),
        Oracle::Python => {
            let mut c = Command::new(python()?);
            c.arg(oracle_dir().join("python_oracle.py"));
            c
        }
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{oracle:?} oracle: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("oracle output");
    feeder.join().unwrap().expect("feeding the oracle");
    // The oracle exists but fails: a broken oracle is a failure, never a skip.
    assert!(
        out.status.success(),
        "{oracle:?} oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)
        .expect("ASCII answers")
        .lines()
        .map(|l| l.parse::<u8>().expect("a server index"))
        .collect())
}

fn unavailable(oracle: Oracle, why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true but the {oracle:?} oracle is unavailable: {why} \
         (.ci/run installs libmemcached-dev, python3-pylibmc, pymemcache and xxhash)"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! {oracle:?} oracle unavailable ({why}): checking the kept vectors only\n"
    );
}

// ---------------------------------------------------------------------------------
// The vector sets
// ---------------------------------------------------------------------------------

#[test]
fn ketama_weighted_against_libmemcached() {
    let cases = lists()
        .into_iter()
        .map(|l| {
            case(
                "ketama_weighted",
                "-",
                Mode::KetamaWeighted,
                l,
                Keys::Any,
                8000,
            )
        })
        .collect::<Vec<_>>();
    let total: usize = cases.iter().map(|c| c.keys.len()).sum();
    assert!(total >= 100_000, "the issue asks for 100 000 keys; {total}");
    VectorSet {
        name: "ketama_weighted",
        oracle: Oracle::Libmemcached,
        cases,
    }
    .check();
}

#[test]
fn ketama_against_libmemcached() {
    let mode = Mode::Ketama {
        hash: LibmemcachedHash::OneAtATime,
    };
    let cases = lists()
        .into_iter()
        .map(|l| case("ketama", "-", mode, l, Keys::Any, 3000))
        .collect();
    VectorSet {
        name: "ketama",
        oracle: Oracle::Libmemcached,
        cases,
    }
    .check();
}

#[test]
fn modula_against_libmemcached() {
    let mode = Mode::Modula {
        hash: LibmemcachedHash::OneAtATime,
    };
    let cases = lists()
        .into_iter()
        .map(|l| case("modula", "-", mode, l, Keys::Any, 3000))
        .collect();
    VectorSet {
        name: "modula",
        oracle: Oracle::Libmemcached,
        cases,
    }
    .check();
}

#[test]
fn libmemcached_hashes_against_libmemcached() {
    let hashes = [
        LibmemcachedHash::OneAtATime,
        LibmemcachedHash::Md5,
        LibmemcachedHash::Crc,
        LibmemcachedHash::Fnv1_64,
        LibmemcachedHash::Fnv1a64,
        LibmemcachedHash::Fnv1_32,
        LibmemcachedHash::Fnv1a32,
    ];
    let mut cases = Vec::new();
    for hash in hashes {
        for l in named(&["three-ports", "ten-weighted"]) {
            cases.push(case(
                "ketama",
                hash.name(),
                Mode::Ketama { hash },
                l,
                Keys::Any,
                1000,
            ));
        }
        for l in named(&["three-ports", "ten"]) {
            cases.push(case(
                "modula",
                hash.name(),
                Mode::Modula { hash },
                l,
                Keys::Any,
                1000,
            ));
        }
    }
    VectorSet {
        name: "libmemcached_hashes",
        oracle: Oracle::Libmemcached,
        cases,
    }
    .check();
}

#[test]
fn rendezvous_against_pymemcache() {
    let mut cases = Vec::new();
    for l in unweighted_lists() {
        let big = l.1.len() > 10;
        let str_mode = Mode::Rendezvous {
            keys: PythonKeys::Str,
        };
        let bytes_mode = Mode::Rendezvous {
            keys: PythonKeys::Bytes,
        };
        let n = if big { 1000 } else { 3000 };
        cases.push(case(
            "rendezvous_str",
            "-",
            str_mode,
            l.clone(),
            Keys::PyStr,
            n,
        ));
        cases.push(case(
            "rendezvous_bytes",
            "-",
            bytes_mode,
            l,
            Keys::PyBytes,
            n / 2,
        ));
    }
    VectorSet {
        name: "rendezvous",
        oracle: Oracle::Python,
        cases,
    }
    .check();
}

#[test]
fn gomemcache_against_its_selector() {
    let mut cases: Vec<Case> = unweighted_lists()
        .into_iter()
        .map(|l| case("gomemcache", "-", Mode::GoServerList, l, Keys::Any, 4000))
        .collect();
    // gomemcache weights a server by listing it twice.
    let twice = ("listed-twice", list("a:11211, b:11211, a:11211"));
    cases.push(case(
        "gomemcache",
        "-",
        Mode::GoServerList,
        twice,
        Keys::Any,
        4000,
    ));
    VectorSet {
        name: "gomemcache",
        oracle: Oracle::Python,
        cases,
    }
    .check();
}

#[test]
fn proxy_jump_against_reimplementation() {
    let mut cases: Vec<Case> = unweighted_lists()
        .into_iter()
        .map(|l| {
            case(
                "proxy_jump",
                "-",
                Mode::ProxyJump { seed: 0 },
                l,
                Keys::Any,
                4000,
            )
        })
        .collect();
    let seed = memcache_codec::distribution::proxy_pool_seed("east");
    for l in named(&["ten", "fifty-names"]) {
        cases.push(case(
            "proxy_jump",
            "east",
            Mode::ProxyJump { seed },
            l,
            Keys::Any,
            4000,
        ));
    }
    VectorSet {
        name: "proxy_jump",
        oracle: Oracle::Python,
        cases,
    }
    .check();
}
