//! The vector unit: integer LayerNorm and integer softmax over rows held in the scratchpad,
//! bit-exact with `spec::numerics::{layernorm_row, softmax_row}`, `R` channels per cycle.
//!
//! # Operation
//!
//! A `start` pulse runs one op over `rows` (`N`) rows of `n` channels; channel `c` of row `i` is
//! byte `c % R` of word `addr + i * stride + c / R`, lane `l` handles the channels `c = l mod R`,
//! and a row takes `w = ceil(n/R)` words. Every op first **loads its parameters** once:
//! * LayerNorm: gamma (`ceil(2n/R)` words) then beta (`ceil(4n/R)` words from
//!   `par_addr + ceil(2n/R)`), both on read port 0 (a bank has one read port), into a 16-bit and
//!   a 32-bit RAM per lane (`ceil(max_width/R)` entries, rounded up to a power of two):
//!   `L = ceil(2n/R) + ceil(4n/R)` cycles;
//! * softmax: the exp table (`512/R` words, port 0) into every lane's copy, a `512/R x 8R` RAM
//!   (entry `k` is 16-bit slot `k % (R/2)` of word `k / (R/2)`, so one scratchpad word per cycle
//!   fills all lanes): `L = 512/R` cycles.
//!
//! Then each row takes an **A pass** (statistics), a **scalar step** and a **B pass** (normalise
//! and write); a pass reads one word (`R` channels) per cycle:
//! * LayerNorm. A: `S1 = sum x`, `S2 = sum x^2` (port 0 reads the low byte plane, port 1 the high
//!   one, in parallel; `R` squarers, two adder trees). Scalar: `D = max(n S2 - S1^2, 0)`,
//!   `sd = max(isqrt(D), 1)`, `b = bitlen(sd)`, `r = floor(2^(b+24) / sd)` (computed as
//!   `floor(2^b 2^26 / (4 sd))`), shift `b + 14`. B: per lane
//!   `u = shift_round((n x - S1) r, b + 14)`, `y = requant_i8(u gamma + beta, out)`.
//! * Softmax. A **max engine** computes row maxima ahead on read port 1 (softmax's main passes
//!   use port 0 only) into a [`MAX_QUEUE`]-entry queue, so A is the exp/sum pass:
//!   `sum e_i`, `e_i = exp[max - x_i]` from the lane tables. Scalar: `r = floor(2^40 / sum)`
//!   (`floor(2^14 2^26 / sum)`). B: `p = min(255, shift_round(e r, 32))`.
//!
//! The **scalar step is a pipeline** that accepts one row per cycle: products (`n S2`, `S1^2`),
//! [`IsqrtPipe`](crate::arith::IsqrtPipe) (2 result bits per stage), normalisation,
//! [`RecipPipe`](crate::arith::RecipPipe) (2 quotient bits per stage); softmax enters at the
//! divider. Results (with the row's `S1` or maximum) queue in a
//! [`RESULT_QUEUE`]-entry FIFO. The main engine runs A passes up to [`ROW_LAG`] rows ahead of the
//! B passes (an A pass whenever allowed and ready, else a B pass whose result is queued), so the
//! scalar latency of a row is hidden behind the passes of the rows around it and back-to-back
//! passes have no bubbles: in steady state a row costs `2w` cycles for both ops.
//!
//! # Lane pipeline (stage `tk` = `k` cycles after the read address)
//! ```text
//! t1 data; m1 = x*x (A) | n*x (B); exp table address max - x   t2 e = table[..]; t = m1 - S1
//! t3 p = t*r (LN) | e*r (softmax); lane sums -> adder trees    t4 p + round_offset(b+14 | 32)
//! t5 u = shift_round(p, b+14 | 32); gamma/beta RAM read         t6 acc = u*gamma + beta | u
//! t7 acc*m                                                       t8 + round_offset(s)
//! t9 y = clamp(shift_round(., s)) to int8 | to [0, 255]          t10 write (byte enables: c < n)
//! ```
//! `round_offset(s) = 2^62 + 2^s / 2` (offset binary plus the rounding half,
//! [`crate::arith::round_offset`]) is added a stage ahead of each shift, so t5 and t9 hold a
//! shifter and a narrow subtract or compare but no 64-bit add: the row's offset comes down a
//! delay line beside its shift, the op's output offset and clamp bounds are registers set from
//! `out_s` (t9 compares `x >> s` with them instead of subtracting `2^62 >> s` first).
//! Sums: trees at t3, accumulation at t4, the row's sums enter the scalar pipeline at t5.
//!
//! Per lane: four products, 17x16 (`x^2` in A, `n x` in B), 34x27 (`t r`, softmax `e r`, as
//! [`crate::arith::RecipProduct`]'s two DSP-sized products and a LUT term, added to the rounding
//! offset at t4), 24x16 (`u gamma`), 40x17 (`acc m`): six DSP48E1; a 16-bit and a 32-bit
//! parameter RAM; the exp table copy. The scalar step's `n S2` and `S1^2` take five DSP48E1
//! ([`crate::arith::SpreadProducts`]).
//! Widths are exact for `n <= 2^15`: `|n x - S1| < 2^31`, `r <= 2^25`,
//! `|u| <= |n x - S1| 2^10 / sd + 1 < 2 sqrt(n) 2^10 + 1 < 2^19` (as `sum (n x_i - S1)^2 = n D`),
//! `|acc| < 2^34 + 2^31`, `D < n^2 2^30`, `S1^2, n S2 < 2^60`.
//!
//! # Structure
//! One sub-block per seam, each in its own file with its own test beside it:
//! * [`Sequencer`] (`vec/sequencer.rs`): the main engine: parameter load, the choice of A or B
//!   pass, the word issue with its t1 registers, the drain and `done`; it owns the read port
//!   registers (port 1 follows the max engine's requests during softmax);
//! * [`VecLanes`] (`vec/lane.rs`): the `R` [`VecLane`]s and the routing of parameter words into
//!   their RAMs;
//! * [`RowSums`] (`vec/sums.rs`): adder trees, accumulation and the hand-off F1 of a row's sums;
//! * [`ScalarPipe`] (`vec/scalar.rs`): the scalar step and the result queue;
//! * [`MaxEngine`] (`vec/max_engine.rs`): the softmax row maxima on read port 1 and their queue.
//!
//! This block derives the op's operands, carries the sideband from the t1 registers to the
//! lanes' stages and owns the write port registers. The whole-unit tests (against
//! `spec::numerics`, in Rust-HDL's simulator and on the generated Verilog in Icarus) are below.
//!
//! # Cycles
//! [`vec_cycles`] gives the exact count (the tests check it against the RTL for every op). When
//! nothing stalls it is `L + 2 N w + 11`.
//!
//! # Interface notes
//! * Every output is a register output (wired by `link`/`join`, never assigned in a block that
//!   reads this cycle's inputs): no combinational path from any input to any output.
//! * Port use: LayerNorm reads gamma and beta on port 0, then both byte planes on ports 0/1
//!   (port 1 addresses the high plane during the load); softmax reads
//!   the table and the A/B passes on port 0 and the max engine's rows on port 1 (from cycle 1,
//!   concurrently with the table load) from the copy of the input rows at `in_hi_bank` (one read
//!   port per bank: the scores GEMM writes both copies).
//! * In place is allowed (output rows on top of the same input rows, e.g. softmax
//!   `out = in`, LayerNorm `out = in_lo`), but an output row must not overlap another row's input
//!   or the parameter block: A passes read up to [`ROW_LAG`] rows ahead of the writes.

