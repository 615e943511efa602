//! `--shard K/N`: which images of a run one shard takes.
//!
//! The split is **contiguous blocks**: of `T` images (after `--limit`), shard `K` (counted from
//! 0, like `$SLURM_ARRAY_TASK_ID` and `$JOB_COMPLETION_INDEX`) takes the images
//! `K*T/N .. (K+1)*T/N` (integer division). The blocks cover every image exactly once, in order,
//! and their sizes differ by at most one; the split depends on `T`, `K` and `N` alone.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

impl Shard {
    /// The whole set as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The image indices of this shard among `total` images.
    pub fn range(&self, total: usize) -> Range<usize> {
        let at = |k: usize| (k as u128 * total as u128 / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let usage = || format!("`{s}`: expected K/N with 0 <= K < N, e.g. 0/4 (shards count from 0)");
        let (k, n) = s.split_once('/').ok_or_else(usage)?;
        let (index, count): (usize, usize) =
            (k.trim().parse().map_err(|_| usage())?, n.trim().parse().map_err(|_| usage())?);
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;
    use proptest::prelude::*;

    #[test]
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("0/1".parse(), Ok(Shard::WHOLE));
        for bad in ["3/3", "1/0", "0", "a/2", "-1/2", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ten_images_in_three_shards() {
        // 10 * k / 3 for k = 0..=3: 0, 3, 6, 10.
        let r: Vec<_> = (0..3).map(|index| Shard { index, count: 3 }.range(10)).collect();
        assert_eq!(r, [0..3, 3..6, 6..10]);
        assert_eq!(Shard { index: 4, count: 5 }.range(2), 1..2);
        assert_eq!(Shard { index: 0, count: 5 }.range(2), 0..0);
    }

    proptest! {
        /// The shards cover 0..total exactly once, in order, with sizes differing by at most one.
        #[test]
        fn shards_partition_the_images(total in 0usize..5000, count in 1usize..64) {
            let ranges: Vec<_> = (0..count).map(|index| Shard { index, count }.range(total)).collect();
            let covered: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
            prop_assert_eq!(covered, (0..total).collect::<Vec<_>>());
            let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "{:?}", sizes);
            prop_assert_eq!(sizes.iter().sum::<usize>(), total);
        }
    }
}
