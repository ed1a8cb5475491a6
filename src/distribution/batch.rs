//! Multi-key retrievals across servers: one command per server, one result in the
//! caller's key order.
//!
//! [`Distribution::split`](super::Distribution::split) groups the keys by the server
//! [`route`](super::Distribution::route) names. The caller sends each group on that
//! server's connection (its own [`Codec`](crate::Codec)): a [`GetMulti`](crate::command::GetMulti)
//! of the group's keys, or a [`Codec::send_quiet_batch`](crate::Codec::send_quiet_batch)
//! of one [`MetaGet`](crate::command::MetaGet) per key, in the group's order. Completions go
//! into a [`ValuesMerge`] or a [`MetaMerge`], in any order across servers; the merge
//! puts each answer at its key's position.

use bytes::Bytes;

use crate::command::QuietBatch;
use crate::response::{Item, MetaResponse};
use crate::{CommandError, Completion, Response};

use super::Unavailable;

/// The keys of one multi-key retrieval, grouped by server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    groups: Vec<Group>,
    /// For each server, the index of its group (`usize::MAX`: none).
    group_of: Vec<usize>,
    unavailable: Vec<(usize, Unavailable)>,
    len: usize,
}

/// The keys that go to one server, as positions in the caller's key list, in the
/// caller's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    server: usize,
    positions: Vec<usize>,
}

impl Group {
    /// The server (index in the distribution's list).
    pub fn server(&self) -> usize {
        self.server
    }

    /// Positions of this group's keys in the caller's list, ascending.
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// This group's keys, picked out of the caller's list: what to pass to
    /// [`GetMulti::new`](crate::command::GetMulti::new), or to build one `MetaGet` each from.
    ///
    /// # Panics
    ///
    /// If `keys` is shorter than the list that was split.
    pub fn keys<'k, K>(&self, keys: &'k [K]) -> Vec<&'k K> {
        self.positions.iter().map(|&i| &keys[i]).collect()
    }
}

impl Split {
    pub(crate) fn new(servers: usize, len: usize) -> Self {
        Self {
            groups: Vec::new(),
            group_of: vec![usize::MAX; servers],
            unavailable: Vec::new(),
            len,
        }
    }

    pub(crate) fn push(&mut self, position: usize, route: Result<usize, Unavailable>) {
        match route {
            Ok(server) => {
                let g = self.group_of[server];
                if g == usize::MAX {
                    self.group_of[server] = self.groups.len();
                    self.groups.push(Group {
                        server,
                        positions: vec![position],
                    });
                } else {
                    self.groups[g].positions.push(position);
                }
            }
            Err(why) => self.unavailable.push((position, why)),
        }
    }

    /// Groups in order of their first key.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The group of `server`, if any key goes there.
    pub fn group(&self, server: usize) -> Option<&Group> {
        self.groups.get(*self.group_of.get(server)?)
    }

    /// Keys not sent anywhere, by position, and why: their server is down under
    /// [`Policy::FailFast`](super::Policy::FailFast), or every server is.
    pub fn unavailable(&self) -> &[(usize, Unavailable)] {
        &self.unavailable
    }

    /// How many keys were split.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a split of no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A merge for the servers' [`GetMulti`](crate::command::GetMulti) completions. `keys`
    /// is the list that was split.
    pub fn merge_values<'a, K: AsRef<[u8]>>(&'a self, keys: &'a [K]) -> ValuesMerge<'a, K> {
        ValuesMerge {
            split: self,
            keys,
            outcomes: self.outcomes(),
            merged: vec![false; self.groups.len()],
        }
    }

    /// A merge for the completions of the servers' quiet `mg` batches
    /// ([`Codec::send_quiet_batch`](crate::Codec::send_quiet_batch)).
    pub fn merge_meta(&self) -> MetaMerge<'_> {
        MetaMerge {
            split: self,
            outcomes: self.outcomes(),
        }
    }

    fn outcomes<T>(&self) -> Vec<Outcome<T>> {
        let mut outcomes: Vec<Outcome<T>> = (0..self.len).map(|_| Outcome::Pending).collect();
        for &(position, why) in &self.unavailable {
            outcomes[position] = Outcome::Unavailable(why);
        }
        outcomes
    }

    fn group_index(&self, server: usize) -> Result<usize, MergeError> {
        match self.group_of.get(server) {
            Some(&g) if g != usize::MAX => Ok(g),
            _ => Err(MergeError::NoGroup { server }),
        }
    }
}

