//! libmemcached's ketama continuum (`update_continuum` in `hosts.cc`), and a lookup
//! that finds the first point at or after a hash in constant time.
//!
//! Points are named `host-i` when the port is 11211, else `host:port-i`, for `i` from
//! 0. Weighted: each name's MD5 digest gives four points (its four little-endian
//! words), and a server gets `floor(weight / total * 40 * servers + 1e-10) * 4`
//! points, computed in single precision as libmemcached computes it (160 for every
//! server when the weights are equal). Unweighted: 100 names per server, one point
//! each, the key hash of the name. Points are sorted by value, equal values by
//! server; a key goes to the first point at or after its hash, wrapping to the first.

use std::fmt::Write as _;

use super::Server;
use super::hash::{LibmemcachedHash, md5};

/// Points per server of libmemcached's weighted ketama (`MEMCACHED_POINTS_PER_SERVER_KETAMA`).
const WEIGHTED_POINTS: f32 = 160.0;
/// Points per server of unweighted ketama (`MEMCACHED_POINTS_PER_SERVER`).
const UNWEIGHTED_POINTS: u32 = 100;

/// A sorted ring of points, each owned by a server (by position in the list the
/// ring was built from), and a table over the top bits of the hash that says where
/// each range of hashes starts in it.
#[derive(Debug, Clone)]
pub(crate) struct Continuum {
    /// Point values, ascending.
    values: Vec<u32>,
    /// The server of each point.
    servers: Vec<u32>,
    /// `starts[b]` is the first point whose value is at least `b << shift`;
    /// `starts[buckets] == values.len()`.
    starts: Vec<u32>,
    shift: u32,
}

impl Continuum {
    /// libmemcached's weighted continuum (`MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`).
    pub(crate) fn weighted(servers: &[&Server]) -> Self {
        let live = servers.len() as f32;
        let total: u64 = servers.iter().map(|s| u64::from(s.weight())).sum();
        let mut points = Vec::with_capacity(servers.len() * 160);
        let mut name = String::new();
        for (index, server) in servers.iter().enumerate() {
            // The float expression of update_continuum, operation by operation.
            let pct = server.weight() as f32 / total as f32;
            let groups = (pct * WEIGHTED_POINTS / 4.0 * live + 1e-10_f32).floor() as u32;
            for i in 0..groups {
                point_name(server, i, &mut name);
                let digest = md5(name.as_bytes());
                for word in digest.chunks_exact(4) {
                    let value = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    points.push((value, index as u32));
                }
            }
        }
        Self::from_points(points)
    }

    /// libmemcached's unweighted continuum (`MEMCACHED_BEHAVIOR_KETAMA`): 100
    /// points per server, each the key hash of one name.
    pub(crate) fn unweighted(servers: &[&Server], hash: LibmemcachedHash) -> Self {
        let mut points = Vec::with_capacity(servers.len() * UNWEIGHTED_POINTS as usize);
        let mut name = String::new();
        for (index, server) in servers.iter().enumerate() {
            for i in 0..UNWEIGHTED_POINTS {
                point_name(server, i, &mut name);
                points.push((hash.hash(name.as_bytes()), index as u32));
            }
        }
        Self::from_points(points)
    }

