//! What the codec may know about the server: its version and a few settings, so it
//! can refuse at `send` what the server cannot take, instead of finding out from a
//! wrong answer.
//!
//! Without a profile the codec assumes nothing (today's behaviour): every command is
//! sent, client flags must fit 32 bits. A profile is given
//! ([`Codec::set_profile`](crate::Codec::set_profile)) or learned: send
//! [`Codec::send_probe`](crate::Codec::send_probe) (`version` and `stats settings`),
//! then build it from the two replies with [`ServerProfile::from_replies`].
//!
//! | With a profile of version | refused at `send` |
//! |---|---|
//! | before 1.6.10 | every meta command but `mn` (1.6.9's meta protocol differs: `ms` took its length as an `S` flag and answered `OK`, so today's `ms` line would run its value as a command) |
//! | before 1.6.18 | `mg <key>` with no flag (older servers answer `CLIENT_ERROR`; add any flag, e.g. [`MetaGet::return_key`](crate::command::MetaGet::return_key)) |
//! | before 1.6.20 | `ms` `s` (return size) and `ms` `N` (autovivify on append/prepend): 1.6.18 accepts and ignores them |
//! | before 1.6.27 | the `E` flag on any meta command, `md` `x` |
//! | before 1.6.40 | `mg` `C` (compare cas): 1.6.18 ignores it and sends the value anyway |
//! | 1.6.40 and later | `bget`, which 1.6.40 removed ([`EncodeError::Removed`](crate::EncodeError::Removed)) |
//!
//! and client flags above `u32::MAX` unless the server stores 8-byte flags
//! (`client_flags_size 8`, 1.6.22+ built with `--enable-large-client-flags`), values
//! larger than its `item_size_max`.

use std::fmt;

use thiserror::Error;

use crate::response::Response;

/// A memcached version, as `VERSION` reports it (`1.6.18`), vendor suffixes ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch.
    pub patch: u16,
}

impl ServerVersion {
    /// `major.minor.patch`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Reads a version string: `1.6.18`, and tolerantly `1.6.21-rc1`,
    /// `1.6.18-1+deb12u1`, `1.4.5_4_gaa7839e`, `1.6` (patch 0): the leading
    /// `digits.digits[.digits]`, anything after ignored.
    ///
    /// ```
    /// use memcache_codec::profile::ServerVersion;
    /// assert_eq!(ServerVersion::parse(b"1.6.18"), Some(ServerVersion::new(1, 6, 18)));
    /// assert_eq!(ServerVersion::parse(b"1.6.45-rc2"), Some(ServerVersion::new(1, 6, 45)));
    /// assert_eq!(ServerVersion::parse(b"unknown"), None);
    /// ```
    pub fn parse(text: &[u8]) -> Option<Self> {
        let mut parts = [0u16; 3];
        let mut rest = text;
        for (i, part) in parts.iter_mut().enumerate() {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 || digits > 5 {
                if i == 2 {
                    break;
                }
                return None;
            }
            *part = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
            rest = &rest[digits..];
            match rest.split_first() {
                Some((b'.', after)) if i < 2 => rest = after,
                _ if i >= 1 => break,
                _ => return None,
            }
        }
        Some(Self::new(parts[0], parts[1], parts[2]))
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Since when the server features the codec gates exist.
pub(crate) mod since {
    use super::ServerVersion;

    /// The meta protocol as it is spoken since (1.6.9 sent `ms` lengths as an `S`
    /// flag and answered `OK`, not `HD`).
    pub(crate) const META: ServerVersion = ServerVersion::new(1, 6, 10);
    /// `mg <key>` with no flag.
    pub(crate) const BARE_MG: ServerVersion = ServerVersion::new(1, 6, 18);
    /// `ms` `s` and `ms` `N` on append.
    pub(crate) const MS_SIZE_AND_VIVIFY: ServerVersion = ServerVersion::new(1, 6, 20);
    /// `me` prints `exp` as positive remaining seconds.
    pub(crate) const ME_EXP_POSITIVE: ServerVersion = ServerVersion::new(1, 6, 24);
    /// The `E` flag, `md` `x`.
    pub(crate) const NEW_CAS: ServerVersion = ServerVersion::new(1, 6, 27);
    /// `mg` `C`.
    pub(crate) const MG_COMPARE_CAS: ServerVersion = ServerVersion::new(1, 6, 40);
}

/// What the codec knows of the server it talks to. Every field is optional: what is
/// unknown is assumed to be like memcached 1.6.18's (nothing gated, 4-byte flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerProfile {
    /// The server's version.
    pub version: Option<ServerVersion>,
    /// `item_size_max`: the largest item (`-I`); a value at most this large.
    pub item_size_max: Option<u64>,
    /// `client_flags_size`: 4, or 8 on a server built with large client flags.
    pub client_flags_size: Option<u8>,
    /// ASCII authentication (`-Y`) is on: commands other than the auth `set` fail
    /// with `CLIENT_ERROR unauthenticated` until [`Auth`](crate::command::Auth) succeeds.
    pub auth_enabled_ascii: Option<bool>,
}

impl ServerProfile {
    /// Nothing known.
    pub fn new() -> Self {
        Self::default()
    }

