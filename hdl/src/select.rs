//! The token selector's engine: COLMEAN (column means of an int8 matrix) and SELECT (keep
//! decision, package token, in-place compaction of the residual stream, gather of byte rows),
//! bit-exact with `spec::numerics::{mean_i8, keep_decision, package_weight, package_channel}` and
//! the semantics of `spec::isa`. It sits next to [`crate::vec::VecUnit`] in the vector unit and
//! uses the same scratchpad ports.
//!
//! # Operation
//!
//! A `start` pulse runs one op. Channel `c` of matrix row `t` at word `a`, stride `s`, is byte
//! `c % R` of word `a + t s + c / R`; a row of `n` channels takes `w = ceil(n/R)` words and lane
//! `l` handles the channels `c = l mod R`. Everything is a sequential state machine around `R`
//! multiply-accumulate lanes ([`SelLane`]) and **one shared restoring divider** (one quotient bit
//! per cycle) that computes `div_round(a, b) = floor((2a + b) / (2b))` exactly for signed `a`:
//! the quotient of `N = 2a + b + 2^16 b` by `2b` is `q + 2^15`, in `0..2^16` because the result
//! `q` is an int16 (it is a weighted mean of int16 values, or a mean of int8 values), so 16
//! restoring steps give it; `q` is that minus `2^15` (the top bit flipped). A lane's division
//! takes [`DIV_LANE_CYCLES`] cycles (load, 16 steps).
//!
//! * **COLMEAN** (`rows = L`, `n` int8 channels): per word group `k` of `R` channels: `L` reads
//!   (port 0, `in_lo_bank`), `R` lanes accumulate `sum_t x[t][c]`; the divider gives
//!   `g[c] = div_round(sum, L)` lane by lane (live lanes also add `g[c]` to the running
//!   `sum_c g[c]`); then `L` writes broadcast the group's word to every output row (byte enables
//!   `c < n`). A group is written only after all its rows were read, so the output may be the
//!   input (in place). Finally `m = div_round(sum_c g[c], n)` goes to byte `aux % R` of word
//!   `par_addr + aux / R` of `par_bank`.
//! * **SELECT** (`rows = L` live tokens, `n = E` int16 channels, `heads = h`, `prefix = P`):
//!   1. *Weights*: `ceil(h/R)` words at `w_addr` (`par_bank`) into registers.
//!   2. *Decide*: per token `t`, per head `j`, one read of `p_j` (byte 0 of word
//!      `par_addr + j p_stride + t`), accumulating `score = sum w_j p_j` and
//!      `margin = sum (w_j p_j - 128 w_j)`; `keep = margin >= 0 || t < P`. The token RAM
//!      ([`token_ram_depth`] entries) keeps `{keep, weight}` per token, `weight = score + 1` for a
//!      dropped token and 0 for a kept one; the dropped weights are summed.
//!   3. *Package* (only if a token is dropped): per word `k`, `L` reads of both byte planes
//!      (port 0 `in_lo_bank`, port 1 `in_hi_bank`), `R` lanes accumulate `weight_t x[t][c]` (kept
//!      tokens weigh 0), the divider gives `div_round(., sum weights)` per lane, and the low and
//!      the high plane word of row `L` are written (byte enables `c < n`).
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
//! # Widths
//! With `h <= max_heads <= 32` a weight is `< 32 * 255^2 + 1 < 2^21` ([`WEIGHT_BITS`]); the sum of
//! the weights of `<= max_tokens` tokens is `< 2^32` ([`TOTAL_BITS`]; [`SelectEngine::new`]
//! asserts both for the configuration); `|sum weight x| < 2^32 2^15 = 2^47` fits the 48-bit lane
//! accumulators ([`ACC_BITS`]), and the divider's numerator `N < 2^50` its 64-bit remainder.
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

use crate::arith::{MulS, Slice};
use crate::storage::{AccLane, SP_ADDR_BITS};
use crate::widen::{Concat, Extend, Pack, PackBits};
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
/// Most heads the widths allow (`32 * 255^2 + 1 < 2^21`).
pub const MAX_HEADS: usize = 32;

/// Entries of the token RAM for `max_tokens` tokens.
pub fn token_ram_depth(max_tokens: usize) -> usize {
    max_tokens.next_power_of_two().max(2)
}

// States.
const S_IDLE: u64 = 0;
const S_WLOAD: u64 = 1;
const S_DEC: u64 = 2;
const S_DWAIT: u64 = 3;
const S_BRANCH: u64 = 4;
const S_PISSUE: u64 = 5;
const S_PWAIT: u64 = 6;
const S_DVLOAD: u64 = 7;
const S_DVSTEP: u64 = 8;
const S_PWLO: u64 = 9;
const S_PWHI: u64 = 10;
const S_CSCAN: u64 = 11;
const S_CCOPY: u64 = 12;
const S_GROW: u64 = 13;
const S_GFETCH: u64 = 14;
const S_GWAIT: u64 = 15;
const S_GBYTE: u64 = 16;
const S_GPISSUE: u64 = 17;
const S_GPWAIT: u64 = 18;
const S_GPDATA: u64 = 19;
const S_CNT: u64 = 20;
const S_FIN: u64 = 21;
const S_CMWRITE: u64 = 22;
const S_MNWRITE: u64 = 23;

/// One lane: `acc = (clr ? 0 : acc) + w * x` when `en`, with `x` the int16 `{hi, lo}` (`wide`)
/// or the int8 `lo`, and `w` a non-negative weight.
#[derive(LogicBlock)]
pub struct SelLane {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Low byte (or the int8 value).
    pub lo: Signal<In, Bits<8>>,
    /// High byte.
    pub hi: Signal<In, Bits<8>>,
    /// `x = {hi, lo}` (int16) instead of the sign-extended `lo`.
    pub wide: Signal<In, Bit>,
    /// Weight (`< 2^21`, zero-extended).
    pub w: Signal<In, Bits<22>>,
    /// Accumulate this cycle.
    pub en: Signal<In, Bit>,
    /// Start a new sum with this term.
    pub clr: Signal<In, Bit>,
    /// The sum (two's complement).
    pub acc: Signal<Out, Bits<ACC_BITS>>,
    x16: Concat<8, 8, 16>,
    sx: Extend<16, 8>,
    xs: Signal<Local, Bits<16>>,
    mul: MulS<22, 16, 38>,
    ext: Extend<ACC_BITS, 38>,
    base: Signal<Local, Bits<ACC_BITS>>,
    a: DFF<Bits<ACC_BITS>>,
    zero: Constant<Bits<ACC_BITS>>,
}

impl Default for SelLane {
    fn default() -> Self {
        SelLane {
            clock: Signal::default(),
            lo: Signal::default(),
            hi: Signal::default(),
            wide: Signal::default(),
            w: Signal::default(),
            en: Signal::default(),
            clr: Signal::default(),
            acc: Signal::default(),
            x16: Concat::default(),
            sx: Extend::new(true),
            xs: Signal::default(),
            mul: MulS::default(),
            ext: Extend::new(true),
            base: Signal::default(),
            a: DFF::default(),
            zero: Constant::new(0u64.into()),
        }
    }
}

impl Logic for SelLane {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a);
        Signal::<Out, Bits<ACC_BITS>>::link(&mut self.acc, &mut self.a.q);
        self.x16.hi.next = self.hi.val();
        self.x16.lo.next = self.lo.val();
        self.sx.din.next = self.lo.val();
        self.xs.next = self.sx.dout.val();
        if self.wide.val() {
            self.xs.next = self.x16.dout.val();
        }
        self.mul.a.next = self.w.val();
        self.mul.b.next = self.xs.val();
        self.ext.din.next = self.mul.p.val();
        self.base.next = self.a.q.val();
        if self.clr.val() {
            self.base.next = self.zero.val();
        }
        if self.en.val() {
            self.a.d.next = self.base.val() + self.ext.dout.val();
        }
    }
}

