//! The scalar step of the vector unit: a pipeline that accepts one row's sums per cycle and
//! queues the row's reciprocal and normalisation shift for its B pass.
//!
//! * LayerNorm (`S1 = sum x`, `S2 = sum x^2` over `n` channels): F2 the products `n S2` and
//!   `S1^2`; F3 `D = max(n S2 - S1^2, 0)` (a register of its own: the 64-bit subtract and the
//!   square root's first stage are two carry chains) into [`IsqrtPipe`]; N1 `sd = max(isqrt(D), 1)`; N2
//!   `b = bitlen(sd)` and the divider operands `2^b / (4 sd)` (so `r = floor(2^b 2^26 / (4 sd))
//!   = floor(2^(b+24) / sd)`, with `2^b < 4 sd`), shift `b + 14`; then [`RecipPipe`].
//! * Softmax (`sum e_i`): straight into the divider, `r = floor(2^14 2^26 / sum) =
//!   floor(2^40 / sum)`, shift 32.
//!
//! The row's payload (LayerNorm `S1`, softmax the row maximum) travels alongside; the queue
//! entry is `{payload, r, shift}` (69 bits), [`RESULT_QUEUE`] entries. LayerNorm takes
//! `4 + isqrt latency` cycles more than softmax (F2, F3, N1, N2 and the square root), as in
//! `spec::timing::vector::scalar_latency`.

use super::RESULT_QUEUE;
use crate::arith::{IsqrtPipe, RecipPipe, Slice, SpreadProducts};
use crate::delay::{DelayLine, ValidLine};
use crate::storage::WordFifo;
use crate::widen::{Concat, Extend};
use rust_hdl::prelude::*;
use spec::timing::vector::{isqrt_bits, RECIP_BITS, SCALAR_STEPS};

/// Bits of the divider's denominators: the softmax sum (the 40-bit `sum` input) and LayerNorm's
/// `4 sd` (`sd < 2^isqrt_bits`, at most 34 bits) both fit.
const DEN_BITS: usize = 40;

/// The scalar pipeline and its result queue, for rows of up to `max_width` channels.
#[derive(LogicBlock)]
pub struct ScalarPipe {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Empty the result queue (reset, or an op starts).
    pub clear: Signal<In, Bit>,
    /// The op is LayerNorm (else softmax); stable while rows are in the pipeline.
    pub ln: Signal<In, Bit>,
    /// Channels per row `n` (LayerNorm).
    pub n: Signal<In, Bits<17>>,
    /// A row's sums are on the inputs this cycle.
    pub valid: Signal<In, Bit>,
    /// `S1` (LayerNorm, two's complement) or `sum e_i` (softmax, `>= 2^15`).
    pub sum: Signal<In, Bits<40>>,
    /// `S2` (LayerNorm).
    pub sum_sq: Signal<In, Bits<48>>,
    /// Carried to the queue entry unchanged (LayerNorm `S1`, softmax the row maximum).
    pub payload: Signal<In, Bits<34>>,
    /// Results are queued (low: a reset cut the op short, results are dropped).
    pub keep: Signal<In, Bit>,
    /// Pop the oldest entry.
    pub pop: Signal<In, Bit>,
    /// Entries queued.
    pub count: Signal<Out, Bits<16>>,
    /// The oldest entry's payload (valid when `count > 0`).
    pub head_payload: Signal<Out, Bits<34>>,
    /// The oldest entry's reciprocal `r`.
    pub head_recip: Signal<Out, Bits<27>>,
    /// The oldest entry's normalisation shift.
    pub head_shift: Signal<Out, Bits<8>>,

