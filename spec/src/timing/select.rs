//! The token selector's engine (`hdl::select`): COLMEAN and SELECT.

/// Quotient bits of the divider (`q + 2^15` of an int16 result).
pub const QUOTIENT_BITS: usize = 16;
/// Cycles of a division (every lane's at once): load, then one cycle per quotient bit.
pub const DIV_LANE_CYCLES: u64 = 1 + QUOTIENT_BITS as u64;

/// Exact cycles of a COLMEAN of `rows` (`L`) rows of `n` channels on an engine whose column
/// pass has `lanes` lanes (`AccelConfig::sel_lanes`): from the cycle `start` is high (cycle 0)
/// to the cycle `done` is high (the returned number).
///
/// The pass takes the channels `lanes` at a time: per group (`g = ceil(n/lanes)` of them; with
/// `lanes < R` each `R`-byte word is read in `R / lanes` such groups) `L` reads, 2 cycles of read
/// latency, the lanes' divisions ([`DIV_LANE_CYCLES`], all lanes at once), `lanes` cycles adding
/// the lanes' means to the sum of means (one lane per cycle), `L` writes; then the division of
/// the sum of means, its write and `done`: `g (2L + 17 + lanes + 2) + 20`. Invalid operands
/// (`rows` or `n` zero): 1.
pub fn colmean_cycles(rows: usize, n: usize, lanes: usize) -> u64 {
    if rows == 0 || n == 0 {
        return 1;
    }
    let (l, g, lanes) = (rows as u64, n.div_ceil(lanes) as u64, lanes as u64);
    g * (2 * l + DIV_LANE_CYCLES + lanes + 2) + DIV_LANE_CYCLES + 3
}

/// Exact cycles of a SELECT on an engine for `r`-byte words whose column pass has `lanes` lanes,
/// with `L = keep.len()` tokens kept as `keep` says (the decision including the prefix), with `heads` heads, `n` channels and
/// `gather_rows` gathered rows: from the cycle `start` is high (cycle 0) to the cycle `done`
/// (and `live_we`) is high.
///
/// With `w = ceil(n/r)`, `g = ceil(n/lanes)`, `kw = ceil(heads/r)`, `D` dropped tokens, `pk = [D > 0]` and `M` the
/// rows that move (kept tokens after the first dropped one, plus the package row if `D > 0`):
/// * weights and decisions: `kw + L heads + 3` (read latency, then one cycle to branch);
/// * package (if `D > 0`): `g (L + 2 + 17 + 2)` (per group of `lanes` channels: reads, latency,
///   the lanes' divisions at once, two writes);
/// * compaction: `(L + pk + 1) + M (2w - 1)` (a scan cycle per token and one to finish; a moved
///   row takes `2w` cycles: a word read every other cycle);
/// * gather: `gather_rows (1 + 2 ceil(L/r) + L + 3 pk) + 1` (per row: a setup cycle, two cycles
///   per word fetch, a cycle per byte, three for the package byte; one cycle to finish);
/// * the count write, the final cycle and `done`: 3.
///
/// In all: `kw + L h + 6 + pk g (L + 21) + (L + pk + 1) + M (2w - 1)
/// + G (1 + 2 ceil(L/r) + L + 3 pk) + 1` (`21 = `[`DIV_LANE_CYCLES`]` + 4`, `G = gather_rows`).
///
/// Invalid operands (`L`, `n` or `heads` zero): 1.
pub fn select_cycles(keep: &[bool], heads: usize, n: usize, r: usize, lanes: usize, gather_rows: usize) -> u64 {
    if keep.is_empty() || n == 0 || heads == 0 {
        return 1;
    }
    let l = keep.len() as u64;
    let w = n.div_ceil(r) as u64;
    let g = n.div_ceil(lanes) as u64;
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
    let package = pk * g * (l + DIV_LANE_CYCLES + 4);
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
        assert_eq!(select_cycles(&[true; 4], 1, 8, 8, 8, 0), 8 + 5 + 1 + 3);
    }

    #[test]
    fn fewer_lanes_lengthen_only_the_column_pass() {
        // Two lanes on 8-byte words: four groups of 2 channels a word.
        assert_eq!(colmean_cycles(10, 16, 2), 8 * (20 + 17 + 2 + 2) + 20);
        // One of 4 tokens dropped: the package pass is per group, compaction per word.
        let keep = [true, false, true, true];
        let full = select_cycles(&keep, 1, 16, 8, 8, 0);
        assert_eq!(select_cycles(&keep, 1, 16, 8, 2, 0), full + (8 - 2) * (4 + 21));
    }
}
