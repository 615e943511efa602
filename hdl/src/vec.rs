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
//! [`IsqrtPipe`] (2 result bits per stage), normalisation, [`RecipPipe`] (2 quotient bits per
//! stage); softmax enters at the divider. Results (with the row's `S1` or maximum) queue in a
//! [`RESULT_QUEUE`]-entry FIFO. The main engine runs A passes up to [`ROW_LAG`] rows ahead of the
//! B passes (an A pass whenever allowed and ready, else a B pass whose result is queued), so the
//! scalar latency of a row is hidden behind the passes of the rows around it and back-to-back
//! passes have no bubbles: in steady state a row costs `2w` cycles for both ops.
//!
//! # Lane pipeline (stage `tk` = `k` cycles after the read address)
//! ```text
//! t1 data; m1 = x*x (A) | n*x (B); exp table address max - x   t2 e = table[..]; t = m1 - S1
//! t3 p = t*r (LN) | e*r (softmax); lane sums -> adder trees    t4 p + 2^62 (offset binary)
//! t5 u = shift_round(p, b+14 | 32); gamma/beta RAM read         t6 acc = u*gamma + beta | u
//! t7 acc*m                                                       t8 + 2^62
//! t9 y = clamp(shift_round(., s)) to int8 | to [0, 255]          t10 write (byte enables: c < n)
//! ```
//! Sums: trees at t3, accumulation at t4, the row's sums enter the scalar pipeline at t5.
//!
//! Per lane: four multipliers, 17x16 (`x^2` in A, `n x` in B), 34x27 (`t r`, softmax `e r`),
//! 24x16 (`u gamma`), 40x17 (`acc m`); a 16-bit and a 32-bit parameter RAM; the exp table copy.
//! Widths are exact for `n <= 2^15`: `|n x - S1| < 2^31`, `r <= 2^25`,
//! `|u| <= |n x - S1| 2^10 / sd + 1 < 2 sqrt(n) 2^10 + 1 < 2^19` (as `sum (n x_i - S1)^2 = n D`),
//! `|acc| < 2^34 + 2^31`, `D < n^2 2^30`, `S1^2, n S2 < 2^60`.
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

use crate::arith::{IsqrtPipe, MulS, RecipPipe, RoundShift, Slice};
use crate::delay::DelayLine;
use crate::storage::{Bank, WordFifo, SP_ADDR_BITS};
use crate::widen::{Concat, Extend, Pack, PackBits};
use rust_hdl::prelude::*;

pub use spec::timing::vector::{
    isqrt_bits, scalar_latency, vec_cycles, MAX_QUEUE, OP_LAYERNORM, OP_SOFTMAX, RECIP_BITS, ROW_LAG, SCALAR_STEPS,
    WRITE_LATENCY,
};
/// Entries of the scalar result queue (`ROW_LAG + 1`, a power of two).
pub const RESULT_QUEUE: usize = 16;

/// Entries of a lane's gamma/beta RAMs for rows of up to `max_width` channels.
pub fn param_depth(rows: usize, max_width: usize) -> usize {
    max_width.div_ceil(rows).next_power_of_two()
}

// Main engine states.
const M_IDLE: u64 = 0;
const M_LOAD: u64 = 1;
const M_RUN: u64 = 2;
const M_PICK: u64 = 3;
const M_DRAIN: u64 = 4;
// Max engine states.
const X_IDLE: u64 = 0;
const X_RUN: u64 = 1;
const X_WAIT: u64 = 2;

fn sigs<D: Direction, T: Synth>(n: usize) -> Vec<Signal<D, T>> {
    (0..n).map(|_| Signal::default()).collect()
}

/// One lane of the vector unit: its parameter RAMs and its share of the per-element pipeline.
#[derive(LogicBlock)]
pub struct VecLane<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// t1: low byte (LayerNorm) or the int8 input (softmax).
    pub lo: Signal<In, Bits<8>>,
    /// t1: high byte (LayerNorm).
    pub hi: Signal<In, Bits<8>>,
    /// t1: the channel exists (`c < n`); dead lanes contribute 0 to the sums.
    pub live: Signal<In, Bit>,
    /// t1: LayerNorm A pass (square `x` instead of `n x`).
    pub sq: Signal<In, Bit>,
    /// The op is LayerNorm (else softmax).
    pub ln: Signal<In, Bit>,
    /// `n`, zero-extended.
    pub nx: Signal<In, Bits<17>>,
    /// t1: the row maximum (softmax).
    pub mx: Signal<In, Bits<8>>,
    /// t2: A pass.
    pub a2: Signal<In, Bit>,
    /// t2: `S1` of the row (LayerNorm).
    pub s1: Signal<In, Bits<34>>,
    /// t3: reciprocal `r` of the row.
    pub r: Signal<In, Bits<27>>,
    /// t5: normalisation shift (`b + 14`, or 32 for softmax).
    pub shift: Signal<In, Bits<8>>,
    /// t5: parameter RAM read address (word index in the row).
    pub pidx: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Output multiplier (1 for softmax).
    pub om: Signal<In, Bits<17>>,
    /// Output shift (0 for softmax).
    pub os: Signal<In, Bits<8>>,
    /// Gamma RAM write strobe.
    pub g_we: Signal<In, Bit>,
    /// Gamma RAM write address.
    pub g_waddr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Gamma RAM write data.
    pub g_wdata: Signal<In, Bits<16>>,
    /// Beta RAM write strobe.
    pub b_we: Signal<In, Bit>,
    /// Beta RAM write address.
    pub b_waddr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Beta RAM write data.
    pub b_wdata: Signal<In, Bits<32>>,
    /// Exp table write strobe.
    pub t_we: Signal<In, Bit>,
    /// Exp table write address (word of `R/2` entries).
    pub t_waddr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Exp table write data.
    pub t_wdata: Signal<In, Bits<W>>,
    /// t3: this lane's term of the first sum (`x` or `e`, two's complement).
    pub sum_a: Signal<Out, Bits<24>>,
    /// t3: this lane's term of the second sum (`x^2`).
    pub sum_b: Signal<Out, Bits<40>>,
    /// t10: the output byte.
    pub y: Signal<Out, Bits<8>>,

    gam: Bank<16, 2>,
    bet: Bank<32, 4>,
    tab: Bank<W, BE>,
    // t1
    x16: Concat<8, 8, 16>,
    xin: Signal<Local, Bits<16>>,
    ext_x: Extend<17, 16>,
    m1: MulS<17, 16, 33>,
    kk: Signal<Local, Bits<8>>,
    tix: Extend<SP_ADDR_BITS, 8>,
    xm: DFF<Bits<16>>,
    p1: DFF<Bits<33>>,
    sel: DFF<Bits<8>>,
    live2: DFF<Bit>,
    // t2
    e: Signal<Local, Bits<16>>,
    ext_xm: Extend<34, 16>,
    ext_p1: Extend<34, 33>,
    ext_e: Extend<34, 16>,
    ext_sq: Extend<40, 33>,
    tr: DFF<Bits<34>>,
    sq3: DFF<Bits<40>>,
    sa: Slice<34, 24>,
    // t3, t4
    m2: MulS<34, 27, 64>,
    p2: DFF<Bits<64>>,
    po: DFF<Bits<64>>,
    // t5
    rs1: RoundShift,
    su: Slice<64, 24>,
    u: DFF<Bits<24>>,
    // t6
    m3: MulS<24, 16, 40>,
    ext_b: Extend<40, 32>,
    bsel: Signal<Local, Bits<40>>,
    acc: DFF<Bits<40>>,
    // t7, t8
    m4: MulS<40, 17, 57>,
    pm: DFF<Bits<57>>,
    ext_pm: Extend<64, 57>,
    po2: DFF<Bits<64>>,
    // t9
    rs2: RoundShift,
    yv: Signal<Local, Bits<64>>,
    yr: DFF<Bits<8>>,

    offset: Constant<Bits<64>>,
    one16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
    zero40: Constant<Bits<40>>,
    sel_mask: Constant<Bits<8>>,
    tab_shift: Constant<Bits<8>>,
    g_be: Constant<Bits<2>>,
    b_be: Constant<Bits<4>>,
    t_be: Constant<Bits<BE>>,
    neg_lim: Constant<Bits<64>>,
    i8_lim: Constant<Bits<64>>,
    u8_lim: Constant<Bits<64>>,
    i8_max: Constant<Bits<8>>,
    i8_min: Constant<Bits<8>>,
    u8_max: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    _half: usize,
}

