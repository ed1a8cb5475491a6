//! Owned commands to the codec's borrowed ones: one builder call per field or flag,
//! in order.

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    Bget, CacheMemlimit, Command, ConfigGetCluster, CrawlTarget, Delete, Exptime, FlushAll, Get,
    GetMulti, Lru, LruCrawler, MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaNoop, MetaSet,
    NoreplyCommand, Quit, Raw, RefreshCerts, Shutdown, Slabs, Stats, Store, Touch, Verbosity,
    Version, Watch,
};
use memcache_codec::{Codec, EncodeError, Token};

use super::{
    Cmd, CrawlerCmd, Key, LruCmd, MaFlag, MdFlag, MgFlag, MsFlag, SlabsCmd, StatsArgs, StoreMode,
    Target,
};

/// A built command and how it is to be sent.
#[derive(Clone, Copy)]
pub enum Sendable<'a> {
    /// With [`Codec::send`]: a reply is expected.
    Reply(&'a dyn Command),
    /// With [`Codec::send_noreply`].
    Noreply(&'a dyn NoreplyCommand),
}

impl std::fmt::Debug for Sendable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Reply(_) => "Reply",
            Self::Noreply(_) => "Noreply",
        })
    }
}

/// The codec's `mg` for `key` and `flags`, calling the builder once per flag, in order
/// (for [`Codec::send_quiet_batch`], which takes `MetaGet`s).
pub fn meta_get<'a>(key: &'a [u8], flags: &'a [MgFlag]) -> MetaGet<'a> {
    let mut c = MetaGet::new(key);
    for f in flags {
        c = match f {
            MgFlag::Base64 => c.base64_key(),
            MgFlag::Quiet => c.quiet(),
            MgFlag::Opaque(o) => c.opaque(&o.0[..]),
            MgFlag::ReturnValue => c.return_value(),
            MgFlag::ReturnCas => c.return_cas(),
            MgFlag::ReturnClientFlags => c.return_client_flags(),
            MgFlag::ReturnHitBefore => c.return_hit_before(),
            MgFlag::ReturnKey => c.return_key(),
            MgFlag::ReturnLastAccess => c.return_last_access(),
            MgFlag::ReturnSize => c.return_size(),
            MgFlag::ReturnTtl => c.return_ttl(),
            MgFlag::NoBump => c.no_bump(),
            MgFlag::Touch(e) => c.ttl(Exptime::from_raw(*e)),
            MgFlag::Vivify(e) => c.vivify(Exptime::from_raw(*e)),
            MgFlag::Recache(r) => c.recache(*r),
            MgFlag::NewCas(n) => c.new_cas(*n),
            MgFlag::CompareCas(n) => c.compare_cas(*n),
        };
    }
    c
}

fn meta_set<'a>(key: &'a [u8], value: &'a [u8], flags: &'a [MsFlag]) -> MetaSet<'a> {
    let mut c = MetaSet::new(key, value);
    for f in flags {
        c = match f {
            MsFlag::Base64 => c.base64_key(),
            MsFlag::Quiet => c.quiet(),
            MsFlag::Opaque(o) => c.opaque(&o.0[..]),
            MsFlag::ReturnCas => c.return_cas(),
            MsFlag::ReturnKey => c.return_key(),
            MsFlag::Invalidate => c.invalidate(),
            MsFlag::ReturnSize => c.return_size(),
            MsFlag::ClientFlags(n) => c.client_flags(*n),
            MsFlag::Ttl(e) => c.ttl(Exptime::from_raw(*e)),
            MsFlag::CompareCas(n) => c.compare_cas(*n),
            MsFlag::NewCas(n) => c.new_cas(*n),
            MsFlag::Autovivify(e) => c.vivify(Exptime::from_raw(*e)),
            MsFlag::Mode(m) => c.mode((*m).into()),
        };
    }
    c
}

fn meta_delete<'a>(key: &'a [u8], flags: &'a [MdFlag]) -> MetaDelete<'a> {
    let mut c = MetaDelete::new(key);
    for f in flags {
        c = match f {
            MdFlag::Base64 => c.base64_key(),
            MdFlag::Quiet => c.quiet(),
            MdFlag::Opaque(o) => c.opaque(&o.0[..]),
            MdFlag::ReturnKey => c.return_key(),
            MdFlag::Invalidate => c.invalidate(),
            MdFlag::RemoveValue => c.remove_value(),
            MdFlag::CompareCas(n) => c.compare_cas(*n),
            MdFlag::NewCas(n) => c.new_cas(*n),
            MdFlag::Ttl(e) => c.ttl(Exptime::from_raw(*e)),
        };
    }
    c
}

