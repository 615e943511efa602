//! The token selector's engine: COLMEAN (column means of an int8 matrix) and SELECT (keep
//! decision, package token, in-place compaction of the residual stream, gather of byte rows),
//! bit-exact with `spec::numerics::{mean_i8, keep_decision, package_weight, package_channel}` and
//! the semantics of `spec::isa`. It sits next to [`crate::vec::VecUnit`] in the vector unit and
//! uses the same scratchpad ports.
//!
//! # Operation
//!
//! A `start` pulse runs one op. Channel `c` of matrix row `t` at word `a`, stride `s`, is byte
//! `c % R` of word `a + t s + c / R`; a row of `n` channels takes `w = ceil(n/R)` words.
//! Everything is a sequential state machine around `N` multiply-accumulate lanes ([`SelLane`];
//! `N = AccelConfig::sel_lanes`, `R` unless the config folds the pass), which take a row's
//! channels in groups of `N`: group `k` is slice `k mod F` (`F = R/N`) of word `k / F`, and lane
//! `l` handles byte `(k mod F) N + l` of it ([`fold`]). **Each lane has its own restoring divider** (one quotient
//! bit per cycle; all lanes divide by the same divisor at once) that computes
//! `div_round(a, b) = floor((2a + b) / (2b))` exactly for signed `a`: the quotient of
//! `N = 2a + b + 2^16 b` by `2b` is `q + 2^15`, in `0..2^16` because the result `q` is an int16
//! (it is a weighted mean of int16 values, or a mean of int8 values), so 16 restoring steps give
//! it; `q` is that minus `2^15` (the top bit flipped). A division takes [`DIV_LANE_CYCLES`]
//! cycles (load, 16 steps) for the whole group.
//!
//! * **COLMEAN** (`rows = L`, `n` int8 channels): per group `k` of `N` channels: `L` reads
//!   (port 0, `in_lo_bank`), the lanes accumulate `sum_t x[t][c]`; the dividers give
//!   `g[c] = div_round(sum, L)` in every lane at once (then live lanes add `g[c]` to the running
//!   `sum_c g[c]`, one lane per cycle); then `L` writes broadcast the group's slice to every
//!   output row (byte enables: the slice's bytes with `c < n`). A group is written only after all its rows were read, so the output may be the
//!   input (in place). Finally `m = div_round(sum_c g[c], n)` goes to byte `aux % R` of word
//!   `par_addr + aux / R` of `par_bank`.
//! * **SELECT** (`rows = L` live tokens, `n = E` int16 channels, `heads = h`, `prefix = P`):
//!   1. *Weights*: `ceil(h/R)` words at `w_addr` (`par_bank`) into registers.
//!   2. *Decide*: per token `t`, per head `j`, one read of `p_j` (byte 0 of word
//!      `par_addr + j p_stride + t`), accumulating `score = sum w_j p_j` and
//!      `margin = sum (w_j p_j - 128 w_j)`; `keep = margin >= 0 || t < P`. The token RAM
//!      ([`token_ram_depth`] entries) keeps `{keep, weight}` per token, `weight = score + 1` for a
//!      dropped token and 0 for a kept one; the dropped weights are summed.
//!   3. *Package* (only if a token is dropped): per group `k`, `L` reads of both byte planes
//!      (port 0 `in_lo_bank`, port 1 `in_hi_bank`), the lanes accumulate `weight_t x[t][c]` (kept
//!      tokens weigh 0), the dividers give `div_round(., sum weights)` in every lane, and the
//!      low and the high plane word of row `L` are written (byte enables: the slice's bytes with
//!      `c < n`).
//!   4. *Compaction*: a scan over `t = 0..L` (and `t = L`, the package row, when a token was
//!      dropped) with the token RAM; a kept token whose position `pos` (kept tokens before it)
//!      differs from `t` is copied word by word, both planes (one word read on both ports every
//!      other cycle, its low then its high plane written; byte enables `c < n`).
//!   5. *Gather*: per byte row `g < g_rows` at `out_addr + g out_stride` (`out_bank`): the row's
//!      words are read one at a time; every byte `t < L` of a kept token is written (one byte
//!      enable) to byte `pos`; then, if a token was dropped, byte `aux` is read (after every write
//!      of the row landed) and written to byte `pos`. A byte is always read before any write can
//!      reach it (`pos <= t`), so this equals the sequential read-then-write of `spec::isa`.
//!   6. *Count*: `L'` little endian into bytes 0-1 of word `out_addr + g_rows out_stride`; then
//!      `live_we` pulses with `live_value = L'` in the cycle of `done`.
//!
//! # Structure
//! One sub-block per step, each in its own file with its own test beside it: [`Decide`]
//! (weights and keep decisions, step 2), [`ColumnPass`] (the channel-group pass of COLMEAN and of
//! the package, step 3, with the [`LaneArray`] of [`SelLane`]s and their [`RoundDivider`]s), [`Compact`] (step 4)
//! and [`Gather`] (steps 5-6), around the [`TokenRam`] (written by the decision, read by the
//! later steps) and the [`PortMux`] (the scratchpad port registers, loaded from the running
//! step's [`ReadRequest`] and [`crate::bus::SpWriteClient`] bundles). This block starts the steps
//! in order (each `finish` starts the next step in the same cycle). The whole-engine tests (against the reference semantics,
//! in Rust-HDL's simulator and on the generated Verilog in Icarus) are in `select/tests.rs`.
//!
//! # Widths
//! With `h <= max_heads <= 32` a weight is `< 32 * 255^2 + 1 < 2^21` ([`WEIGHT_BITS`]); the sum of
//! the weights of `<= max_tokens` tokens is `< 2^32` ([`TOTAL_BITS`]; [`SelectEngine::new`]
//! asserts both for the configuration); `|sum weight x| < 2^32 2^15 = 2^47` fits the 48-bit lane
//! accumulators ([`ACC_BITS`]), and the divider's numerator `N < 2^49` its 50-bit remainder
//! ([`DIV_BITS`]).
//! A COLMEAN sum is `<= 2^16 * 128` (rows are 16-bit), the sum of means `<= 2^16 * 128`.
//!
//! # Cycles
//! [`colmean_cycles`] and [`select_cycles`] give the exact count (the tests check them against
//! the RTL for every case): from the cycle in which `start` is high (cycle 0) to the cycle in
//! which `done` is high, the convention of [`crate::vec::vec_cycles`].
//!
//! # Interface notes
//! * Every output is a register output (wired by `link`, never assigned in a block that reads
//!   this cycle's inputs): no combinational path from any input to any output.
//! * Port use: port 0 reads the head weights, the probabilities, the low plane and the gathered
//!   rows; port 1 reads the high plane. During a SELECT port 1 always addresses a bank of the op
//!   other than port 0's (`in_hi_bank`, or `in_lo_bank` while port 0 reads `in_hi_bank`), so the
//!   two ports never hit one bank in the same cycle (the vector unit enables port 1 only for
//!   SELECT). COLMEAN uses port 0 only.
//! * Preconditions (the ISA checks them): `rows >= 1`, `n >= 1`, `heads >= 1` (else `done` at
//!   once, nothing written), `rows <= max_tokens`, `heads <= max_heads`, `in_lo_bank !=
//!   in_hi_bank`, strides at least the row length (rows do not overlap), and the regions (x rows
//!   `0..=L`, probabilities, weights, gathered rows and the count word) do not overlap.
//! * Writes are word writes with byte enables: only channels `< n` of x rows, only the gathered
//!   bytes, only the count bytes and the mean byte change.