/// The token selector engine for `R = BE` lanes, `W = 8R`-bit scratchpad words.
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

    lane: Vec<SelLane>,
    tok: AccLane,

    // Op registers and output registers.
    sel_op: DFF<Bit>,
    busy_r: DFF<Bit>,
    done_r: DFF<Bit>,
    lwe: DFF<Bit>,
    lval: DFF<Bits<16>>,
    st: DFF<Bits<5>>,
    rd0b: DFF<Bits<4>>,
    rd0a: DFF<Bits<SP_ADDR_BITS>>,
    rd1b: DFF<Bits<4>>,
    rd1a: DFF<Bits<SP_ADDR_BITS>>,
    wren: DFF<Bit>,
    wrb: DFF<Bits<4>>,
    wra: DFF<Bits<SP_ADDR_BITS>>,
    wrd: DFF<Bits<W>>,
    wrbe: DFF<Bits<BE>>,

    // Counters and pointers.
    cnt: DFF<Bits<16>>,
    wc: DFF<Bits<2>>,
    tq: DFF<Bits<16>>,
    jq: DFF<Bits<8>>,
    ptq: DFF<Bits<SP_ADDR_BITS>>,
    paq: DFF<Bits<SP_ADDR_BITS>>,
    ra: DFF<Bits<SP_ADDR_BITS>>,
    kb: DFF<Bits<SP_ADDR_BITS>>,
    ob: DFF<Bits<SP_ADDR_BITS>>,
    oa: DFF<Bits<SP_ADDR_BITS>>,
    kw: DFF<Bits<16>>,
    grem: DFF<Bits<16>>,

    // Divider.
    dl: DFF<Bits<8>>,
    ds: DFF<Bits<8>>,
    rem: DFF<Bits<64>>,
    dsh: DFF<Bits<64>>,
    quo: DFF<Bits<16>>,
    dmean: DFF<Bit>,
    msum: DFF<Bits<64>>,
    dvb: DFF<Bits<64>>,
    mres: DFF<Bits<8>>,
    res: Vec<DFF<Bits<16>>>,

    // Decide.
    wwords: Vec<DFF<Bits<W>>>,
    macc: DFF<Bits<32>>,
    sacc: DFF<Bits<32>>,
    totw: DFF<Bits<32>>,
    pkg: DFF<Bit>,
    w1v: DFF<Bit>,
    w1k: DFF<Bits<8>>,
    w2v: DFF<Bit>,
    w2k: DFF<Bits<8>>,
    d1v: DFF<Bit>,
    d1j: DFF<Bits<8>>,
    d1t: DFF<Bits<16>>,
    d1first: DFF<Bit>,
    d1last: DFF<Bit>,
    d2v: DFF<Bit>,
    d2j: DFF<Bits<8>>,
    d2t: DFF<Bits<16>>,
    d2first: DFF<Bit>,
    d2last: DFF<Bit>,
    p1v: DFF<Bit>,
    p1first: DFF<Bit>,
    p1t: DFF<Bits<16>>,
    p2v: DFF<Bit>,
    p2first: DFF<Bit>,

    // Compaction.
    tc: DFF<Bits<16>>,
    pos: DFF<Bits<16>>,
    xs: DFF<Bits<SP_ADDR_BITS>>,
    xd: DFF<Bits<SP_ADDR_BITS>>,
    cs: DFF<Bits<SP_ADDR_BITS>>,
    cd: DFF<Bits<SP_ADDR_BITS>>,
    cw: DFF<Bits<16>>,
    ph: DFF<Bit>,
    crem: DFF<Bits<16>>,
    c1v: DFF<Bit>,
    c1dst: DFF<Bits<SP_ADDR_BITS>>,
    c1be: DFF<Bits<BE>>,
    c2v: DFF<Bit>,
    c2dst: DFF<Bits<SP_ADDR_BITS>>,
    c2be: DFF<Bits<BE>>,
    c3v: DFF<Bit>,
    c3dst: DFF<Bits<SP_ADDR_BITS>>,
    c3be: DFF<Bits<BE>>,
    hold: DFF<Bits<W>>,

    // Gather.
    gg: DFF<Bits<8>>,
    gbase: DFF<Bits<SP_ADDR_BITS>>,
    gk: DFF<Bits<SP_ADDR_BITS>>,
    gl: DFF<Bits<16>>,
    pl: DFF<Bits<16>>,
    pw: DFF<Bits<SP_ADDR_BITS>>,
    gfirst: DFF<Bit>,
    gw: DFF<Bits<W>>,

    // Combinational helpers.
    ext_p16: Extend<16, 4>,
    ext_hw16: Extend<16, 8>,
    ext_auxw: Extend<SP_ADDR_BITS, 16>,
    ext_rows64: Extend<64, 16>,
    ext_n64: Extend<64, 16>,
    ext_tw64: Extend<64, TOTAL_BITS>,
    ext_a64: Extend<64, ACC_BITS>,
    ext_r64: Extend<64, 16>,
    ext_w9: Extend<9, 8>,
    ext_p9: Extend<9, 8>,
    dmul: MulS<9, 9, 18>,
    ext_prod: Extend<32, 18>,
    ext_w32: Extend<32, 8>,
    tw_slice: Slice<32, WEIGHT_BITS>,
    ext_w22: Extend<22, WEIGHT_BITS>,
    lopack: Pack<W>,
    hipack: Pack<W>,
    bpack: Pack<W>,
    lvpack: PackBits<BE>,
    ohpack: PackBits<BE>,
    words: Signal<Local, Bits<16>>,
    hw8: Signal<Local, Bits<8>>,
    hm1: Signal<Local, Bits<8>>,
    rows_m1: Signal<Local, Bits<16>>,
    end_t: Signal<Local, Bits<16>>,
    aux_sh: Signal<Local, Bits<16>>,
    auxl: Signal<Local, Bits<16>>,
    tok_ra: Signal<Local, Bits<16>>,
    tok_keep: Signal<Local, Bit>,
    rd0b_n: Signal<Local, Bits<4>>,
    wsel: Signal<Local, Bits<8>>,
    term: Signal<Local, Bits<32>>,
    mbase: Signal<Local, Bits<32>>,
    sbase: Signal<Local, Bits<32>>,
    mnew: Signal<Local, Bits<32>>,
    snew: Signal<Local, Bits<32>>,
    wt: Signal<Local, Bits<32>>,
    d_keep: Signal<Local, Bit>,
    dsel: Signal<Local, Bits<ACC_BITS>>,
    dl_live: Signal<Local, Bit>,
    anum: Signal<Local, Bits<64>>,
    num: Signal<Local, Bits<64>>,
    ge: Signal<Local, Bit>,
    rem_n: Signal<Local, Bits<64>>,
    qn: Signal<Local, Bits<16>>,
    r16: Signal<Local, Bits<16>>,
    kept: Signal<Local, Bit>,
    gsrc: Signal<Local, Bits<W>>,
    gbyte: Signal<Local, Bits<8>>,
    abyte: Signal<Local, Bits<8>>,
    mrem: Signal<Local, Bits<16>>,
    ohsel: Signal<Local, Bits<16>>,
    bsrc: Signal<Local, Bits<8>>,
    valid_op: Signal<Local, Bit>,

    // Constants.
    s_idle: Constant<Bits<5>>,
    s_wload: Constant<Bits<5>>,
    s_dec: Constant<Bits<5>>,
    s_dwait: Constant<Bits<5>>,
    s_branch: Constant<Bits<5>>,
    s_pissue: Constant<Bits<5>>,
    s_pwait: Constant<Bits<5>>,
    s_dvload: Constant<Bits<5>>,
    s_dvstep: Constant<Bits<5>>,
    s_pwlo: Constant<Bits<5>>,
    s_pwhi: Constant<Bits<5>>,
    s_cscan: Constant<Bits<5>>,
    s_ccopy: Constant<Bits<5>>,
    s_grow: Constant<Bits<5>>,
    s_gfetch: Constant<Bits<5>>,
    s_gwait: Constant<Bits<5>>,
    s_gbyte: Constant<Bits<5>>,
    s_gpissue: Constant<Bits<5>>,
    s_gpwait: Constant<Bits<5>>,
    s_gpdata: Constant<Bits<5>>,
    s_cnt: Constant<Bits<5>>,
    s_fin: Constant<Bits<5>>,
    s_cmwrite: Constant<Bits<5>>,
    s_mnwrite: Constant<Bits<5>>,
    byte_col: Vec<Constant<Bits<16>>>,
    head_id: Vec<Constant<Bits<8>>>,
    op_cm: Constant<Bits<4>>,
    op_sel: Constant<Bits<4>>,
    c_r16: Constant<Bits<16>>,
    c_rm1_16: Constant<Bits<16>>,
    c_lr16: Constant<Bits<16>>,
    c_rm1_8: Constant<Bits<8>>,
    c_lr8: Constant<Bits<8>>,
    c_zero8: Constant<Bits<8>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero32: Constant<Bits<32>>,
    c_zero64: Constant<Bits<64>>,
    c_zero2: Constant<Bits<2>>,
    c_one2: Constant<Bits<2>>,
    c_one22: Constant<Bits<22>>,
    c_keep: Constant<Bits<32>>,
    c_sign16: Constant<Bits<16>>,
    c_steps: Constant<Bits<8>>,
    c_cnt_be: Constant<Bits<BE>>,
    _r: usize,
    _kw: usize,
}

