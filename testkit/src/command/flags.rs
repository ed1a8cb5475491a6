//! Meta flags: one enum per meta command with a variant per builder method, and what
//! a list of them amounts to once applied in order ([`MetaFlags`]).

use std::fmt;

use super::{MaMode, MsMode, Opaque};

/// The token a meta flag carries after its letter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FlagToken<'a> {
    /// None (`v`, `q`, `k`, ...).
    Bare,
    /// `O<opaque>`.
    Opaque(&'a Opaque),
    /// A signed expiration (`T`, `N`).
    Exptime(i32),
    /// A 32-bit number (`F`, `R`).
    U32(u32),
    /// A 64-bit number (`C`, `E`, `D`, `J`).
    U64(u64),
    /// A mode letter (`M`).
    Mode(u8),
}

/// A meta flag: one variant of [`MgFlag`], [`MsFlag`], [`MdFlag`] or [`MaFlag`], each
/// the call of one builder method.
pub trait Flag: Clone + fmt::Debug {
    /// The letter written on the wire.
    fn letter(&self) -> u8;
    /// The token written after the letter.
    fn token(&self) -> FlagToken<'_>;
    /// The opaque, for `O`.
    fn opaque_mut(&mut self) -> Option<&mut Opaque>;
    /// The cas unique compared against, for `C`.
    fn compare_cas_mut(&mut self) -> Option<&mut u64>;
}