/// What one key of a split retrieval came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome<T> {
    /// Its server's answer is not merged yet.
    Pending,
    /// Its server answered: for a `get`, the item or `None` for a miss; for an
    /// `mg`, the reply (a miss is [`MetaStatus::Miss`](crate::response::MetaStatus::Miss)).
    Done(T),
    /// Its server's command failed: memcached's error line, or the connection.
    Failed(CommandError),
    /// Not sent: see [`Split::unavailable`].
    Unavailable(Unavailable),
}

impl<T> Outcome<T> {
    /// The answer, if the server gave one.
    pub fn done(self) -> Option<T> {
        match self {
            Self::Done(t) => Some(t),
            _ => None,
        }
    }
}

/// Why a completion could not be merged. Each is a mix-up by the caller (a
/// completion given to the wrong merge, or twice); the merge is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No key of the split goes to this server.
    #[error("no key of this split goes to server {server}")]
    NoGroup {
        /// The server given.
        server: usize,
    },
    /// This server's completion was merged already.
    #[error("server {server}'s completion was merged already")]
    AlreadyMerged {
        /// The server given.
        server: usize,
    },
    /// A multi-key retrieval completes with [`Response::Items`]; this did not.
    #[error("a multi-key retrieval completed with another kind of response")]
    NotValues,
    /// An item whose key is not among the group's keys, in order.
    #[error("server {server} returned key {key:?}, not one of its keys in order")]
    UnexpectedKey {
        /// The server given.
        server: usize,
        /// The key the item came with.
        key: Bytes,
    },
    /// The batch holds another number of `mg`s than the group has keys.
    #[error("the batch holds {batch} mg commands, but server {server} has {group} keys")]
    BatchSize {
        /// The server given.
        server: usize,
        /// `mg`s in the batch.
        batch: usize,
        /// Keys in the group.
        group: usize,
    },
    /// The key list given to [`Split::merge_values`] is not the one that was split.
    #[error("the split has {split} keys, the merge was given {keys}")]
    KeyCount {
        /// Keys split.
        split: usize,
        /// Keys given.
        keys: usize,
    },
    /// The completion is not one of the batch's `mg`s (nor its fence).
    #[error("completion {token} is not one of the batch's commands")]
    NotInBatch {
        /// The completion's token number.
        token: u64,
    },
    /// A `mg` completed with another kind of response.
    #[error("an mg completed with another kind of response")]
    NotMeta,
}

/// Merges the [`GetMulti`](crate::command::GetMulti) completions of a [`Split`]: each hit
/// goes to its key's position, each key its server did not return is a miss.
///
/// [`items`](Self::items) then gives what one server holding every key would have
/// answered: the hits in the caller's key order.
#[derive(Debug, Clone)]
pub struct ValuesMerge<'a, K> {
    split: &'a Split,
    keys: &'a [K],
    outcomes: Vec<Outcome<Option<Item>>>,
    merged: Vec<bool>,
}