mod column_pass;
mod compact;
mod decide;
mod divider;
mod fold;
mod gather;
mod group_means;
mod head_weights;
mod lane;
mod ports;
#[cfg(test)]
mod tests;
mod token_ram;

pub use column_pass::ColumnPass;
pub use compact::Compact;
pub use decide::Decide;
pub use divider::RoundDivider;
pub use fold::{BitsAt, Replicate, SliceBytes, FOLD_SEL_BITS};
pub use gather::Gather;
pub use group_means::GroupMeans;
pub use head_weights::HeadWeights;
pub use lane::{LaneArray, SelLane};
pub use ports::{PortMux, ReadRequest, ReadRequestIn};
pub use token_ram::{TokenRam, TokenWrite, TokenWriteIn};

use crate::bus::SpWriteClient;
use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;

/// `op` code of COLMEAN.
pub const OP_COLMEAN: u64 = 1;
/// `op` code of SELECT.
pub const OP_SELECT: u64 = 2;

/// Bits of a dropped token's package weight `score + 1`.
pub const WEIGHT_BITS: usize = 21;
/// Bits of the sum of the dropped tokens' weights.
pub const TOTAL_BITS: usize = 32;
/// Bits of a lane accumulator (signed).
pub const ACC_BITS: usize = 48;
pub use spec::timing::select::{colmean_cycles, select_cycles, DIV_LANE_CYCLES, QUOTIENT_BITS};
/// Bits of a divider's remainder, dividend and divisor: the numerator `N = 2a + b + 2^16 b`
/// is `< 2^16 * 2b < 2^49` for an int16 result and a divisor `b < 2^32`.
pub const DIV_BITS: usize = 50;
/// Most heads the widths allow (`32 * 255^2 + 1 < 2^21`).
pub const MAX_HEADS: usize = 32;

