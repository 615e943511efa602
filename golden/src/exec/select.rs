//! COLMEAN and SELECT, the token selector's instructions. Their semantics are stated here on
//! plain rows ([`column_means`], [`select_tokens`], [`gather_row`]), so a test of the hardware
//! engine can use them directly; the [`Machine`] methods only move bytes between the scratchpad
//! layout of `spec::isa` and these rows.

use super::{Machine, Outcome};
use spec::isa::{ColMean, Select};
use spec::numerics::{keep_decision, mean_i8, package_channel, package_weight};

/// COLMEAN on rows of int8 values (all of one length `n >= 1`, at least one row): the rounded
/// mean of every column (`mean_i8`), and the rounded mean of those means.
pub fn column_means<R: AsRef<[i8]>>(rows: &[R]) -> (Vec<i8>, i8) {
    let n = rows.first().map_or(0, |r| r.as_ref().len());
    let means: Vec<i8> = (0..n).map(|c| mean_i8(rows.iter().map(|r| r.as_ref()[c]))).collect();
    let overall = mean_i8(means.iter().copied());
    (means, overall)
}

/// The decisions of a SELECT over its live tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Per token: kept, by the keep rule or because it is a prefix token.
    pub keep: Vec<bool>,
    /// The package token (per channel), if any token was dropped.
    pub package: Option<Vec<i16>>,
}

impl Selection {
    /// Where every row of the compacted residual stream comes from: the kept tokens in order,
    /// then the package token as row `keep.len()` (if any token was dropped).
    pub fn order(&self) -> Vec<usize> {
        let rows = self.keep.len();
        (0..rows).filter(|&t| self.keep[t]).chain(self.package.is_some().then_some(rows)).collect()
    }

    /// Tokens live after the SELECT: the kept ones and the package token.
    pub fn live(&self) -> u16 {
        (self.keep.iter().filter(|&&k| k).count() + self.package.is_some() as usize) as u16
    }
}

/// SELECT's decisions on plain rows: `weights[j]` is head `j`'s weight, `probs[t][j]` token
/// `t`'s probability at head `j`, tokens `t < prefix` are always kept, and `x[t]` is token `t`'s
/// int16 residual row (read only for dropped tokens, to form the package token).
pub fn select_tokens<P: AsRef<[u8]>, X: AsRef<[i16]>>(
    weights: &[u8],
    probs: &[P],
    prefix: usize,
    x: &[X],
) -> Selection {
    let mut keep = Vec::with_capacity(probs.len());
    let mut dropped = Vec::new();
    for (t, p) in probs.iter().enumerate() {
        let (k, score) = keep_decision(weights, p.as_ref());
        let k = k || t < prefix;
        keep.push(k);
        if !k {
            dropped.push((t, package_weight(score)));
        }
    }
    let package = (!dropped.is_empty()).then(|| {
        let ws: Vec<u64> = dropped.iter().map(|&(_, w)| w).collect();
        let n = x.first().map_or(0, |r| r.as_ref().len());
        (0..n).map(|c| package_channel(&ws, dropped.iter().map(|&(t, _)| x[t].as_ref()[c]))).collect()
    });
    Selection { keep, package }
}

/// SELECT's gather on one byte row, in place: byte `pos` takes the byte of the `pos`-th kept
/// token, one after the other; then, if a token was dropped, the next byte takes byte
/// `package_byte` as it is after those writes. `row` must reach both `keep.len()` and
/// `package_byte`.
pub fn gather_row(row: &mut [u8], keep: &[bool], package_byte: usize) {
    let mut pos = 0;
    for (t, _) in keep.iter().enumerate().filter(|(_, &k)| k) {
        row[pos] = row[t];
        pos += 1;
    }
    if keep.iter().any(|&k| !k) {
        row[pos] = row[package_byte];
    }
}

impl Machine {
    /// COLMEAN (see `spec::isa`).
    pub(super) fn colmean(&mut self, v: &ColMean) {
        let (rows, n) = (v.rows as usize, v.n as usize);
        let lo = &self.banks[v.input.bank as usize];
        let x: Vec<Vec<i8>> = (0..rows)
            .map(|t| (0..n).map(|c| lo[self.channel(v.input.addr, v.in_stride, t, c)] as i8).collect())
            .collect();
        let (means, overall) = column_means(&x);
        for t in 0..rows {
            for (c, &g) in means.iter().enumerate() {
                let o = self.channel(v.out.addr, v.out_stride, t, c);
                self.banks[v.out.bank as usize][o] = g as u8;
            }
        }
        let r = self.cfg.word_bytes();
        let i = v.mean_byte as usize;
        let o = self.at(v.mean_at.addr as u64 + (i / r) as u64, i % r);
        self.banks[v.mean_at.bank as usize][o] = overall as u8;
    }