impl<K: AsRef<[u8]>> ValuesMerge<'_, K> {
    /// Merges the completion of the `GetMulti` sent to `server` (its group's keys,
    /// in the group's order). A failure marks each of its keys failed.
    pub fn add(
        &mut self,
        server: usize,
        result: Result<Response, CommandError>,
    ) -> Result<(), MergeError> {
        if self.keys.len() != self.split.len {
            return Err(MergeError::KeyCount {
                split: self.split.len,
                keys: self.keys.len(),
            });
        }
        let g = self.split.group_index(server)?;
        if self.merged[g] {
            return Err(MergeError::AlreadyMerged { server });
        }
        let positions = &self.split.groups[g].positions;
        let values = match result {
            Ok(Response::Items(values)) => values,
            Ok(_) => return Err(MergeError::NotValues),
            Err(e) => {
                for &p in positions {
                    self.outcomes[p] = Outcome::Failed(e.clone());
                }
                self.merged[g] = true;
                return Ok(());
            }
        };
        // Items come in request order, misses left out: walk the keys alongside.
        let mut placed: Vec<(usize, Item)> = Vec::with_capacity(values.len());
        let mut next = 0;
        for item in &values {
            let found = positions[next..]
                .iter()
                .position(|&p| self.keys[p].as_ref() == item.key);
            let Some(offset) = found else {
                return Err(MergeError::UnexpectedKey {
                    server,
                    key: item.key_bytes(),
                });
            };
            placed.push((positions[next + offset], item.to_item()));
            next += offset + 1;
        }
        for &p in positions {
            self.outcomes[p] = Outcome::Done(None);
        }
        for (p, item) in placed {
            self.outcomes[p] = Outcome::Done(Some(item));
        }
        self.merged[g] = true;
        Ok(())
    }

    /// True once every group's completion is merged.
    pub fn is_complete(&self) -> bool {
        self.merged.iter().all(|&m| m)
    }

    /// What each key came to, in the caller's order.
    pub fn outcomes(&self) -> &[Outcome<Option<Item>>] {
        &self.outcomes
    }

    /// What each key came to, in the caller's order.
    pub fn into_outcomes(self) -> Vec<Outcome<Option<Item>>> {
        self.outcomes
    }

    /// The hits, in the caller's key order (a key listed twice, twice): the items
    /// of the [`Items`](crate::response::Items) one server holding every key would return.
    pub fn items(&self) -> Vec<Item> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Done(Some(item)) => Some(item.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Merges the completions of the quiet `mg` batches of a [`Split`]: each reply goes
/// to its key's position (a silent miss arrives as an inferred
/// [`MetaStatus::Miss`](crate::response::MetaStatus::Miss), as the codec completes it).
#[derive(Debug, Clone)]
pub struct MetaMerge<'a> {
    split: &'a Split,
    outcomes: Vec<Outcome<MetaResponse>>,
}

impl MetaMerge<'_> {
    /// Merges one completion from `server`'s connection; `batch` is what
    /// `send_quiet_batch` returned for the group's `mg`s (one per key, in the
    /// group's order). The fence's completion is accepted and changes nothing.
    pub fn add(
        &mut self,
        server: usize,
        batch: &QuietBatch,
        completion: Completion,
    ) -> Result<(), MergeError> {
        let g = self.split.group_index(server)?;
        let positions = &self.split.groups[g].positions;
        if batch.len() != positions.len() {
            return Err(MergeError::BatchSize {
                server,
                batch: batch.len(),
                group: positions.len(),
            });
        }
        if completion.token == batch.fence() {
            return Ok(());
        }
        let token = completion.token.index();
        let i = batch
            .token(0)
            .and_then(|first| token.checked_sub(first.index()))
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < batch.len())
            .ok_or(MergeError::NotInBatch { token })?;
        let p = positions[i];
        if !matches!(self.outcomes[p], Outcome::Pending) {
            return Err(MergeError::AlreadyMerged { server });
        }
        self.outcomes[p] = match completion.result {
            Ok(Response::Meta(reply)) => Outcome::Done(reply),
            Ok(_) => return Err(MergeError::NotMeta),
            Err(e) => Outcome::Failed(e),
        };
        Ok(())
    }

    /// True once every key sent has its outcome.
    pub fn is_complete(&self) -> bool {
        !self.outcomes.iter().any(|o| matches!(o, Outcome::Pending))
    }

    /// What each key came to, in the caller's order.
    pub fn outcomes(&self) -> &[Outcome<MetaResponse>] {
        &self.outcomes
    }

    /// What each key came to, in the caller's order.
    pub fn into_outcomes(self) -> Vec<Outcome<MetaResponse>> {
        self.outcomes
    }
}