/// Entries of the token RAM for `max_tokens` tokens.
pub fn token_ram_depth(max_tokens: usize) -> usize {
    max_tokens.next_power_of_two().max(2)
}

/// The token selector engine for `R = BE` lanes, `W = 8R`-bit scratchpad words: the sub-blocks
/// of the steps ([`Decide`], [`ColumnPass`], [`Compact`], [`Gather`]) around the token RAM
/// ([`TokenRam`]) and the scratchpad port registers ([`PortMux`]), one step running at a time;
/// this block starts them in order.
#[derive(LogicBlock)]
pub struct SelectEngine<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,
    /// Start pulse (ignored while busy); the operands below are stable until `done`.
    pub start: Signal<In, Bit>,
    /// [`OP_COLMEAN`] or [`OP_SELECT`] (anything else: `done` at once, nothing written).
    pub op: Signal<In, Bits<4>>,
    /// Rows (COLMEAN) or live tokens `L` (SELECT), `>= 1`.
    pub rows: Signal<In, Bits<16>>,
    /// Channels per row, `>= 1`.
    pub n: Signal<In, Bits<16>>,
    /// Bank of the input (SELECT: the low byte plane of x).
    pub in_lo_bank: Signal<In, Bits<4>>,
    /// Bank of x's high byte plane (SELECT).
    pub in_hi_bank: Signal<In, Bits<4>>,
    /// Word address of input row 0.
    pub in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between input rows.
    pub in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the output rows (COLMEAN) or of the gathered rows and the count (SELECT).
    pub out_bank: Signal<In, Bits<4>>,
    /// Word address of output row 0 (COLMEAN) or of gathered row 0 (SELECT).
    pub out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between output (gathered) rows.
    pub out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the mean byte (COLMEAN) or of the probabilities and head weights (SELECT).
    pub par_bank: Signal<In, Bits<4>>,
    /// Word of the mean byte (COLMEAN) or of the probabilities of head 0 (SELECT).
    pub par_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Byte index of the mean from `par_addr` (COLMEAN) or the package byte of the gathered rows
    /// (SELECT).
    pub aux: Signal<In, Bits<16>>,
    /// Heads `h` (SELECT), `1..=max_heads`.
    pub heads: Signal<In, Bits<8>>,
    /// Prefix tokens, always kept (SELECT).
    pub prefix: Signal<In, Bits<4>>,
    /// Words between the heads' probability columns (SELECT).
    pub p_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Word of the head weights in `par_bank` (SELECT).
    pub w_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Gathered byte rows (SELECT).
    pub g_rows: Signal<In, Bits<8>>,
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
    /// One-cycle pulse when a SELECT finishes (with `done`): LIVE_TOKENS takes `live_value`.
    pub live_we: Signal<Out, Bit>,
    /// The token count `L'` after the last SELECT.
    pub live_value: Signal<Out, Bits<16>>,

    decide: Decide<W, BE>,
    columns: ColumnPass<W, BE>,
    compact: Compact<W, BE>,
    gather: Gather<W, BE>,
    ports: PortMux<W, BE>,
    tokens: TokenRam,

    // The op and the output registers.
    sel_op: DFF<Bit>,
    busy_r: DFF<Bit>,
    done_r: DFF<Bit>,
    live_we_r: DFF<Bit>,
    live_count: DFF<Bits<16>>,
    finishing: DFF<Bit>,

    words: Signal<Local, Bits<16>>,
    groups: Signal<Local, Bits<16>>,
    valid_op: Signal<Local, Bit>,
    starting: Signal<Local, Bit>,
    go_compact: Signal<Local, Bit>,

    op_cm: Constant<Bits<4>>,
    op_sel: Constant<Bits<4>>,
    c_rm1_16: Constant<Bits<16>>,
    c_lr16: Constant<Bits<16>>,
    /// `N - 1` and `log2 N` of the column pass's `N` lanes.
    c_nm1_16: Constant<Bits<16>>,
    c_ln16: Constant<Bits<16>>,
    c_zero8: Constant<Bits<8>>,
    c_zero16: Constant<Bits<16>>,
}