mod lane;
mod max_engine;
mod scalar;
mod sequencer;
mod sums;
#[cfg(test)]
mod tests;

pub use lane::{VecLane, VecLanes};
pub use max_engine::MaxEngine;
pub use scalar::ScalarPipe;
pub use sequencer::Sequencer;
pub use sums::RowSums;

use crate::delay::DelayLine;
use crate::storage::SP_ADDR_BITS;
use crate::widen::Extend;
use rust_hdl::prelude::*;

pub use spec::timing::vector::{
    isqrt_bits, scalar_latency, vec_cycles, MAX_QUEUE, OP_LAYERNORM, OP_SOFTMAX, RECIP_BITS, ROW_LAG, SCALAR_STEPS,
    WRITE_LATENCY,
};
/// Entries of the scalar result queue (`ROW_LAG + 1`, a power of two).
pub const RESULT_QUEUE: usize = 16;

/// Entries of a lane's gamma/beta RAMs for rows of up to `max_width` channels on `lanes` lanes
/// folded `fold` times (a folded unit loads gamma in whole `fold * lanes`-byte words, so its
/// channels run up to `max_width` rounded up to that).
pub fn param_depth(lanes: usize, fold: usize, max_width: usize) -> usize {
    max_width.next_multiple_of(lanes * fold).div_ceil(lanes).next_power_of_two()
}