    /// SELECT (see `spec::isa`): decide, package, compact the residual rows, gather the byte
    /// rows, write the count.
    pub(super) fn select(&mut self, v: &Select) -> Outcome {
        let (rows, n, heads) = (v.rows as usize, v.n as usize, v.heads as usize);
        let r = self.cfg.word_bytes();
        let pb = v.probs.bank;
        let weights: Vec<u8> = (0..heads).map(|j| self.sp_seq(pb, v.weights_addr as u64, j)).collect();
        let probs: Vec<Vec<u8>> = (0..rows)
            .map(|t| {
                (0..heads)
                    .map(|j| self.sp(pb, v.probs.addr as u64 + (j * v.probs_stride as usize + t) as u64, 0))
                    .collect()
            })
            .collect();
        let (lo, hi) = (v.x.bank as usize, v.x_hi_bank as usize);
        let x_at = |t: usize, c: usize| self.channel(v.x.addr, v.x_stride, t, c);
        let x: Vec<Vec<i16>> = (0..rows)
            .map(|t| {
                (0..n).map(|c| i16::from_le_bytes([self.banks[lo][x_at(t, c)], self.banks[hi][x_at(t, c)]])).collect()
            })
            .collect();
        let sel = select_tokens(&weights, &probs, v.prefix as usize, &x);
        // The package token goes to row `rows`, then row `pos` of the compacted stream takes its
        // source row (the package token for source `rows`).
        if let Some(p) = &sel.package {
            self.put_x_row(v, rows, p);
        }
        for (pos, &t) in sel.order().iter().enumerate() {
            if pos != t {
                let src = if t < rows { &x[t] } else { sel.package.as_ref().expect("a package row") };
                self.put_x_row(v, pos, src);
            }
        }
        let live = sel.live();
        let gb = v.gather.bank as usize;
        let len = rows.max(v.package_byte as usize + 1);
        for g in 0..v.gather_rows as usize {
            let base = v.gather.addr as u64 + (g * v.gather_stride as usize) as u64;
            let offsets: Vec<usize> = (0..len).map(|i| self.at(base + (i / r) as u64, i % r)).collect();
            let mut row: Vec<u8> = offsets.iter().map(|&o| self.banks[gb][o]).collect();
            gather_row(&mut row, &sel.keep, v.package_byte as usize);
            for (&o, &b) in offsets.iter().zip(&row).take(live as usize) {
                self.banks[gb][o] = b;
            }
        }
        let cnt = self.at(v.gather.addr as u64 + v.gather_rows as u64 * v.gather_stride as u64, 0);
        self.banks[gb][cnt..cnt + 2].copy_from_slice(&live.to_le_bytes());
        Outcome::Selected { keep: sel.keep, live }
    }

    /// Write int16 row `row` of SELECT's residual stream (both byte planes, channels `< n`).
    fn put_x_row(&mut self, v: &Select, row: usize, values: &[i16]) {
        for (c, y) in values.iter().enumerate() {
            let o = self.channel(v.x.addr, v.x_stride, row, c);
            let [b0, b1] = y.to_le_bytes();
            self.banks[v.x.bank as usize][o] = b0;
            self.banks[v.x_hi_bank as usize][o] = b1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_means_round_to_nearest() {
        // Columns {1, 2} -> 1.5 rounds away? mean_i8 rounds half up: 2; {-3, -4} -> -3.5 -> -3.
        let (m, all) = column_means(&[vec![1i8, -3], vec![2, -4]]);
        assert_eq!(m, vec![2, -3]);
        assert_eq!(all, 0, "(2 - 3) / 2 = -0.5 rounds up to 0");
    }

    #[test]
    fn gather_keeps_kept_bytes_then_the_package_byte() {
        let mut row = vec![10u8, 11, 12, 13, 99];
        gather_row(&mut row, &[true, false, true, false], 4);
        assert_eq!(&row[..3], &[10, 12, 99]);
        // The package byte is read after the writes: byte 1 now holds 12.
        let mut row = vec![10u8, 11, 12, 13];
        gather_row(&mut row, &[false, true, true, false], 1);
        assert_eq!(&row[..3], &[11, 12, 12]);
    }

    #[test]
    fn prefix_tokens_are_kept_whatever_their_scores() {
        // One head of weight 1; probabilities 0 are below the keep margin (128).
        let x = vec![vec![100i16], vec![-50], vec![7]];
        let s = select_tokens(&[1], &[[0u8], [0], [255]], 1, &x);
        assert_eq!(s.keep, vec![true, false, true]);
        assert_eq!(s.package, Some(vec![-50]), "the only dropped token is its own package");
        assert_eq!(s.order(), vec![0, 2, 3]);
        assert_eq!(s.live(), 3);
    }
}
