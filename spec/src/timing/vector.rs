//! The vector unit's LayerNorm/softmax engine (`hdl::vec`).

/// `op` code of LayerNorm (the engine's `op` input, and the selector of [`vec_cycles`]).
pub const OP_LAYERNORM: u64 = 1;
/// `op` code of softmax.
pub const OP_SOFTMAX: u64 = 2;

/// Result bits produced per cycle by the square root and the divider: one, so that a stage holds
/// one trial subtraction (two in series made the deepest path of the vector unit). The latency
/// this adds hides behind [`ROW_LAG`] rows of other passes, except on softmax rows of at most
/// `2R` channels, whose B passes now stall a few cycles per op.
pub const SCALAR_STEPS: usize = 1;
/// Quotient bits of the reciprocal divider (`r < 2^26`).
pub const RECIP_BITS: usize = 26;
/// Cycles from a B word's read address to its write (`wr_en` high in stage t10).
pub const WRITE_LATENCY: usize = 10;
/// A passes run up to this many rows ahead of B passes (rows whose statistics are computed and
/// whose output is not started yet, so the scalar latency hides behind other rows' passes).
pub const ROW_LAG: usize = 15;
/// Entries of the softmax row-maximum queue.
pub const MAX_QUEUE: usize = 4;
/// Cycles the vector unit adds to its engine's own count (slot and check), for every op
/// (LayerNorm, softmax, COLMEAN, SELECT).
pub const UNIT_OVERHEAD: u64 = 2;

/// Result bits of the square root for rows of up to `max_width` channels:
/// `D = n^2 var < max_width^2 2^30 <= 2^(2K)`, `K = ceil(log2 max_width) + 15`.
pub fn isqrt_bits(max_width: usize) -> usize {
    let lg = max_width.next_power_of_two().trailing_zeros() as usize;
    (lg + 15).div_ceil(SCALAR_STEPS) * SCALAR_STEPS
}

/// Cycles of the pipelined integer square root (`hdl::arith::IsqrtPipe`): `result_bits` bits at
/// `steps` bits per stage.
pub fn isqrt_latency(result_bits: usize, steps: usize) -> usize {
    result_bits.div_ceil(steps)
}

/// Cycles of the pipelined reciprocal divider (`hdl::arith::RecipPipe`): `quotient_bits` bits at
/// `steps` bits per stage.
pub fn recip_latency(quotient_bits: usize, steps: usize) -> usize {
    quotient_bits / steps
}

/// Cycles from the last word of a row's A pass to its scalar result being visible in the result
/// queue (its B pass can be picked in that cycle and issue from the next): 4 to the sums, 1 to
/// the pipeline input, then LayerNorm 3 (products, the spread D, its register) + isqrt + 2 (sd,
/// divider operands) + divider + 1, softmax divider + 1.
pub fn scalar_latency(op: u64, max_width: usize) -> usize {
    let div = recip_latency(RECIP_BITS, SCALAR_STEPS);
    if op == OP_LAYERNORM {
        10 + isqrt_latency(isqrt_bits(max_width), SCALAR_STEPS) + div
    } else {
        6 + div
    }
}