impl<const W: usize, const BE: usize> SelectEngine<W, BE> {
    /// An engine for `cfg` (`W = 8R` with `R = cfg.array_rows`; `cfg.sel_lanes()` column-pass
    /// lanes).
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        let rows = cfg.array_rows;
        let lanes = cfg.sel_lanes();
        assert!(
            lanes.is_power_of_two() && rows.is_multiple_of(lanes) && rows / lanes <= 16,
            "{lanes} lanes, R = {rows}"
        );
        assert_eq!(W, 8 * rows, "one word holds R bytes");
        assert_eq!(BE, rows);
        assert!(rows.is_power_of_two() && (8..=64).contains(&rows), "R = {rows}");
        // Width bounds (see the module documentation).
        assert!((1..=MAX_HEADS).contains(&cfg.max_heads), "max_heads = {} (1..={MAX_HEADS})", cfg.max_heads);
        let max_weight = cfg.max_heads as u64 * 255 * 255 + 1;
        assert!(max_weight < 1 << WEIGHT_BITS);
        assert!((1..=1 << 16).contains(&cfg.max_tokens), "max_tokens = {}", cfg.max_tokens);
        assert!(
            cfg.max_tokens as u64 * max_weight < 1 << TOTAL_BITS,
            "max_tokens x max weight must fit {TOTAL_BITS} bits"
        );
        assert!((cfg.max_tokens as u128 * max_weight as u128) << 15 < 1u128 << (ACC_BITS - 1));
        assert!(cfg.max_width < 1 << 16);
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        SelectEngine {
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
            aux: Signal::default(),
            heads: Signal::default(),
            prefix: Signal::default(),
            p_stride: Signal::default(),
            w_addr: Signal::default(),
            g_rows: Signal::default(),
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
            live_we: Signal::default(),
            live_value: Signal::default(),
            decide: Decide::new(cfg.max_heads),
            columns: ColumnPass::new(lanes),
            compact: Compact::default(),
            gather: Gather::default(),
            ports: PortMux::default(),
            tokens: TokenRam::new(token_ram_depth(cfg.max_tokens)),
            sel_op: DFF::default(),
            busy_r: DFF::default(),
            done_r: DFF::default(),
            live_we_r: DFF::default(),
            live_count: DFF::default(),
            finishing: DFF::default(),
            words: Signal::default(),
            groups: Signal::default(),
            valid_op: Signal::default(),
            starting: Signal::default(),
            go_compact: Signal::default(),
            op_cm: Constant::new(OP_COLMEAN.into()),
            op_sel: Constant::new(OP_SELECT.into()),
            c_rm1_16: c16(rows as u64 - 1),
            c_lr16: c16(rows.trailing_zeros() as u64),
            c_nm1_16: c16(lanes as u64 - 1),
            c_ln16: c16(lanes.trailing_zeros() as u64),
            c_zero8: Constant::new(0u64.into()),
            c_zero16: c16(0),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for SelectEngine<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, sel_op, busy_r, done_r, live_we_r, live_count, finishing);
        self.decide.clock.next = self.clock.val();
        self.columns.clock.next = self.clock.val();
        self.compact.clock.next = self.clock.val();
        self.gather.clock.next = self.clock.val();
        self.tokens.clock.next = self.clock.val();
        self.ports.clock.next = self.clock.val();
        // Every output comes straight from a register.
        Signal::<Out, Bit>::link(&mut self.busy, &mut self.busy_r.q);
        Signal::<Out, Bit>::link(&mut self.done, &mut self.done_r.q);
        Signal::<Out, Bit>::link(&mut self.live_we, &mut self.live_we_r.q);
        Signal::<Out, Bits<16>>::link(&mut self.live_value, &mut self.live_count.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd0_bank, &mut self.ports.rd0_bank);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd0_addr, &mut self.ports.rd0_addr);
        Signal::<Out, Bits<4>>::link(&mut self.rd1_bank, &mut self.ports.rd1_bank);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd1_addr, &mut self.ports.rd1_addr);
        Signal::<Out, Bit>::link(&mut self.wr_en, &mut self.ports.wr_en);
        Signal::<Out, Bits<4>>::link(&mut self.wr_bank, &mut self.ports.wr_bank);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.wr_addr, &mut self.ports.wr_addr);
        Signal::<Out, Bits<W>>::link(&mut self.wr_data, &mut self.ports.wr_data);
        Signal::<Out, Bits<BE>>::link(&mut self.wr_be, &mut self.ports.wr_be);

        self.words.next = (self.n.val() + self.c_rm1_16.val()) >> self.c_lr16.val();
        self.groups.next = (self.n.val() + self.c_nm1_16.val()) >> self.c_ln16.val();
        self.valid_op.next = (self.rows.val() != self.c_zero16.val())
            && (self.n.val() != self.c_zero16.val())
            && ((self.op.val() == self.op_cm.val())
                || ((self.op.val() == self.op_sel.val()) && (self.heads.val() != self.c_zero8.val())));
        self.starting.next = self.start.val() && !self.busy_r.q.val() && self.valid_op.val();

        // The steps, in order: decide; the package pass if a token was dropped; compaction;
        // gather and count. COLMEAN is the column pass alone.
        self.decide.reset.next = self.reset.val();
        self.decide.go.next = self.starting.val() && (self.op.val() == self.op_sel.val());
        self.decide.busy.next = self.busy_r.q.val();
        self.decide.heads.next = self.heads.val();
        self.decide.rows.next = self.rows.val();
        self.decide.prefix.next = self.prefix.val();
        self.decide.par_addr.next = self.par_addr.val();
        self.decide.p_stride.next = self.p_stride.val();
        self.decide.w_addr.next = self.w_addr.val();
        self.decide.rd_data.next = self.rd0_data.val();
        self.columns.reset.next = self.reset.val();
        self.columns.go_colmean.next = self.starting.val() && (self.op.val() == self.op_cm.val());
        self.columns.go_package.next = self.decide.finish.val() && self.decide.dropped.val();
        self.columns.busy.next = self.busy_r.q.val();
        self.columns.sel.next = self.sel_op.q.val();
        self.columns.rows.next = self.rows.val();
        self.columns.n.next = self.n.val();
        self.columns.groups.next = self.groups.val();
        self.columns.in_addr.next = self.in_addr.val();
        self.columns.in_stride.next = self.in_stride.val();
        self.columns.out_addr.next = self.out_addr.val();
        self.columns.out_stride.next = self.out_stride.val();
        self.columns.par_addr.next = self.par_addr.val();
        self.columns.aux.next = self.aux.val();
        self.columns.total.next = self.decide.total.val();
        self.columns.in_lo_bank.next = self.in_lo_bank.val();
        self.columns.in_hi_bank.next = self.in_hi_bank.val();
        self.columns.out_bank.next = self.out_bank.val();
        self.columns.par_bank.next = self.par_bank.val();
        self.columns.rd0_data.next = self.rd0_data.val();
        self.columns.rd1_data.next = self.rd1_data.val();
        self.columns.tok_weight.next = self.tokens.weight.val();
        // Compaction starts after the decision (nothing dropped) or the package pass; the token
        // RAM's restart spells this out again (a shared local would be a false loop, UNOPTFLAT).
        self.go_compact.next = (self.decide.finish.val() && !self.decide.dropped.val())
            || (self.columns.finish.val() && self.sel_op.q.val());
        self.compact.reset.next = self.reset.val();
        self.compact.go.next = self.go_compact.val();
        self.compact.rows.next = self.rows.val();
        self.compact.n.next = self.n.val();
        self.compact.words.next = self.words.val();
        self.compact.in_addr.next = self.in_addr.val();
        self.compact.in_stride.next = self.in_stride.val();
        self.compact.in_lo_bank.next = self.in_lo_bank.val();
        self.compact.in_hi_bank.next = self.in_hi_bank.val();
        self.compact.dropped.next = self.decide.dropped.val();
        self.compact.token.next = self.tokens.token.val();
        self.compact.tok_keep.next = self.tokens.keep.val();
        self.compact.rd0_data.next = self.rd0_data.val();
        self.compact.rd1_data.next = self.rd1_data.val();
        self.gather.reset.next = self.reset.val();
        self.gather.go.next = self.compact.finish.val();
        self.gather.g_rows.next = self.g_rows.val();
        self.gather.rows.next = self.rows.val();
        self.gather.out_bank.next = self.out_bank.val();
        self.gather.out_addr.next = self.out_addr.val();
        self.gather.out_stride.next = self.out_stride.val();
        self.gather.aux.next = self.aux.val();
        self.gather.dropped.next = self.decide.dropped.val();
        self.gather.token.next = self.tokens.token.val();
        self.gather.tok_keep.next = self.tokens.keep.val();
        self.gather.count.next = self.live_count.q.val();
        self.gather.rd_data.next = self.rd0_data.val();

        // Token RAM: written by the decision, read (one entry per cycle) by the later steps.
        TokenWrite::join(&mut self.decide.tok, &mut self.tokens.write);
        self.tokens.seek.next = self.columns.tok_set.val();
        self.tokens.seek_token.next = self.columns.tok_addr.val();
        self.tokens.step.next = self.compact.tok_next.val() || self.gather.tok_next.val();
        self.tokens.restart.next = (self.decide.finish.val() && !self.decide.dropped.val())
            || (self.columns.finish.val() && self.sel_op.q.val())
            || self.gather.tok_first.val();

        // Scratchpad ports: the request of the running step.
        self.ports.reset.next = self.reset.val();
        self.ports.busy.next = self.busy_r.q.val();
        self.ports.starting.next = self.starting.val();
        self.ports.select.next = self.op.val() == self.op_sel.val();
        self.ports.decide_finish.next = self.decide.finish.val();
        self.ports.gather_first.next = self.gather.tok_first.val();
        self.ports.par_bank.next = self.par_bank.val();
        self.ports.in_lo_bank.next = self.in_lo_bank.val();
        self.ports.in_hi_bank.next = self.in_hi_bank.val();
        self.ports.out_bank.next = self.out_bank.val();
        ReadRequest::join(&mut self.decide.rd, &mut self.ports.decide_rd);
        ReadRequest::join(&mut self.columns.rd, &mut self.ports.columns_rd);
        ReadRequest::join(&mut self.compact.rd, &mut self.ports.compact_rd);
        ReadRequest::join(&mut self.gather.rd, &mut self.ports.gather_rd);
        SpWriteClient::<W, BE>::join(&mut self.columns.wr, &mut self.ports.columns_wr);
        SpWriteClient::<W, BE>::join(&mut self.compact.wr, &mut self.ports.compact_wr);
        SpWriteClient::<W, BE>::join(&mut self.gather.wr, &mut self.ports.gather_wr);

        // Start, finish, reset.
        if self.compact.finish.val() {
            self.live_count.d.next = self.compact.count.val();
        }
        self.finishing.d.next = (self.columns.finish.val() && !self.sel_op.q.val()) || self.gather.finish.val();
        self.done_r.d.next = self.finishing.q.val();
        self.live_we_r.d.next = self.finishing.q.val() && self.sel_op.q.val();
        if self.finishing.q.val() {
            self.busy_r.d.next = false;
        }
        if self.start.val() && !self.busy_r.q.val() {
            if self.valid_op.val() {
                self.busy_r.d.next = true;
                self.sel_op.d.next = self.op.val() == self.op_sel.val();
            } else {
                self.done_r.d.next = true;
            }
        }
        if self.reset.val() {
            self.finishing.d.next = false;
            self.busy_r.d.next = false;
            self.done_r.d.next = false;
            self.live_we_r.d.next = false;
        }
    }
}
