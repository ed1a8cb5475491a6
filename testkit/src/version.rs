//! The memcached release the model imitates, and the release each modelled
//! change of behaviour appeared in.

use std::fmt;

/// A memcached release number, `major.minor.patch`.
///
/// [`Options::version`](crate::Options::version) selects the release the
/// model imitates. Ordering is numeric, so gates read naturally:
///
/// ```
/// use memcache_testkit::Version;
///
/// assert!(Version::V1_6_18 < Version::new(1, 6, 27));
/// assert_eq!(Version::LATEST.to_string(), "1.6.45");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major number (1).
    pub major: u16,
    /// Minor number (6).
    pub minor: u16,
    /// Patch number.
    pub patch: u16,
}

impl Version {
    /// A release number.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// memcached 1.6.18 (Debian 12), the release the model was built
    /// against and the one the recorded transcripts come from. The default.
    pub const V1_6_18: Self = Self::new(1, 6, 18);

    /// memcached 1.6.45, the newest release whose changes the model knows
    /// (see the crate docs, "Server versions"). Later numbers behave like
    /// it.
    pub const V1_6_45: Self = Self::new(1, 6, 45);

    /// The newest release the model knows: [`V1_6_45`](Self::V1_6_45).
    pub const LATEST: Self = Self::V1_6_45;
}

impl Default for Version {
    fn default() -> Self {
        Self::V1_6_18
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The release each modelled change appeared in (all verified in
/// memcached's git history: the commit, and the first tag containing it).
pub(crate) mod since {
    use super::Version;

    /// `mg <key>` without flags is accepted, and `EN` echoes `O`/`k`
    /// (00259610a, "meta: allow mg without flags + reflect O/k on EN").
    pub(crate) const MG_BARE: Version = Version::new(1, 6, 18);
    /// `lru_crawler mgdump` (d2e0d6689).
    pub(crate) const MGDUMP: Version = Version::new(1, 6, 19);
    /// `ms … s` returns the stored size, `ms MA|MP N<ttl>` autovivifies
    /// (c04701654); `watch deletions` (9b3c946f4).
    pub(crate) const MS_SIZE: Version = Version::new(1, 6, 20);
    /// 1.6.20 only: `ms … c` also returns `s` (fixed by 2315e0c4c, "meta:
    /// fix ms c flag reflecting s flag", in 1.6.21).
    pub(crate) const MS_C_FIXED: Version = Version::new(1, 6, 21);
    /// `--enable-large-client-flags` and `client_flags_size` in
    /// `stats settings` (b1e4a7afc).
    pub(crate) const LARGE_FLAGS: Version = Version::new(1, 6, 22);
    /// `me` prints `exp` as remaining seconds, no longer negated
    /// (1776b021e); `lru_crawler metadump` adds `flags=` (e5a305085).
    pub(crate) const ME_EXP_FIXED: Version = Version::new(1, 6, 24);
    /// `flush_all` no longer uses cas: it unlinks what it flushes
    /// (8aad5ae07).
    pub(crate) const FLUSH_NO_CAS: Version = Version::new(1, 6, 25);
    /// `E<cas>` on mg/ms/md/ma (22480de78), `md … x` (563d05a82,
    /// c824841a0); the cas of a store is taken before the store is tried.
    pub(crate) const CAS_IN: Version = Version::new(1, 6, 27);
    /// `stats`: `slab_reassign_busy_nomem` replaces
    /// `slab_reassign_evictions_nomem`; `slab_automove_window` defaults to
    /// 10 (4c56c8d3e).
    pub(crate) const AUTOMOVE_V2: Version = Version::new(1, 6, 34);
    /// `lru_crawler metadump` lines end in `flags=<n> \n` (c46431105).
    pub(crate) const METADUMP_SPACE: Version = Version::new(1, 6, 39);
    /// `mg … C<cas>` drops `v` when the cas matches (836d736db);
    /// `slab_reassign_last_busy_status` (8c02ee82c); `num_napi_ids 0`
    /// (77e3e2f35).
    pub(crate) const MG_CAS: Version = Version::new(1, 6, 40);
    /// The request parser shared with the proxy (778cfd6e5): a classic
    /// storage line whose length parses but whose key, flags, exptime or
    /// cas does not has its data block swallowed (before, the block was
    /// read as commands).
    pub(crate) const PARSER_REWRITE: Version = Version::new(1, 6, 40);
    /// `lru_crawler metadump|mgdump` start with `OK` (e311571de).
    pub(crate) const DUMP_OK: Version = Version::new(1, 6, 43);
    /// Meta `F` above `u32::MAX` is refused on a build without large client
    /// flags (7c5f1bb4d, 17684bfa9).
    pub(crate) const STRICT_F: Version = Version::new(1, 6, 45);
}