    /// F2: `n S2`.
    n_s2: DFF<Bits<64>>,
    /// F2: `S1^2`.
    s1_squared: DFF<Bits<64>>,
    /// `n S2` and `S1^2` in five DSP-sized products.
    products: SpreadProducts,
    /// `n S2 - S1^2` (`n^2` times the variance; negative only by the sums' inconsistency).
    spread_raw: Signal<Local, Bits<64>>,
    /// `D = max(n S2 - S1^2, 0)`, the radicand.
    /// F3: `D`.
    spread: DFF<Bits<64>>,
    isqrt: IsqrtPipe,
    /// LayerNorm: valid and payload alongside F2, the square root, N1 and N2.
    ln_valid_delay: ValidLine,
    ln_payload_delay: DelayLine<Bits<34>>,
    /// N1: `sd = max(isqrt(D), 1)`.
    sd: DFF<Bits<64>>,
    /// Bit length of `sd`.
    sd_bits: Signal<Local, Bits<8>>,
    /// N2: divider numerator `2^b`.
    ln_num: DFF<Bits<64>>,
    /// N2: divider denominator `4 sd`.
    ln_den: DFF<Bits<64>>,
    /// N2: normalisation shift `b + 14`.
    ln_shift: DFF<Bits<8>>,
    recip: RecipPipe,
    ext_sum: Extend<64, 40>,
    /// Divider inputs of this cycle: valid, payload, shift (LayerNorm from N2, softmax from F1).
    div_valid: Signal<Local, Bit>,
    div_payload: Signal<Local, Bits<34>>,
    div_shift: Signal<Local, Bits<8>>,
    /// Valid, payload and shift alongside the divider.
    valid_delay: ValidLine,
    payload_delay: DelayLine<Bits<34>>,
    shift_delay: DelayLine<Bits<8>>,
    recip27: Slice<64, 27>,
    entry_lo: Concat<27, 8, 35>,
    entry: Concat<34, 35, 69>,
    /// The result queue, `{payload, r, shift}` per row.
    queue: WordFifo<69>,
    bit_len: Vec<Constant<Bits<8>>>,
    c_zero8: Constant<Bits<8>>,
    c_zero64: Constant<Bits<64>>,
    c_one64: Constant<Bits<64>>,
    c_soft_num: Constant<Bits<64>>,
    c_soft_shift: Constant<Bits<8>>,
    c_ln_shift: Constant<Bits<8>>,
}

impl ScalarPipe {
    /// The pipeline for rows of up to `max_width` channels (the square root's width).
    pub fn new(max_width: usize) -> Self {
        assert!(isqrt_bits(max_width) + 2 <= DEN_BITS);
        // `SpreadProducts` keeps `S1` to 31 bits and `S2` to 47: exact for int16 rows this wide.
        assert!(max_width <= 1 << 15, "ScalarPipe: max_width {max_width} > 2^15");
        let isqrt_stages = IsqrtPipe::latency(isqrt_bits(max_width), SCALAR_STEPS);
        let div_stages = RecipPipe::latency(RECIP_BITS, SCALAR_STEPS);
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        ScalarPipe {
            clock: Signal::default(),
            clear: Signal::default(),
            ln: Signal::default(),
            n: Signal::default(),
            valid: Signal::default(),
            sum: Signal::default(),
            sum_sq: Signal::default(),
            payload: Signal::default(),
            keep: Signal::default(),
            pop: Signal::default(),
            count: Signal::default(),
            head_payload: Signal::default(),
            head_recip: Signal::default(),
            head_shift: Signal::default(),
            n_s2: DFF::default(),
            s1_squared: DFF::default(),
            products: SpreadProducts::default(),
            spread_raw: Signal::default(),
            spread: DFF::default(),
            isqrt: IsqrtPipe::new(isqrt_bits(max_width), SCALAR_STEPS),
            ln_valid_delay: ValidLine::new(isqrt_stages + 4),
            ln_payload_delay: DelayLine::new(isqrt_stages + 4),
            sd: DFF::default(),
            sd_bits: Signal::default(),
            ln_num: DFF::default(),
            ln_den: DFF::default(),
            ln_shift: DFF::default(),
            recip: RecipPipe::new(RECIP_BITS, SCALAR_STEPS, DEN_BITS),
            ext_sum: Extend::new(false),
            div_valid: Signal::default(),
            div_payload: Signal::default(),
            div_shift: Signal::default(),
            valid_delay: ValidLine::new(div_stages),
            payload_delay: DelayLine::new(div_stages),
            shift_delay: DelayLine::new(div_stages),
            recip27: Slice::new(0),
            entry_lo: Concat::default(),
            entry: Concat::default(),
            queue: WordFifo::new(RESULT_QUEUE),
            bit_len: (0..64).map(|i| c8(i + 1)).collect(),
            c_zero8: c8(0),
            c_zero64: Constant::new(0u64.into()),
            c_one64: Constant::new(1u64.into()),
            c_soft_num: Constant::new((1u64 << (spec::numerics::SOFTMAX_RECIP_BITS as usize - RECIP_BITS)).into()),
            c_soft_shift: c8(32),
            c_ln_shift: c8((spec::numerics::LN_RECIP_BITS - spec::numerics::LN_NORM_FRAC_BITS) as u64),
        }
    }
}

