//! memcache-codec (manual to be written).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(unused_must_use)]

mod codec;
mod command;
mod error;
mod key;
mod limits;
mod pending;
mod receive;
mod response;

pub use codec::{Codec, Completion, QuietBatch, Token};
pub use command::{
    ArithMode, CacheMemlimit, Command, Decr, Delete, Exptime, FlushAll, Get, GetMulti, Incr,
    MetaArithmetic, MetaDebugCommand, MetaDelete, MetaGet, MetaNoop, MetaSet, MetaSetMode,
    NoreplyCommand, Quit, Shutdown, Stats, Store, Touch, Verbosity, Version,
};
pub use error::{
    CommandError, ConnectionError, DecodeError, EncodeError, KeyError, ServerError,
    ServerErrorKind, Snippet,
};
pub use key::{MAX_KEY_LEN, check_key};
pub use limits::{Config, Limits};
pub use response::{
    CacheDumpItem, Item, MetaDebug, MetaResponse, MetaStatus, PrefixStats, Response, Stat, Ttl,
    Value,
};
