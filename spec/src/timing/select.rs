//! The token selector's engine (`hdl::select`): COLMEAN and SELECT.

/// Quotient bits of the divider (`q + 2^15` of an int16 result).
pub const QUOTIENT_BITS: usize = 16;
/// Cycles of a division (every lane's at once): load, then one cycle per quotient bit.
pub const DIV_LANE_CYCLES: u64 = 1 + QUOTIENT_BITS as u64;

/// Exact cycles of a COLMEAN of `rows` (`L`) rows of `n` channels on an `r`-lane engine: from
/// the cycle `start` is high (cycle 0) to the cycle `done` is high (the returned number).
///
/// Per word group (`w = ceil(n/r)` of them): `L` reads, 2 cycles of read latency, the lanes'
/// divisions ([`DIV_LANE_CYCLES`], all lanes at once), `r` cycles adding the lanes' means to the
/// sum of means (one lane per cycle), `L` writes; then the division of the sum of means, its
/// write and `done`: `w (2L + 17 + r + 2) + 20`. Invalid operands (`rows` or `n` zero): 1.
pub fn colmean_cycles(rows: usize, n: usize, r: usize) -> u64 {
    if rows == 0 || n == 0 {
        return 1;
    }
    let (l, w, r) = (rows as u64, n.div_ceil(r) as u64, r as u64);
    w * (2 * l + DIV_LANE_CYCLES + r + 2) + DIV_LANE_CYCLES + 3
}

/// Exact cycles of a SELECT on an `r`-lane engine whose `L = keep.len()` tokens are kept as
/// `keep` says (the decision including the prefix), with `heads` heads, `n` channels and
/// `gather_rows` gathered rows: from the cycle `start` is high (cycle 0) to the cycle `done`
/// (and `live_we`) is high.
///
/// With `w = ceil(n/r)`, `kw = ceil(heads/r)`, `D` dropped tokens, `pk = [D > 0]` and `M` the
/// rows that move (kept tokens after the first dropped one, plus the package row if `D > 0`):
/// * weights and decisions: `kw + L heads + 3` (read latency, then one cycle to branch);
/// * package (if `D > 0`): `w (L + 2 + 17 + 2)` (reads, latency, the lanes' divisions at once,
///   two writes);
/// * compaction: `(L + pk + 1) + M (2w - 1)` (a scan cycle per token and one to finish; a moved
///   row takes `2w` cycles: a word read every other cycle);
/// * gather: `gather_rows (1 + 2 ceil(L/r) + L + 3 pk) + 1` (per row: a setup cycle, two cycles
///   per word fetch, a cycle per byte, three for the package byte; one cycle to finish);
/// * the count write, the final cycle and `done`: 3.
///
/// In all: `kw + L h + 6 + pk w (L + 21) + (L + pk + 1) + M (2w - 1)
/// + g (1 + 2 ceil(L/r) + L + 3 pk) + 1` (`21 = `[`DIV_LANE_CYCLES`]` + 4`, `g = gather_rows`).
///
/// Invalid operands (`L`, `n` or `heads` zero): 1.
pub fn select_cycles(keep: &[bool], heads: usize, n: usize, r: usize, gather_rows: usize) -> u64 {
    if keep.is_empty() || n == 0 || heads == 0 {
        return 1;
    }
    let l = keep.len() as u64;
    let w = n.div_ceil(r) as u64;
    let kw = heads.div_ceil(r) as u64;
    let pk = keep.iter().any(|&k| !k);
    let mut moved = pk as u64;
    let mut dropped_before = false;
    for &k in keep {
        if k && dropped_before {
            moved += 1;
        }
        dropped_before |= !k;
    }
    let pk = pk as u64;
    let decide = kw + l * heads as u64 + 3;
    let package = pk * w * (l + DIV_LANE_CYCLES + 4);
    let compaction = (l + pk + 1) + moved * (2 * w - 1);
    let gather = gather_rows as u64 * (1 + 2 * l.div_ceil(r as u64) + l + 3 * pk) + 1;
    decide + package + compaction + gather + 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colmean_follows_its_closed_form() {
        // DeiT-Tiny size by hand: 2 groups of (2*198 + 17 + 16 + 2) = 431, plus 20.
        assert_eq!(colmean_cycles(198, 32, 16), 882);
        assert_eq!(colmean_cycles(0, 32, 16), 1);
    }

    #[test]
    fn select_with_every_token_kept_moves_nothing() {
        // 4 tokens, 1 head, 8 channels on 8 lanes, no gather: 1 + 4 + 3 decide, 5 scan, 1 + 3.
        assert_eq!(select_cycles(&[true; 4], 1, 8, 8, 0), 8 + 5 + 1 + 3);
    }
}