fn sigs<D: Direction, T: Synth>(n: usize) -> Vec<Signal<D, T>> {
    (0..n).map(|_| Signal::default()).collect()
}

/// The vector unit for `R = BE` lanes, `W = 8R`-bit scratchpad words.
#[derive(LogicBlock)]
pub struct VecUnit<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// Start pulse (ignored while busy); the operands below are stable until `done`.
    pub start: Signal<In, Bit>,
    /// [`OP_LAYERNORM`] or [`OP_SOFTMAX`] (anything else: `done` at once, nothing written).
    pub op: Signal<In, Bits<4>>,
    /// Rows (>= 1; 0 writes nothing and finishes after the parameter load).
    pub rows: Signal<In, Bits<16>>,
    /// Channels per row, `1..=max_width`.
    pub n: Signal<In, Bits<16>>,
    /// Bank of the input (LayerNorm: low byte plane).
    pub in_lo_bank: Signal<In, Bits<4>>,
    /// Bank of the LayerNorm input's high byte plane.
    pub in_hi_bank: Signal<In, Bits<4>>,
    /// Word address of input row 0.
    pub in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between input rows.
    pub in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the output.
    pub out_bank: Signal<In, Bits<4>>,
    /// Word address of output row 0.
    pub out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output rows.
    pub out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the parameter block.
    pub par_bank: Signal<In, Bits<4>>,
    /// Word address of the parameter block.
    pub par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// LayerNorm output multiplier `m` (`Dyadic`).
    pub out_m: Signal<In, Bits<16>>,
    /// LayerNorm output shift `s <= 62`.
    pub out_s: Signal<In, Bits<8>>,
    /// An op is running.
    pub busy: Signal<Out, Bit>,
    /// One-cycle pulse, the cycle after the last byte was written.
    pub done: Signal<Out, Bit>,
    /// Read port 0 bank.
    pub rd0_bank: Signal<Out, Bits<4>>,
    /// Read port 0 address.
    pub rd0_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read port 0 data (of the previous cycle's address).
    pub rd0_data: Signal<In, Bits<W>>,
    /// Read port 1 bank.
    pub rd1_bank: Signal<Out, Bits<4>>,
    /// Read port 1 address.
    pub rd1_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read port 1 data (of the previous cycle's address).
    pub rd1_data: Signal<In, Bits<W>>,
    /// Write port bank.
    pub wr_bank: Signal<Out, Bits<4>>,
    /// Write address.
    pub wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<Out, Bits<W>>,
    /// Write byte enables.
    pub wr_be: Signal<Out, Bits<BE>>,
    /// Write strobe.
    pub wr_en: Signal<Out, Bit>,

    /// The lanes and the parameter routing.
    lanes: VecLanes<W, BE>,
    /// The main engine: parameter load, A/B passes, drain; owns the read ports.
    seq: Sequencer<BE>,
    /// Row sums (trees at t3, accumulation at t4) and their hand-off (F1) to the scalar step.
    sums: RowSums<BE>,
    /// The scalar step and its result queue.
    scalar: ScalarPipe,
    /// The softmax max engine (read port 1).
    max: MaxEngine<W, BE>,

    // Sideband of the element pipeline, from the main engine's t1 registers to the lanes.
    /// t2: A pass.
    a_pass2: DFF<Bit>,
    /// t1: the row maximum (softmax).
    row_max1: DFF<Bits<8>>,
    /// t2: `S1` of the B pass's row.
    s1_delay: DelayLine<Bits<34>>,
    /// t3: the row's reciprocal.
    recip_delay: DelayLine<Bits<27>>,
    /// t4: the row's rounding offset `round_offset(shift)`, computed from the t1 register.
    row_round: Signal<Local, Bits<64>>,
    round_delay: DelayLine<Bits<64>>,
    /// t5: the normalisation shift.
    shift_delay: DelayLine<Bits<8>>,
    /// t5: the word's index in the row.
    word_index_delay: DelayLine<Bits<SP_ADDR_BITS>>,
    /// t9: B pass word, its live lanes, its output address.
    b_valid_delay: DelayLine<Bit>,
    live_delay: DelayLine<Bits<BE>>,
    write_addr_delay: DelayLine<Bits<SP_ADDR_BITS>>,
    /// t10: the write port registers.
    wr_addr_r: DFF<Bits<SP_ADDR_BITS>>,
    wr_be_r: DFF<Bits<BE>>,
    wr_en_r: DFF<Bit>,

    // Derived operands.
    n17: Extend<17, 16>,
    n20: Extend<SP_ADDR_BITS, 16>,
    out_m17: Extend<17, 16>,
    /// The op input is LayerNorm.
    is_ln: Signal<Local, Bit>,
    /// Words per row `ceil(n/R)`.
    words: Signal<Local, Bits<16>>,
    /// Gamma words `F ceil(2n/(F R))`.
    gamma_words: Signal<Local, Bits<SP_ADDR_BITS>>,
    /// Parameter words to load.
    load_words: Signal<Local, Bits<SP_ADDR_BITS>>,
    /// The lanes' output multiplier and shift (1 and 0 for softmax).
    lane_out_m: Signal<Local, Bits<17>>,
    lane_out_s: Signal<Local, Bits<8>>,
    /// `off = 2^62 >> out_s`, and the op's output constants derived from it, registered (the
    /// operands are stable from `start` to `done`; the first output is dozens of cycles later):
    /// `round_offset(out_s)`, the clamp bounds `max(off - 128, 0)`, `off + 127` (LayerNorm) or
    /// `off`, `off + 255` (softmax), and `off`'s low byte.
    out_off: Signal<Local, Bits<64>>,
    out_round_r: DFF<Bits<64>>,
    out_lo_r: DFF<Bits<64>>,
    out_hi_r: DFF<Bits<64>>,
    out_off8_r: DFF<Bits<8>>,
    c_offset64: Constant<Bits<64>>,
    c_one64: Constant<Bits<64>>,
    c_zero64: Constant<Bits<64>>,
    c_127_64: Constant<Bits<64>>,
    c_128_64: Constant<Bits<64>>,
    c_255_64: Constant<Bits<64>>,

    op_ln: Constant<Bits<4>>,
    op_sm: Constant<Bits<4>>,
    c_rm1_16: Constant<Bits<16>>,
    c_rm1_20: Constant<Bits<SP_ADDR_BITS>>,
    c_lr16: Constant<Bits<16>>,
    c_lr20: Constant<Bits<SP_ADDR_BITS>>,
    /// `F R - 1`, `log2(F R)` and `log2 F` for the gamma words.
    c_frm1_20: Constant<Bits<SP_ADDR_BITS>>,
    c_lfr20: Constant<Bits<SP_ADDR_BITS>>,
    c_lf20: Constant<Bits<SP_ADDR_BITS>>,
    c_tab_words: Constant<Bits<SP_ADDR_BITS>>,
    c_one17: Constant<Bits<17>>,
    c_zero8: Constant<Bits<8>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> VecUnit<W, BE> {
    /// A unit with `rows` (`R`, a power of two, 4..=128) lanes for rows of up to `max_width`
    /// (`1..=2^15`) channels, its `R`-byte words `fold` (`F`, a power of two) slices of the
    /// scratchpad's `F R`-byte words (see `crate::vector_unit`): the parameter block's beta
    /// starts after `F ceil(2n/(F R))` gamma words, where the scratchpad's next word begins.
    pub fn new(rows: usize, fold: usize, max_width: usize) -> Self {
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert_eq!(BE, rows);
        assert!(rows.is_power_of_two() && (4..=128).contains(&rows), "R = {rows}");
        assert!(fold.is_power_of_two() && fold <= 16, "fold = {fold}");
        assert!((1..=1 << 15).contains(&max_width), "max_width = {max_width}");
        let c20 = |v: u64| Constant::new(Bits::<SP_ADDR_BITS>::from(v));
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let lr = rows.trailing_zeros() as u64;
        VecUnit {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            op: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            in_lo_bank: Signal::default(),
            in_hi_bank: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            out_bank: Signal::default(),
            out_addr: Signal::default(),
            out_stride: Signal::default(),
            par_bank: Signal::default(),
            par_addr: Signal::default(),
            out_m: Signal::default(),
            out_s: Signal::default(),
            busy: Signal::default(),
            done: Signal::default(),
            rd0_bank: Signal::default(),
            rd0_addr: Signal::default(),
            rd0_data: Signal::default(),
            rd1_bank: Signal::default(),
            rd1_addr: Signal::default(),
            rd1_data: Signal::default(),
            wr_bank: Signal::default(),
            wr_addr: Signal::default(),
            wr_data: Signal::default(),
            wr_be: Signal::default(),
            wr_en: Signal::default(),
            lanes: VecLanes::new(param_depth(rows, fold, max_width)),
            seq: Sequencer::default(),
            sums: RowSums::default(),
            scalar: ScalarPipe::new(max_width),
            max: MaxEngine::default(),
            a_pass2: DFF::default(),
            row_max1: DFF::default(),
            s1_delay: DelayLine::new(2),
            recip_delay: DelayLine::new(3),
            row_round: Signal::default(),
            round_delay: DelayLine::new(4),
            shift_delay: DelayLine::new(5),
            word_index_delay: DelayLine::new(4),
            b_valid_delay: DelayLine::new(WRITE_LATENCY - 2),
            live_delay: DelayLine::new(WRITE_LATENCY - 2),
            write_addr_delay: DelayLine::new(WRITE_LATENCY - 2),
            wr_addr_r: DFF::default(),
            wr_be_r: DFF::default(),
            wr_en_r: DFF::default(),
            n17: Extend::new(false),
            n20: Extend::new(false),
            out_m17: Extend::new(false),
            is_ln: Signal::default(),
            words: Signal::default(),
            gamma_words: Signal::default(),
            load_words: Signal::default(),
            lane_out_m: Signal::default(),
            lane_out_s: Signal::default(),
            out_off: Signal::default(),
            out_round_r: DFF::default(),
            out_lo_r: DFF::default(),
            out_hi_r: DFF::default(),
            out_off8_r: DFF::default(),
            c_offset64: Constant::new((1u64 << 62).into()),
            c_one64: Constant::new(1u64.into()),
            c_zero64: Constant::new(0u64.into()),
            c_127_64: Constant::new(127u64.into()),
            c_128_64: Constant::new(128u64.into()),
            c_255_64: Constant::new(255u64.into()),
            op_ln: Constant::new(OP_LAYERNORM.into()),
            op_sm: Constant::new(OP_SOFTMAX.into()),
            c_rm1_16: c16(rows as u64 - 1),
            c_rm1_20: c20(rows as u64 - 1),
            c_lr16: c16(lr),
            c_lr20: c20(lr),
            c_frm1_20: c20((fold * rows) as u64 - 1),
            c_lfr20: c20((fold * rows).trailing_zeros() as u64),
            c_lf20: c20(fold.trailing_zeros() as u64),
            c_tab_words: c20(512 / rows as u64),
            c_one17: Constant::new(1u64.into()),
            c_zero8: Constant::new(0u64.into()),
            _r: rows,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for VecUnit<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a_pass2, row_max1, wr_addr_r, wr_be_r, wr_en_r);
        dff_setup!(self, clock, out_round_r, out_lo_r, out_hi_r, out_off8_r);
        self.lanes.clock.next = self.clock.val();
        self.seq.clock.next = self.clock.val();
        self.sums.clock.next = self.clock.val();
        self.scalar.clock.next = self.clock.val();
        self.max.clock.next = self.clock.val();
        self.s1_delay.clock.next = self.clock.val();
        self.recip_delay.clock.next = self.clock.val();
        self.round_delay.clock.next = self.clock.val();
        self.shift_delay.clock.next = self.clock.val();
        self.word_index_delay.clock.next = self.clock.val();
        self.b_valid_delay.clock.next = self.clock.val();
        self.live_delay.clock.next = self.clock.val();
        self.write_addr_delay.clock.next = self.clock.val();

        // Every output comes straight from a register (or the byte packer of register outputs).
        Signal::<Out, Bit>::link(&mut self.busy, &mut self.seq.busy);
        Signal::<Out, Bit>::link(&mut self.done, &mut self.seq.done);
        Signal::<Out, Bits<4>>::link(&mut self.rd0_bank, &mut self.seq.rd0_bank);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd0_addr, &mut self.seq.rd0_addr);
        Signal::<Out, Bits<4>>::link(&mut self.rd1_bank, &mut self.seq.rd1_bank);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd1_addr, &mut self.max.rd_addr);
        Signal::<Out, Bits<4>>::link(&mut self.wr_bank, &mut self.seq.wr_bank);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.wr_addr, &mut self.wr_addr_r.q);
        Signal::<Out, Bits<BE>>::link(&mut self.wr_be, &mut self.wr_be_r.q);
        Signal::<Out, Bit>::link(&mut self.wr_en, &mut self.wr_en_r.q);
        Signal::<Out, Bits<W>>::link(&mut self.wr_data, &mut self.lanes.y);

        // Derived operands.
        self.is_ln.next = self.op.val() == self.op_ln.val();
        self.n17.din.next = self.n.val();
        self.n20.din.next = self.n.val();
        self.out_m17.din.next = self.out_m.val();
        self.words.next = (self.n.val() + self.c_rm1_16.val()) >> self.c_lr16.val();
        self.gamma_words.next =
            (((self.n20.dout.val() << 1) + self.c_frm1_20.val()) >> self.c_lfr20.val()) << self.c_lf20.val();
        self.load_words.next = self.c_tab_words.val();
        if self.is_ln.val() {
            self.load_words.next =
                self.gamma_words.val() + (((self.n20.dout.val() << 2) + self.c_rm1_20.val()) >> self.c_lr20.val());
        }
        self.lane_out_m.next = self.c_one17.val();
        self.lane_out_s.next = self.c_zero8.val();
        if self.seq.ln.val() {
            self.lane_out_m.next = self.out_m17.dout.val();
            self.lane_out_s.next = self.out_s.val();
        }
        self.out_off.next = self.c_offset64.val() >> self.lane_out_s.val();
        self.out_round_r.d.next = self.c_offset64.val() + ((self.c_one64.val() << self.lane_out_s.val()) >> 1);
        self.out_off8_r.d.next = self.out_off.val().get_bits::<8>(0);
        if self.seq.ln.val() {
            self.out_lo_r.d.next = self.c_zero64.val();
            if self.out_off.val() >= self.c_128_64.val() {
                self.out_lo_r.d.next = self.out_off.val() - self.c_128_64.val();
            }
            self.out_hi_r.d.next = self.out_off.val() + self.c_127_64.val();
        } else {
            self.out_lo_r.d.next = self.out_off.val();
            self.out_hi_r.d.next = self.out_off.val() + self.c_255_64.val();
        }

        // Main engine.
        self.seq.reset.next = self.reset.val();
        self.seq.start.next = self.start.val();
        self.seq.op_ln.next = self.is_ln.val();
        self.seq.op_known.next = self.is_ln.val() || (self.op.val() == self.op_sm.val());
        self.seq.rows.next = self.rows.val();
        self.seq.n.next = self.n.val();
        self.seq.words.next = self.words.val();
        self.seq.load_words.next = self.load_words.val();
        self.seq.in_lo_bank.next = self.in_lo_bank.val();
        self.seq.in_hi_bank.next = self.in_hi_bank.val();
        self.seq.in_addr.next = self.in_addr.val();
        self.seq.in_stride.next = self.in_stride.val();
        self.seq.out_bank.next = self.out_bank.val();
        self.seq.out_addr.next = self.out_addr.val();
        self.seq.out_stride.next = self.out_stride.val();
        self.seq.par_bank.next = self.par_bank.val();
        self.seq.par_addr.next = self.par_addr.val();
        self.seq.max_count.next = self.max.count.val();
        self.seq.max_head.next = self.max.head.val();
        self.seq.result_count.next = self.scalar.count.val();
        self.seq.result_payload.next = self.scalar.head_payload.val();
        self.seq.result_recip.next = self.scalar.head_recip.val();
        self.seq.result_shift.next = self.scalar.head_shift.val();

        // Lanes, and the sideband from the main engine's t1 registers to their stages.
        self.a_pass2.d.next = self.seq.a_valid1.val();
        self.row_max1.d.next = self.seq.row_max.val();
        self.s1_delay.din.next = self.seq.row_s1.val();
        self.recip_delay.din.next = self.seq.row_recip.val();
        self.row_round.next = self.c_offset64.val() + ((self.c_one64.val() << self.seq.row_shift.val()) >> 1);
        self.round_delay.din.next = self.row_round.val();
        self.shift_delay.din.next = self.seq.row_shift.val();
        self.word_index_delay.din.next = self.seq.word_index1.val();
        self.lanes.ln.next = self.seq.ln.val();
        self.lanes.n.next = self.n17.dout.val();
        self.lanes.gamma_words.next = self.gamma_words.val();
        self.lanes.rd0_data.next = self.rd0_data.val();
        self.lanes.rd1_data.next = self.rd1_data.val();
        self.lanes.load_valid.next = self.seq.load_valid1.val();
        self.lanes.load_index.next = self.seq.load_index1.val();
        self.lanes.live.next = self.seq.live1.val();
        self.lanes.a_pass.next = self.seq.a_valid1.val();
        self.lanes.row_max.next = self.row_max1.q.val();
        self.lanes.a_pass2.next = self.a_pass2.q.val();
        self.lanes.s1.next = self.s1_delay.dout.val();
        self.lanes.recip.next = self.recip_delay.dout.val();
        self.lanes.round.next = self.round_delay.dout.val();
        self.lanes.shift.next = self.shift_delay.dout.val();
        self.lanes.param_index.next = self.word_index_delay.dout.val();
        self.lanes.out_m.next = self.lane_out_m.val();
        self.lanes.out_s.next = self.lane_out_s.val();
        self.lanes.out_round.next = self.out_round_r.q.val();
        self.lanes.out_lo.next = self.out_lo_r.q.val();
        self.lanes.out_hi.next = self.out_hi_r.q.val();
        self.lanes.out_off8.next = self.out_off8_r.q.val();
        // t10: the write (only while busy, so a reset mid-op writes nothing more).
        self.b_valid_delay.din.next = self.seq.b_valid1.val();
        self.live_delay.din.next = self.seq.live1.val();
        self.write_addr_delay.din.next = self.seq.write_addr1.val();
        self.wr_en_r.d.next = self.b_valid_delay.dout.val() && self.seq.busy.val();
        self.wr_be_r.d.next = self.live_delay.dout.val();
        self.wr_addr_r.d.next = self.write_addr_delay.dout.val();
        if self.reset.val() {
            self.wr_en_r.d.next = false;
        }

        // Row sums of the A passes -> scalar step -> result queue (popped by the B passes).
        self.sums.reset.next = self.reset.val();
        self.sums.ln.next = self.seq.ln.val();
        self.sums.keep.next = self.seq.busy.val();
        self.sums.valid.next = self.seq.a_valid1.val();
        self.sums.first.next = self.seq.first1.val();
        self.sums.last.next = self.seq.last1.val();
        self.sums.row_max.next = self.row_max1.q.val();
        for l in 0..self._r {
            self.sums.term[l].next = self.lanes.term[l].val();
            self.sums.term_sq[l].next = self.lanes.term_sq[l].val();
        }
        self.scalar.clear.next = self.reset.val() || self.seq.op_start.val();
        self.scalar.ln.next = self.seq.ln.val();
        self.scalar.n.next = self.n17.dout.val();
        self.scalar.valid.next = self.sums.row_valid.val();
        self.scalar.sum.next = self.sums.sum.val();
        self.scalar.sum_sq.next = self.sums.sum_sq.val();
        self.scalar.payload.next = self.sums.payload.val();
        self.scalar.keep.next = self.seq.busy.val();
        self.scalar.pop.next = self.seq.result_pop.val();

        // Max engine (softmax, read port 1; it owns the port's address register).
        self.max.reset.next = self.reset.val();
        self.max.op_start.next = self.seq.op_start.val();
        self.max.softmax.next = !self.is_ln.val();
        self.max.rows.next = self.rows.val();
        self.max.n.next = self.n.val();
        self.max.words.next = self.words.val();
        self.max.in_addr.next = self.in_addr.val();
        self.max.in_stride.next = self.in_stride.val();
        self.max.rd_data.next = self.rd1_data.val();
        self.max.pop.next = self.seq.max_pop.val();
        self.max.main_step.next = self.seq.port1_step.val();
        self.max.main_jump.next = self.seq.port1_jump.val();
        self.max.main_jump_addr.next = self.seq.port1_jump_addr.val();
    }
}