impl<const W: usize, const BE: usize> VecLane<W, BE> {
    /// A lane of an `R = BE`-lane unit with `depth`-entry gamma/beta RAMs.
    pub fn new(depth: usize) -> Self {
        let half = BE / 2;
        let mut all_be = Bits::<BE>::default();
        for i in 0..BE {
            all_be = all_be.replace_bit(i, true);
        }
        VecLane {
            clock: Signal::default(),
            lo: Signal::default(),
            hi: Signal::default(),
            live: Signal::default(),
            sq: Signal::default(),
            ln: Signal::default(),
            nx: Signal::default(),
            mx: Signal::default(),
            a2: Signal::default(),
            s1: Signal::default(),
            r: Signal::default(),
            shift: Signal::default(),
            pidx: Signal::default(),
            om: Signal::default(),
            os: Signal::default(),
            g_we: Signal::default(),
            g_waddr: Signal::default(),
            g_wdata: Signal::default(),
            b_we: Signal::default(),
            b_waddr: Signal::default(),
            b_wdata: Signal::default(),
            t_we: Signal::default(),
            t_waddr: Signal::default(),
            t_wdata: Signal::default(),
            sum_a: Signal::default(),
            sum_b: Signal::default(),
            y: Signal::default(),
            gam: Bank::new(depth),
            bet: Bank::new(depth),
            tab: Bank::new(512 / BE),
            x16: Concat::default(),
            xin: Signal::default(),
            ext_x: Extend::new(true),
            m1: MulS::default(),
            kk: Signal::default(),
            tix: Extend::new(false),
            xm: DFF::default(),
            p1: DFF::default(),
            sel: DFF::default(),
            live2: DFF::default(),
            e: Signal::default(),
            ext_xm: Extend::new(true),
            ext_p1: Extend::new(true),
            ext_e: Extend::new(false),
            ext_sq: Extend::new(true),
            tr: DFF::default(),
            sq3: DFF::default(),
            sa: Slice::new(0),
            m2: MulS::default(),
            p2: DFF::default(),
            po: DFF::default(),
            rs1: RoundShift::default(),
            su: Slice::new(0),
            u: DFF::default(),
            m3: MulS::default(),
            ext_b: Extend::new(true),
            bsel: Signal::default(),
            acc: DFF::default(),
            m4: MulS::default(),
            pm: DFF::default(),
            ext_pm: Extend::new(true),
            po2: DFF::default(),
            rs2: RoundShift::default(),
            yv: Signal::default(),
            yr: DFF::default(),
            offset: Constant::new((1u64 << 62).into()),
            one16: Constant::new(1u64.into()),
            zero16: Constant::new(0u64.into()),
            zero40: Constant::new(0u64.into()),
            sel_mask: Constant::new(((half - 1) as u64).into()),
            tab_shift: Constant::new((half.trailing_zeros() as u64).into()),
            g_be: Constant::new(3u64.into()),
            b_be: Constant::new(15u64.into()),
            t_be: Constant::new(all_be),
            neg_lim: Constant::new(0xFFFF_FFFF_FFFF_FF80u64.into()),
            i8_lim: Constant::new(127u64.into()),
            u8_lim: Constant::new(255u64.into()),
            i8_max: Constant::new(0x7Fu64.into()),
            i8_min: Constant::new(0x80u64.into()),
            u8_max: Constant::new(0xFFu64.into()),
            zero8: Constant::new(0u64.into()),
            _half: half,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for VecLane<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, xm, p1, sel, live2, tr, sq3, p2, po, u, acc, pm, po2, yr);
        self.gam.clock.next = self.clock.val();
        self.bet.clock.next = self.clock.val();
        self.tab.clock.next = self.clock.val();
        Signal::<In, Bits<34>>::join(&mut self.sa.din, &mut self.tr.q);
        Signal::<Out, Bits<24>>::link(&mut self.sum_a, &mut self.sa.dout);
        Signal::<Out, Bits<40>>::link(&mut self.sum_b, &mut self.sq3.q);
        Signal::<Out, Bits<8>>::link(&mut self.y, &mut self.yr.q);

        // Parameter RAM writes.
        self.gam.wr_addr.next = self.g_waddr.val();
        self.gam.wr_data.next = self.g_wdata.val();
        self.gam.wr_be.next = self.g_be.val();
        self.gam.wr_en.next = self.g_we.val();
        self.bet.wr_addr.next = self.b_waddr.val();
        self.bet.wr_data.next = self.b_wdata.val();
        self.bet.wr_be.next = self.b_be.val();
        self.bet.wr_en.next = self.b_we.val();
        self.tab.wr_addr.next = self.t_waddr.val();
        self.tab.wr_data.next = self.t_wdata.val();
        self.tab.wr_be.next = self.t_be.val();
        self.tab.wr_en.next = self.t_we.val();

        // t1: x (dead lanes read as 0), the shared 17x16 multiplier, the exp table address.
        self.x16.hi.next = self.hi.val();
        self.x16.lo.next = self.lo.val();
        self.xin.next = self.zero16.val();
        if self.live.val() {
            self.xin.next = self.x16.dout.val();
        }
        self.ext_x.din.next = self.xin.val();
        self.m1.a.next = self.nx.val();
        if self.sq.val() {
            self.m1.a.next = self.ext_x.dout.val();
        }
        self.m1.b.next = self.xin.val();
        self.xm.d.next = self.xin.val();
        self.p1.d.next = self.m1.p.val();
        self.kk.next = self.mx.val() - self.lo.val();
        self.tix.din.next = self.kk.val() >> self.tab_shift.val();
        self.tab.rd_addr.next = self.tix.dout.val();
        self.sel.d.next = self.kk.val() & self.sel_mask.val();
        self.live2.d.next = self.live.val();

        // t2: e = table entry (0 in dead lanes); t = n x - S1 (LN B), x (LN A) or e (softmax).
        self.e.next = self.zero16.val();
        for i in 0..self._half {
            if self.live2.q.val() && (self.sel.q.val().index() == i) {
                self.e.next = self.tab.rd_data.val().get_bits::<16>(16 * i);
            }
        }
        self.ext_xm.din.next = self.xm.q.val();
        self.ext_p1.din.next = self.p1.q.val();
        self.ext_e.din.next = self.e.val();
        self.ext_sq.din.next = self.p1.q.val();
        if self.ln.val() {
            if self.a2.val() {
                self.tr.d.next = self.ext_xm.dout.val();
            } else {
                self.tr.d.next = self.ext_p1.dout.val() - self.s1.val();
            }
        } else {
            self.tr.d.next = self.ext_e.dout.val();
        }
        self.sq3.d.next = self.ext_sq.dout.val();

        // t3: p = t * r; t4: offset binary.
        self.m2.a.next = self.tr.q.val();
        self.m2.b.next = self.r.val();
        self.p2.d.next = self.m2.p.val();
        self.po.d.next = self.p2.q.val() + self.offset.val();

        // t5: u = shift_round(p, shift); the parameter RAMs are read for t6.
        self.rs1.x.next = self.po.q.val();
        self.rs1.s.next = self.shift.val();
        self.su.din.next = self.rs1.y.val();
        self.u.d.next = self.su.dout.val();
        self.gam.rd_addr.next = self.pidx.val();
        self.bet.rd_addr.next = self.pidx.val();

        // t6: acc = u * gamma + beta (softmax: u).
        self.m3.a.next = self.u.q.val();
        self.m3.b.next = self.one16.val();
        self.ext_b.din.next = self.bet.rd_data.val();
        self.bsel.next = self.zero40.val();
        if self.ln.val() {
            self.m3.b.next = self.gam.rd_data.val();
            self.bsel.next = self.ext_b.dout.val();
        }
        self.acc.d.next = self.m3.p.val() + self.bsel.val();

        // t7, t8: acc * m, offset binary.
        self.m4.a.next = self.acc.q.val();
        self.m4.b.next = self.om.val();
        self.pm.d.next = self.m4.p.val();
        self.ext_pm.din.next = self.pm.q.val();
        self.po2.d.next = self.ext_pm.dout.val() + self.offset.val();

        // t9: round, clamp to int8 (LN) or [0, 255] (softmax).
        self.rs2.x.next = self.po2.q.val();
        self.rs2.s.next = self.os.val();
        self.yv.next = self.rs2.y.val();
        if self.yv.val().get_bit(63) {
            if !self.ln.val() {
                self.yr.d.next = self.zero8.val();
            } else if self.yv.val() < self.neg_lim.val() {
                self.yr.d.next = self.i8_min.val();
            } else {
                self.yr.d.next = self.yv.val().get_bits::<8>(0);
            }
        } else if self.ln.val() && (self.yv.val() > self.i8_lim.val()) {
            self.yr.d.next = self.i8_max.val();
        } else if self.yv.val() > self.u8_lim.val() {
            self.yr.d.next = self.u8_max.val();
        } else {
            self.yr.d.next = self.yv.val().get_bits::<8>(0);
        }
    }
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

    lane: Vec<VecLane<W, BE>>,

    // Op-level registers and the output registers.
    ln: DFF<Bit>,
    busy_r: DFF<Bit>,
    done_r: DFF<Bit>,
    rd0b: DFF<Bits<4>>,
    rd0a: DFF<Bits<SP_ADDR_BITS>>,
    rd1b: DFF<Bits<4>>,
    rd1a: DFF<Bits<SP_ADDR_BITS>>,
    wrb: DFF<Bits<4>>,
    wra: DFF<Bits<SP_ADDR_BITS>>,
    wrbe: DFF<Bits<BE>>,
    wren: DFF<Bit>,

    // Main engine: parameter load, then A/B passes.
    ms: DFF<Bits<3>>,
    ldk: DFF<Bits<SP_ADDR_BITS>>,
    ld_left: DFF<Bits<SP_ADDR_BITS>>,
    a_row: DFF<Bits<16>>,
    b_row: DFF<Bits<16>>,
    a_base: DFF<Bits<SP_ADDR_BITS>>,
    b_base: DFF<Bits<SP_ADDR_BITS>>,
    o_base: DFF<Bits<SP_ADDR_BITS>>,
    ib: DFF<Bit>,
    ifirst: DFF<Bit>,
    ileft: DFF<Bits<16>>,
    irem: DFF<Bits<16>>,
    ij: DFF<Bits<SP_ADDR_BITS>>,
    iwa: DFF<Bits<SP_ADDR_BITS>>,
    cur_max: DFF<Bits<8>>,
    cur_s1: DFF<Bits<34>>,
    cur_r: DFF<Bits<27>>,
    cur_shift: DFF<Bits<8>>,
    drain: DFF<Bits<8>>,
    live_pack: PackBits<BE>,
    byte_col: Vec<Constant<Bits<16>>>,

    // Stage t1 (and the sideband delays to the later stages).
    ldv1: DFF<Bit>,
    ldk1: DFF<Bits<SP_ADDR_BITS>>,
    va1: DFF<Bit>,
    vb1: DFF<Bit>,
    first1: DFF<Bit>,
    last1: DFF<Bit>,
    live1: DFF<Bits<BE>>,
    j1: DFF<Bits<SP_ADDR_BITS>>,
    wa1: DFF<Bits<SP_ADDR_BITS>>,
    mx1: DFF<Bits<8>>,
    va2: DFF<Bit>,
    d_va: DelayLine<Bit>,
    d_first: DelayLine<Bit>,
    d_last: DelayLine<Bit>,
    d_s1: DelayLine<Bits<34>>,
    d_r: DelayLine<Bits<27>>,
    d_sh: DelayLine<Bits<8>>,
    d_j: DelayLine<Bits<SP_ADDR_BITS>>,
    d_vb: DelayLine<Bit>,
    d_live: DelayLine<Bits<BE>>,
    d_wa: DelayLine<Bits<SP_ADDR_BITS>>,

    // Sums (trees at t3, accumulation at t4) and the hand-over to the scalar unit.
    ta: Vec<Signal<Local, Bits<24>>>,
    tb: Vec<Signal<Local, Bits<40>>>,
    wsa: DFF<Bits<24>>,
    wsb: DFF<Bits<40>>,
    ext_wsa: Extend<40, 24>,
    ext_wsb: Extend<48, 40>,
    na: Signal<Local, Bits<40>>,
    nb: Signal<Local, Bits<48>>,
    acc_a: DFF<Bits<40>>,
    acc_b: DFF<Bits<48>>,
    d_mx: DelayLine<Bits<8>>,
    ext_mx: Extend<34, 8>,