    /// With this version.
    pub fn with_version(mut self, version: ServerVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// With this `item_size_max`.
    pub fn with_item_size_max(mut self, bytes: u64) -> Self {
        self.item_size_max = Some(bytes);
        self
    }

    /// With this `client_flags_size` (4 or 8).
    pub fn with_client_flags_size(mut self, bytes: u8) -> Self {
        self.client_flags_size = Some(bytes);
        self
    }

    /// With ASCII authentication on or off.
    pub fn with_auth_enabled_ascii(mut self, on: bool) -> Self {
        self.auth_enabled_ascii = Some(on);
        self
    }

    /// Whether the server stores 8-byte client flags.
    pub fn large_client_flags(&self) -> bool {
        self.client_flags_size == Some(8)
    }

    /// Reads the replies to [`Codec::send_probe`](crate::Codec::send_probe)'s two
    /// commands: `version` and `stats settings`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use memcache_codec::Response;
    /// use memcache_codec::profile::{ServerProfile, ServerVersion};
    /// # use memcache_codec::Codec;
    /// # use memcache_codec::command::Stats;
    /// # let mut codec = Codec::new();
    /// # let mut out = bytes::BytesMut::new();
    /// # let now = std::time::Instant::now();
    /// # codec.send(&Stats::arg("settings"), &mut out, now)?;
    /// # let mut input = bytes::BytesMut::from(&b"STAT item_size_max 2097152\r\nSTAT client_flags_size 8\r\nSTAT auth_enabled_ascii no\r\nEND\r\n"[..]);
    /// # let settings = codec.decode(&mut input, now)?.unwrap().result?;
    /// let version = Response::Version(Bytes::from_static(b"1.6.40"));
    /// let profile = ServerProfile::from_replies(&version, &settings)?;
    /// assert_eq!(profile.version, Some(ServerVersion::new(1, 6, 40)));
    /// assert_eq!(profile.item_size_max, Some(2 << 20));
    /// assert!(profile.large_client_flags());
    /// assert_eq!(profile.auth_enabled_ascii, Some(false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_replies(version: &Response, settings: &Response) -> Result<Self, ProfileError> {
        let Response::Version(text) = version else {
            return Err(ProfileError::NotVersion);
        };
        let version = ServerVersion::parse(text).ok_or_else(|| ProfileError::BadVersion {
            text: String::from_utf8_lossy(text).into_owned(),
        })?;
        let Response::Stats(lines) = settings else {
            return Err(ProfileError::NotSettings);
        };
        let number = |name: &'static str| -> Result<Option<u64>, ProfileError> {
            lines
                .value(name)
                .map(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .ok_or(ProfileError::BadSetting { name })
                })
                .transpose()
        };
        let client_flags_size = match number("client_flags_size")? {
            None => None,
            Some(n @ (4 | 8)) => Some(n as u8),
            Some(_) => {
                return Err(ProfileError::BadSetting {
                    name: "client_flags_size",
                });
            }
        };
        // `no`, or (with -Y) `yes` or the authfile's path.
        let auth_enabled_ascii = lines.value("auth_enabled_ascii").map(|v| v != b"no");
        Ok(Self {
            version: Some(version),
            item_size_max: number("item_size_max")?,
            client_flags_size,
            auth_enabled_ascii,
        })
    }
}