/// Exact cycles of one op on a unit with `r` lanes, folded `fold` times (`fold` slices of `r`
/// bytes per scratchpad word, see `AccelConfig::vector_lanes`), built for `max_width`: from the
/// `start` pulse (cycle 0) to the `done` pulse (the returned cycle), for `n` channels and `rows`
/// rows.
///
/// With `R = r`, `w = ceil(n/R)`, `N = rows`, `lat = scalar_latency(op, max_width)` and the
/// parameter load `L = F ceil(2n/(F R)) + ceil(4n/R)` (LayerNorm: the gamma words of the
/// scratchpad's `F R`-byte words, then beta) or `512/R` (softmax):
/// * no stall (LayerNorm: `lat <= min(ROW_LAG, N-1) w`; softmax: the same and `w + 3 <= L`):
///   `L + 2 N w + 11`;
/// * one row (`N = 1`; softmax with `w + 3 <= L`): `L + 2w + lat + 11`;
/// * otherwise the replay below, which is exact in every case:
///   - the load takes cycles `1..=L`; then, whenever a pass has issued its last word (or, while
///     none can start, every cycle), the next pass is picked and issues from the next cycle, one
///     word per cycle: A(a_row) if `a_row < N`, `a_row - b_row <= ROW_LAG` and (softmax) a
///     maximum is queued; else B(b_row) if its scalar result is queued;
///   - row `i`'s result is queued `lat` cycles after A(i)'s last word (LayerNorm
///     `10 + isqrt_latency(isqrt_bits(max_width)) + recip_latency(RECIP_BITS)`, softmax
///     `6 + recip_latency(RECIP_BITS)`, at [`SCALAR_STEPS`] bits per stage);
///   - the max engine issues rows on port 1 from cycle 1, back to back while fewer than
///     [`MAX_QUEUE`] rows are in flight or queued (a row is queued 3 cycles after its last
///     word; A(i) dequeues it);
///   - `done` is `WRITE_LATENCY + 1 = 11` cycles after the last word of B(N-1) (`L + 11` when
///     `N = 0`).
pub fn vec_cycles(op: u64, n: usize, rows: usize, r: usize, fold: usize, max_width: usize) -> u64 {
    assert!(op == OP_LAYERNORM || op == OP_SOFTMAX);
    let ln = op == OP_LAYERNORM;
    let w = n.div_ceil(r) as i64;
    let nr = rows as i64;
    let load = if ln { fold * (2 * n).div_ceil(fold * r) + (4 * n).div_ceil(r) } else { 512 / r } as i64;
    let res_lat = scalar_latency(op, max_width) as i64;
    let lag = ROW_LAG as i64;
    // Visibility cycles of queued results / maxima and of the pops.
    let mut res_push: Vec<i64> = Vec::new();
    let mut mx_push: Vec<i64> = Vec::new();
    let mut mx_pops: Vec<i64> = Vec::new();
    let count = |push: &[i64], pops: i64, c: i64| push.iter().filter(|&&t| t <= c).count() as i64 - pops;
    // Max engine: rows started, words left in the current row, state.
    let (mut x_row, mut x_left, mut x_run, mut x_wait) = (0i64, w, !ln, false);
    if !ln {
        x_row = 1;
    }
    // Last-word cycles of the max engine's rows (each occupies the queue from the next cycle).
    let mut mx_done: Vec<i64> = Vec::new();
    // Main engine.
    let (mut a_row, mut b_row) = (0i64, 0i64);
    let mut pass_left = 0i64; // words left in the running pass (0: none)
    let mut res_pops = 0i64;
    let mut c = 1i64;
    let mut last_b = load; // (no rows: done 11 cycles after the load)
    loop {
        // ---- main engine at cycle c
        let go_next = if c <= load {
            c == load
        } else if pass_left > 0 {
            pass_left -= 1;
            pass_left == 0
        } else {
            true
        };
        let mut pop_mx = false;
        if go_next {
            let mx_count = count(&mx_push, mx_pops.iter().filter(|&&t| t <= c).count() as i64, c);
            let can_a = a_row < nr && a_row - b_row <= lag && (ln || mx_count > 0);
            let can_b = count(&res_push, res_pops, c) > 0;
            if can_a {
                pop_mx = !ln;
                res_push.push(c + w + res_lat);
                a_row += 1;
                pass_left = w;
            } else if can_b {
                res_pops += 1; // visible from c + 1; counted below once c advances
                b_row += 1;
                pass_left = w;
                if b_row == nr {
                    last_b = c + w;
                }
            } else if a_row == nr && b_row == nr {
                return (last_b + WRITE_LATENCY as i64 + 1) as u64;
            }
        }
        // ---- max engine at cycle c (softmax)
        if !ln {
            let pops = mx_pops.iter().filter(|&&t| t <= c).count() as i64;
            let occ = mx_done.iter().filter(|&&t| t < c).count() as i64 - pops;
            let mut next = false;
            if x_run {
                x_left -= 1;
                if x_left == 0 {
                    mx_done.push(c);
                    mx_push.push(c + 3);
                    if x_row == nr {
                        x_run = false;
                    } else if occ <= 2 {
                        next = true;
                    } else {
                        x_run = false;
                        x_wait = true;
                    }
                }
            } else if x_wait && occ <= 3 {
                next = true;
                x_wait = false;
            }
            if next {
                x_run = true;
                x_row += 1;
                x_left = w;
            }
        }
        if pop_mx {
            mx_pops.push(c + 1);
        }
        c += 1;
        assert!(c < 1 << 40, "schedule does not terminate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_latencies_match_the_documented_figures() {
        // From the documentation of `vec_cycles` at one bit per stage: LayerNorm
        // 10 + K + 26 with K = log2(max_width) + 15 (22, 24, 27), softmax 6 + 26.
        assert_eq!(scalar_latency(OP_LAYERNORM, 128), 58);
        assert_eq!(scalar_latency(OP_LAYERNORM, 512), 60);
        assert_eq!(scalar_latency(OP_LAYERNORM, 4096), 63);
        assert_eq!(scalar_latency(OP_SOFTMAX, 512), 32);
    }

    #[test]
    fn an_unstalled_op_takes_load_plus_two_passes_per_row() {
        // LayerNorm, n = 64 on 8 lanes, 40 rows: L = 16 + 32, w = 8, lat 60 <= 15 * 8.
        assert_eq!(vec_cycles(OP_LAYERNORM, 64, 40, 8, 1, 512), 48 + 2 * 40 * 8 + 11);
        // Softmax, n = 24 on 8 lanes, 20 rows: L = 64, w = 3, lat 32 <= 15 * 3 and 3 + 3 <= 64.
        assert_eq!(vec_cycles(OP_SOFTMAX, 24, 20, 8, 1, 512), 64 + 2 * 20 * 3 + 11);
        // With w = 2 the latency (32 > 15 * 2) stalls the B passes: more than the closed form.
        assert!(vec_cycles(OP_SOFTMAX, 16, 20, 8, 1, 512) > 64 + 2 * 20 * 2 + 11);
    }

    #[test]
    fn a_folded_unit_loads_whole_scratchpad_words_of_gamma() {
        // LayerNorm, n = 20 on 4 lanes folded 4 times (16-byte words), 40 rows: gamma is
        // ceil(40/16) = 3 words = 12 slices, beta ceil(80/4) = 20; w = 5, lat 60 <= 15 * 5.
        assert_eq!(vec_cycles(OP_LAYERNORM, 20, 40, 4, 4, 512), 12 + 20 + 2 * 40 * 5 + 11);
        // Unfolded on 4 lanes, gamma is ceil(40/4) = 10 slices.
        assert_eq!(vec_cycles(OP_LAYERNORM, 20, 40, 4, 1, 512), 10 + 20 + 2 * 40 * 5 + 11);
    }
}