    // Scalar pipeline: F1 row sums, F2 products, D -> isqrt, N1 sd, N2 divider operands
    // (LayerNorm); softmax enters the divider from F1. Results queue for the B passes.
    st_v: DFF<Bit>,
    st_a: DFF<Bits<40>>,
    st_b: DFF<Bits<48>>,
    st_pl: DFF<Bits<34>>,
    f2_v: DFF<Bit>,
    ns2: DFF<Bits<64>>,
    s1sq: DFF<Bits<64>>,
    mul_ns2: MulS<17, 48, 64>,
    mul_s1sq: MulS<40, 40, 64>,
    dd_raw: Signal<Local, Bits<64>>,
    dd: Signal<Local, Bits<64>>,
    isq: IsqrtPipe,
    d_lv: DelayLine<Bit>,
    d_lpl: DelayLine<Bits<34>>,
    sd1: DFF<Bits<64>>,
    bl: Signal<Local, Bits<8>>,
    n2_num: DFF<Bits<64>>,
    n2_den: DFF<Bits<64>>,
    n2_shift: DFF<Bits<8>>,
    div: RecipPipe,
    ext_sum: Extend<64, 40>,
    dv_in: Signal<Local, Bit>,
    dpl_in: Signal<Local, Bits<34>>,
    dsh_in: Signal<Local, Bits<8>>,
    d_dv: DelayLine<Bit>,
    d_dpl: DelayLine<Bits<34>>,
    d_dsh: DelayLine<Bits<8>>,
    q27: Slice<64, 27>,
    res_lo: Concat<27, 8, 35>,
    res_in: Concat<34, 35, 69>,
    res: WordFifo<69>,
    bit_len: Vec<Constant<Bits<8>>>,

    // Max engine (softmax, read port 1).
    xs: DFF<Bits<2>>,
    x_row: DFF<Bits<16>>,
    x_base: DFF<Bits<SP_ADDR_BITS>>,
    x_left: DFF<Bits<16>>,
    x_rem: DFF<Bits<16>>,
    x_first: DFF<Bit>,
    mlive_pack: PackBits<BE>,
    mv1: DFF<Bit>,
    mfirst1: DFF<Bit>,
    mlast1: DFF<Bit>,
    mlive1: DFF<Bits<BE>>,
    tm: Vec<Signal<Local, Bits<8>>>,
    wmax: DFF<Bits<8>>,
    mv2: DFF<Bit>,
    mfirst2: DFF<Bit>,
    mlast2: DFF<Bit>,
    macc: DFF<Bits<8>>,
    mnext: Signal<Local, Bits<8>>,
    mxf: WordFifo<8>,
    mx_infl: DFF<Bits<16>>,
    mx_inc: Signal<Local, Bits<16>>,
    mx_dec: Signal<Local, Bits<16>>,
    mx_occ: Signal<Local, Bits<16>>,
    x_next: Signal<Local, Bit>,

    // Output.
    out_pack: Pack<W>,

    // Derived operands.
    n17: Extend<17, 16>,
    n20: Extend<SP_ADDR_BITS, 16>,
    om17: Extend<17, 16>,
    words: Signal<Local, Bits<16>>,
    g_words: Signal<Local, Bits<SP_ADDR_BITS>>,
    ld_total: Signal<Local, Bits<SP_ADDR_BITS>>,
    k2: Signal<Local, Bits<SP_ADDR_BITS>>,
    k4: Signal<Local, Bits<SP_ADDR_BITS>>,
    bk1: Signal<Local, Bits<SP_ADDR_BITS>>,
    gwe: Vec<Signal<Local, Bit>>,
    bwe: Vec<Signal<Local, Bit>>,
    in_flight: Signal<Local, Bits<16>>,
    can_a: Signal<Local, Bit>,
    can_b: Signal<Local, Bit>,
    go_next: Signal<Local, Bit>,
    is_ln: Signal<Local, Bit>,
    om_l: Signal<Local, Bits<17>>,
    os_l: Signal<Local, Bits<8>>,