impl Logic for ScalarPipe {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, n_s2, s1_squared, spread, sd, ln_num, ln_den, ln_shift);
        self.isqrt.clock.next = self.clock.val();
        self.recip.clock.next = self.clock.val();
        self.ln_valid_delay.clock.next = self.clock.val();
        self.ln_payload_delay.clock.next = self.clock.val();
        self.valid_delay.clock.next = self.clock.val();
        self.payload_delay.clock.next = self.clock.val();
        self.shift_delay.clock.next = self.clock.val();
        self.queue.clock.next = self.clock.val();
        self.queue.reset.next = self.clear.val();
        // Rows in flight at a reset are dropped: the pipe is longer than the time to the next op.
        self.ln_valid_delay.clear.next = self.clear.val();
        self.valid_delay.clear.next = self.clear.val();
        self.queue.pop.next = self.pop.val();
        Signal::<Out, Bits<16>>::link(&mut self.count, &mut self.queue.count);
        self.head_payload.next = self.queue.dout.val().get_bits::<34>(35);
        self.head_recip.next = self.queue.dout.val().get_bits::<27>(8);
        self.head_shift.next = self.queue.dout.val().get_bits::<8>(0);

        // F2: n S2 and S1^2. Then D = max(n S2 - S1^2, 0) -> isqrt pipe.
        self.products.n.next = self.n.val();
        self.products.s1.next = self.sum.val();
        self.products.s2.next = self.sum_sq.val();
        self.n_s2.d.next = self.products.n_s2.val();
        self.s1_squared.d.next = self.products.s1_sq.val();
        self.spread_raw.next = self.n_s2.q.val() - self.s1_squared.q.val();
        self.spread.d.next = self.spread_raw.val();
        if self.spread_raw.val().get_bit(63) {
            self.spread.d.next = self.c_zero64.val();
        }
        self.isqrt.d.next = self.spread.q.val();
        self.ln_valid_delay.din.next = self.valid.val();
        self.ln_payload_delay.din.next = self.payload.val();
        // N1: sd = max(isqrt(D), 1). N2: b = bitlen(sd); floor(2^(b+24) / sd) =
        // floor(2^b * 2^26 / (4 sd)) with 2^b < 4 sd; shift b + 14.
        self.sd.d.next = self.isqrt.root.val();
        if self.isqrt.root.val() == self.c_zero64.val() {
            self.sd.d.next = self.c_one64.val();
        }
        self.sd_bits.next = self.c_zero8.val();
        for i in 0..64 {
            if self.sd.q.val().get_bit(i) {
                self.sd_bits.next = self.bit_len[i].val();
            }
        }
        self.ln_num.d.next = self.c_one64.val() << self.sd_bits.val();
        self.ln_den.d.next = self.sd.q.val() << 2;
        self.ln_shift.d.next = self.sd_bits.val() + self.c_ln_shift.val();
        // Divider: LayerNorm from N2; softmax floor(2^40 / sum) = floor(2^14 * 2^26 / sum).
        self.ext_sum.din.next = self.sum.val();
        if self.ln.val() {
            self.recip.num.next = self.ln_num.q.val();
            self.recip.den.next = self.ln_den.q.val();
            self.div_valid.next = self.ln_valid_delay.dout.val();
            self.div_payload.next = self.ln_payload_delay.dout.val();
            self.div_shift.next = self.ln_shift.q.val();
        } else {
            self.recip.num.next = self.c_soft_num.val();
            self.recip.den.next = self.ext_sum.dout.val();
            self.div_valid.next = self.valid.val();
            self.div_payload.next = self.payload.val();
            self.div_shift.next = self.c_soft_shift.val();
        }
        self.valid_delay.din.next = self.div_valid.val();
        self.payload_delay.din.next = self.div_payload.val();
        self.shift_delay.din.next = self.div_shift.val();
        // Result queue entry {payload, r, shift}.
        self.recip27.din.next = self.recip.q.val();
        self.entry_lo.hi.next = self.recip27.dout.val();
        self.entry_lo.lo.next = self.shift_delay.dout.val();
        self.entry.hi.next = self.payload_delay.dout.val();
        self.entry.lo.next = self.entry_lo.dout.val();
        self.queue.din.next = self.entry.dout.val();
        self.queue.push.next = self.valid_delay.dout.val() && self.keep.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spec::numerics::{LnStats, SOFTMAX_RECIP_BITS};
    use spec::timing::vector::{scalar_latency, OP_LAYERNORM, OP_SOFTMAX};

    /// One row into the pipeline: `(n, sum, sum_sq, payload, idle cycles after it)`.
    type Row = (u64, i64, u64, u64, usize);

    /// Feeds the LayerNorm rows, then the softmax rows (`sum_sq` unused), popping every entry
    /// as soon as it is queued; returns per row `(payload, r, shift, cycles from input to the
    /// head of the queue)`.
    fn run(max_width: usize, ln_rows: Vec<Row>, sm_rows: Vec<Row>) -> Vec<(u64, u64, u64, u64)> {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = out.clone();
        let mut uut = ScalarPipe::new(max_width);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<ScalarPipe>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<ScalarPipe>| {
            let mut x = ep.init()?;
            x.keep.next = true;
            x.clear.next = true;
            wait_clock_cycle!(ep, clock, x);
            x.clear.next = false;
            let mut cycle = 0u64;
            for (ln, rows) in [(true, &ln_rows), (false, &sm_rows)] {
                x.ln.next = ln;
                let mut fed = std::collections::VecDeque::new();
                let mut inputs = rows.iter().flat_map(|&(n, s, s2, pl, gap)| {
                    std::iter::once(Some((n, s, s2, pl))).chain(std::iter::repeat_n(None, gap))
                });
                let mut left = rows.len();
                while left > 0 {
                    x.valid.next = false;
                    if let Some(Some((n, s, s2, pl))) = inputs.next() {
                        x.valid.next = true;
                        x.n.next = n.into();
                        x.sum.next = (s as u64 & ((1 << 40) - 1)).into();
                        x.sum_sq.next = s2.into();
                        x.payload.next = pl.into();
                        fed.push_back(cycle);
                    }
                    x.pop.next = false;
                    if x.count.val().index() > 0 {
                        let at = fed.pop_front().unwrap_or(u64::MAX);
                        sink.lock().unwrap().push((
                            x.head_payload.val().to_u64(),
                            x.head_recip.val().to_u64(),
                            x.head_shift.val().to_u64(),
                            cycle.wrapping_sub(at),
                        ));
                        x.pop.next = true;
                        left -= 1;
                    }
                    wait_clock_cycle!(ep, clock, x);
                    cycle += 1;
                }
                x.valid.next = false;
                x.pop.next = false;
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1 << 40).unwrap();
        let results = out.lock().unwrap().clone();
        results
    }

    /// A LayerNorm row's sums for `n` channels: any `S1`, `S2` in their ranges (the radicand
    /// may be clamped at 0), or those of a constant row (`D = 0`), or of a two-valued row.
    fn ln_row(max_width: u64) -> impl Strategy<Value = Row> {
        (1..=max_width, any::<i16>(), any::<i16>(), 0.0f64..1.0, 0.0f64..1.0, any::<u64>(), 0usize..3, 0..3u8).prop_map(
            |(n, a, b, f, g, pl, gap, kind)| {
                let n = n as i64;
                let (s1, s2) = match kind {
                    0 => {
                        let s1 = ((f - 0.5) * 2.0 * 32768.0 * n as f64) as i64;
                        (s1, (g * (n as f64) * (1u64 << 30) as f64) as u64)
                    }
                    1 => (n * a as i64, (n * a as i64 * a as i64) as u64),
                    _ => {
                        let k = (f * n as f64) as i64;
                        let (a, b) = (a as i64, b as i64);
                        (k * a + (n - k) * b, (k * a * a + (n - k) * b * b) as u64)
                    }
                };
                (n as u64, s1, s2, pl & ((1 << 34) - 1), gap)
            },
        )
    }

    /// A softmax row's `sum e_i` (the row maximum contributes `exp[0] = 2^15`).
    fn sm_row(max_width: u64) -> impl Strategy<Value = Row> {
        (1..=max_width, 0.0f64..1.0, any::<u64>(), 0usize..3).prop_map(|(n, f, pl, gap)| {
            let sum = (1 << 15) + (f * (n * 65535 - (1 << 15)) as f64) as i64;
            (n, sum, 0, pl & ((1 << 34) - 1), gap)
        })
    }

    /// Every queued entry against `spec::numerics` (`LnStats::from_sums` for LayerNorm,
    /// `floor(2^40 / sum)` and shift 32 for softmax), the payload carried unchanged, and every
    /// row taking the same number of cycles, the ops' latencies differing as `scalar_latency`.
    fn check(max_width: usize, ln_rows: Vec<Row>, sm_rows: Vec<Row>) -> Result<(), TestCaseError> {
        let got = run(max_width, ln_rows.clone(), sm_rows.clone());
        prop_assert_eq!(got.len(), ln_rows.len() + sm_rows.len());
        let (ln_got, sm_got) = got.split_at(ln_rows.len());
        for (&(n, s1, s2, pl, _), &(gpl, r, sh, _)) in ln_rows.iter().zip(ln_got) {
            let st = LnStats::from_sums(n as i64, s1, s2 as i64);
            prop_assert_eq!((gpl, r, sh), (pl, st.r, st.shift as u64), "n {} S1 {} S2 {}", n, s1, s2);
        }
        for (&(_, sum, _, pl, _), &(gpl, r, sh, _)) in sm_rows.iter().zip(sm_got) {
            prop_assert_eq!((gpl, r, sh), (pl, (1u64 << SOFTMAX_RECIP_BITS) / sum as u64, 32), "sum {}", sum);
        }
        let ln_lat = ln_got[0].3;
        let sm_lat = sm_got[0].3;
        prop_assert!(ln_got.iter().all(|g| g.3 == ln_lat) && sm_got.iter().all(|g| g.3 == sm_lat));
        prop_assert_eq!(
            ln_lat - sm_lat,
            (scalar_latency(OP_LAYERNORM, max_width) - scalar_latency(OP_SOFTMAX, max_width)) as u64
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]
        /// Rows of up to 40 channels (the unit tests' width).
        #[test]
        fn scalar_results_match_spec(
            ln_rows in prop::collection::vec(ln_row(40), 1..20),
            sm_rows in prop::collection::vec(sm_row(40), 1..20),
        ) {
            check(40, ln_rows, sm_rows)?;
        }

        /// Rows of up to 2^15 channels (the widest square root).
        #[test]
        fn scalar_results_match_spec_wide(
            ln_rows in prop::collection::vec(ln_row(1 << 15), 1..20),
            sm_rows in prop::collection::vec(sm_row(1 << 15), 1..20),
        ) {
            check(1 << 15, ln_rows, sm_rows)?;
        }
    }

    #[test]
    fn scalar_pipe_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut ScalarPipe::new(40), "scalar_pipe");
        crate::verilog::lint(&v, "scalar_pipe").unwrap();
    }
}