/// Implements [`Flag`] from a table of `variant => letter, token`.
macro_rules! flags {
    (
        $(#[$doc:meta])* $name:ident {
            $($(#[$vdoc:meta])* $variant:ident $(($arg:ty))? => $letter:literal, $token:ident;)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub enum $name {
            $($(#[$vdoc])* $variant $(($arg))?,)*
        }

        impl Flag for $name {
            fn letter(&self) -> u8 {
                match self {
                    $(flags!(@pattern $variant $(($arg))?) => $letter,)*
                }
            }

            fn token(&self) -> FlagToken<'_> {
                match self {
                    $(flags!(@bind v $variant $(($arg))?) => flags!(@token v $token $(($arg))?),)*
                }
            }

            fn opaque_mut(&mut self) -> Option<&mut Opaque> {
                match self {
                    Self::Opaque(opaque) => Some(opaque),
                    _ => None,
                }
            }

            fn compare_cas_mut(&mut self) -> Option<&mut u64> {
                match self {
                    Self::CompareCas(unique) => Some(unique),
                    _ => None,
                }
            }
        }
    };
    (@pattern $variant:ident) => { Self::$variant };
    (@pattern $variant:ident ($arg:ty)) => { Self::$variant(_) };
    // `$v` names the bound value; it comes from the outer expansion so that the
    // pattern and the token expression share it.
    (@bind $v:ident $variant:ident) => { Self::$variant };
    (@bind $v:ident $variant:ident ($arg:ty)) => { Self::$variant($v) };
    (@token $v:ident Bare) => { FlagToken::Bare };
    (@token $v:ident Mode ($arg:ty)) => { FlagToken::Mode($v.letter()) };
    (@token $v:ident Opaque ($arg:ty)) => { FlagToken::Opaque($v) };
    (@token $v:ident $token:ident ($arg:ty)) => { FlagToken::$token(*$v) };
}

flags! {
    /// `mg` flags, one variant per [`MetaGet`](memcache_codec::command::MetaGet) builder method.
    MgFlag {
        /// `b`: [`base64_key`](memcache_codec::command::MetaGet::base64_key)
        Base64 => b'b', Bare;
        /// `q`: [`quiet`](memcache_codec::command::MetaGet::quiet)
        Quiet => b'q', Bare;
        /// `O`: [`opaque`](memcache_codec::command::MetaGet::opaque)
        Opaque(Opaque) => b'O', Opaque;
        /// `v`: [`return_value`](memcache_codec::command::MetaGet::return_value)
        ReturnValue => b'v', Bare;
        /// `c`: [`return_cas`](memcache_codec::command::MetaGet::return_cas)
        ReturnCas => b'c', Bare;
        /// `f`: [`return_client_flags`](memcache_codec::command::MetaGet::return_client_flags)
        ReturnClientFlags => b'f', Bare;
        /// `h`: [`return_hit_before`](memcache_codec::command::MetaGet::return_hit_before)
        ReturnHitBefore => b'h', Bare;
        /// `k`: [`return_key`](memcache_codec::command::MetaGet::return_key)
        ReturnKey => b'k', Bare;
        /// `l`: [`return_last_access`](memcache_codec::command::MetaGet::return_last_access)
        ReturnLastAccess => b'l', Bare;
        /// `s`: [`return_size`](memcache_codec::command::MetaGet::return_size)
        ReturnSize => b's', Bare;
        /// `t`: [`return_ttl`](memcache_codec::command::MetaGet::return_ttl)
        ReturnTtl => b't', Bare;
        /// `u`: [`no_bump`](memcache_codec::command::MetaGet::no_bump)
        NoBump => b'u', Bare;
        /// `T`: [`ttl`](memcache_codec::command::MetaGet::ttl) (a raw exptime)
        Touch(i32) => b'T', Exptime;
        /// `N`: [`vivify`](memcache_codec::command::MetaGet::vivify) (a raw exptime)
        Vivify(i32) => b'N', Exptime;
        /// `R`: [`recache`](memcache_codec::command::MetaGet::recache)
        Recache(u32) => b'R', U32;
        /// `E`: [`new_cas`](memcache_codec::command::MetaGet::new_cas)
        NewCas(u64) => b'E', U64;
        /// `C`: [`compare_cas`](memcache_codec::command::MetaGet::compare_cas)
        CompareCas(u64) => b'C', U64;
    }
}

flags! {
    /// `ms` flags, one variant per [`MetaSet`](memcache_codec::command::MetaSet) builder method.
    MsFlag {
        /// `b`: [`base64_key`](memcache_codec::command::MetaSet::base64_key)
        Base64 => b'b', Bare;
        /// `q`: [`quiet`](memcache_codec::command::MetaSet::quiet)
        Quiet => b'q', Bare;
        /// `O`: [`opaque`](memcache_codec::command::MetaSet::opaque)
        Opaque(Opaque) => b'O', Opaque;
        /// `c`: [`return_cas`](memcache_codec::command::MetaSet::return_cas)
        ReturnCas => b'c', Bare;
        /// `k`: [`return_key`](memcache_codec::command::MetaSet::return_key)
        ReturnKey => b'k', Bare;
        /// `I`: [`invalidate`](memcache_codec::command::MetaSet::invalidate)
        Invalidate => b'I', Bare;
        /// `s`: [`return_size`](memcache_codec::command::MetaSet::return_size)
        ReturnSize => b's', Bare;
        /// `F`: [`client_flags`](memcache_codec::command::MetaSet::client_flags)
        ClientFlags(u64) => b'F', U64;
        /// `T`: [`ttl`](memcache_codec::command::MetaSet::ttl) (a raw exptime)
        Ttl(i32) => b'T', Exptime;
        /// `C`: [`compare_cas`](memcache_codec::command::MetaSet::compare_cas)
        CompareCas(u64) => b'C', U64;
        /// `E`: [`new_cas`](memcache_codec::command::MetaSet::new_cas)
        NewCas(u64) => b'E', U64;
        /// `N`: [`vivify`](memcache_codec::command::MetaSet::vivify) (a raw exptime)
        Autovivify(i32) => b'N', Exptime;
        /// `M`: [`mode`](memcache_codec::command::MetaSet::mode)
        Mode(MsMode) => b'M', Mode;
    }
}

flags! {
    /// `md` flags, one variant per [`MetaDelete`](memcache_codec::command::MetaDelete) builder method.
    MdFlag {
        /// `b`: [`base64_key`](memcache_codec::command::MetaDelete::base64_key)
        Base64 => b'b', Bare;
        /// `q`: [`quiet`](memcache_codec::command::MetaDelete::quiet)
        Quiet => b'q', Bare;
        /// `O`: [`opaque`](memcache_codec::command::MetaDelete::opaque)
        Opaque(Opaque) => b'O', Opaque;
        /// `k`: [`return_key`](memcache_codec::command::MetaDelete::return_key)
        ReturnKey => b'k', Bare;
        /// `I`: [`invalidate`](memcache_codec::command::MetaDelete::invalidate)
        Invalidate => b'I', Bare;
        /// `x`: [`remove_value`](memcache_codec::command::MetaDelete::remove_value)
        RemoveValue => b'x', Bare;
        /// `C`: [`compare_cas`](memcache_codec::command::MetaDelete::compare_cas)
        CompareCas(u64) => b'C', U64;
        /// `E`: [`new_cas`](memcache_codec::command::MetaDelete::new_cas)
        NewCas(u64) => b'E', U64;
        /// `T`: [`ttl`](memcache_codec::command::MetaDelete::ttl) (a raw exptime)
        Ttl(i32) => b'T', Exptime;
    }
}

flags! {
    /// `ma` flags, one variant per [`MetaArithmetic`](memcache_codec::command::MetaArithmetic)
    /// builder method.
    MaFlag {
        /// `b`: [`base64_key`](memcache_codec::command::MetaArithmetic::base64_key)
        Base64 => b'b', Bare;
        /// `q`: [`quiet`](memcache_codec::command::MetaArithmetic::quiet)
        Quiet => b'q', Bare;
        /// `O`: [`opaque`](memcache_codec::command::MetaArithmetic::opaque)
        Opaque(Opaque) => b'O', Opaque;
        /// `v`: [`return_value`](memcache_codec::command::MetaArithmetic::return_value)
        ReturnValue => b'v', Bare;
        /// `c`: [`return_cas`](memcache_codec::command::MetaArithmetic::return_cas)
        ReturnCas => b'c', Bare;
        /// `t`: [`return_ttl`](memcache_codec::command::MetaArithmetic::return_ttl)
        ReturnTtl => b't', Bare;
        /// `k`: [`return_key`](memcache_codec::command::MetaArithmetic::return_key)
        ReturnKey => b'k', Bare;
        /// `D`: [`delta`](memcache_codec::command::MetaArithmetic::delta)
        Delta(u64) => b'D', U64;
        /// `N`: [`vivify`](memcache_codec::command::MetaArithmetic::vivify) (a raw exptime)
        Autovivify(i32) => b'N', Exptime;
        /// `J`: [`initial`](memcache_codec::command::MetaArithmetic::initial)
        Initial(u64) => b'J', U64;
        /// `T`: [`ttl`](memcache_codec::command::MetaArithmetic::ttl) (a raw exptime)
        Ttl(i32) => b'T', Exptime;
        /// `C`: [`compare_cas`](memcache_codec::command::MetaArithmetic::compare_cas)
        CompareCas(u64) => b'C', U64;
        /// `E`: [`new_cas`](memcache_codec::command::MetaArithmetic::new_cas)
        NewCas(u64) => b'E', U64;
        /// `M`: [`mode`](memcache_codec::command::MetaArithmetic::mode)
        Mode(MaMode) => b'M', Mode;
    }
}

/// What a meta command's flags amount to once its builder methods ran in order: each
/// letter once, at the position of its first call, with the token of its last call.
/// These are the flags the codec writes.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct MetaFlags {
    letters: Vec<u8>,
    /// `O`
    pub opaque: Option<Opaque>,
    /// `T` (`ttl` on every command), a raw exptime.
    pub ttl: Option<i32>,
    /// `N` (`vivify` on every command that has it), a raw exptime.
    pub vivify: Option<i32>,
    /// `R`
    pub recache: Option<u32>,
    /// `C`
    pub compare_cas: Option<u64>,
    /// `E`
    pub new_cas: Option<u64>,
    /// `F`
    pub client_flags: Option<u64>,
    /// `M`, its letter.
    pub mode: Option<u8>,
    /// `D`
    pub delta: Option<u64>,
    /// `J`
    pub initial: Option<u64>,
}

impl MetaFlags {
    /// Applies `flags` in order, as the builder methods would.
    pub fn of<F: Flag>(flags: &[F]) -> Self {
        let mut applied = Self::default();
        for flag in flags {
            applied.apply(flag);
        }
        applied
    }

    /// Applies one builder call.
    pub fn apply<F: Flag>(&mut self, flag: &F) {
        let letter = flag.letter();
        if !self.has(letter) {
            self.letters.push(letter);
        }
        match (letter, flag.token()) {
            (b'O', FlagToken::Opaque(opaque)) => self.opaque = Some(opaque.clone()),
            (b'T', FlagToken::Exptime(t)) => self.ttl = Some(t),
            (b'N', FlagToken::Exptime(t)) => self.vivify = Some(t),
            (b'R', FlagToken::U32(n)) => self.recache = Some(n),
            (b'C', FlagToken::U64(n)) => self.compare_cas = Some(n),
            (b'E', FlagToken::U64(n)) => self.new_cas = Some(n),
            (b'F', FlagToken::U64(n)) => self.client_flags = Some(n),
            (b'M', FlagToken::Mode(m)) => self.mode = Some(m),
            (b'D', FlagToken::U64(n)) => self.delta = Some(n),
            (b'J', FlagToken::U64(n)) => self.initial = Some(n),
            (_, token) => debug_assert_eq!(token, FlagToken::Bare, "{flag:?}"),
        }
    }

    /// The letters, each once, in the order they are written.
    pub fn letters(&self) -> &[u8] {
        &self.letters
    }

    /// Whether `letter` is among the flags.
    pub fn has(&self, letter: u8) -> bool {
        self.letters.contains(&letter)
    }
}

/// Keeps each flag letter once, at its first position, with its last value: what the
/// builders do when a method is called twice.
pub fn normalize_flags<F: Flag>(flags: &[F]) -> Vec<F> {
    let mut out: Vec<F> = Vec::with_capacity(flags.len());
    for flag in flags {
        match out.iter_mut().find(|f| f.letter() == flag.letter()) {
            Some(slot) => *slot = flag.clone(),
            None => out.push(flag.clone()),
        }
    }
    out
}