    // Constants.
    m_idle: Constant<Bits<3>>,
    m_load: Constant<Bits<3>>,
    m_run: Constant<Bits<3>>,
    m_pick: Constant<Bits<3>>,
    m_drain: Constant<Bits<3>>,
    x_idle: Constant<Bits<2>>,
    x_run: Constant<Bits<2>>,
    x_wait: Constant<Bits<2>>,
    op_ln: Constant<Bits<4>>,
    op_sm: Constant<Bits<4>>,
    c_r16: Constant<Bits<16>>,
    c_rm1_16: Constant<Bits<16>>,
    c_rm1_20: Constant<Bits<SP_ADDR_BITS>>,
    c_lr16: Constant<Bits<16>>,
    c_lr20: Constant<Bits<SP_ADDR_BITS>>,
    c_tab_words: Constant<Bits<SP_ADDR_BITS>>,
    c_one16: Constant<Bits<16>>,
    c_one17: Constant<Bits<17>>,
    c_one20: Constant<Bits<SP_ADDR_BITS>>,
    c_one64: Constant<Bits<64>>,
    c_zero8: Constant<Bits<8>>,
    c_zero16: Constant<Bits<16>>,
    c_zero20: Constant<Bits<SP_ADDR_BITS>>,
    c_zero64: Constant<Bits<64>>,
    c_three20: Constant<Bits<SP_ADDR_BITS>>,
    c_sign8: Constant<Bits<8>>,
    c_drain: Constant<Bits<8>>,
    c_soft_num: Constant<Bits<64>>,
    c_soft_shift: Constant<Bits<8>>,
    c_ln_shift: Constant<Bits<8>>,
    c_lag: Constant<Bits<16>>,
    c_two16: Constant<Bits<16>>,
    c_three16: Constant<Bits<16>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> VecUnit<W, BE> {
    /// A unit with `rows` (`R`, a power of two, 8..=128) lanes for rows of up to `max_width`
    /// (`1..=2^15`) channels.
    pub fn new(rows: usize, max_width: usize) -> Self {
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert_eq!(BE, rows);
        assert!(rows.is_power_of_two() && (8..=128).contains(&rows), "R = {rows}");
        assert!((1..=1 << 15).contains(&max_width), "max_width = {max_width}");
        let depth = param_depth(rows, max_width);
        let c20 = |v: u64| Constant::new(Bits::<SP_ADDR_BITS>::from(v));
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        let lr = rows.trailing_zeros() as u64;
        let isqrt_stages = IsqrtPipe::latency(isqrt_bits(max_width), SCALAR_STEPS);
        let div_stages = RecipPipe::latency(RECIP_BITS, SCALAR_STEPS);
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
            lane: (0..rows).map(|_| VecLane::new(depth)).collect(),
            ln: DFF::default(),
            busy_r: DFF::default(),
            done_r: DFF::default(),
            rd0b: DFF::default(),
            rd0a: DFF::default(),
            rd1b: DFF::default(),
            rd1a: DFF::default(),
            wrb: DFF::default(),
            wra: DFF::default(),
            wrbe: DFF::default(),
            wren: DFF::default(),
            ms: DFF::default(),
            ldk: DFF::default(),
            ld_left: DFF::default(),
            a_row: DFF::default(),
            b_row: DFF::default(),
            a_base: DFF::default(),
            b_base: DFF::default(),
            o_base: DFF::default(),
            ib: DFF::default(),
            ifirst: DFF::default(),
            ileft: DFF::default(),
            irem: DFF::default(),
            ij: DFF::default(),
            iwa: DFF::default(),
            cur_max: DFF::default(),
            cur_s1: DFF::default(),
            cur_r: DFF::default(),
            cur_shift: DFF::default(),
            drain: DFF::default(),
            live_pack: PackBits::default(),
            byte_col: (0..rows).map(|l| c16(l as u64)).collect(),
            ldv1: DFF::default(),
            ldk1: DFF::default(),
            va1: DFF::default(),
            vb1: DFF::default(),
            first1: DFF::default(),
            last1: DFF::default(),
            live1: DFF::default(),
            j1: DFF::default(),
            wa1: DFF::default(),
            mx1: DFF::default(),
            va2: DFF::default(),
            d_va: DelayLine::new(3),
            d_first: DelayLine::new(3),
            d_last: DelayLine::new(3),
            d_s1: DelayLine::new(2),
            d_r: DelayLine::new(3),
            d_sh: DelayLine::new(5),
            d_j: DelayLine::new(4),
            d_vb: DelayLine::new(WRITE_LATENCY - 2),
            d_live: DelayLine::new(WRITE_LATENCY - 2),
            d_wa: DelayLine::new(WRITE_LATENCY - 2),
            ta: sigs(2 * rows - 1),
            tb: sigs(2 * rows - 1),
            wsa: DFF::default(),
            wsb: DFF::default(),
            ext_wsa: Extend::new(true),
            ext_wsb: Extend::new(false),
            na: Signal::default(),
            nb: Signal::default(),
            acc_a: DFF::default(),
            acc_b: DFF::default(),
            d_mx: DelayLine::new(3),
            ext_mx: Extend::new(false),
            st_v: DFF::default(),
            st_a: DFF::default(),
            st_b: DFF::default(),
            st_pl: DFF::default(),
            f2_v: DFF::default(),
            ns2: DFF::default(),
            s1sq: DFF::default(),
            mul_ns2: MulS::default(),
            mul_s1sq: MulS::default(),
            dd_raw: Signal::default(),
            dd: Signal::default(),
            isq: IsqrtPipe::new(isqrt_bits(max_width), SCALAR_STEPS),
            d_lv: DelayLine::new(isqrt_stages + 3),
            d_lpl: DelayLine::new(isqrt_stages + 3),
            sd1: DFF::default(),
            bl: Signal::default(),
            n2_num: DFF::default(),
            n2_den: DFF::default(),
            n2_shift: DFF::default(),
            div: RecipPipe::new(RECIP_BITS, SCALAR_STEPS),
            ext_sum: Extend::new(false),
            dv_in: Signal::default(),
            dpl_in: Signal::default(),
            dsh_in: Signal::default(),
            d_dv: DelayLine::new(div_stages),
            d_dpl: DelayLine::new(div_stages),
            d_dsh: DelayLine::new(div_stages),
            q27: Slice::new(0),
            res_lo: Concat::default(),
            res_in: Concat::default(),
            res: WordFifo::new(RESULT_QUEUE),
            bit_len: (0..64).map(|i| c8(i + 1)).collect(),
            xs: DFF::default(),
            x_row: DFF::default(),
            x_base: DFF::default(),
            x_left: DFF::default(),
            x_rem: DFF::default(),
            x_first: DFF::default(),
            mlive_pack: PackBits::default(),
            mv1: DFF::default(),
            mfirst1: DFF::default(),
            mlast1: DFF::default(),
            mlive1: DFF::default(),
            tm: sigs(2 * rows - 1),
            wmax: DFF::default(),
            mv2: DFF::default(),
            mfirst2: DFF::default(),
            mlast2: DFF::default(),
            macc: DFF::default(),
            mnext: Signal::default(),
            mxf: WordFifo::new(MAX_QUEUE),
            mx_infl: DFF::default(),
            mx_inc: Signal::default(),
            mx_dec: Signal::default(),
            mx_occ: Signal::default(),
            x_next: Signal::default(),
            out_pack: Pack::default(),
            n17: Extend::new(false),
            n20: Extend::new(false),
            om17: Extend::new(false),
            words: Signal::default(),
            g_words: Signal::default(),
            ld_total: Signal::default(),
            k2: Signal::default(),
            k4: Signal::default(),
            bk1: Signal::default(),
            gwe: sigs(2),
            bwe: sigs(4),
            in_flight: Signal::default(),
            can_a: Signal::default(),
            can_b: Signal::default(),
            go_next: Signal::default(),
            is_ln: Signal::default(),
            om_l: Signal::default(),
            os_l: Signal::default(),
            m_idle: Constant::new(M_IDLE.into()),
            m_load: Constant::new(M_LOAD.into()),
            m_run: Constant::new(M_RUN.into()),
            m_pick: Constant::new(M_PICK.into()),
            m_drain: Constant::new(M_DRAIN.into()),
            x_idle: Constant::new(X_IDLE.into()),
            x_run: Constant::new(X_RUN.into()),
            x_wait: Constant::new(X_WAIT.into()),
            op_ln: Constant::new(OP_LAYERNORM.into()),
            op_sm: Constant::new(OP_SOFTMAX.into()),
            c_r16: c16(rows as u64),
            c_rm1_16: c16(rows as u64 - 1),
            c_rm1_20: c20(rows as u64 - 1),
            c_lr16: c16(lr),
            c_lr20: c20(lr),
            c_tab_words: c20(512 / rows as u64),
            c_one16: c16(1),
            c_one17: Constant::new(1u64.into()),
            c_one20: c20(1),
            c_one64: Constant::new(1u64.into()),
            c_zero8: c8(0),
            c_zero16: c16(0),
            c_zero20: c20(0),
            c_zero64: Constant::new(0u64.into()),
            c_three20: c20(3),
            c_sign8: c8(0x80),
            c_drain: c8(WRITE_LATENCY as u64 - 1),
            c_soft_num: Constant::new((1u64 << (spec::numerics::SOFTMAX_RECIP_BITS as usize - RECIP_BITS)).into()),
            c_soft_shift: c8(32),
            c_ln_shift: c8((spec::numerics::LN_RECIP_BITS - spec::numerics::LN_NORM_FRAC_BITS) as u64),
            c_lag: c16(ROW_LAG as u64),
            c_two16: c16(2),
            c_three16: c16(3),
            _r: rows,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for VecUnit<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, ln, busy_r, done_r, rd0b, rd0a, rd1b, rd1a, wrb, wra, wrbe, wren, ms, ldk, ld_left, a_row,
            b_row, a_base, b_base, o_base, ib, ifirst, ileft, irem, ij, iwa, cur_max, cur_s1, cur_r, cur_shift, drain,
            ldv1, ldk1, va1, vb1, first1, last1, live1, j1, wa1, mx1, va2, wsa, wsb, acc_a, acc_b, st_v, st_a, st_b,
            st_pl, f2_v, ns2, s1sq, sd1, n2_num, n2_den, n2_shift, xs, x_row, x_base, x_left, x_rem, x_first, mv1,
            mfirst1, mlast1, mlive1, wmax, mv2, mfirst2, mlast2, macc, mx_infl
        );
        for l in 0..self._r {
            self.lane[l].clock.next = self.clock.val();
        }
        self.d_va.clock.next = self.clock.val();
        self.d_first.clock.next = self.clock.val();
        self.d_last.clock.next = self.clock.val();
        self.d_s1.clock.next = self.clock.val();
        self.d_r.clock.next = self.clock.val();
        self.d_sh.clock.next = self.clock.val();
        self.d_j.clock.next = self.clock.val();
        self.d_vb.clock.next = self.clock.val();
        self.d_live.clock.next = self.clock.val();
        self.d_wa.clock.next = self.clock.val();
        self.d_mx.clock.next = self.clock.val();
        self.d_lv.clock.next = self.clock.val();
        self.d_lpl.clock.next = self.clock.val();
        self.d_dv.clock.next = self.clock.val();
        self.d_dpl.clock.next = self.clock.val();
        self.d_dsh.clock.next = self.clock.val();
        self.isq.clock.next = self.clock.val();
        self.div.clock.next = self.clock.val();
        self.res.clock.next = self.clock.val();
        self.mxf.clock.next = self.clock.val();
        self.res.reset.next = self.reset.val();
        self.mxf.reset.next = self.reset.val();

        // Every output comes straight from a register (or the byte packer of register outputs).
        Signal::<Out, Bit>::link(&mut self.busy, &mut self.busy_r.q);
        Signal::<Out, Bit>::link(&mut self.done, &mut self.done_r.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd0_bank, &mut self.rd0b.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd0_addr, &mut self.rd0a.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd1_bank, &mut self.rd1b.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd1_addr, &mut self.rd1a.q);
        Signal::<Out, Bits<4>>::link(&mut self.wr_bank, &mut self.wrb.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.wr_addr, &mut self.wra.q);
        Signal::<Out, Bits<BE>>::link(&mut self.wr_be, &mut self.wrbe.q);
        Signal::<Out, Bit>::link(&mut self.wr_en, &mut self.wren.q);
        Signal::<Out, Bits<W>>::link(&mut self.wr_data, &mut self.out_pack.dout);
        for l in 0..self._r {
            Signal::<In, Bits<8>>::join(&mut self.out_pack.lanes[l], &mut self.lane[l].y);
        }

        // Derived operands.
        self.is_ln.next = self.op.val() == self.op_ln.val();
        self.n17.din.next = self.n.val();
        self.n20.din.next = self.n.val();
        self.om17.din.next = self.out_m.val();
        self.words.next = (self.n.val() + self.c_rm1_16.val()) >> self.c_lr16.val();
        self.g_words.next = ((self.n20.dout.val() << 1) + self.c_rm1_20.val()) >> self.c_lr20.val();
        self.ld_total.next = self.c_tab_words.val();
        if self.is_ln.val() {
            self.ld_total.next =
                self.g_words.val() + (((self.n20.dout.val() << 2) + self.c_rm1_20.val()) >> self.c_lr20.val());
        }
        self.om_l.next = self.c_one17.val();
        self.os_l.next = self.c_zero8.val();
        if self.ln.q.val() {
            self.om_l.next = self.om17.dout.val();
            self.os_l.next = self.out_s.val();
        }

        // ---------------- lanes ----------------
        self.bk1.next = self.ldk1.q.val() - self.g_words.val();
        for l in 0..self._r {
            self.lane[l].lo.next = self.rd0_data.val().get_bits::<8>(8 * l);
            self.lane[l].hi.next = self.rd1_data.val().get_bits::<8>(8 * l);
            self.lane[l].live.next = self.live1.q.val().get_bit(l);
            self.lane[l].sq.next = self.va1.q.val();
            self.lane[l].ln.next = self.ln.q.val();
            self.lane[l].nx.next = self.n17.dout.val();
            self.lane[l].mx.next = self.mx1.q.val();
            self.lane[l].a2.next = self.va2.q.val();
            self.lane[l].s1.next = self.d_s1.dout.val();
            self.lane[l].r.next = self.d_r.dout.val();
            self.lane[l].shift.next = self.d_sh.dout.val();
            self.lane[l].pidx.next = self.d_j.dout.val();
            self.lane[l].om.next = self.om_l.val();
            self.lane[l].os.next = self.os_l.val();
            self.lane[l].g_waddr.next = self.ldk1.q.val() >> 1;
            self.lane[l].b_waddr.next = self.bk1.val() >> 2;
            self.lane[l].t_waddr.next = self.ldk1.q.val();
            self.lane[l].t_wdata.next = self.rd0_data.val();
            self.lane[l].t_we.next = self.ldv1.q.val() && !self.ln.q.val();
        }
        // Parameter words: gamma word k holds channels kR/2.. (lanes of half k % 2, entry k / 2),
        // beta word k holds channels kR/4.. (lanes of quarter k % 4, entry k / 4).
        self.k2.next = self.ldk1.q.val() & self.c_one20.val();
        self.k4.next = self.bk1.val() & self.c_three20.val();
        for h in 0..2 {
            self.gwe[h].next = self.ldv1.q.val()
                && self.ln.q.val()
                && (self.ldk1.q.val() < self.g_words.val())
                && (self.k2.val().index() == h);
        }
        for q in 0..4 {
            self.bwe[q].next = self.ldv1.q.val()
                && self.ln.q.val()
                && (self.ldk1.q.val() >= self.g_words.val())
                && (self.k4.val().index() == q);
        }
        for hr in (self._r / 2)..(self._r / 2 + 1) {
            for h in 0..2 {
                for e in 0..(self._r / 2) {
                    self.lane[h * hr + e].g_wdata.next = self.rd0_data.val().get_bits::<16>(16 * e);
                    self.lane[h * hr + e].g_we.next = self.gwe[h].val();
                }
            }
        }
        for qr in (self._r / 4)..(self._r / 4 + 1) {
            for q in 0..4 {
                for e in 0..(self._r / 4) {
                    self.lane[q * qr + e].b_wdata.next = self.rd0_data.val().get_bits::<32>(32 * e);
                    self.lane[q * qr + e].b_we.next = self.bwe[q].val();
                }
            }
        }

        // ---------------- sideband ----------------
        self.va2.d.next = self.va1.q.val();
        self.mx1.d.next = self.cur_max.q.val();
        self.d_mx.din.next = self.mx1.q.val();
        self.d_va.din.next = self.va1.q.val();
        self.d_first.din.next = self.first1.q.val();
        self.d_last.din.next = self.last1.q.val();
        self.d_s1.din.next = self.cur_s1.q.val();
        self.d_r.din.next = self.cur_r.q.val();
        self.d_sh.din.next = self.cur_shift.q.val();
        self.d_j.din.next = self.j1.q.val();
        self.d_vb.din.next = self.vb1.q.val();
        self.d_live.din.next = self.live1.q.val();
        self.d_wa.din.next = self.wa1.q.val();
        // t10: the write (only while busy, so a reset mid-op writes nothing more).
        self.wren.d.next = self.d_vb.dout.val() && self.busy_r.q.val();
        self.wrbe.d.next = self.d_live.dout.val();
        self.wra.d.next = self.d_wa.dout.val();

        // ---------------- sums: trees at t3, accumulation at t4 ----------------
        for rr in (self._r)..(self._r + 1) {
            for l in 0..self._r {
                self.ta[rr - 1 + l].next = self.lane[l].sum_a.val();
                self.tb[rr - 1 + l].next = self.lane[l].sum_b.val();
            }
            for i in 0..(self._r - 1) {
                self.ta[rr - 2 - i].next = self.ta[2 * (rr - 2 - i) + 1].val() + self.ta[2 * (rr - 2 - i) + 2].val();
                self.tb[rr - 2 - i].next = self.tb[2 * (rr - 2 - i) + 1].val() + self.tb[2 * (rr - 2 - i) + 2].val();
            }
        }
        self.wsa.d.next = self.ta[0].val();
        self.wsb.d.next = self.tb[0].val();
        self.ext_wsa.din.next = self.wsa.q.val();
        self.ext_wsb.din.next = self.wsb.q.val();
        if self.d_first.dout.val() {
            self.na.next = self.ext_wsa.dout.val();
            self.nb.next = self.ext_wsb.dout.val();
        } else {
            self.na.next = self.acc_a.q.val() + self.ext_wsa.dout.val();
            self.nb.next = self.acc_b.q.val() + self.ext_wsb.dout.val();
        }
        // F1: the row's sums enter the scalar pipeline (payload: S1, or the softmax row max).
        self.ext_mx.din.next = self.d_mx.dout.val();
        self.st_v.d.next = false;
        if self.d_va.dout.val() && self.busy_r.q.val() {
            self.acc_a.d.next = self.na.val();
            self.acc_b.d.next = self.nb.val();
            if self.d_last.dout.val() {
                self.st_v.d.next = true;
                self.st_a.d.next = self.na.val();
                self.st_b.d.next = self.nb.val();
                if self.ln.q.val() {
                    self.st_pl.d.next = self.na.val().get_bits::<34>(0);
                } else {
                    self.st_pl.d.next = self.ext_mx.dout.val();
                }
            }
        }

        // ---------------- scalar pipeline ----------------
        // F2: n S2 and S1^2. Then D = max(n S2 - S1^2, 0) -> isqrt pipe.
        self.mul_ns2.a.next = self.n17.dout.val();
        self.mul_ns2.b.next = self.st_b.q.val();
        self.mul_s1sq.a.next = self.st_a.q.val();
        self.mul_s1sq.b.next = self.st_a.q.val();
        self.f2_v.d.next = self.st_v.q.val();
        self.ns2.d.next = self.mul_ns2.p.val();
        self.s1sq.d.next = self.mul_s1sq.p.val();
        self.dd_raw.next = self.ns2.q.val() - self.s1sq.q.val();
        self.dd.next = self.dd_raw.val();
        if self.dd_raw.val().get_bit(63) {
            self.dd.next = self.c_zero64.val();
        }
        self.isq.d.next = self.dd.val();
        self.d_lv.din.next = self.st_v.q.val();
        self.d_lpl.din.next = self.st_pl.q.val();
        // N1: sd = max(isqrt(D), 1). N2: b = bitlen(sd); floor(2^(b+24) / sd) =
        // floor(2^b * 2^26 / (4 sd)) with 2^b < 4 sd; shift b + 14.
        self.sd1.d.next = self.isq.root.val();
        if self.isq.root.val() == self.c_zero64.val() {
            self.sd1.d.next = self.c_one64.val();
        }
        self.bl.next = self.c_zero8.val();
        for i in 0..64 {
            if self.sd1.q.val().get_bit(i) {
                self.bl.next = self.bit_len[i].val();
            }
        }
        self.n2_num.d.next = self.c_one64.val() << self.bl.val();
        self.n2_den.d.next = self.sd1.q.val() << 2;
        self.n2_shift.d.next = self.bl.val() + self.c_ln_shift.val();
        // Divider: LayerNorm from N2; softmax floor(2^40 / sum) = floor(2^14 * 2^26 / sum) from F1.
        self.ext_sum.din.next = self.st_a.q.val();
        if self.ln.q.val() {
            self.div.num.next = self.n2_num.q.val();
            self.div.den.next = self.n2_den.q.val();
            self.dv_in.next = self.d_lv.dout.val();
            self.dpl_in.next = self.d_lpl.dout.val();
            self.dsh_in.next = self.n2_shift.q.val();
        } else {
            self.div.num.next = self.c_soft_num.val();
            self.div.den.next = self.ext_sum.dout.val();
            self.dv_in.next = self.st_v.q.val();
            self.dpl_in.next = self.st_pl.q.val();
            self.dsh_in.next = self.c_soft_shift.val();
        }
        self.d_dv.din.next = self.dv_in.val();
        self.d_dpl.din.next = self.dpl_in.val();
        self.d_dsh.din.next = self.dsh_in.val();
        // Result queue entry {payload, r, shift}.
        self.q27.din.next = self.div.q.val();
        self.res_lo.hi.next = self.q27.dout.val();
        self.res_lo.lo.next = self.d_dsh.dout.val();
        self.res_in.hi.next = self.d_dpl.dout.val();
        self.res_in.lo.next = self.res_lo.dout.val();
        self.res.din.next = self.res_in.dout.val();
        self.res.push.next = self.d_dv.dout.val() && self.busy_r.q.val();
        self.res.pop.next = false;
        self.mxf.pop.next = false;

        // ---------------- main engine ----------------
        // A passes run ahead of B passes by up to ROW_LAG rows; A first when both can go.
        self.in_flight.next = self.a_row.q.val() - self.b_row.q.val();
        self.can_a.next = (self.a_row.q.val() < self.rows.val())
            && (self.in_flight.val() <= self.c_lag.val())
            && (self.ln.q.val() || (self.mxf.count.val() != self.c_zero16.val()));
        self.can_b.next = self.res.count.val() != self.c_zero16.val();
        self.go_next.next = (self.ms.q.val() == self.m_pick.val())
            || ((self.ms.q.val() == self.m_run.val()) && (self.ileft.q.val() == self.c_one16.val()))
            || ((self.ms.q.val() == self.m_load.val()) && (self.ld_left.q.val() == self.c_one20.val()));
        for l in 0..self._r {
            self.live_pack.lanes[l].next = self.irem.q.val() > self.byte_col[l].val();
        }
        self.ldv1.d.next = false;
        self.va1.d.next = false;
        self.vb1.d.next = false;
        self.done_r.d.next = false;
        if self.ms.q.val() == self.m_load.val() {
            self.ldv1.d.next = true;
            self.ldk1.d.next = self.ldk.q.val();
            self.ldk.d.next = self.ldk.q.val() + self.c_one20.val();
            self.ld_left.d.next = self.ld_left.q.val() - self.c_one20.val();
            self.rd0a.d.next = self.rd0a.q.val() + self.c_one20.val();
        } else if self.ms.q.val() == self.m_run.val() {
            self.va1.d.next = !self.ib.q.val();
            self.vb1.d.next = self.ib.q.val();
            self.first1.d.next = self.ifirst.q.val();
            self.last1.d.next = self.ileft.q.val() == self.c_one16.val();
            self.live1.d.next = self.live_pack.dout.val();
            self.j1.d.next = self.ij.q.val();
            self.wa1.d.next = self.iwa.q.val();
            self.ij.d.next = self.ij.q.val() + self.c_one20.val();
            self.iwa.d.next = self.iwa.q.val() + self.c_one20.val();
            self.irem.d.next = self.irem.q.val() - self.c_r16.val();
            self.ileft.d.next = self.ileft.q.val() - self.c_one16.val();
            self.ifirst.d.next = false;
            self.rd0a.d.next = self.rd0a.q.val() + self.c_one20.val();
            if self.ln.q.val() {
                self.rd1a.d.next = self.rd1a.q.val() + self.c_one20.val();
            }
        } else if self.ms.q.val() == self.m_drain.val() {
            self.drain.d.next = self.drain.q.val() - 1;
            if self.drain.q.val() == self.c_zero8.val() {
                self.done_r.d.next = true;
                self.busy_r.d.next = false;
                self.ms.d.next = self.m_idle.val();
            }
        }
        if self.go_next.val() {
            self.rd0b.d.next = self.in_lo_bank.val();
            if self.ln.q.val() {
                self.rd1b.d.next = self.in_hi_bank.val();
            }
            if self.can_a.val() {
                self.ms.d.next = self.m_run.val();
                self.ib.d.next = false;
                self.ifirst.d.next = true;
                self.ileft.d.next = self.words.val();
                self.irem.d.next = self.n.val();
                self.ij.d.next = self.c_zero20.val();
                self.rd0a.d.next = self.a_base.q.val();
                if self.ln.q.val() {
                    self.rd1a.d.next = self.a_base.q.val();
                }
                self.a_base.d.next = self.a_base.q.val() + self.in_stride.val();
                self.a_row.d.next = self.a_row.q.val() + self.c_one16.val();
                self.cur_max.d.next = self.mxf.dout.val();
                self.mxf.pop.next = !self.ln.q.val();
            } else if self.can_b.val() {
                self.ms.d.next = self.m_run.val();
                self.ib.d.next = true;
                self.ifirst.d.next = true;
                self.ileft.d.next = self.words.val();
                self.irem.d.next = self.n.val();
                self.ij.d.next = self.c_zero20.val();
                self.iwa.d.next = self.o_base.q.val();
                self.rd0a.d.next = self.b_base.q.val();
                if self.ln.q.val() {
                    self.rd1a.d.next = self.b_base.q.val();
                }
                self.b_base.d.next = self.b_base.q.val() + self.in_stride.val();
                self.o_base.d.next = self.o_base.q.val() + self.out_stride.val();
                self.b_row.d.next = self.b_row.q.val() + self.c_one16.val();
                self.cur_s1.d.next = self.res.dout.val().get_bits::<34>(35);
                self.cur_max.d.next = self.res.dout.val().get_bits::<8>(35);
                self.cur_r.d.next = self.res.dout.val().get_bits::<27>(8);
                self.cur_shift.d.next = self.res.dout.val().get_bits::<8>(0);
                self.res.pop.next = true;
            } else if (self.a_row.q.val() == self.rows.val()) && (self.b_row.q.val() == self.rows.val()) {
                self.ms.d.next = self.m_drain.val();
                self.drain.d.next = self.c_drain.val();
            } else {
                self.ms.d.next = self.m_pick.val();
            }
        }

        // ---------------- max engine (softmax, read port 1) ----------------
        // Rows are issued back to back while the max queue has room for every row in flight.
        for l in 0..self._r {
            self.mlive_pack.lanes[l].next = self.x_rem.q.val() > self.byte_col[l].val();
        }
        self.mx_occ.next = self.mxf.count.val() + self.mx_infl.q.val();
        self.mx_inc.next = self.c_zero16.val();
        self.mx_dec.next = self.c_zero16.val();
        self.x_next.next = false;
        self.mv1.d.next = false;
        if self.xs.q.val() == self.x_run.val() {
            self.mv1.d.next = true;
            self.mfirst1.d.next = self.x_first.q.val();
            self.mlast1.d.next = self.x_left.q.val() == self.c_one16.val();
            self.mlive1.d.next = self.mlive_pack.dout.val();
            self.rd1a.d.next = self.rd1a.q.val() + self.c_one20.val();
            self.x_left.d.next = self.x_left.q.val() - self.c_one16.val();
            self.x_rem.d.next = self.x_rem.q.val() - self.c_r16.val();
            self.x_first.d.next = false;
            if self.x_left.q.val() == self.c_one16.val() {
                self.mx_inc.next = self.c_one16.val();
                if self.x_row.q.val() == self.rows.val() {
                    self.xs.d.next = self.x_idle.val();
                } else if self.mx_occ.val() <= self.c_two16.val() {
                    self.x_next.next = true;
                } else {
                    self.xs.d.next = self.x_wait.val();
                }
            }
        } else if self.xs.q.val() == self.x_wait.val() {
            if self.mx_occ.val() <= self.c_three16.val() {
                self.x_next.next = true;
            }
        }
        if self.x_next.val() {
            self.xs.d.next = self.x_run.val();
            self.rd1a.d.next = self.x_base.q.val();
            self.x_base.d.next = self.x_base.q.val() + self.in_stride.val();
            self.x_row.d.next = self.x_row.q.val() + self.c_one16.val();
            self.x_left.d.next = self.words.val();
            self.x_rem.d.next = self.n.val();
            self.x_first.d.next = true;
        }
        // t1: offset-binary bytes (dead lanes 0 = -128), max tree; t2: row maximum -> queue.
        for rr in (self._r)..(self._r + 1) {
            for l in 0..self._r {
                self.tm[rr - 1 + l].next = self.c_zero8.val();
                if self.mlive1.q.val().get_bit(l) {
                    self.tm[rr - 1 + l].next = self.rd1_data.val().get_bits::<8>(8 * l) ^ self.c_sign8.val();
                }
            }
            for i in 0..(self._r - 1) {
                if self.tm[2 * (rr - 2 - i) + 1].val() > self.tm[2 * (rr - 2 - i) + 2].val() {
                    self.tm[rr - 2 - i].next = self.tm[2 * (rr - 2 - i) + 1].val();
                } else {
                    self.tm[rr - 2 - i].next = self.tm[2 * (rr - 2 - i) + 2].val();
                }
            }
        }
        self.wmax.d.next = self.tm[0].val();
        self.mv2.d.next = self.mv1.q.val();
        self.mfirst2.d.next = self.mfirst1.q.val();
        self.mlast2.d.next = self.mlast1.q.val();
        self.mnext.next = self.wmax.q.val();
        if !self.mfirst2.q.val() && (self.macc.q.val() > self.wmax.q.val()) {
            self.mnext.next = self.macc.q.val();
        }
        self.mxf.din.next = self.mnext.val() ^ self.c_sign8.val();
        self.mxf.push.next = false;
        if self.mv2.q.val() {
            self.macc.d.next = self.mnext.val();
            if self.mlast2.q.val() {
                self.mxf.push.next = true;
                self.mx_dec.next = self.c_one16.val();
            }
        }
        self.mx_infl.d.next = self.mx_infl.q.val() + self.mx_inc.val() - self.mx_dec.val();

        // ---------------- start, reset ----------------
        if self.start.val() && (self.ms.q.val() == self.m_idle.val()) {
            if self.is_ln.val() || (self.op.val() == self.op_sm.val()) {
                self.ln.d.next = self.is_ln.val();
                self.busy_r.d.next = true;
                self.ms.d.next = self.m_load.val();
                self.ldk.d.next = self.c_zero20.val();
                self.ld_left.d.next = self.ld_total.val();
                self.rd0a.d.next = self.par_addr.val();
                self.rd0b.d.next = self.par_bank.val();
                self.a_row.d.next = self.c_zero16.val();
                self.b_row.d.next = self.c_zero16.val();
                self.a_base.d.next = self.in_addr.val();
                self.b_base.d.next = self.in_addr.val();
                self.o_base.d.next = self.out_addr.val();
                self.wrb.d.next = self.out_bank.val();
                self.mx_infl.d.next = self.c_zero16.val();
                // Both queues start empty (they are, unless an earlier op was cut short).
                self.res.reset.next = true;
                self.mxf.reset.next = true;
                if self.is_ln.val() {
                    // Port 1 idles on the high plane (a bank of this op) during the load.
                    self.rd1a.d.next = self.in_addr.val();
                    self.rd1b.d.next = self.in_hi_bank.val();
                    self.xs.d.next = self.x_idle.val();
                } else {
                    self.rd1a.d.next = self.in_addr.val();
                    self.rd1b.d.next = self.in_hi_bank.val();
                    self.xs.d.next = self.x_run.val();
                    self.x_row.d.next = self.c_one16.val();
                    self.x_base.d.next = self.in_addr.val() + self.in_stride.val();
                    self.x_left.d.next = self.words.val();
                    self.x_rem.d.next = self.n.val();
                    self.x_first.d.next = true;
                    if self.rows.val() == self.c_zero16.val() {
                        self.xs.d.next = self.x_idle.val();
                    }
                }
            } else {
                self.done_r.d.next = true;
            }
        }
        if self.reset.val() {
            self.ms.d.next = self.m_idle.val();
            self.xs.d.next = self.x_idle.val();
            self.busy_r.d.next = false;
            self.done_r.d.next = false;
            self.ldv1.d.next = false;
            self.va1.d.next = false;
            self.vb1.d.next = false;
            self.mv1.d.next = false;
            self.mv2.d.next = false;
            self.st_v.d.next = false;
            self.mx_infl.d.next = self.c_zero16.val();
            self.wren.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        random_memory, run_ops, simulate, Alloc, EngineBench, EngineCase, IcarusBench, IcarusOp, Rng, TbMem,
    };
    use spec::numerics::{exp_lut, layernorm_row, softmax_row, Dyadic, LayerNormParams};

    const NB: usize = 4;
    const WORDS: usize = 256;

    /// The unit under test with its memory; the operands are the test bench's.
    #[derive(LogicBlock)]
    struct Tb<const W: usize, const BE: usize> {
        clock: Signal<In, Clock>,
        reset: Signal<In, Bit>,
        start: Signal<In, Bit>,
        op: Signal<In, Bits<4>>,
        rows: Signal<In, Bits<16>>,
        n: Signal<In, Bits<16>>,
        in_lo_bank: Signal<In, Bits<4>>,
        in_hi_bank: Signal<In, Bits<4>>,
        in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
        out_bank: Signal<In, Bits<4>>,
        out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
        par_bank: Signal<In, Bits<4>>,
        par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        out_m: Signal<In, Bits<16>>,
        out_s: Signal<In, Bits<8>>,
        vu: VecUnit<W, BE>,
        mem: TbMem<W, BE>,
    }

    impl<const W: usize, const BE: usize> Logic for Tb<W, BE> {
        #[hdl_gen]
        fn update(&mut self) {
            self.vu.clock.next = self.clock.val();
            self.mem.clock.next = self.clock.val();
            self.vu.reset.next = self.reset.val();
            self.vu.start.next = self.start.val();
            self.vu.op.next = self.op.val();
            self.vu.rows.next = self.rows.val();
            self.vu.n.next = self.n.val();
            self.vu.in_lo_bank.next = self.in_lo_bank.val();
            self.vu.in_hi_bank.next = self.in_hi_bank.val();
            self.vu.in_addr.next = self.in_addr.val();
            self.vu.in_stride.next = self.in_stride.val();
            self.vu.out_bank.next = self.out_bank.val();
            self.vu.out_addr.next = self.out_addr.val();
            self.vu.out_stride.next = self.out_stride.val();
            self.vu.par_bank.next = self.par_bank.val();
            self.vu.par_addr.next = self.par_addr.val();
            self.vu.out_m.next = self.out_m.val();
            self.vu.out_s.next = self.out_s.val();
            self.mem.rd0_bank.next = self.vu.rd0_bank.val();
            self.mem.rd0_addr.next = self.vu.rd0_addr.val();
            self.vu.rd0_data.next = self.mem.rd0_data.val();
            self.mem.rd1_bank.next = self.vu.rd1_bank.val();
            self.mem.rd1_addr.next = self.vu.rd1_addr.val();
            self.vu.rd1_data.next = self.mem.rd1_data.val();
            self.mem.wr_bank.next = self.vu.wr_bank.val();
            self.mem.wr_addr.next = self.vu.wr_addr.val();
            self.mem.wr_data.next = self.vu.wr_data.val();
            self.mem.wr_be.next = self.vu.wr_be.val();
            self.mem.wr_en.next = self.vu.wr_en.val();
        }
    }

    /// One op: operands, the memory before and the memory expected after.
    #[derive(Clone, Debug)]
    struct Case {
        op: u64,
        rows: usize,
        n: usize,
        in_lo: usize,
        in_hi: usize,
        in_addr: usize,
        in_stride: usize,
        out_bank: usize,
        out_addr: usize,
        out_stride: usize,
        par_bank: usize,
        par_addr: usize,
        out: Dyadic,
        init: Vec<Vec<u8>>,
        expect: Vec<Vec<u8>>,
        what: String,
        /// Cycles from `start` to `done` ([`vec_cycles`], set by [`run_cases`]).
        cycles: u64,
    }

    /// A LayerNorm case over rows `x` with parameters `p`, random layout (`R = r` lanes).
    fn ln_case(rng: &mut Rng, r: usize, x: Vec<Vec<i16>>, p: LayerNormParams, what: String) -> Case {
        let rows = x.len();
        let n = x[0].len();
        let w = n.div_ceil(r);
        let mut mem = random_memory(rng, NB, WORDS, r);
        let (in_lo, in_hi) = rng.distinct_banks(NB);
        let out_bank = rng.below(NB as u64) as usize;
        let par_bank = rng.below(NB as u64) as usize;
        let mut al = Alloc::new(rng, NB, WORDS);
        let in_stride = w + rng.below(3) as usize;
        let in_addr = al.take(rng, &[in_lo, in_hi], (rows - 1) * in_stride + w);
        let g_words = (2 * n).div_ceil(r);
        let par_addr = al.take(rng, &[par_bank], g_words + (4 * n).div_ceil(r));
        // Sometimes in place: the output overwrites the low byte plane.
        let (out_bank, out_addr, out_stride) = if rng.below(6) == 0 {
            (in_lo, in_addr, in_stride)
        } else {
            let s = w + rng.below(3) as usize;
            (out_bank, al.take(rng, &[out_bank], (rows - 1) * s + w), s)
        };
        for (i, row) in x.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let byte = (in_addr + i * in_stride + c / r) * r + c % r;
                mem[in_lo][byte] = v as u16 as u8;
                mem[in_hi][byte] = ((v as u16) >> 8) as u8;
            }
        }
        for c in 0..n {
            let g = (p.gamma[c] as u16).to_le_bytes();
            mem[par_bank][par_addr * r + 2 * c..par_addr * r + 2 * c + 2].copy_from_slice(&g);
            let b = (p.beta[c] as u32).to_le_bytes();
            let base = (par_addr + g_words) * r + 4 * c;
            mem[par_bank][base..base + 4].copy_from_slice(&b);
        }
        let mut expect = mem.clone();
        for (i, row) in x.iter().enumerate() {
            let mut y = vec![0i8; n];
            layernorm_row(row, &p, &mut y);
            for (c, &v) in y.iter().enumerate() {
                expect[out_bank][(out_addr + i * out_stride + c / r) * r + c % r] = v as u8;
            }
        }
        Case {
            op: OP_LAYERNORM,
            rows,
            n,
            in_lo,
            in_hi,
            in_addr,
            in_stride,
            out_bank,
            out_addr,
            out_stride,
            par_bank,
            par_addr,
            out: p.out,
            init: mem,
            expect,
            what,
            cycles: 0,
        }
    }

    /// A softmax case over rows `x` with exp table `t`, random layout (sometimes in place).
    fn sm_case(rng: &mut Rng, r: usize, x: Vec<Vec<i8>>, t: &[u16; 256], what: String) -> Case {
        let rows = x.len();
        let n = x[0].len();
        let w = n.div_ceil(r);
        let mut mem = random_memory(rng, NB, WORDS, r);
        let (in_lo, in_hi) = rng.distinct_banks(NB);
        let par_bank = rng.below(NB as u64) as usize;
        let mut al = Alloc::new(rng, NB, WORDS);
        let in_stride = w + rng.below(3) as usize;
        let in_addr = al.take(rng, &[in_lo, in_hi], (rows - 1) * in_stride + w);
        let par_addr = al.take(rng, &[par_bank], 512 / r);
        let (out_bank, out_addr, out_stride) = if rng.below(4) == 0 {
            (in_lo, in_addr, in_stride)
        } else {
            let b = rng.below(NB as u64) as usize;
            let s = w + rng.below(3) as usize;
            (b, al.take(rng, &[b], (rows - 1) * s + w), s)
        };
        for (i, row) in x.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                mem[in_lo][(in_addr + i * in_stride + c / r) * r + c % r] = v as u8;
                mem[in_hi][(in_addr + i * in_stride + c / r) * r + c % r] = v as u8;
            }
        }
        for (k, &e) in t.iter().enumerate() {
            mem[par_bank][par_addr * r + 2 * k..par_addr * r + 2 * k + 2].copy_from_slice(&e.to_le_bytes());
        }
        let mut expect = mem.clone();
        for (i, row) in x.iter().enumerate() {
            let mut y = vec![0u8; n];
            softmax_row(row, t, &mut y);
            for (c, &v) in y.iter().enumerate() {
                expect[out_bank][(out_addr + i * out_stride + c / r) * r + c % r] = v;
            }
        }
        Case {
            op: OP_SOFTMAX,
            rows,
            n,
            in_lo,
            in_hi,
            in_addr,
            in_stride,
            out_bank,
            out_addr,
            out_stride,
            par_bank,
            par_addr,
            out: Dyadic::ZERO,
            init: mem,
            expect,
            what,
            cycles: 0,
        }
    }

    impl<const W: usize, const BE: usize> Tb<W, BE> {
        fn new(max_width: usize) -> Self {
            Tb {
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
                vu: VecUnit::new(BE, max_width),
                mem: TbMem::new(NB, WORDS),
            }
        }
    }

    impl EngineCase for Case {
        fn init(&self) -> &[Vec<u8>] {
            &self.init
        }
        fn expect(&self) -> &[Vec<u8>] {
            &self.expect
        }
        fn cycles(&self) -> u64 {
            self.cycles
        }
        fn what(&self) -> String {
            format!("{} {:?}", self.what, Case { init: vec![], expect: vec![], ..self.clone() })
        }
    }

    impl<const W: usize, const BE: usize> EngineBench for Tb<W, BE> {
        type Case = Case;
        fn toggle_clock(&mut self) {
            self.clock.next = !self.clock.val();
        }
        fn clock_high(&self) -> bool {
            self.clock.val().clk
        }
        fn memory(&mut self) -> &mut Vec<Vec<u8>> {
            &mut self.mem._mem
        }
        fn apply(&mut self, c: &Case) {
            self.op.next = c.op.into();
            self.rows.next = (c.rows as u64).into();
            self.n.next = (c.n as u64).into();
            self.in_lo_bank.next = (c.in_lo as u64).into();
            self.in_hi_bank.next = (c.in_hi as u64).into();
            self.in_addr.next = (c.in_addr as u64).into();
            self.in_stride.next = (c.in_stride as u64).into();
            self.out_bank.next = (c.out_bank as u64).into();
            self.out_addr.next = (c.out_addr as u64).into();
            self.out_stride.next = (c.out_stride as u64).into();
            self.par_bank.next = (c.par_bank as u64).into();
            self.par_addr.next = (c.par_addr as u64).into();
            self.out_m.next = (c.out.m as u64).into();
            self.out_s.next = (c.out.s as u64).into();
        }
        fn set_reset(&mut self, on: bool) {
            self.reset.next = on;
        }
        fn set_start(&mut self, on: bool) {
            self.start.next = on;
        }
        fn busy(&self) -> bool {
            self.vu.busy.val()
        }
        fn done(&self) -> bool {
            self.vu.done.val()
        }
    }

    /// Runs the cases back to back in one simulation of an `R = BE` unit built for
    /// `max_width`; checks every byte of every bank, the `busy`/`done` protocol and that the
    /// cycle count equals [`vec_cycles`]. A case with any other op must finish at once.
    fn run_cases<const W: usize, const BE: usize>(max_width: usize, mut cases: Vec<Case>) {
        for c in &mut cases {
            c.cycles = if c.op == OP_LAYERNORM || c.op == OP_SOFTMAX {
                vec_cycles(c.op, c.n, c.rows, BE, max_width)
            } else {
                1
            };
        }
        run_ops(Tb::<W, BE>::new(max_width), cases, BE);
    }

    /// Random LayerNorm parameters: realistic (full-range gamma, beta near the accumulator
    /// scale, output shift around 33) or extreme (any m < 2^15, any s <= 62, saturated values).
    fn ln_params(rng: &mut Rng, n: usize) -> LayerNormParams {
        let extreme = rng.below(4) == 0;
        let gamma = (0..n)
            .map(|_| match rng.below(if extreme { 6 } else { 3 }) {
                0 | 1 => rng.next() as i16,
                2 => (rng.next() as i16) >> rng.below(14),
                3 => i16::MIN,
                4 => i16::MAX,
                _ => 0,
            })
            .collect();
        let beta = (0..n)
            .map(|_| match rng.below(if extreme { 5 } else { 2 }) {
                0 => (rng.next() as i32) >> 7,
                1 => (rng.next() as i32) >> rng.below(32),
                2 => i32::MIN,
                3 => i32::MAX,
                _ => rng.next() as i32,
            })
            .collect();
        let out = if extreme {
            {
                let any = rng.below(32768) as u16;
                Dyadic { m: rng.pick(&[0, 1, 16384, 32767, any]), s: rng.below(63) as u8 }
            }
        } else {
            Dyadic { m: 16384 + rng.below(16384) as u16, s: rng.range(26, 40) as u8 }
        };
        LayerNormParams { gamma, beta, out }
    }

    /// A random LayerNorm row of one of several kinds.
    fn ln_row(rng: &mut Rng, n: usize, kind: u64) -> Vec<i16> {
        let base = rng.next() as i16;
        let spread = rng.below(16) as u32;
        (0..n)
            .map(|_| match kind {
                0 => rng.next() as i16,
                1 => ((rng.next() as i16) >> (15 - spread.min(15))).saturating_add(base),
                2 => base,
                3 => rng.pick(&[i16::MIN, i16::MAX, -32767]),
                4 => rng.pick(&[0, 0, 0, 0, 1, -1, i16::MAX, i16::MIN]),
                _ => 30000 + rng.range(-3, 3) as i16,
            })
            .collect()
    }

    fn ln_cases(rng: &mut Rng, r: usize, max_width: usize, count: usize) -> Vec<Case> {
        (0..count)
            .map(|k| {
                let n = match k % 7 {
                    0 => 1,
                    1 => max_width,
                    2 => r * (1 + rng.below((max_width / r) as u64) as usize),
                    _ => 1 + rng.below(max_width as u64) as usize,
                };
                let rows = 1 + rng.below(4) as usize;
                let kind = rng.below(6);
                let x = (0..rows)
                    .map(|_| {
                        let k = if rng.below(3) == 0 { rng.below(6) } else { kind };
                        ln_row(rng, n, k)
                    })
                    .collect();
                let p = ln_params(rng, n);
                ln_case(rng, r, x, p, format!("LN #{k} n={n} rows={rows} kind={kind}"))
            })
            .collect()
    }

    /// A random softmax row of one of several kinds.
    fn sm_row(rng: &mut Rng, n: usize, kind: u64) -> Vec<i8> {
        let base = rng.next() as i8;
        (0..n)
            .map(|_| match kind {
                0 => rng.next() as i8,
                1 => base,
                2 => rng.pick(&[i8::MIN, i8::MAX]),
                3 => rng.pick(&[i8::MIN, i8::MIN, i8::MIN, i8::MIN, i8::MAX]),
                _ => base.saturating_add(rng.range(-4, 4) as i8),
            })
            .collect()
    }

    fn sm_cases(rng: &mut Rng, r: usize, max_width: usize, count: usize) -> Vec<Case> {
        let scales = [0.002, 0.02, 0.05, 0.1, 0.5, 1.0, 8.0];
        (0..count)
            .map(|k| {
                let n = match k % 7 {
                    0 => 1,
                    1 => max_width,
                    _ => 1 + rng.below(max_width as u64) as usize,
                };
                let rows = 1 + rng.below(5) as usize;
                let kind = rng.below(5);
                let x = (0..rows)
                    .map(|_| {
                        let k = if rng.below(3) == 0 { rng.below(5) } else { kind };
                        sm_row(rng, n, k)
                    })
                    .collect();
                let s = rng.pick(&scales);
                sm_case(rng, r, x, &exp_lut(s), format!("SM #{k} n={n} rows={rows} kind={kind} s={s}"))
            })
            .collect()
    }

    /// LayerNorm, R = 8: random rows of every kind (full range, low variance, constant,
    /// saturated, sparse, large offset), n = 1..=40, random layouts, realistic and extreme
    /// parameters. Every output byte equals `layernorm_row`; nothing else changes.
    #[test]
    fn layernorm_matches_spec() {
        let mut rng = Rng::new(0x1234_5678_9abc_def0);
        run_cases::<64, 8>(40, ln_cases(&mut rng, 8, 40, 60));
    }

    /// More LayerNorm rows (another seed), run as a second test so the two run in parallel.
    #[test]
    fn layernorm_matches_spec_more() {
        let mut rng = Rng::new(0x1234_5678_9abc_def5);
        run_cases::<64, 8>(40, ln_cases(&mut rng, 8, 40, 60));
    }

    /// Softmax, R = 8: random, constant, extreme and narrow rows, n = 1..=40, real exp tables
    /// for several input scales. Every output byte equals `softmax_row`; nothing else changes.
    #[test]
    fn softmax_matches_spec() {
        let mut rng = Rng::new(0x2234_5678_9abc_def1);
        run_cases::<64, 8>(40, sm_cases(&mut rng, 8, 40, 50));
    }

    /// More softmax rows (another seed), run as a second test so the two run in parallel.
    #[test]
    fn softmax_matches_spec_more() {
        let mut rng = Rng::new(0x2234_5678_9abc_def6);
        run_cases::<64, 8>(40, sm_cases(&mut rng, 8, 40, 50));
    }

    /// Both ops alternating on one unit, more rows per op (the A passes run up to `ROW_LAG`
    /// rows ahead of the B passes), an unknown op code (done at once, nothing written) and ops
    /// with no rows (nothing written, nothing left behind for the next op).
    #[test]
    fn mixed_ops_and_long_ops() {
        let mut rng = Rng::new(0x3234_5678_9abc_def2);
        let mut cases = Vec::new();
        for k in 0..12 {
            let n = 1 + rng.below(40) as usize;
            let rows = 10 + rng.below(12) as usize;
            if k % 2 == 0 {
                let x = (0..rows)
                    .map(|_| {
                        let k = rng.below(6);
                        ln_row(&mut rng, n, k)
                    })
                    .collect();
                let p = ln_params(&mut rng, n);
                cases.push(ln_case(&mut rng, 8, x, p, format!("long LN n={n} rows={rows}")));
            } else {
                let x = (0..rows)
                    .map(|_| {
                        let k = rng.below(5);
                        sm_row(&mut rng, n, k)
                    })
                    .collect();
                cases.push(sm_case(&mut rng, 8, x, &exp_lut(0.05), format!("long SM n={n} rows={rows}")));
            }
        }
        let mut bad = cases[0].clone();
        bad.op = 3;
        bad.expect = bad.init.clone();
        bad.what = "op 3".into();
        cases.insert(5, bad);
        for (k, at) in [(1usize, 8usize), (2, 11)] {
            let mut empty = cases[k].clone();
            empty.rows = 0;
            empty.expect = empty.init.clone();
            empty.what = "no rows".into();
            cases.insert(at, empty);
        }
        run_cases::<64, 8>(40, cases);
    }

    /// R = 16 (128-bit words): the lane routing of gamma (halves), beta (quarters) and the
    /// exp table words differs from R = 8.
    #[test]
    fn sixteen_lanes_match_spec() {
        let mut rng = Rng::new(0x4234_5678_9abc_def3);
        let mut cases = ln_cases(&mut rng, 16, 72, 8);
        cases.extend(sm_cases(&mut rng, 16, 72, 8));
        run_cases::<128, 16>(72, cases);
    }

    /// A reset in the middle of an op stops it (no more writes, not busy); the next op runs
    /// normally.
    #[test]
    fn reset_mid_op_recovers() {
        let mut rng = Rng::new(0x5234_5678_9abc_def4);
        let x = (0..6).map(|_| ln_row(&mut rng, 37, 0)).collect();
        let p = ln_params(&mut rng, 37);
        let first = ln_case(&mut rng, 8, x, p, "aborted".into());
        let x = (0..3).map(|_| sm_row(&mut rng, 29, 0)).collect();
        let second = sm_case(&mut rng, 8, x, &exp_lut(0.1), "after reset".into());
        simulate(Tb::<64, 8>::new(40), move |mut ep: Sim<Tb<64, 8>>| {
            let mut x = ep.init()?;
            for (k, c) in [&first, &second].into_iter().enumerate() {
                x.mem._mem = c.init.clone();
                x.apply(c);
                x.start.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.start.next = false;
                if k == 0 {
                    // Into the first B passes, then reset.
                    wait_clock_cycle!(ep, clock, x, 60);
                    sim_assert!(ep, x.vu.busy.val(), x);
                    x.reset.next = true;
                    wait_clock_cycle!(ep, clock, x);
                    x.reset.next = false;
                    let snapshot = x.mem._mem.clone();
                    for _ in 0..40 {
                        wait_clock_cycle!(ep, clock, x);
                        sim_assert!(ep, !x.vu.busy.val() && !x.vu.done.val() && !x.vu.wr_en.val(), x);
                    }
                    sim_assert!(ep, x.mem._mem == snapshot, x);
                } else {
                    let mut cycles = 1;
                    while !x.vu.done.val() {
                        wait_clock_cycle!(ep, clock, x);
                        cycles += 1;
                    }
                    sim_assert_eq!(ep, cycles, vec_cycles(c.op, c.n, c.rows, 8, 40), x);
                    sim_assert!(ep, x.mem._mem == c.expect, x);
                }
            }
            ep.done(x)
        });
    }

    /// Runs `cases` on the *generated Verilog* of an R = 8 unit in Icarus Verilog (a behavioural
    /// two-read-port memory around it); returns, per case, the memory after the op and the
    /// cycles from `start` to `done`.
    fn run_verilog(max_width: usize, cases: &[Case]) -> Vec<(Vec<Vec<u8>>, u64)> {
        let a = SP_ADDR_BITS;
        let bench = IcarusBench {
            module: "vecu".into(),
            verilog: crate::verilog::generate(&mut VecUnit::<64, 8>::new(8, max_width), "vecu"),
            operands: vec![
                ("op", 4),
                ("rows", 16),
                ("n", 16),
                ("in_lo_bank", 4),
                ("in_hi_bank", 4),
                ("in_addr", a),
                ("in_stride", a),
                ("out_bank", 4),
                ("out_addr", a),
                ("out_stride", a),
                ("par_bank", 4),
                ("par_addr", a),
                ("out_m", 16),
                ("out_s", 8),
            ],
            probes: vec![],
            banks: NB,
            words: WORDS,
        };
        let ops: Vec<IcarusOp> = cases
            .iter()
            .map(|c| IcarusOp {
                init: c.init.clone(),
                operands: [
                    c.op as usize,
                    c.rows,
                    c.n,
                    c.in_lo,
                    c.in_hi,
                    c.in_addr,
                    c.in_stride,
                    c.out_bank,
                    c.out_addr,
                    c.out_stride,
                    c.par_bank,
                    c.par_addr,
                    c.out.m as usize,
                    c.out.s as usize,
                ]
                .map(|v| v as u64)
                .to_vec(),
            })
            .collect();
        bench.run(&ops).into_iter().map(|r| (r.mem, r.cycles)).collect()
    }

    /// The generated Verilog (not only rust-hdl's model of it) computes both ops bit-exactly
    /// and in exactly [`vec_cycles`] cycles.
    #[test]
    fn generated_verilog_matches_spec() {
        let mut rng = Rng::new(0x6234_5678_9abc_def7);
        let mut cases = ln_cases(&mut rng, 8, 40, 14);
        cases.extend(sm_cases(&mut rng, 8, 40, 14));
        let results = run_verilog(40, &cases);
        for (c, (mem, cycles)) in cases.iter().zip(results) {
            assert_eq!(cycles, vec_cycles(c.op, c.n, c.rows, 8, 40), "{}: cycles", c.what);
            for b in 0..NB {
                for i in 0..WORDS * 8 {
                    assert_eq!(mem[b][i], c.expect[b][i], "{}: bank {b} word {} byte {}", c.what, i / 8, i % 8);
                }
            }
        }
    }

    /// The closed forms of [`vec_cycles`]'s documentation agree with the replay wherever their
    /// conditions hold (the replay itself is checked against the RTL by every other test).
    #[test]
    fn closed_forms_agree_with_the_replay() {
        let mut checked = 0;
        for r in [8usize, 16, 32, 64, 128] {
            for max_width in [40usize, 1024] {
                for op in [OP_LAYERNORM, OP_SOFTMAX] {
                    let lat = scalar_latency(op, max_width) as u64;
                    for n in (1..=max_width.min(300)).step_by(7) {
                        for rows in [1usize, 2, 3, 5, 15, 16, 17, 40, 198] {
                            let w = n.div_ceil(r) as u64;
                            let nr = rows as u64;
                            let load =
                                if op == OP_LAYERNORM { (2 * n).div_ceil(r) + (4 * n).div_ceil(r) } else { 512 / r }
                                    as u64;
                            let got = vec_cycles(op, n, rows, r, max_width);
                            let max_ok = op == OP_LAYERNORM || w + 3 <= load;
                            if rows == 1 && max_ok {
                                assert_eq!(got, load + 2 * w + lat + 11, "N = 1: op {op} R {r} n {n}");
                                checked += 1;
                            }
                            let m = (ROW_LAG as u64).min(nr - 1);
                            if max_ok && lat <= m * w {
                                assert_eq!(got, load + 2 * nr * w + 11, "op {op} R {r} n {n} rows {rows}");
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn vec_unit_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut VecUnit::<64, 8>::new(8, 40), "vecu");
        crate::verilog::lint(&v, "vecu").unwrap();
        let v = crate::verilog::generate(&mut VecUnit::<128, 16>::new(16, 1024), "vecu");
        crate::verilog::lint(&v, "vecu").unwrap();
    }
}