impl<const W: usize, const BE: usize> SelectEngine<W, BE> {
    /// An engine for `cfg` (`R = cfg.array_rows` lanes, `W = 8R`).
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        let rows = cfg.array_rows;
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
        let kw = cfg.max_heads.div_ceil(rows);
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        let lr = rows.trailing_zeros() as u64;
        let mut cnt_be = Bits::<BE>::default();
        cnt_be = cnt_be.replace_bit(0, true).replace_bit(1, true);
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
            lane: (0..rows).map(|_| SelLane::default()).collect(),
            tok: AccLane::new(token_ram_depth(cfg.max_tokens)),
            sel_op: DFF::default(),
            busy_r: DFF::default(),
            done_r: DFF::default(),
            lwe: DFF::default(),
            lval: DFF::default(),
            st: DFF::default(),
            rd0b: DFF::default(),
            rd0a: DFF::default(),
            rd1b: DFF::default(),
            rd1a: DFF::default(),
            wren: DFF::default(),
            wrb: DFF::default(),
            wra: DFF::default(),
            wrd: DFF::default(),
            wrbe: DFF::default(),
            cnt: DFF::default(),
            wc: DFF::default(),
            tq: DFF::default(),
            jq: DFF::default(),
            ptq: DFF::default(),
            paq: DFF::default(),
            ra: DFF::default(),
            kb: DFF::default(),
            ob: DFF::default(),
            oa: DFF::default(),
            kw: DFF::default(),
            grem: DFF::default(),
            dl: DFF::default(),
            ds: DFF::default(),
            rem: DFF::default(),
            dsh: DFF::default(),
            quo: DFF::default(),
            dmean: DFF::default(),
            msum: DFF::default(),
            dvb: DFF::default(),
            mres: DFF::default(),
            res: (0..rows).map(|_| DFF::default()).collect(),
            wwords: (0..kw).map(|_| DFF::default()).collect(),
            macc: DFF::default(),
            sacc: DFF::default(),
            totw: DFF::default(),
            pkg: DFF::default(),
            w1v: DFF::default(),
            w1k: DFF::default(),
            w2v: DFF::default(),
            w2k: DFF::default(),
            d1v: DFF::default(),
            d1j: DFF::default(),
            d1t: DFF::default(),
            d1first: DFF::default(),
            d1last: DFF::default(),
            d2v: DFF::default(),
            d2j: DFF::default(),
            d2t: DFF::default(),
            d2first: DFF::default(),
            d2last: DFF::default(),
            p1v: DFF::default(),
            p1first: DFF::default(),
            p1t: DFF::default(),
            p2v: DFF::default(),
            p2first: DFF::default(),
            tc: DFF::default(),
            pos: DFF::default(),
            xs: DFF::default(),
            xd: DFF::default(),
            cs: DFF::default(),
            cd: DFF::default(),
            cw: DFF::default(),
            ph: DFF::default(),
            crem: DFF::default(),
            c1v: DFF::default(),
            c1dst: DFF::default(),
            c1be: DFF::default(),
            c2v: DFF::default(),
            c2dst: DFF::default(),
            c2be: DFF::default(),
            c3v: DFF::default(),
            c3dst: DFF::default(),
            c3be: DFF::default(),
            hold: DFF::default(),
            gg: DFF::default(),
            gbase: DFF::default(),
            gk: DFF::default(),
            gl: DFF::default(),
            pl: DFF::default(),
            pw: DFF::default(),
            gfirst: DFF::default(),
            gw: DFF::default(),
            ext_p16: Extend::new(false),
            ext_hw16: Extend::new(false),
            ext_auxw: Extend::new(false),
            ext_rows64: Extend::new(false),
            ext_n64: Extend::new(false),
            ext_tw64: Extend::new(false),
            ext_a64: Extend::new(true),
            ext_r64: Extend::new(true),
            ext_w9: Extend::new(false),
            ext_p9: Extend::new(false),
            dmul: MulS::default(),
            ext_prod: Extend::new(false),
            ext_w32: Extend::new(false),
            tw_slice: Slice::new(0),
            ext_w22: Extend::new(false),
            lopack: Pack::default(),
            hipack: Pack::default(),
            bpack: Pack::default(),
            lvpack: PackBits::default(),
            ohpack: PackBits::default(),
            words: Signal::default(),
            hw8: Signal::default(),
            hm1: Signal::default(),
            rows_m1: Signal::default(),
            end_t: Signal::default(),
            aux_sh: Signal::default(),
            auxl: Signal::default(),
            tok_ra: Signal::default(),
            tok_keep: Signal::default(),
            rd0b_n: Signal::default(),
            wsel: Signal::default(),
            term: Signal::default(),
            mbase: Signal::default(),
            sbase: Signal::default(),
            mnew: Signal::default(),
            snew: Signal::default(),
            wt: Signal::default(),
            d_keep: Signal::default(),
            dsel: Signal::default(),
            dl_live: Signal::default(),
            anum: Signal::default(),
            num: Signal::default(),
            ge: Signal::default(),
            rem_n: Signal::default(),
            qn: Signal::default(),
            r16: Signal::default(),
            kept: Signal::default(),
            gsrc: Signal::default(),
            gbyte: Signal::default(),
            abyte: Signal::default(),
            mrem: Signal::default(),
            ohsel: Signal::default(),
            bsrc: Signal::default(),
            valid_op: Signal::default(),
            s_idle: Constant::new(S_IDLE.into()),
            s_wload: Constant::new(S_WLOAD.into()),
            s_dec: Constant::new(S_DEC.into()),
            s_dwait: Constant::new(S_DWAIT.into()),
            s_branch: Constant::new(S_BRANCH.into()),
            s_pissue: Constant::new(S_PISSUE.into()),
            s_pwait: Constant::new(S_PWAIT.into()),
            s_dvload: Constant::new(S_DVLOAD.into()),
            s_dvstep: Constant::new(S_DVSTEP.into()),
            s_pwlo: Constant::new(S_PWLO.into()),
            s_pwhi: Constant::new(S_PWHI.into()),
            s_cscan: Constant::new(S_CSCAN.into()),
            s_ccopy: Constant::new(S_CCOPY.into()),
            s_grow: Constant::new(S_GROW.into()),
            s_gfetch: Constant::new(S_GFETCH.into()),
            s_gwait: Constant::new(S_GWAIT.into()),
            s_gbyte: Constant::new(S_GBYTE.into()),
            s_gpissue: Constant::new(S_GPISSUE.into()),
            s_gpwait: Constant::new(S_GPWAIT.into()),
            s_gpdata: Constant::new(S_GPDATA.into()),
            s_cnt: Constant::new(S_CNT.into()),
            s_fin: Constant::new(S_FIN.into()),
            s_cmwrite: Constant::new(S_CMWRITE.into()),
            s_mnwrite: Constant::new(S_MNWRITE.into()),
            byte_col: (0..rows).map(|l| c16(l as u64)).collect(),
            head_id: (0..kw * rows).map(|j| c8(j as u64)).collect(),
            op_cm: Constant::new(OP_COLMEAN.into()),
            op_sel: Constant::new(OP_SELECT.into()),
            c_r16: c16(rows as u64),
            c_rm1_16: c16(rows as u64 - 1),
            c_lr16: c16(lr),
            c_rm1_8: c8(rows as u64 - 1),
            c_lr8: c8(lr),
            c_zero8: c8(0),
            c_zero16: c16(0),
            c_one16: c16(1),
            c_zero32: Constant::new(0u64.into()),
            c_zero64: Constant::new(0u64.into()),
            c_zero2: Constant::new(0u64.into()),
            c_one2: Constant::new(1u64.into()),
            c_one22: Constant::new(1u64.into()),
            c_keep: Constant::new((1u64 << 31).into()),
            c_sign16: c16(1 << 15),
            c_steps: c8(QUOTIENT_BITS as u64 - 1),
            c_cnt_be: Constant::new(cnt_be),
            _r: rows,
            _kw: kw,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for SelectEngine<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, sel_op, busy_r, done_r, lwe, lval, st, rd0b, rd0a, rd1b, rd1a, wren, wrb, wra, wrd, wrbe, cnt,
            wc, tq, jq, ptq, paq, ra, kb, ob, oa, kw, grem, dl, ds, rem, dsh, quo, dmean, msum, dvb, mres, macc, sacc,
            totw, pkg, w1v, w1k, w2v, w2k, d1v, d1j, d1t, d1first, d1last, d2v, d2j, d2t, d2first, d2last, p1v,
            p1first, p1t, p2v, p2first, tc, pos, xs, xd, cs, cd, cw, ph, crem, c1v, c1dst, c1be, c2v, c2dst, c2be, c3v,
            c3dst, c3be, hold, gg, gbase, gk, gl, pl, pw, gfirst, gw
        );
        for l in 0..self._r {
            self.lane[l].clock.next = self.clock.val();
            self.res[l].clock.next = self.clock.val();
            self.res[l].d.next = self.res[l].q.val();
        }
        for k in 0..self._kw {
            self.wwords[k].clock.next = self.clock.val();
            self.wwords[k].d.next = self.wwords[k].q.val();
        }
        self.tok.clock.next = self.clock.val();

        // Every output comes straight from a register (or a packer of register outputs).
        Signal::<Out, Bit>::link(&mut self.busy, &mut self.busy_r.q);
        Signal::<Out, Bit>::link(&mut self.done, &mut self.done_r.q);
        Signal::<Out, Bit>::link(&mut self.live_we, &mut self.lwe.q);
        Signal::<Out, Bits<16>>::link(&mut self.live_value, &mut self.lval.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd0_bank, &mut self.rd0b.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd0_addr, &mut self.rd0a.q);
        Signal::<Out, Bits<4>>::link(&mut self.rd1_bank, &mut self.rd1b.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.rd1_addr, &mut self.rd1a.q);
        Signal::<Out, Bit>::link(&mut self.wr_en, &mut self.wren.q);
        Signal::<Out, Bits<4>>::link(&mut self.wr_bank, &mut self.wrb.q);
        Signal::<Out, Bits<SP_ADDR_BITS>>::link(&mut self.wr_addr, &mut self.wra.q);
        Signal::<Out, Bits<W>>::link(&mut self.wr_data, &mut self.wrd.q);
        Signal::<Out, Bits<BE>>::link(&mut self.wr_be, &mut self.wrbe.q);

        // ---------------- derived operands ----------------
        self.words.next = (self.n.val() + self.c_rm1_16.val()) >> self.c_lr16.val();
        self.hw8.next = (self.heads.val() + self.c_rm1_8.val()) >> self.c_lr8.val();
        self.ext_hw16.din.next = self.hw8.val();
        self.hm1.next = self.heads.val() - 1;
        self.rows_m1.next = self.rows.val() - 1;
        self.end_t.next = self.rows.val();
        if self.pkg.q.val() {
            self.end_t.next = self.rows.val() + 1;
        }
        self.ext_p16.din.next = self.prefix.val();
        self.aux_sh.next = self.aux.val() >> self.c_lr16.val();
        self.ext_auxw.din.next = self.aux_sh.val();
        self.auxl.next = self.aux.val() & self.c_rm1_16.val();
        self.ext_rows64.din.next = self.rows.val();
        self.ext_n64.din.next = self.n.val();
        self.ext_tw64.din.next = self.totw.q.val();
        self.valid_op.next = (self.rows.val() != self.c_zero16.val())
            && (self.n.val() != self.c_zero16.val())
            && ((self.op.val() == self.op_cm.val())
                || ((self.op.val() == self.op_sel.val()) && (self.heads.val() != self.c_zero8.val())));

        // ---------------- defaults ----------------
        self.done_r.d.next = false;
        self.lwe.d.next = false;
        self.wren.d.next = false;
        self.w1v.d.next = false;
        self.d1v.d.next = false;
        self.p1v.d.next = false;
        self.c1v.d.next = false;
        self.rd0b_n.next = self.rd0b.q.val();
        self.tok_ra.next = self.tc.q.val();
        if self.p1v.q.val() {
            self.tok_ra.next = self.p1t.q.val();
        }
        // Read pipeline stage 2 (the data of a stage-1 address arrives now).
        self.w2v.d.next = self.w1v.q.val();
        self.w2k.d.next = self.w1k.q.val();
        self.d2v.d.next = self.d1v.q.val();
        self.d2j.d.next = self.d1j.q.val();
        self.d2t.d.next = self.d1t.q.val();
        self.d2first.d.next = self.d1first.q.val();
        self.d2last.d.next = self.d1last.q.val();
        self.p2v.d.next = self.p1v.q.val();
        self.p2first.d.next = self.p1first.q.val();
        self.c2v.d.next = self.c1v.q.val();
        self.c2dst.d.next = self.c1dst.q.val();
        self.c2be.d.next = self.c1be.q.val();
        self.c3v.d.next = self.c2v.q.val();
        self.c3dst.d.next = self.c2dst.q.val();
        self.c3be.d.next = self.c2be.q.val();
        self.hold.d.next = self.rd1_data.val();

        // ---------------- token RAM ----------------
        self.tok_keep.next = self.tok.rd_data.val().get_bit(31);
        self.tw_slice.din.next = self.tok.rd_data.val();
        self.ext_w22.din.next = self.tw_slice.dout.val();

        // ---------------- head weights and the keep decision ----------------
        for k in 0..self._kw {
            if self.w2v.q.val() && (self.w2k.q.val().index() == k) {
                self.wwords[k].d.next = self.rd0_data.val();
            }
        }
        self.wsel.next = self.c_zero8.val();
        for rr in (self._r)..(self._r + 1) {
            for k in 0..self._kw {
                for e in 0..self._r {
                    if self.d2j.q.val() == self.head_id[k * rr + e].val() {
                        self.wsel.next = self.wwords[k].q.val().get_bits::<8>(8 * e);
                    }
                }
            }
        }
        self.ext_w9.din.next = self.wsel.val();
        self.ext_p9.din.next = self.rd0_data.val().get_bits::<8>(0);
        self.dmul.a.next = self.ext_w9.dout.val();
        self.dmul.b.next = self.ext_p9.dout.val();
        self.ext_prod.din.next = self.dmul.p.val();
        self.ext_w32.din.next = self.wsel.val();
        self.term.next = self.ext_prod.dout.val() - (self.ext_w32.dout.val() << 7);
        self.mbase.next = self.macc.q.val();
        self.sbase.next = self.sacc.q.val();
        if self.d2first.q.val() {
            self.mbase.next = self.c_zero32.val();
            self.sbase.next = self.c_zero32.val();
        }
        self.mnew.next = self.mbase.val() + self.term.val();
        self.snew.next = self.sbase.val() + self.ext_prod.dout.val();
        self.wt.next = self.snew.val() + 1;
        self.d_keep.next = !self.mnew.val().get_bit(31) || (self.d2t.q.val() < self.ext_p16.dout.val());
        self.tok.wr_addr.next = self.d2t.q.val();
        self.tok.wr_data.next = self.wt.val();
        if self.d_keep.val() {
            self.tok.wr_data.next = self.c_keep.val();
        }
        self.tok.wr_en.next = false;
        if self.d2v.q.val() && self.busy_r.q.val() {
            self.macc.d.next = self.mnew.val();
            self.sacc.d.next = self.snew.val();
            if self.d2last.q.val() {
                self.tok.wr_en.next = true;
                if !self.d_keep.val() {
                    self.totw.d.next = self.totw.q.val() + self.wt.val();
                    self.pkg.d.next = true;
                }
            }
        }

        // ---------------- lanes ----------------
        for l in 0..self._r {
            self.lane[l].lo.next = self.rd0_data.val().get_bits::<8>(8 * l);
            self.lane[l].hi.next = self.rd1_data.val().get_bits::<8>(8 * l);
            self.lane[l].wide.next = self.sel_op.q.val();
            self.lane[l].w.next = self.c_one22.val();
            if self.sel_op.q.val() {
                self.lane[l].w.next = self.ext_w22.dout.val();
            }
            self.lane[l].en.next = self.p2v.q.val() && self.busy_r.q.val();
            self.lane[l].clr.next = self.p2first.q.val();
        }

        // ---------------- divider ----------------
        self.dsel.next = self.lane[0].acc.val();
        self.dl_live.next = false;
        for l in 0..self._r {
            if self.dl.q.val().index() == l {
                self.dsel.next = self.lane[l].acc.val();
                self.dl_live.next = self.grem.q.val() > self.byte_col[l].val();
            }
        }
        self.ext_a64.din.next = self.dsel.val();
        self.anum.next = self.ext_a64.dout.val();
        if self.dmean.q.val() {
            self.anum.next = self.msum.q.val();
        }
        self.num.next = (self.anum.val() << 1) + self.dvb.q.val() + (self.dvb.q.val() << 16);
        self.ge.next = self.rem.q.val() >= self.dsh.q.val();
        self.rem_n.next = self.rem.q.val();
        self.qn.next = self.quo.q.val() << 1;
        if self.ge.val() {
            self.rem_n.next = self.rem.q.val() - self.dsh.q.val();
            self.qn.next = (self.quo.q.val() << 1) | self.c_one16.val();
        }
        self.r16.next = self.qn.val() ^ self.c_sign16.val();
        self.ext_r64.din.next = self.r16.val();

        // ---------------- gather byte sources ----------------
        self.gsrc.next = self.gw.q.val();
        if self.gfirst.q.val() {
            self.gsrc.next = self.rd0_data.val();
        }
        self.gbyte.next = self.c_zero8.val();
        self.abyte.next = self.c_zero8.val();
        for e in 0..self._r {
            if self.gl.q.val() == self.byte_col[e].val() {
                self.gbyte.next = self.gsrc.val().get_bits::<8>(8 * e);
            }
            if self.auxl.val() == self.byte_col[e].val() {
                self.abyte.next = self.rd0_data.val().get_bits::<8>(8 * e);
            }
        }

        // ---------------- write data and byte enables ----------------
        self.mrem.next = self.grem.q.val();
        if self.st.q.val() == self.s_cscan.val() {
            self.mrem.next = self.n.val();
        }
        if self.st.q.val() == self.s_ccopy.val() {
            self.mrem.next = self.crem.q.val();
        }
        self.ohsel.next = self.pl.q.val();
        self.bsrc.next = self.gbyte.val();
        if self.st.q.val() == self.s_mnwrite.val() {
            self.ohsel.next = self.auxl.val();
            self.bsrc.next = self.mres.q.val();
        }
        if self.st.q.val() == self.s_gpdata.val() {
            self.bsrc.next = self.abyte.val();
        }
        if self.st.q.val() == self.s_cnt.val() {
            self.bsrc.next = self.lval.q.val().get_bits::<8>(0);
        }
        for l in 0..self._r {
            self.lopack.lanes[l].next = self.res[l].q.val().get_bits::<8>(0);
            self.hipack.lanes[l].next = self.res[l].q.val().get_bits::<8>(8);
            self.bpack.lanes[l].next = self.bsrc.val();
            self.lvpack.lanes[l].next = self.mrem.val() > self.byte_col[l].val();
            self.ohpack.lanes[l].next = self.ohsel.val() == self.byte_col[l].val();
        }
        if self.st.q.val() == self.s_cnt.val() {
            self.bpack.lanes[1].next = self.lval.q.val().get_bits::<8>(8);
        }
        // Compaction copies: the low plane when the data arrives, the high plane a cycle later.
        if self.c2v.q.val() {
            self.wren.d.next = self.busy_r.q.val();
            self.wrb.d.next = self.in_lo_bank.val();
            self.wra.d.next = self.c2dst.q.val();
            self.wrd.d.next = self.rd0_data.val();
            self.wrbe.d.next = self.c2be.q.val();
        }
        if self.c3v.q.val() {
            self.wren.d.next = self.busy_r.q.val();
            self.wrb.d.next = self.in_hi_bank.val();
            self.wra.d.next = self.c3dst.q.val();
            self.wrd.d.next = self.hold.q.val();
            self.wrbe.d.next = self.c3be.q.val();
        }

        // ---------------- state machine ----------------
        self.kept.next = self.tok_keep.val();
        if self.tc.q.val() == self.rows.val() {
            self.kept.next = self.pkg.q.val();
        }
        if self.st.q.val() == self.s_wload.val() {
            // Head weight words.
            self.rd0a.d.next = self.ra.q.val();
            self.rd0b_n.next = self.par_bank.val();
            self.w1v.d.next = true;
            self.w1k.d.next = self.jq.q.val();
            self.jq.d.next = self.jq.q.val() + 1;
            self.ra.d.next = self.ra.q.val() + 1;
            self.cnt.d.next = self.cnt.q.val() - 1;
            if self.cnt.q.val() == self.c_one16.val() {
                self.st.d.next = self.s_dec.val();
                self.jq.d.next = self.c_zero8.val();
                self.tq.d.next = self.c_zero16.val();
                self.ptq.d.next = self.par_addr.val();
                self.paq.d.next = self.par_addr.val();
            }
        } else if self.st.q.val() == self.s_dec.val() {
            // Probabilities, token-major, head-minor.
            self.rd0a.d.next = self.paq.q.val();
            self.d1v.d.next = true;
            self.d1j.d.next = self.jq.q.val();
            self.d1t.d.next = self.tq.q.val();
            self.d1first.d.next = self.jq.q.val() == self.c_zero8.val();
            self.d1last.d.next = self.jq.q.val() == self.hm1.val();
            if self.jq.q.val() == self.hm1.val() {
                self.jq.d.next = self.c_zero8.val();
                self.tq.d.next = self.tq.q.val() + 1;
                self.ptq.d.next = self.ptq.q.val() + 1;
                self.paq.d.next = self.ptq.q.val() + 1;
                if self.tq.q.val() == self.rows_m1.val() {
                    self.st.d.next = self.s_dwait.val();
                    self.wc.d.next = self.c_one2.val();
                }
            } else {
                self.jq.d.next = self.jq.q.val() + 1;
                self.paq.d.next = self.paq.q.val() + self.p_stride.val();
            }
        } else if self.st.q.val() == self.s_dwait.val() {
            self.wc.d.next = self.wc.q.val() - 1;
            if self.wc.q.val() == self.c_zero2.val() {
                self.st.d.next = self.s_branch.val();
            }
        } else if self.st.q.val() == self.s_branch.val() {
            // Every decision is in: package pass if a token was dropped, else compaction.
            self.rd0b_n.next = self.in_lo_bank.val();
            if self.pkg.q.val() {
                self.st.d.next = self.s_pissue.val();
                self.ra.d.next = self.in_addr.val();
                self.kb.d.next = self.in_addr.val();
                self.tq.d.next = self.c_zero16.val();
                self.cnt.d.next = self.rows.val();
                self.kw.d.next = self.c_zero16.val();
                self.grem.d.next = self.n.val();
                self.dvb.d.next = self.ext_tw64.dout.val();
            } else {
                self.st.d.next = self.s_cscan.val();
                self.tok_ra.next = self.c_zero16.val();
                self.pos.d.next = self.c_zero16.val();
                self.xs.d.next = self.in_addr.val();
                self.xd.d.next = self.in_addr.val();
            }
        } else if self.st.q.val() == self.s_pissue.val() {
            // One row of the word group per cycle (both planes for SELECT).
            self.rd0a.d.next = self.ra.q.val();
            self.rd1a.d.next = self.ra.q.val();
            self.p1v.d.next = true;
            self.p1first.d.next = self.tq.q.val() == self.c_zero16.val();
            self.p1t.d.next = self.tq.q.val();
            self.tq.d.next = self.tq.q.val() + 1;
            self.ra.d.next = self.ra.q.val() + self.in_stride.val();
            self.cnt.d.next = self.cnt.q.val() - 1;
            if self.cnt.q.val() == self.c_one16.val() {
                self.st.d.next = self.s_pwait.val();
                self.wc.d.next = self.c_one2.val();
            }
        } else if self.st.q.val() == self.s_pwait.val() {
            self.wc.d.next = self.wc.q.val() - 1;
            if self.wc.q.val() == self.c_zero2.val() {
                self.st.d.next = self.s_dvload.val();
                self.dl.d.next = self.c_zero8.val();
                self.dmean.d.next = false;
            }
        } else if self.st.q.val() == self.s_dvload.val() {
            // Divider: load lane dl (or the sum of means).
            self.rem.d.next = self.num.val();
            self.dsh.d.next = self.dvb.q.val() << 16;
            self.quo.d.next = self.c_zero16.val();
            self.ds.d.next = self.c_steps.val();
            self.st.d.next = self.s_dvstep.val();
        } else if self.st.q.val() == self.s_dvstep.val() {
            self.rem.d.next = self.rem_n.val();
            self.quo.d.next = self.qn.val();
            self.dsh.d.next = self.dsh.q.val() >> 1;
            self.ds.d.next = self.ds.q.val() - 1;
            if self.ds.q.val() == self.c_zero8.val() {
                if self.dmean.q.val() {
                    self.mres.d.next = self.r16.val().get_bits::<8>(0);
                    self.st.d.next = self.s_mnwrite.val();
                } else {
                    for l in 0..self._r {
                        if self.dl.q.val().index() == l {
                            self.res[l].d.next = self.r16.val();
                        }
                    }
                    if !self.sel_op.q.val() && self.dl_live.val() {
                        self.msum.d.next = self.msum.q.val() + self.ext_r64.dout.val();
                    }
                    if self.dl.q.val() == self.c_rm1_8.val() {
                        if self.sel_op.q.val() {
                            self.st.d.next = self.s_pwlo.val();
                        } else {
                            self.st.d.next = self.s_cmwrite.val();
                            self.cnt.d.next = self.rows.val();
                            self.oa.d.next = self.ob.q.val();
                        }
                    } else {
                        self.dl.d.next = self.dl.q.val() + 1;
                        self.st.d.next = self.s_dvload.val();
                    }
                }
            }
        } else if self.st.q.val() == self.s_pwlo.val() {
            // Package word k, low plane (ra points at row L, word k).
            self.wren.d.next = true;
            self.wrb.d.next = self.in_lo_bank.val();
            self.wra.d.next = self.ra.q.val();
            self.wrd.d.next = self.lopack.dout.val();
            self.wrbe.d.next = self.lvpack.dout.val();
            self.st.d.next = self.s_pwhi.val();
        } else if self.st.q.val() == self.s_pwhi.val() {
            self.wren.d.next = true;
            self.wrb.d.next = self.in_hi_bank.val();
            self.wra.d.next = self.ra.q.val();
            self.wrd.d.next = self.hipack.dout.val();
            self.wrbe.d.next = self.lvpack.dout.val();
            self.kw.d.next = self.kw.q.val() + 1;
            self.grem.d.next = self.grem.q.val() - self.c_r16.val();
            if (self.kw.q.val() + 1) == self.words.val() {
                self.st.d.next = self.s_cscan.val();
                self.tok_ra.next = self.c_zero16.val();
                self.pos.d.next = self.c_zero16.val();
                self.xs.d.next = self.in_addr.val();
                self.xd.d.next = self.in_addr.val();
            } else {
                self.st.d.next = self.s_pissue.val();
                self.kb.d.next = self.kb.q.val() + 1;
                self.ra.d.next = self.kb.q.val() + 1;
                self.tq.d.next = self.c_zero16.val();
                self.cnt.d.next = self.rows.val();
            }
        } else if self.st.q.val() == self.s_cmwrite.val() {
            // COLMEAN: broadcast the group's means to every output row.
            self.wren.d.next = true;
            self.wrb.d.next = self.out_bank.val();
            self.wra.d.next = self.oa.q.val();
            self.wrd.d.next = self.lopack.dout.val();
            self.wrbe.d.next = self.lvpack.dout.val();
            self.oa.d.next = self.oa.q.val() + self.out_stride.val();
            self.cnt.d.next = self.cnt.q.val() - 1;
            if self.cnt.q.val() == self.c_one16.val() {
                self.kw.d.next = self.kw.q.val() + 1;
                self.grem.d.next = self.grem.q.val() - self.c_r16.val();
                if (self.kw.q.val() + 1) == self.words.val() {
                    self.st.d.next = self.s_dvload.val();
                    self.dmean.d.next = true;
                    self.dvb.d.next = self.ext_n64.dout.val();
                } else {
                    self.st.d.next = self.s_pissue.val();
                    self.kb.d.next = self.kb.q.val() + 1;
                    self.ob.d.next = self.ob.q.val() + 1;
                    self.ra.d.next = self.kb.q.val() + 1;
                    self.tq.d.next = self.c_zero16.val();
                    self.cnt.d.next = self.rows.val();
                }
            }
        } else if self.st.q.val() == self.s_mnwrite.val() {
            // COLMEAN: the mean of the means.
            self.wren.d.next = true;
            self.wrb.d.next = self.par_bank.val();
            self.wra.d.next = self.par_addr.val() + self.ext_auxw.dout.val();
            self.wrd.d.next = self.bpack.dout.val();
            self.wrbe.d.next = self.ohpack.dout.val();
            self.st.d.next = self.s_fin.val();
        } else if self.st.q.val() == self.s_cscan.val() {
            // Compaction scan: token tc (the token RAM holds its entry now).
            if self.tc.q.val() == self.end_t.val() {
                self.st.d.next = self.s_grow.val();
                self.gg.d.next = self.c_zero8.val();
                self.gbase.d.next = self.out_addr.val();
                self.lval.d.next = self.pos.q.val();
            } else {
                self.tok_ra.next = self.tc.q.val() + 1;
                self.xs.d.next = self.xs.q.val() + self.in_stride.val();
                if self.kept.val() {
                    self.pos.d.next = self.pos.q.val() + 1;
                    self.xd.d.next = self.xd.q.val() + self.in_stride.val();
                    if self.pos.q.val() != self.tc.q.val() {
                        self.rd0a.d.next = self.xs.q.val();
                        self.rd1a.d.next = self.xs.q.val();
                        self.c1v.d.next = true;
                        self.c1dst.d.next = self.xd.q.val();
                        self.c1be.d.next = self.lvpack.dout.val();
                        self.cs.d.next = self.xs.q.val() + 1;
                        self.cd.d.next = self.xd.q.val() + 1;
                        self.crem.d.next = self.n.val() - self.c_r16.val();
                        self.cw.d.next = self.c_one16.val();
                        self.ph.d.next = false;
                        self.st.d.next = self.s_ccopy.val();
                    }
                }
            }
        } else if self.st.q.val() == self.s_ccopy.val() {
            // Copy: a word every other cycle (its two writes take the write port twice).
            if !self.ph.q.val() {
                if self.cw.q.val() == self.words.val() {
                    self.st.d.next = self.s_cscan.val();
                } else {
                    self.ph.d.next = true;
                }
            } else {
                self.rd0a.d.next = self.cs.q.val();
                self.rd1a.d.next = self.cs.q.val();
                self.c1v.d.next = true;
                self.c1dst.d.next = self.cd.q.val();
                self.c1be.d.next = self.lvpack.dout.val();
                self.cs.d.next = self.cs.q.val() + 1;
                self.cd.d.next = self.cd.q.val() + 1;
                self.cw.d.next = self.cw.q.val() + 1;
                self.crem.d.next = self.crem.q.val() - self.c_r16.val();
                self.ph.d.next = false;
            }
        } else if self.st.q.val() == self.s_grow.val() {
            // Next gathered row, or the count.
            if self.gg.q.val() == self.g_rows.val() {
                self.st.d.next = self.s_cnt.val();
            } else {
                self.st.d.next = self.s_gfetch.val();
                self.rd0b_n.next = self.out_bank.val();
                self.tok_ra.next = self.c_zero16.val();
                self.gk.d.next = self.gbase.q.val();
                self.pw.d.next = self.gbase.q.val();
                self.pl.d.next = self.c_zero16.val();
                self.gl.d.next = self.c_zero16.val();
            }
        } else if self.st.q.val() == self.s_gfetch.val() {
            self.rd0a.d.next = self.gk.q.val();
            self.gk.d.next = self.gk.q.val() + 1;
            self.st.d.next = self.s_gwait.val();
        } else if self.st.q.val() == self.s_gwait.val() {
            self.gfirst.d.next = true;
            self.st.d.next = self.s_gbyte.val();
        } else if self.st.q.val() == self.s_gbyte.val() {
            // Byte tc of the row: a kept token's byte goes to byte pos.
            self.gw.d.next = self.gsrc.val();
            self.gfirst.d.next = false;
            self.tok_ra.next = self.tc.q.val() + 1;
            if self.tok_keep.val() {
                self.wren.d.next = true;
                self.wrb.d.next = self.out_bank.val();
                self.wra.d.next = self.pw.q.val();
                self.wrd.d.next = self.bpack.dout.val();
                self.wrbe.d.next = self.ohpack.dout.val();
                self.pl.d.next = self.pl.q.val() + 1;
                if self.pl.q.val() == self.c_rm1_16.val() {
                    self.pl.d.next = self.c_zero16.val();
                    self.pw.d.next = self.pw.q.val() + 1;
                }
            }
            self.gl.d.next = self.gl.q.val() + 1;
            if self.gl.q.val() == self.c_rm1_16.val() {
                self.gl.d.next = self.c_zero16.val();
            }
            if self.tc.q.val() == self.rows_m1.val() {
                if self.pkg.q.val() {
                    self.st.d.next = self.s_gpissue.val();
                } else {
                    self.st.d.next = self.s_grow.val();
                    self.gg.d.next = self.gg.q.val() + 1;
                    self.gbase.d.next = self.gbase.q.val() + self.out_stride.val();
                }
            } else if self.gl.q.val() == self.c_rm1_16.val() {
                self.st.d.next = self.s_gfetch.val();
            }
        } else if self.st.q.val() == self.s_gpissue.val() {
            // The package byte, read after every write of the row landed.
            self.rd0a.d.next = self.gbase.q.val() + self.ext_auxw.dout.val();
            self.st.d.next = self.s_gpwait.val();
        } else if self.st.q.val() == self.s_gpwait.val() {
            self.st.d.next = self.s_gpdata.val();
        } else if self.st.q.val() == self.s_gpdata.val() {
            self.wren.d.next = true;
            self.wrb.d.next = self.out_bank.val();
            self.wra.d.next = self.pw.q.val();
            self.wrd.d.next = self.bpack.dout.val();
            self.wrbe.d.next = self.ohpack.dout.val();
            self.st.d.next = self.s_grow.val();
            self.gg.d.next = self.gg.q.val() + 1;
            self.gbase.d.next = self.gbase.q.val() + self.out_stride.val();
        } else if self.st.q.val() == self.s_cnt.val() {
            // The new count, little endian, bytes 0-1 of the word after the gathered rows.
            self.wren.d.next = true;
            self.wrb.d.next = self.out_bank.val();
            self.wra.d.next = self.gbase.q.val();
            self.wrd.d.next = self.bpack.dout.val();
            self.wrbe.d.next = self.c_cnt_be.val();
            self.st.d.next = self.s_fin.val();
        } else if self.st.q.val() == self.s_fin.val() {
            self.done_r.d.next = true;
            self.busy_r.d.next = false;
            self.lwe.d.next = self.sel_op.q.val();
            self.st.d.next = self.s_idle.val();
        }

        // ---------------- start, reset ----------------
        if self.start.val() && (self.st.q.val() == self.s_idle.val()) {
            if self.valid_op.val() {
                self.busy_r.d.next = true;
                self.sel_op.d.next = self.op.val() == self.op_sel.val();
                self.kw.d.next = self.c_zero16.val();
                self.grem.d.next = self.n.val();
                self.msum.d.next = self.c_zero64.val();
                self.pkg.d.next = false;
                self.totw.d.next = self.c_zero32.val();
                self.dmean.d.next = false;
                self.dl.d.next = self.c_zero8.val();
                self.tq.d.next = self.c_zero16.val();
                self.jq.d.next = self.c_zero8.val();
                if self.op.val() == self.op_sel.val() {
                    self.st.d.next = self.s_wload.val();
                    self.ra.d.next = self.w_addr.val();
                    self.cnt.d.next = self.ext_hw16.dout.val();
                    self.rd0b_n.next = self.par_bank.val();
                } else {
                    self.st.d.next = self.s_pissue.val();
                    self.ra.d.next = self.in_addr.val();
                    self.kb.d.next = self.in_addr.val();
                    self.ob.d.next = self.out_addr.val();
                    self.cnt.d.next = self.rows.val();
                    self.dvb.d.next = self.ext_rows64.dout.val();
                    self.rd0b_n.next = self.in_lo_bank.val();
                }
            } else {
                self.done_r.d.next = true;
            }
        }
        // Port 1 always addresses a bank of the op other than port 0's.
        self.rd0b.d.next = self.rd0b_n.val();
        self.rd1b.d.next = self.in_hi_bank.val();
        if self.rd0b_n.val() == self.in_hi_bank.val() {
            self.rd1b.d.next = self.in_lo_bank.val();
        }
        self.tc.d.next = self.tok_ra.val();
        self.tok.rd_addr.next = self.tok_ra.val();
        if self.reset.val() {
            self.st.d.next = self.s_idle.val();
            self.busy_r.d.next = false;
            self.done_r.d.next = false;
            self.lwe.d.next = false;
            self.wren.d.next = false;
            self.w1v.d.next = false;
            self.w2v.d.next = false;
            self.d1v.d.next = false;
            self.d2v.d.next = false;
            self.p1v.d.next = false;
            self.p2v.d.next = false;
            self.c1v.d.next = false;
            self.c2v.d.next = false;
            self.c3v.d.next = false;
            self.tok.wr_en.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::numerics::{div_round, keep_decision, mean_i8, package_channel, package_weight};
    use spec::AccelConfig;

    const NB: usize = 4;
    const WORDS: usize = 1024;

    /// Scratchpad model for the simulations: `NB` banks of `WORDS` words, two read ports
    /// (registered, like `Bank`), one byte-enabled write port. Rust model only.
    #[derive(LogicBlock)]
    struct TbMem<const W: usize, const BE: usize> {
        clock: Signal<In, Clock>,
        rd0_bank: Signal<In, Bits<4>>,
        rd0_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        rd0_data: Signal<Out, Bits<W>>,
        rd1_bank: Signal<In, Bits<4>>,
        rd1_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        rd1_data: Signal<Out, Bits<W>>,
        wr_bank: Signal<In, Bits<4>>,
        wr_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        wr_data: Signal<In, Bits<W>>,
        wr_be: Signal<In, Bits<BE>>,
        wr_en: Signal<In, Bit>,
        _mem: Vec<Vec<u8>>,
    }

    impl<const W: usize, const BE: usize> TbMem<W, BE> {
        fn new() -> Self {
            TbMem {
                clock: Signal::default(),
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
                _mem: vec![vec![0; WORDS * BE]; NB],
            }
        }

        fn word(&self, bank: Bits<4>, addr: Bits<SP_ADDR_BITS>) -> Bits<W> {
            let (b, a) = (bank.index() % NB, addr.index() % WORDS);
            let mut w = Bits::<W>::default();
            for k in 0..BE / 8 {
                let mut chunk = 0u64;
                for i in 0..8 {
                    chunk |= (self._mem[b][a * BE + 8 * k + i] as u64) << (8 * i);
                }
                w = w | (Bits::<W>::from(chunk) << (64 * k) as u64);
            }
            w
        }
    }

    impl<const W: usize, const BE: usize> Logic for TbMem<W, BE> {
        fn update(&mut self) {
            if self.clock.pos_edge() {
                self.rd0_data.next = self.word(self.rd0_bank.val(), self.rd0_addr.val());
                self.rd1_data.next = self.word(self.rd1_bank.val(), self.rd1_addr.val());
                if self.wr_en.val() {
                    let (b, a) = (self.wr_bank.val().index() % NB, self.wr_addr.val().index() % WORDS);
                    let d = self.wr_data.val();
                    for i in 0..BE {
                        if self.wr_be.val().get_bit(i) {
                            self._mem[b][a * BE + i] = d.get_bits::<8>(8 * i).index() as u8;
                        }
                    }
                }
            }
        }
        fn connect(&mut self) {
            self.rd0_data.connect();
            self.rd1_data.connect();
        }
        fn hdl(&self) -> Verilog {
            Verilog::Empty
        }
    }

    /// The engine under test with its memory; the operands are the test bench's.
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
        aux: Signal<In, Bits<16>>,
        heads: Signal<In, Bits<8>>,
        prefix: Signal<In, Bits<4>>,
        p_stride: Signal<In, Bits<SP_ADDR_BITS>>,
        w_addr: Signal<In, Bits<SP_ADDR_BITS>>,
        g_rows: Signal<In, Bits<8>>,
        se: SelectEngine<W, BE>,
        mem: TbMem<W, BE>,
    }

    impl<const W: usize, const BE: usize> Tb<W, BE> {
        fn new(cfg: &AccelConfig) -> Self {
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
                aux: Signal::default(),
                heads: Signal::default(),
                prefix: Signal::default(),
                p_stride: Signal::default(),
                w_addr: Signal::default(),
                g_rows: Signal::default(),
                se: SelectEngine::new(cfg),
                mem: TbMem::new(),
            }
        }
    }

    impl<const W: usize, const BE: usize> Logic for Tb<W, BE> {
        #[hdl_gen]
        fn update(&mut self) {
            self.se.clock.next = self.clock.val();
            self.mem.clock.next = self.clock.val();
            self.se.reset.next = self.reset.val();
            self.se.start.next = self.start.val();
            self.se.op.next = self.op.val();
            self.se.rows.next = self.rows.val();
            self.se.n.next = self.n.val();
            self.se.in_lo_bank.next = self.in_lo_bank.val();
            self.se.in_hi_bank.next = self.in_hi_bank.val();
            self.se.in_addr.next = self.in_addr.val();
            self.se.in_stride.next = self.in_stride.val();
            self.se.out_bank.next = self.out_bank.val();
            self.se.out_addr.next = self.out_addr.val();
            self.se.out_stride.next = self.out_stride.val();
            self.se.par_bank.next = self.par_bank.val();
            self.se.par_addr.next = self.par_addr.val();
            self.se.aux.next = self.aux.val();
            self.se.heads.next = self.heads.val();
            self.se.prefix.next = self.prefix.val();
            self.se.p_stride.next = self.p_stride.val();
            self.se.w_addr.next = self.w_addr.val();
            self.se.g_rows.next = self.g_rows.val();
            self.mem.rd0_bank.next = self.se.rd0_bank.val();
            self.mem.rd0_addr.next = self.se.rd0_addr.val();
            self.se.rd0_data.next = self.mem.rd0_data.val();
            self.mem.rd1_bank.next = self.se.rd1_bank.val();
            self.mem.rd1_addr.next = self.se.rd1_addr.val();
            self.se.rd1_data.next = self.mem.rd1_data.val();
            self.mem.wr_bank.next = self.se.wr_bank.val();
            self.mem.wr_addr.next = self.se.wr_addr.val();
            self.mem.wr_data.next = self.se.wr_data.val();
            self.mem.wr_be.next = self.se.wr_be.val();
            self.mem.wr_en.next = self.se.wr_en.val();
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn range(&mut self, lo: u64, hi: u64) -> u64 {
            lo + self.below(hi - lo + 1)
        }
        fn pick<T: Copy>(&mut self, v: &[T]) -> T {
            v[self.below(v.len() as u64) as usize]
        }
    }

    /// One op: operands, the memory before and the memory expected after, the expected new
    /// token count (SELECT) and cycle count.
    #[derive(Clone, Debug, Default)]
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
        aux: usize,
        heads: usize,
        prefix: usize,
        p_stride: usize,
        w_addr: usize,
        g_rows: usize,
        init: Vec<Vec<u8>>,
        expect: Vec<Vec<u8>>,
        live: Option<u16>,
        cycles: u64,
        what: String,
    }

    /// Hands out non-overlapping word ranges of the banks.
    struct Alloc {
        next: [usize; NB],
    }
    impl Alloc {
        fn new(rng: &mut Rng) -> Self {
            Alloc { next: std::array::from_fn(|_| rng.below(4) as usize) }
        }
        /// `words` words at the same address in every bank of `banks`.
        fn take(&mut self, rng: &mut Rng, banks: &[usize], words: usize) -> usize {
            let a = banks.iter().map(|&b| self.next[b]).max().unwrap() + rng.below(3) as usize;
            for &b in banks {
                self.next[b] = a + words;
            }
            assert!(a + words <= WORDS, "test layout overflows a bank");
            a
        }
    }

    fn random_memory(rng: &mut Rng, r: usize) -> Vec<Vec<u8>> {
        (0..NB).map(|_| (0..WORDS * r).map(|_| rng.next() as u8).collect()).collect()
    }

    /// Byte `i` counted from word `at` (byte `i % R` of word `at + i / R`).
    fn at(r: usize, word: usize, i: usize) -> usize {
        (word + i / r) * r + i % r
    }

    // ---------------- the reference (spec::isa semantics, from spec::numerics) ----------------

    fn ref_colmean(mem: &mut [Vec<u8>], r: usize, c: &Case) {
        let x = |mem: &[Vec<u8>], t: usize, ch: usize| mem[c.in_lo][at(r, c.in_addr + t * c.in_stride, ch)] as i8;
        let g: Vec<i8> =
            (0..c.n).map(|ch| mean_i8((0..c.rows).map(|t| x(mem, t, ch)).collect::<Vec<_>>().into_iter())).collect();
        for t in 0..c.rows {
            for (ch, &v) in g.iter().enumerate() {
                mem[c.out_bank][at(r, c.out_addr + t * c.out_stride, ch)] = v as u8;
            }
        }
        // mean_i8 of the means, cross-checked against div_round directly.
        let m = mean_i8(g.iter().copied());
        assert_eq!(m as i64, div_round(g.iter().map(|&v| v as i64).sum(), c.n as i64));
        mem[c.par_bank][at(r, c.par_addr, c.aux)] = m as u8;
    }

    /// Runs SELECT on `mem`; returns the keep decisions and the new count.
    fn ref_select(mem: &mut [Vec<u8>], r: usize, c: &Case) -> (Vec<bool>, u16) {
        let (l, n) = (c.rows, c.n);
        let pb = c.par_bank;
        let w: Vec<u8> = (0..c.heads).map(|j| mem[pb][at(r, c.w_addr, j)]).collect();
        let mut keep = Vec::new();
        let mut dropped = Vec::new();
        for t in 0..l {
            let p: Vec<u8> = (0..c.heads).map(|j| mem[pb][(c.par_addr + j * c.p_stride + t) * r]).collect();
            let (k, score) = keep_decision(&w, &p);
            let k = k || t < c.prefix;
            keep.push(k);
            if !k {
                dropped.push((t, package_weight(score)));
            }
        }
        let x_at = |t: usize, ch: usize| at(r, c.in_addr + t * c.in_stride, ch);
        let pkg = !dropped.is_empty();
        if pkg {
            let ws: Vec<u64> = dropped.iter().map(|&(_, w)| w).collect();
            let y: Vec<i16> = (0..n)
                .map(|ch| {
                    let vals = dropped
                        .iter()
                        .map(|&(t, _)| i16::from_le_bytes([mem[c.in_lo][x_at(t, ch)], mem[c.in_hi][x_at(t, ch)]]));
                    package_channel(&ws, vals)
                })
                .collect();
            for (ch, v) in y.iter().enumerate() {
                let b = v.to_le_bytes();
                mem[c.in_lo][x_at(l, ch)] = b[0];
                mem[c.in_hi][x_at(l, ch)] = b[1];
            }
        }
        let moved: Vec<usize> = (0..l).filter(|&t| keep[t]).chain(pkg.then_some(l)).collect();
        for (pos, &t) in moved.iter().enumerate() {
            if pos != t {
                for ch in 0..n {
                    let (from, to) = (x_at(t, ch), x_at(pos, ch));
                    mem[c.in_lo][to] = mem[c.in_lo][from];
                    mem[c.in_hi][to] = mem[c.in_hi][from];
                }
            }
        }
        let gb = c.out_bank;
        for g in 0..c.g_rows {
            let base = c.out_addr + g * c.out_stride;
            let src: Vec<usize> = (0..l).filter(|&t| keep[t]).chain(pkg.then_some(c.aux)).collect();
            for (pos, &i) in src.iter().enumerate() {
                mem[gb][at(r, base, pos)] = mem[gb][at(r, base, i)];
            }
        }
        let count = moved.len() as u16;
        let cw = (c.out_addr + c.g_rows * c.out_stride) * r;
        mem[gb][cw..cw + 2].copy_from_slice(&count.to_le_bytes());
        (keep, count)
    }

    // ---------------- case generators ----------------

    /// A COLMEAN case: `rows x n` int8 values of `kind`, random layout, sometimes in place.
    fn colmean_case(rng: &mut Rng, r: usize, rows: usize, n: usize, kind: u64, what: String) -> Case {
        let w = n.div_ceil(r);
        let mut mem = random_memory(rng, r);
        let mut al = Alloc::new(rng);
        let in_lo = rng.below(NB as u64) as usize;
        let in_stride = w + rng.below(3) as usize;
        let in_addr = al.take(rng, &[in_lo], (rows - 1) * in_stride + w);
        let (out_bank, out_addr, out_stride) = if rng.below(3) == 0 {
            (in_lo, in_addr, in_stride)
        } else {
            let b = rng.below(NB as u64) as usize;
            let s = w + rng.below(3) as usize;
            (b, al.take(rng, &[b], (rows - 1) * s + w), s)
        };
        let par_bank = rng.below(NB as u64) as usize;
        let par_words = 1 + rng.below(3) as usize;
        let par_addr = al.take(rng, &[par_bank], par_words);
        let aux = rng.below((par_words * r) as u64) as usize;
        let base = rng.next() as i8;
        for t in 0..rows {
            for ch in 0..n {
                let v: i8 = match kind {
                    0 => rng.next() as i8,
                    1 => i8::MIN,
                    2 => i8::MAX,
                    3 => rng.pick(&[i8::MIN, i8::MAX]),
                    4 => base.saturating_add(rng.below(5) as i8 - 2),
                    _ => rng.pick(&[-1, 0, 1, -2]),
                };
                mem[in_lo][at(r, in_addr + t * in_stride, ch)] = v as u8;
            }
        }
        let mut c = Case {
            op: OP_COLMEAN,
            rows,
            n,
            in_lo,
            in_hi: (in_lo + 1) % NB,
            in_addr,
            in_stride,
            out_bank,
            out_addr,
            out_stride,
            par_bank,
            par_addr,
            aux,
            // Operands COLMEAN ignores: junk.
            heads: rng.below(256) as usize,
            prefix: rng.below(16) as usize,
            p_stride: rng.below(1000) as usize,
            w_addr: rng.below(1000) as usize,
            g_rows: rng.below(256) as usize,
            init: mem.clone(),
            expect: vec![],
            live: None,
            cycles: colmean_cycles(rows, n, r),
            what,
        };
        ref_colmean(&mut mem, r, &c);
        c.expect = mem;
        c
    }

    /// How a SELECT case's probabilities, weights and values are drawn.
    #[derive(Clone, Copy, Debug)]
    enum Keep {
        /// Every probability >= 128: all kept.
        All,
        /// Every probability < 128 and a non-zero weight: only the prefix is kept.
        None,
        /// One token (not the first) kept, the prefix is 0.
        One,
        /// Random probabilities and weights.
        Random,
        /// Probabilities around 128 (ties), small weights.
        Ties,
        /// Weights 255, probabilities 0 or 255, values i16::MIN / i16::MAX.
        Extreme,
        /// All weights zero: margin 0, all kept.
        ZeroWeights,
    }

    #[allow(clippy::too_many_arguments)]
    fn select_case(
        rng: &mut Rng,
        r: usize,
        rows: usize,
        heads: usize,
        n: usize,
        prefix: usize,
        g_rows: usize,
        keep: Keep,
        xkind: Option<u64>,
        what: String,
    ) -> Case {
        let w = n.div_ceil(r);
        let mut mem = random_memory(rng, r);
        let mut al = Alloc::new(rng);
        let in_lo = rng.below(NB as u64) as usize;
        let in_hi = (in_lo + 1 + rng.below(NB as u64 - 1) as usize) % NB;
        let in_stride = w + rng.below(3) as usize;
        let in_addr = al.take(rng, &[in_lo, in_hi], rows * in_stride + w);
        let par_bank = rng.below(NB as u64) as usize;
        let p_stride = rows + rng.below(3) as usize;
        let par_addr = al.take(rng, &[par_bank], (heads - 1) * p_stride + rows);
        let w_addr = al.take(rng, &[par_bank], heads.div_ceil(r));
        let out_bank = rng.below(NB as u64) as usize;
        let aux = rng.below(rows as u64 + 6) as usize;
        let g_words = (rows + 1).max(aux + 1).div_ceil(r);
        let out_stride = g_words + rng.below(2) as usize;
        let out_addr = al.take(rng, &[out_bank], g_rows * out_stride + 1);
        // Weights and probabilities.
        let one = if rows > 1 { 1 + rng.below(rows as u64 - 1) as usize } else { 0 };
        let mut wv: Vec<u8> = (0..heads).map(|_| rng.next() as u8).collect();
        match keep {
            Keep::None | Keep::One if wv.iter().all(|&x| x == 0) => wv[0] = 1,
            Keep::Ties => wv.iter_mut().for_each(|x| *x %= 4),
            Keep::Extreme => wv.iter_mut().for_each(|x| *x = 255),
            Keep::ZeroWeights => wv.iter_mut().for_each(|x| *x = 0),
            _ => {}
        }
        for (j, &v) in wv.iter().enumerate() {
            mem[par_bank][at(r, w_addr, j)] = v;
        }
        for t in 0..rows {
            for j in 0..heads {
                let p = match keep {
                    Keep::All => rng.range(128, 255) as u8,
                    Keep::None => rng.range(0, 127) as u8,
                    Keep::One if t == one => rng.range(128, 255) as u8,
                    Keep::One => rng.range(0, 127) as u8,
                    Keep::Random | Keep::ZeroWeights => rng.next() as u8,
                    Keep::Ties => rng.range(126, 130) as u8,
                    Keep::Extreme => rng.pick(&[0, 255, 0]),
                };
                mem[par_bank][(par_addr + j * p_stride + t) * r] = p;
            }
        }
        // Residual stream values.
        let xkind = match (xkind, keep) {
            (Some(k), _) => k,
            (None, Keep::Extreme) => 1 + rng.below(3),
            (None, _) => rng.pick(&[0, 0, 0, 1, 2, 3, 4]),
        };
        for t in 0..=rows {
            for ch in 0..n {
                let v: i16 = match xkind {
                    0 => rng.next() as i16,
                    1 => i16::MIN,
                    2 => i16::MAX,
                    3 => rng.pick(&[i16::MIN, i16::MAX]),
                    _ => (rng.next() as i16) >> 12,
                };
                let b = v.to_le_bytes();
                mem[in_lo][at(r, in_addr + t * in_stride, ch)] = b[0];
                mem[in_hi][at(r, in_addr + t * in_stride, ch)] = b[1];
            }
        }
        let mut c = Case {
            op: OP_SELECT,
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
            aux,
            heads,
            prefix: if matches!(keep, Keep::One) { 0 } else { prefix },
            p_stride,
            w_addr,
            g_rows,
            init: mem.clone(),
            expect: vec![],
            live: None,
            cycles: 0,
            what,
        };
        let (kv, count) = ref_select(&mut mem, r, &c);
        match keep {
            Keep::All | Keep::ZeroWeights => assert!(kv.iter().all(|&k| k)),
            Keep::None => assert!(kv.iter().enumerate().all(|(t, &k)| k == (t < c.prefix))),
            Keep::One => assert_eq!(kv.iter().filter(|&&k| k).count(), 1),
            _ => {}
        }
        c.cycles = select_cycles(&kv, heads, n, r, g_rows);
        c.live = Some(count);
        c.expect = mem;
        c
    }

    fn random_select(rng: &mut Rng, r: usize, cfg: &AccelConfig, max_n: usize, k: usize) -> Case {
        let keeps = [
            Keep::All,
            Keep::None,
            Keep::One,
            Keep::Random,
            Keep::Random,
            Keep::Ties,
            Keep::Extreme,
            Keep::ZeroWeights,
        ];
        let keep = keeps[k % keeps.len()];
        let rows = match k % 5 {
            0 => cfg.max_tokens,
            1 => 2 + rng.below(4) as usize,
            _ => 2 + rng.below(cfg.max_tokens as u64 - 1) as usize,
        };
        let heads = match k % 3 {
            0 => cfg.max_heads,
            1 => 1,
            _ => 1 + rng.below(cfg.max_heads as u64) as usize,
        };
        let n = match k % 4 {
            0 => r * (1 + rng.below((max_n / r) as u64) as usize),
            _ => 1 + rng.below(max_n as u64) as usize,
        };
        let prefix = rng.pick(&[0, 0, 1, 1, 2, 15]);
        let g_rows = rng.below(5) as usize;
        let what = format!("SELECT #{k} {keep:?} L={rows} h={heads} n={n} P={prefix} G={g_rows}");
        select_case(rng, r, rows, heads, n, prefix, g_rows, keep, None, what)
    }

    // ---------------- the simulation ----------------

    fn apply<const W: usize, const BE: usize>(x: &mut Box<Tb<W, BE>>, c: &Case) {
        x.mem._mem = c.init.clone();
        x.op.next = c.op.into();
        x.rows.next = (c.rows as u64).into();
        x.n.next = (c.n as u64).into();
        x.in_lo_bank.next = (c.in_lo as u64).into();
        x.in_hi_bank.next = (c.in_hi as u64).into();
        x.in_addr.next = (c.in_addr as u64).into();
        x.in_stride.next = (c.in_stride as u64).into();
        x.out_bank.next = (c.out_bank as u64).into();
        x.out_addr.next = (c.out_addr as u64).into();
        x.out_stride.next = (c.out_stride as u64).into();
        x.par_bank.next = (c.par_bank as u64).into();
        x.par_addr.next = (c.par_addr as u64).into();
        x.aux.next = (c.aux as u64).into();
        x.heads.next = (c.heads as u64).into();
        x.prefix.next = (c.prefix as u64).into();
        x.p_stride.next = (c.p_stride as u64).into();
        x.w_addr.next = (c.w_addr as u64).into();
        x.g_rows.next = (c.g_rows as u64).into();
    }

    /// Runs the cases back to back in one simulation of an engine built for `cfg`; checks every
    /// byte of every bank, `live_we`/`live_value`, the `busy`/`done` protocol, that the two read
    /// ports never address one bank during a SELECT, and that the cycle count equals the case's
    /// (the formula's) count.
    fn run_cases<const W: usize, const BE: usize>(cfg: &AccelConfig, cases: Vec<Case>) {
        let mut uut = Tb::<W, BE>::new(cfg);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Tb<W, BE>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<Tb<W, BE>>| {
            let mut x = ep.init()?;
            x.reset.next = true;
            wait_clock_cycle!(ep, clock, x);
            x.reset.next = false;
            wait_clock_cycle!(ep, clock, x);
            for c in &cases {
                apply(&mut x, c);
                x.start.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.start.next = false;
                let mut cycles = 1u64;
                while !x.se.done.val() {
                    sim_assert!(ep, x.se.busy.val() && cycles < 1_000_000, x);
                    sim_assert!(ep, !x.se.live_we.val(), x);
                    if c.op == OP_SELECT && x.se.rd0_bank.val() == x.se.rd1_bank.val() {
                        println!("PORT CLASH {}: cycle {cycles}, bank {}", c.what, x.se.rd0_bank.val().index());
                        return ep.halt(x);
                    }
                    wait_clock_cycle!(ep, clock, x);
                    cycles += 1;
                }
                if cycles != c.cycles {
                    println!("CYCLES {}: measured {cycles}, formula {}", c.what, c.cycles);
                    return ep.halt(x);
                }
                let live = if x.se.live_we.val() { Some(x.se.live_value.val().index() as u16) } else { None };
                if live != c.live {
                    println!("LIVE {}: got {live:?}, want {:?}", c.what, c.live);
                    return ep.halt(x);
                }
                if x.mem._mem != c.expect {
                    for b in 0..NB {
                        for i in 0..WORDS * BE {
                            if x.mem._mem[b][i] != c.expect[b][i] {
                                println!(
                                    "MISMATCH {}: bank {b} word {} byte {}: got {:#04x}, want {:#04x} (was {:#04x})\n{:?}",
                                    c.what,
                                    i / BE,
                                    i % BE,
                                    x.mem._mem[b][i],
                                    c.expect[b][i],
                                    c.init[b][i],
                                    Case { init: vec![], expect: vec![], ..c.clone() }
                                );
                                return ep.halt(x);
                            }
                        }
                    }
                }
                wait_clock_cycle!(ep, clock, x);
                sim_assert!(ep, !x.se.done.val() && !x.se.busy.val() && !x.se.live_we.val(), x);
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000_000_000).unwrap();
    }

    /// The R = 8 test configuration: 32 tokens, 16 heads (two head-weight words).
    fn cfg8() -> AccelConfig {
        AccelConfig { max_tokens: 32, max_heads: 16, max_width: 64, ..AccelConfig::small() }
    }

    /// R = 16: 24 tokens (a token RAM of 32 entries), 5 heads (one head-weight word).
    fn cfg16() -> AccelConfig {
        AccelConfig { array_rows: 16, array_cols: 16, max_tokens: 24, max_heads: 5, ..AccelConfig::default() }
    }

    fn colmean_cases(rng: &mut Rng, r: usize, count: usize) -> Vec<Case> {
        (0..count)
            .map(|k| {
                let rows = match k % 5 {
                    0 => 1,
                    1 => 40,
                    _ => 1 + rng.below(40) as usize,
                };
                let n = match k % 4 {
                    0 => 1,
                    1 => 30,
                    _ => 1 + rng.below(30) as usize,
                };
                let kind = rng.below(6);
                colmean_case(rng, r, rows, n, kind, format!("COLMEAN #{k} L={rows} n={n} kind={kind}"))
            })
            .collect()
    }

    /// COLMEAN, R = 8: L 1..=40, n 1..=30, random, constant, saturated and near-zero values (the
    /// rounding of negative means), in place and not. Every byte of every bank equals the
    /// reference; cycles equal [`colmean_cycles`].
    #[test]
    fn select_colmean_matches_spec() {
        let mut rng = Rng(0x5e1e_c701_0000_0001);
        run_cases::<64, 8>(&cfg8(), colmean_cases(&mut rng, 8, 80));
    }

    /// SELECT, R = 8: every keep pattern (all kept, only the prefix, exactly one, random, ties,
    /// extreme weights and values, zero weights), L up to max_tokens, 1..=max_heads heads (two
    /// weight words), prefix 0/1/2/15, 0..=4 gathered rows, the package byte inside and outside
    /// the live bytes.
    #[test]
    fn select_matches_spec() {
        let cfg = cfg8();
        let mut rng = Rng(0x5e1e_c702_0000_0002);
        let cases = (0..80).map(|k| random_select(&mut rng, 8, &cfg, 40, k)).collect();
        run_cases::<64, 8>(&cfg, cases);
    }

    /// More SELECT cases (another seed), run as a second test so the two run in parallel.
    #[test]
    fn select_matches_spec_more() {
        let cfg = cfg8();
        let mut rng = Rng(0x5e1e_c702_0000_0012);
        let cases = (0..80).map(|k| random_select(&mut rng, 8, &cfg, 40, k + 3)).collect();
        run_cases::<64, 8>(&cfg, cases);
    }

    /// Hand-picked SELECT corner cases at R = 8: one token, a single kept token at the end,
    /// all dropped with no prefix (only the package lives), L = max_tokens with every head,
    /// extreme values, and an unknown op / zero operands (done at once, nothing written) between
    /// them.
    #[test]
    fn select_corner_cases() {
        let cfg = cfg8();
        let mut rng = Rng(0x5e1e_c703_0000_0003);
        let mut cases = vec![
            select_case(&mut rng, 8, 1, 1, 1, 0, 1, Keep::None, None, "L=1 dropped".into()),
            select_case(&mut rng, 8, 1, 3, 9, 0, 2, Keep::All, None, "L=1 kept".into()),
            select_case(&mut rng, 8, 1, 3, 9, 1, 2, Keep::None, None, "L=1 prefix".into()),
            select_case(&mut rng, 8, 32, 16, 40, 0, 4, Keep::None, None, "all dropped".into()),
            select_case(&mut rng, 8, 32, 16, 40, 2, 4, Keep::Extreme, None, "extreme".into()),
            select_case(&mut rng, 8, 32, 9, 16, 0, 3, Keep::One, None, "one kept".into()),
            select_case(&mut rng, 8, 2, 8, 8, 0, 1, Keep::One, None, "last kept".into()),
            select_case(&mut rng, 8, 32, 16, 33, 1, 0, Keep::Random, None, "no gather".into()),
        ];
        for (i, (op, rows, n, heads)) in
            [(3u64, 5, 5, 1), (OP_SELECT, 0, 5, 1), (OP_SELECT, 5, 5, 0), (OP_COLMEAN, 5, 0, 1)].into_iter().enumerate()
        {
            let mut bad = cases[i].clone();
            (bad.op, bad.rows, bad.n, bad.heads) = (op, rows, n, heads);
            bad.expect = bad.init.clone();
            bad.live = None;
            bad.cycles = 1;
            bad.what = format!("invalid {op} {rows} {n} {heads}");
            cases.insert(2 * i + 1, bad);
        }
        run_cases::<64, 8>(&cfg, cases);
    }

    /// R = 16 (128-bit words): COLMEAN and SELECT cases, with a token count that is not a power
    /// of two and an odd head count.
    #[test]
    fn select_sixteen_lanes_match_spec() {
        let cfg = cfg16();
        let mut rng = Rng(0x5e1e_c704_0000_0004);
        let mut cases = colmean_cases(&mut rng, 16, 10);
        cases.extend((0..24).map(|k| random_select(&mut rng, 16, &cfg, 72, k)));
        run_cases::<128, 16>(&cfg, cases);
    }

    /// A reset in the middle of a SELECT stops it (no more writes, not busy, no live_we); the
    /// next op runs normally.
    #[test]
    fn select_reset_mid_op_recovers() {
        let cfg = cfg8();
        let mut rng = Rng(0x5e1e_c705_0000_0005);
        let first = select_case(&mut rng, 8, 20, 4, 24, 1, 2, Keep::None, Some(0), "aborted".into());
        let second = select_case(&mut rng, 8, 12, 3, 17, 1, 2, Keep::None, Some(0), "after reset".into());
        assert_eq!(second.live, Some(2), "the second op has a package token");
        let mut uut = Tb::<64, 8>::new(&cfg);
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Tb<64, 8>>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<Tb<64, 8>>| {
            let mut x = ep.init()?;
            for (k, c) in [&first, &second].into_iter().enumerate() {
                apply(&mut x, c);
                x.start.next = true;
                wait_clock_cycle!(ep, clock, x);
                x.start.next = false;
                if k == 0 {
                    // Into the package pass, then reset.
                    wait_clock_cycle!(ep, clock, x, 150);
                    sim_assert!(ep, x.se.busy.val(), x);
                    x.reset.next = true;
                    wait_clock_cycle!(ep, clock, x);
                    x.reset.next = false;
                    let snapshot = x.mem._mem.clone();
                    for _ in 0..40 {
                        wait_clock_cycle!(ep, clock, x);
                        sim_assert!(
                            ep,
                            !x.se.busy.val() && !x.se.done.val() && !x.se.wr_en.val() && !x.se.live_we.val(),
                            x
                        );
                    }
                    sim_assert!(ep, x.mem._mem == snapshot, x);
                } else {
                    let mut cycles = 1;
                    while !x.se.done.val() {
                        wait_clock_cycle!(ep, clock, x);
                        cycles += 1;
                    }
                    sim_assert_eq!(ep, cycles, c.cycles, x);
                    sim_assert!(ep, x.se.live_we.val() && x.se.live_value.val().index() as u16 == c.live.unwrap(), x);
                    sim_assert!(ep, x.mem._mem == c.expect, x);
                }
            }
            ep.done(x)
        });
        sim.run(Box::new(uut), 1_000_000_000).unwrap();
    }

    /// Runs `cases` on the *generated Verilog* of an R = 8 engine built for `cfg` in Icarus
    /// Verilog (a behavioural two-read-port memory around it); returns, per case, the memory
    /// after the op, the cycles from `start` to `done` and `live_value` if `live_we` was high with
    /// `done`.
    fn run_verilog(cfg: &AccelConfig, cases: &[Case]) -> Vec<(Vec<Vec<u8>>, u64, Option<u16>)> {
        const R: usize = 8;
        let dir = std::env::temp_dir().join(format!("vitaccel-sel-iv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dut = crate::verilog::generate(&mut SelectEngine::<64, 8>::new(cfg), "sel");
        std::fs::write(dir.join("sel.v"), dut).unwrap();
        let mut steps = String::new();
        for (k, c) in cases.iter().enumerate() {
            let mut hex = String::new();
            for bank in &c.init {
                for w in 0..WORDS {
                    let v = (0..R).fold(0u64, |a, i| a | (bank[w * R + i] as u64) << (8 * i));
                    hex += &format!("{v:016x}\n");
                }
            }
            std::fs::write(dir.join(format!("in{k}.hex")), hex).unwrap();
            steps += &format!(
                "    $readmemh(\"{d}/in{k}.hex\", mem);\n    op = {}; rows = {}; n = {}; in_lo_bank = {}; in_hi_bank = {};\n    \
                 in_addr = {}; in_stride = {}; out_bank = {}; out_addr = {}; out_stride = {};\n    par_bank = {}; \
                 par_addr = {}; aux = {}; heads = {}; prefix = {}; p_stride = {}; w_addr = {}; g_rows = {};\n    \
                 run_op;\n    $writememh(\"{d}/out{k}.hex\", mem);\n    $fdisplay(fd, \"%0d %0d %0d\", cyc, lwe, lval);\n",
                c.op,
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
                c.aux,
                c.heads,
                c.prefix,
                c.p_stride,
                c.w_addr,
                c.g_rows,
                d = dir.display()
            );
        }
        let tb = format!(
            "`timescale 1ns/1ps
module tb;
  reg clock = 0;
  always #5 clock = ~clock;
  reg reset = 1, start = 0;
  reg [3:0] op, in_lo_bank, in_hi_bank, out_bank, par_bank, prefix;
  reg [15:0] rows, n, aux;
  reg [7:0] heads, g_rows;
  reg [19:0] in_addr, in_stride, out_addr, out_stride, par_addr, p_stride, w_addr;
  wire busy, done, wr_en, live_we;
  wire [15:0] live_value;
  wire [3:0] rd0_bank, rd1_bank, wr_bank;
  wire [19:0] rd0_addr, rd1_addr, wr_addr;
  reg [63:0] rd0_data, rd1_data;
  wire [63:0] wr_data;
  wire [7:0] wr_be;
  reg [63:0] mem [0:{last}];
  integer i, cyc, fd, lwe, lval;
  sel dut(.clock(clock), .reset(reset), .start(start), .op(op), .rows(rows), .n(n),
    .in_lo_bank(in_lo_bank), .in_hi_bank(in_hi_bank), .in_addr(in_addr), .in_stride(in_stride),
    .out_bank(out_bank), .out_addr(out_addr), .out_stride(out_stride), .par_bank(par_bank),
    .par_addr(par_addr), .aux(aux), .heads(heads), .prefix(prefix), .p_stride(p_stride),
    .w_addr(w_addr), .g_rows(g_rows), .busy(busy), .done(done),
    .rd0_bank(rd0_bank), .rd0_addr(rd0_addr), .rd0_data(rd0_data), .rd1_bank(rd1_bank),
    .rd1_addr(rd1_addr), .rd1_data(rd1_data), .wr_bank(wr_bank), .wr_addr(wr_addr),
    .wr_data(wr_data), .wr_be(wr_be), .wr_en(wr_en), .live_we(live_we), .live_value(live_value));
  always @(posedge clock) begin
    rd0_data <= mem[{{rd0_bank[1:0], rd0_addr[9:0]}}];
    rd1_data <= mem[{{rd1_bank[1:0], rd1_addr[9:0]}}];
    if (wr_en)
      for (i = 0; i < 8; i = i + 1)
        if (wr_be[i]) mem[{{wr_bank[1:0], wr_addr[9:0]}}][i*8 +: 8] <= wr_data[i*8 +: 8];
  end
  task run_op;
    begin
      @(negedge clock) start = 1;
      @(negedge clock) start = 0;
      cyc = 1;
      while (!done) begin
        @(negedge clock);
        cyc = cyc + 1;
      end
      lwe = live_we;
      lval = live_value;
      @(negedge clock);
    end
  endtask
  initial begin
    fd = $fopen(\"{d}/cycles.txt\", \"w\");
    @(negedge clock); @(negedge clock) reset = 0;
{steps}    $fclose(fd);
    $finish;
  end
endmodule
",
            last = NB * WORDS - 1,
            d = dir.display(),
        );
        std::fs::write(dir.join("tb.v"), tb).unwrap();
        let out = std::process::Command::new("iverilog")
            .args(["-g2005", "-o"])
            .arg(dir.join("sim.vvp"))
            .args(["-s", "tb"])
            .arg(dir.join("sel.v"))
            .arg(dir.join("tb.v"))
            .output()
            .expect("iverilog must be installed (scripts/setup.sh installs it)");
        assert!(out.status.success(), "iverilog: {}", String::from_utf8_lossy(&out.stderr));
        let out = std::process::Command::new("vvp").arg(dir.join("sim.vvp")).output().expect("vvp");
        assert!(out.status.success(), "vvp: {}", String::from_utf8_lossy(&out.stderr));
        let results: Vec<(u64, Option<u16>)> = std::fs::read_to_string(dir.join("cycles.txt"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: Vec<u64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
                (v[0], (v[1] == 1).then_some(v[2] as u16))
            })
            .collect();
        let result = (0..cases.len())
            .map(|k| {
                let text = std::fs::read_to_string(dir.join(format!("out{k}.hex"))).unwrap();
                let words: Vec<u64> = text
                    .lines()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty() && !l.starts_with("//"))
                    .map(|l| u64::from_str_radix(l, 16).expect("memory dump word"))
                    .collect();
                assert_eq!(words.len(), NB * WORDS);
                let mem = (0..NB)
                    .map(|b| (0..WORDS * R).map(|i| (words[b * WORDS + i / R] >> (8 * (i % R))) as u8).collect())
                    .collect();
                (mem, results[k].0, results[k].1)
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// The generated Verilog (not only rust-hdl's model of it) computes both ops bit-exactly and
    /// in exactly the formulas' cycles.
    #[test]
    fn select_generated_verilog_matches_spec() {
        let cfg = cfg8();
        let mut rng = Rng(0x5e1e_c706_0000_0006);
        let mut cases = colmean_cases(&mut rng, 8, 6);
        cases.extend((0..10).map(|k| random_select(&mut rng, 8, &cfg, 40, k)));
        let results = run_verilog(&cfg, &cases);
        for (c, (mem, cycles, live)) in cases.iter().zip(results) {
            assert_eq!(cycles, c.cycles, "{}: cycles", c.what);
            assert_eq!(live, c.live, "{}: live_value", c.what);
            for b in 0..NB {
                for i in 0..WORDS * 8 {
                    assert_eq!(mem[b][i], c.expect[b][i], "{}: bank {b} word {} byte {}", c.what, i / 8, i % 8);
                }
            }
        }
    }

    /// The formulas at the DeiT-Tiny selector's size (R = 16, L = 198, h = 3, E = 192, 11
    /// gathered rows; COLMEAN over 32 channels) stay within the performance targets.
    #[test]
    fn select_cycles_at_deit_tiny_size() {
        assert_eq!(colmean_cycles(198, 32, 16), 2 * (2 * 198 + 17 * 16 + 2) + 20);
        assert_eq!(colmean_cycles(198, 32, 16), 1360);
        let keep = |f: fn(usize) -> bool| (0..198).map(f).collect::<Vec<bool>>();
        // All kept; only the class token kept; every other token dropped; only token 1 dropped
        // (the most rows move).
        let cases = [
            (keep(|_| true), 3276),
            (keep(|t| t == 0), 9021),
            (keep(|t| t == 0 || t % 2 == 1), 11275),
            (keep(|t| t != 1), 13529),
        ];
        for (k, want) in &cases {
            assert_eq!(select_cycles(k, 3, 192, 16, 11), *want);
            assert!(*want < 40_000);
        }
        assert_eq!(select_cycles(&keep(|_| true), 3, 192, 16, 11), 1 + 594 + 3 + 199 + 11 * (1 + 26 + 198) + 1 + 3);
    }

    #[test]
    fn select_engine_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut SelectEngine::<64, 8>::new(&cfg8()), "sel");
        crate::verilog::lint(&v, "sel").unwrap();
        let v = crate::verilog::generate(&mut SelectEngine::<128, 16>::new(&AccelConfig::default()), "sel");
        crate::verilog::lint(&v, "sel").unwrap();
        let cfg64 = AccelConfig { array_rows: 64, array_cols: 64, max_tokens: 4096, ..AccelConfig::default() };
        let v = crate::verilog::generate(&mut SelectEngine::<512, 64>::new(&cfg64), "sel");
        crate::verilog::lint(&v, "sel").unwrap();
    }
}