fn meta_arithmetic<'a>(key: &'a [u8], flags: &'a [MaFlag]) -> MetaArithmetic<'a> {
    let mut c = MetaArithmetic::new(key);
    for f in flags {
        c = match f {
            MaFlag::Base64 => c.base64_key(),
            MaFlag::Quiet => c.quiet(),
            MaFlag::Opaque(o) => c.opaque(&o.0[..]),
            MaFlag::ReturnValue => c.return_value(),
            MaFlag::ReturnCas => c.return_cas(),
            MaFlag::ReturnTtl => c.return_ttl(),
            MaFlag::ReturnKey => c.return_key(),
            MaFlag::Delta(n) => c.delta(*n),
            MaFlag::Autovivify(e) => c.vivify(Exptime::from_raw(*e)),
            MaFlag::Initial(n) => c.initial(*n),
            MaFlag::Ttl(e) => c.ttl(Exptime::from_raw(*e)),
            MaFlag::CompareCas(n) => c.compare_cas(*n),
            MaFlag::NewCas(n) => c.new_cas(*n),
            MaFlag::Mode(m) => c.mode((*m).into()),
        };
    }
    c
}

fn store<'a>(mode: StoreMode, key: &'a [u8], value: &'a [u8]) -> Store<'a> {
    match mode {
        StoreMode::Set => Store::set(key, value),
        StoreMode::Add => Store::add(key, value),
        StoreMode::Replace => Store::replace(key, value),
        StoreMode::Append => Store::append(key, value),
        StoreMode::Prepend => Store::prepend(key, value),
        StoreMode::Cas(unique) => Store::cas(key, value, unique),
    }
}

fn get(key: &Key, cas: bool, touch: Option<i32>) -> Get<'_> {
    let get = Get::new(&key.0[..]);
    let get = if cas { get.with_cas() } else { get };
    match touch {
        Some(e) => get.touch(Exptime::from_raw(e)),
        None => get,
    }
}

fn get_multi(keys: &[Key], cas: bool, touch: Option<i32>) -> GetMulti<'_, Key> {
    let get = GetMulti::new(keys);
    let get = if cas { get.with_cas() } else { get };
    match touch {
        Some(e) => get.touch(Exptime::from_raw(e)),
        None => get,
    }
}

/// `stats` in its form; the words of `StatsArgs::Words` as text in `words` (the codec
/// takes `&str`s: see `StatsArgs::Words`).
fn stats<'a>(args: &'a StatsArgs, words: &'a [&'a str]) -> Stats<'a> {
    match args {
        StatsArgs::None => Stats::new(),
        StatsArgs::Word(w) => Stats::arg(&w.0[..]),
        StatsArgs::Detail(on) => Stats::detail(*on),
        StatsArgs::DetailDump => Stats::detail_dump(),
        StatsArgs::CacheDump { class, limit } => Stats::cachedump(*class, *limit),
        StatsArgs::Words(_) => Stats::args(words),
    }
}

fn target(target: &Target) -> CrawlTarget<'_> {
    match target {
        Target::All => CrawlTarget::All,
        Target::Hash => CrawlTarget::Hash,
        Target::Classes(ids) => CrawlTarget::Classes(ids),
    }
}

fn crawler(cmd: &CrawlerCmd) -> LruCrawler<'_> {
    match cmd {
        CrawlerCmd::Crawl(t) => LruCrawler::crawl(target(t)),
        CrawlerCmd::Metadump(t) => LruCrawler::metadump(target(t)),
        CrawlerCmd::Mgdump(t) => LruCrawler::mgdump(target(t)),
        CrawlerCmd::Enable => LruCrawler::enable(),
        CrawlerCmd::Disable => LruCrawler::disable(),
        CrawlerCmd::Sleep(us) => LruCrawler::sleep(*us),
        CrawlerCmd::Tocrawl(n) => LruCrawler::tocrawl(*n),
    }
}