    fn from_points(mut points: Vec<(u32, u32)>) -> Self {
        points.sort_unstable();
        let (values, servers): (Vec<u32>, Vec<u32>) = points.into_iter().unzip();
        // About two buckets per point: most buckets hold zero or one point.
        let bits = (values.len().max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(1, 16);
        let shift = 32 - bits;
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut i = 0;
        for b in 0..buckets {
            let low = (b as u64) << shift;
            while i < values.len() && u64::from(values[i]) < low {
                i += 1;
            }
            starts.push(i as u32);
        }
        starts.push(values.len() as u32);
        Self {
            values,
            servers,
            starts,
            shift,
        }
    }

    /// The server owning the first point at or after `hash`, wrapping to the first
    /// point (libmemcached's `dispatch_host`).
    pub(crate) fn find(&self, hash: u32) -> usize {
        let b = (hash >> self.shift) as usize;
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let i = lo + self.values[lo..hi].partition_point(|&v| v < hash);
        let i = if i == self.values.len() { 0 } else { i };
        self.servers.get(i).map_or(0, |&s| s as usize)
    }

    /// Every point, ascending: its value and its server.
    pub(crate) fn points(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.values
            .iter()
            .zip(&self.servers)
            .map(|(&v, &s)| (v, s as usize))
    }

    /// How many points the ring has.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// How many points `server` owns.
    #[cfg(test)]
    pub(crate) fn points_of(&self, server: usize) -> usize {
        self.servers
            .iter()
            .filter(|&&s| s as usize == server)
            .count()
    }
}

/// libmemcached's point name: `host-i` on port 11211, else `host:port-i`.
fn point_name(server: &Server, i: u32, name: &mut String) {
    name.clear();
    let _ = if server.port() == super::DEFAULT_PORT {
        write!(name, "{}-{i}", server.host())
    } else {
        write!(name, "{}:{}-{i}", server.host(), server.port())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(list: &[(&str, u16, u32)]) -> Vec<Server> {
        list.iter()
            .map(|&(h, p, w)| Server::new(h, p).unwrap().with_weight(w).unwrap())
            .collect()
    }

    #[test]
    fn point_names() {
        let mut name = String::new();
        point_name(&Server::new("cache-a", 11211).unwrap(), 7, &mut name);
        assert_eq!(name, "cache-a-7");
        point_name(&Server::new("::1", 11212).unwrap(), 0, &mut name);
        assert_eq!(name, "::1:11212-0");
    }

    #[test]
    fn weighted_point_counts() {
        let equal = servers(&[("a", 11211, 1), ("b", 11211, 1), ("c", 11211, 1)]);
        let refs: Vec<&Server> = equal.iter().collect();
        let ring = Continuum::weighted(&refs);
        assert_eq!(ring.len(), 480);
        assert!((0..3).all(|s| ring.points_of(s) == 160));

        // 1:3 over two servers: floor(0.25 * 80) * 4 = 80, floor(0.75 * 80) * 4 = 240.
        let skewed = servers(&[("a", 11211, 1), ("b", 11211, 3)]);
        let refs: Vec<&Server> = skewed.iter().collect();
        let ring = Continuum::weighted(&refs);
        assert_eq!((ring.points_of(0), ring.points_of(1)), (80, 240));
    }

    #[test]
    fn lookup_table_agrees_with_a_linear_scan() {
        let list = servers(&[("a", 11211, 1), ("b", 11212, 5), ("c", 1, 2)]);
        let refs: Vec<&Server> = list.iter().collect();
        for ring in [
            Continuum::weighted(&refs),
            Continuum::unweighted(&refs, LibmemcachedHash::OneAtATime),
        ] {
            let mut probes: Vec<u32> = ring.values.clone();
            probes.extend(ring.values.iter().map(|v| v.wrapping_add(1)));
            probes.extend(ring.values.iter().map(|v| v.wrapping_sub(1)));
            probes.extend([0, 1, u32::MAX, u32::MAX - 1, 1 << 31]);
            for hash in probes {
                let linear = ring.values.iter().position(|&v| v >= hash).unwrap_or(0);
                assert_eq!(ring.find(hash), ring.servers[linear] as usize, "{hash}");
            }
        }
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        // Two servers with the same name give the same points; the first owns them.
        let twins = servers(&[("a", 11211, 1), ("a", 11211, 1)]);
        let refs: Vec<&Server> = twins.iter().collect();
        let ring = Continuum::weighted(&refs);
        assert!((0..100_000u32).all(|h| ring.find(h.wrapping_mul(42_949)) == 0));
    }
}