/// The replies to a probe could not be read as a profile.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The first reply is not `VERSION`.
    #[error("the version probe did not complete with a version")]
    NotVersion,
    /// The version string has no `major.minor[.patch]`.
    #[error("unreadable server version {text:?}")]
    BadVersion {
        /// What the server sent.
        text: String,
    },
    /// The second reply is not `STAT` lines.
    #[error("the settings probe did not complete with stats lines")]
    NotSettings,
    /// A setting the profile reads is not what memcached prints.
    #[error("unreadable setting {name}")]
    BadSetting {
        /// The setting.
        name: &'static str,
    },
}

/// The tokens of [`Codec::send_probe`](crate::Codec::send_probe)'s two commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// `version`.
    pub version: crate::Token,
    /// `stats settings`.
    pub settings: crate::Token,
}

/// What encoding checks against: the profile, and the config's switch for 8-byte
/// flags, folded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Server {
    pub(crate) version: Option<ServerVersion>,
    pub(crate) large_client_flags: bool,
    pub(crate) item_size_max: Option<u64>,
    /// Known to run without ASCII authentication.
    pub(crate) auth_disabled: bool,
}

impl Server {
    pub(crate) fn of(profile: Option<&ServerProfile>, large_client_flags: bool) -> Self {
        Self {
            version: profile.and_then(|p| p.version),
            large_client_flags: large_client_flags
                || profile.is_some_and(ServerProfile::large_client_flags),
            item_size_max: profile.and_then(|p| p.item_size_max),
            auth_disabled: profile.is_some_and(|p| p.auth_enabled_ascii == Some(false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_tolerantly_and_ordered() {
        type Case = (&'static [u8], Option<(u16, u16, u16)>);
        let cases: &[Case] = &[
            (b"1.6.18", Some((1, 6, 18))),
            (b"1.6.9", Some((1, 6, 9))),
            (b"1.6.21-rc1", Some((1, 6, 21))),
            (b"1.6.18-1+deb12u1", Some((1, 6, 18))),
            (b"1.4.5_4_gaa7839e", Some((1, 4, 5))),
            (b"1.6", Some((1, 6, 0))),
            (b"10.20.30 extra", Some((10, 20, 30))),
            (b"", None),
            (b"v1.6.18", None),
            (b"1", None),
            (b"1.", None),
            (b"999999.1.1", None),
        ];
        for (text, want) in cases {
            let got = ServerVersion::parse(text).map(|v| (v.major, v.minor, v.patch));
            assert_eq!(got, *want, "{:?}", text.escape_ascii().to_string());
        }
        assert!(ServerVersion::new(1, 6, 9) < ServerVersion::new(1, 6, 18));
        assert!(ServerVersion::new(1, 6, 40) > ServerVersion::new(1, 5, 99));
        assert_eq!(ServerVersion::new(1, 6, 18).to_string(), "1.6.18");
        assert!(since::BARE_MG < since::NEW_CAS && since::NEW_CAS < since::MG_COMPARE_CAS);
        assert!(since::MS_SIZE_AND_VIVIFY < since::ME_EXP_POSITIVE);
    }
}