impl Cmd {
    /// Builds the codec's borrowed command and hands it to `f`, marked with how it is
    /// to be sent: a noreply variant as [`Sendable::Noreply`], everything else as
    /// [`Sendable::Reply`]. For clients other than a bare [`Codec`].
    pub fn with_command<R>(&self, f: impl FnOnce(Sendable<'_>) -> R) -> R {
        fn either<C: NoreplyCommand, R>(
            command: &C,
            noreply: bool,
            f: impl FnOnce(Sendable<'_>) -> R,
        ) -> R {
            if noreply {
                f(Sendable::Noreply(command))
            } else {
                f(Sendable::Reply(command))
            }
        }
        match self {
            Self::Get { key, cas, touch } => f(Sendable::Reply(&get(key, *cas, *touch))),
            Self::GetMulti { keys, cas, touch } => {
                f(Sendable::Reply(&get_multi(keys, *cas, *touch)))
            }
            Self::Store {
                mode,
                key,
                value,
                flags,
                exptime,
                noreply,
            } => {
                let c = store(*mode, key, value)
                    .client_flags(*flags)
                    .exptime(Exptime::from_raw(*exptime));
                either(&c, *noreply, f)
            }
            Self::Delete { key, noreply } => either(&Delete::new(&key.0[..]), *noreply, f),
            Self::Touch {
                key,
                exptime,
                noreply,
            } => either(
                &Touch::new(&key.0[..], Exptime::from_raw(*exptime)),
                *noreply,
                f,
            ),
            Self::Incr {
                key,
                delta,
                noreply,
            } => either(&Arithmetic::incr(&key.0[..], *delta), *noreply, f),
            Self::Decr {
                key,
                delta,
                noreply,
            } => either(&Arithmetic::decr(&key.0[..], *delta), *noreply, f),
            Self::Stats(args) => {
                let words: Vec<&str> = match args {
                    StatsArgs::Words(words) => words
                        .iter()
                        .map(|w| std::str::from_utf8(&w.0).unwrap_or("\u{fffd}"))
                        .collect(),
                    _ => Vec::new(),
                };
                f(Sendable::Reply(&stats(args, &words)))
            }
            Self::Version => f(Sendable::Reply(&Version)),
            Self::Verbosity { level, noreply } => either(&Verbosity::new(*level), *noreply, f),
            Self::FlushAll { delay, noreply } => {
                let c = match delay {
                    Some(d) => FlushAll::delay(Exptime::from_raw(*d as i32)),
                    None => FlushAll::new(),
                };
                either(&c, *noreply, f)
            }
            Self::CacheMemlimit { megabytes, noreply } => {
                either(&CacheMemlimit::new(*megabytes), *noreply, f)
            }
            Self::Quit => f(Sendable::Reply(&Quit)),
            Self::Shutdown { graceful } => f(Sendable::Reply(&if *graceful {
                Shutdown::graceful()
            } else {
                Shutdown::new()
            })),
            Self::MetaGet { key, flags } => f(Sendable::Reply(&meta_get(key, flags))),
            Self::MetaSet { key, value, flags } => f(Sendable::Reply(&meta_set(key, value, flags))),
            Self::MetaDelete { key, flags } => f(Sendable::Reply(&meta_delete(key, flags))),
            Self::MetaArithmetic { key, flags } => f(Sendable::Reply(&meta_arithmetic(key, flags))),
            Self::MetaNoop => f(Sendable::Reply(&MetaNoop)),
            Self::MetaDebug { key, base64 } => {
                let c = MetaDebug::new(&key.0[..]);
                f(Sendable::Reply(&if *base64 { c.base64_key() } else { c }))
            }
            Self::LruCrawler(cmd) => f(Sendable::Reply(&crawler(cmd))),
            Self::Slabs(SlabsCmd::Automove(mode)) => f(Sendable::Reply(&Slabs::automove(*mode))),
            Self::Slabs(SlabsCmd::Reassign { src, dst }) => f(Sendable::Reply(&match src {
                Some(src) => Slabs::reassign(*src, *dst),
                None => Slabs::reassign_any(*dst),
            })),
            Self::Lru(cmd) => f(Sendable::Reply(&match cmd {
                LruCmd::Tune {
                    hot_pct,
                    warm_pct,
                    hot_max_factor,
                    warm_max_factor,
                } => Lru::tune(
                    *hot_pct,
                    *warm_pct,
                    hot_max_factor.get(),
                    warm_max_factor.get(),
                ),
                LruCmd::Mode(mode) => Lru::mode(*mode),
                LruCmd::TempTtl(ttl) => Lru::temp_ttl(*ttl),
            })),
            Self::ConfigGetCluster => f(Sendable::Reply(&ConfigGetCluster)),
            Self::RefreshCerts => f(Sendable::Reply(&RefreshCerts)),
            Self::Watch { kinds } => f(Sendable::Reply(
                &kinds.iter().fold(Watch::new(), |w, k| w.kind(*k)),
            )),
            Self::Bget { keys } => f(Sendable::Reply(&Bget::new(keys))),
            Self::Raw { line, data, shape } => {
                let raw = Raw::new(&line[..], *shape);
                f(Sendable::Reply(&match data {
                    Some(data) => raw.data(&data.0[..]),
                    None => raw,
                }))
            }
        }
    }

    /// Sends the command: [`Codec::send`] for commands expecting a reply
    /// (`Ok(Some(token))`), [`Codec::send_noreply`] for the noreply variants
    /// (`Ok(None)`).
    pub fn send(
        &self,
        codec: &mut Codec,
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<Option<Token>, EncodeError> {
        self.with_command(|command| match command {
            Sendable::Reply(c) => codec.send(c, out, now).map(Some),
            Sendable::Noreply(c) => codec.send_noreply(c, out).map(|()| None),
        })
    }
}
