//! Arithmetic primitives of the vector unit ([`crate::vec`]).
//!
//! * [`MulS`]: a signed `A x B -> P`-bit multiplier (rust-hdl's own `*` stops at 16 x 16). A leaf
//!   with a Verilog text body, like [`crate::widen::Extend`]; its Rust model is exact (i128).
//! * [`RecipProduct`]: the vector lane's `t * r` as three terms sized for two DSP48s and a LUT
//!   adder (the product of a 34-bit and a 26-bit operand would take four DSP48E1 as one `*`).
//! * [`SpreadProducts`]: LayerNorm's `n S2` and `S1^2` from DSP-sized partial products (two
//!   and three DSP48 where one `*` each tiles into three and six).
//! * [`Slice`]: `din[off +: M]` with the other bits of `din` marked intentionally unused, so a
//!   value whose high bits are provably zero can be narrowed lint-clean.
//! * [`RoundShift`]: round-half-up arithmetic right shift `shift_round(v, s)` of a 64-bit value
//!   held in offset binary with the rounding half added (`v + round_offset(s)`), the trick of
//!   [`crate::requant`] (Verilog `>>` is logical). The add is the stage before's, so the shift
//!   does not follow a 64-bit carry chain in one cycle.
//! * [`IsqrtPipe`]: pipelined `floor(sqrt(d))` (restoring digit-by-digit, `S` result bits per
//!   stage), one radicand per cycle.
//! * [`RecipPipe`]: pipelined `floor(num * 2^Q / den)` for `num < den` (restoring, `S` quotient
//!   bits per stage), one division per cycle.
//!
//! The two pipes have fixed latencies ([`IsqrtPipe::latency`], [`RecipPipe::latency`]) and no
//! handshake; their outputs are register outputs wired by `link`, so no output depends (even as
//! Verilator sees it) on an input of the same cycle.

use rust_hdl::prelude::*;

fn mask(bits: usize) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Two's complement value of the low `bits` bits of `x`.
fn sext(x: u64, bits: usize) -> i128 {
    let v = (x as u128) & mask(bits);
    if bits < 128 && (v >> (bits - 1)) & 1 == 1 {
        v as i128 - (1i128 << bits)
    } else {
        v as i128
    }
}

/// `p = a * b` for two's complement `a` (`A` bits) and `b` (`B` bits), truncated to `P` bits
/// (`max(A, B) <= P <= 64`; exact when `P >= A + B` or when the product is known to fit).
#[derive(LogicBlock)]
pub struct MulS<const A: usize, const B: usize, const P: usize> {
    /// Signed operand.
    pub a: Signal<In, Bits<A>>,
    /// Signed operand.
    pub b: Signal<In, Bits<B>>,
    /// Low `P` bits of the signed product.
    pub p: Signal<Out, Bits<P>>,
}

impl<const A: usize, const B: usize, const P: usize> Default for MulS<A, B, P> {
    fn default() -> Self {
        assert!(A <= P && B <= P && P <= 64, "MulS<{A}, {B}, {P}>: need max(A, B) <= P <= 64");
        MulS { a: Signal::default(), b: Signal::default(), p: Signal::default() }
    }
}

impl<const A: usize, const B: usize, const P: usize> Logic for MulS<A, B, P> {
    fn update(&mut self) {
        let a = sext(self.a.val().to_u64(), A);
        let b = sext(self.b.val().to_u64(), B);
        let p = ((a * b) as u128 & mask(P)) as u64;
        self.p.next = p.into();
    }
    fn connect(&mut self) {
        self.p.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(crate::mul::product_verilog((A, true), (B, true), P))
    }
}

/// `t * r` for a signed 34-bit `t` and an unsigned `r < 2^26` (bit 26 of the port is ignored),
/// as three 64-bit terms whose sum (mod 2^64) is the product: with `t = t_hi 2^17 + t_lo` and
/// `r = r_hi 2^24 + r_lo` (`t_lo`, `r_lo` unsigned),
/// * `lo = t_lo r_lo` and `hi = t_hi r_lo 2^17`: an 18 x 25 and a 17 x 25-bit signed product,
///   one DSP48 each (the A port takes 25 bits, B 18);
/// * `top = t r_hi 2^24`, `r_hi` in `0..=3`: `t` and `2t` selected and added in LUTs.
///
/// One `*` of the same operands tiles into 2 x 2 DSP48E1 (Yosys splits both operands). The
/// terms are combinational; the caller registers them and adds them in the next stage.
#[derive(LogicBlock, Default)]
pub struct RecipProduct {
    /// Signed operand.
    pub t: Signal<In, Bits<34>>,
    /// Unsigned operand, `< 2^26`.
    pub r: Signal<In, Bits<27>>,
    /// `t_lo r_lo`, sign-extended.
    pub lo: Signal<Out, Bits<64>>,
    /// `t_hi r_lo 2^17`.
    pub hi: Signal<Out, Bits<64>>,
    /// `t r_hi 2^24`.
    pub top: Signal<Out, Bits<64>>,
}

impl RecipProduct {
    /// The three terms of `t * r` ([`RecipProduct`]), each truncated to 64 bits.
    pub fn terms(t: u64, r: u64) -> [u64; 3] {
        let t = sext(t, 34);
        let (t_lo, t_hi) = (t & 0x1_ffff, t >> 17);
        let (r_lo, r_hi) = ((r & 0xff_ffff) as i128, ((r >> 24) & 3) as i128);
        // `as u64` keeps the low 64 bits of the two's complement value.
        [(t_lo * r_lo) as u64, ((t_hi * r_lo) << 17) as u64, ((t * r_hi) << 24) as u64]
    }
}

impl Logic for RecipProduct {
    fn update(&mut self) {
        let [lo, hi, top] = Self::terms(self.t.val().to_u64(), self.r.val().to_u64());
        self.lo.next = lo.into();
        self.hi.next = hi.into();
        self.top.next = top.into();
    }
    fn connect(&mut self) {
        self.lo.connect();
        self.hi.connect();
        self.top.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "wire _unused_r = r[26];
wire signed [17:0] t_lo = {1'b0, t[16:0]};
wire signed [16:0] t_hi = t[33:17];
wire signed [24:0] r_lo = {1'b0, r[23:0]};
wire signed [42:0] p_lo = t_lo * r_lo;
wire signed [41:0] p_hi = t_hi * r_lo;
wire signed [35:0] t_x2 = r[25] ? {t[33], t, 1'b0} : 36'sd0;
wire signed [35:0] t_x1 = r[24] ? {{2{t[33]}}, t} : 36'sd0;
wire signed [35:0] p_top = t_x2 + t_x1;
always @(*) begin
    lo = {{21{p_lo[42]}}, p_lo};
    hi = {{5{p_hi[41]}}, p_hi, 17'b0};
    top = {{4{p_top[35]}}, p_top, 24'b0};
end"
            .into(),
        )
    }
}

/// The scalar step's two LayerNorm products from DSP-sized partial products, summed here
/// (combinational, as Yosys sums its own tiles), for `n <= 2^15` channels of int16:
/// * `n_s2 = n S2` for `n` (the 17-bit port, non-negative) and `0 <= S2 < 2^47` (bit 47 of the
///   port is ignored): `S2 = s_hi 2^24 + s_lo`, two 17 x 25-bit products (one DSP48 each);
/// * `s1_sq = S1^2` for `|S1| <= 2^30` (the low 31 bits of the port, sign-extended): `S1 = h 2^17
///   + l`, `h^2 2^34 + 2 h l 2^17 + l^2`, three products of at most 18 x 18 bits.
///
/// One `*` of the ports' widths (17 x 48 and 40 x 40) tiles into 3 and 6 DSP48E1.
#[derive(LogicBlock, Default)]
pub struct SpreadProducts {
    /// Channels `n`.
    pub n: Signal<In, Bits<17>>,
    /// `S1`, two's complement.
    pub s1: Signal<In, Bits<40>>,
    /// `S2`.
    pub s2: Signal<In, Bits<48>>,
    /// `n S2`.
    pub n_s2: Signal<Out, Bits<64>>,
    /// `S1^2`.
    pub s1_sq: Signal<Out, Bits<64>>,
}

impl SpreadProducts {
    /// `(n S2, S1^2)` as the leaf computes them, truncated to 64 bits.
    pub fn products(n: u64, s1: u64, s2: u64) -> (u64, u64) {
        let n = sext(n, 17);
        let s2 = (s2 & mask(47) as u64) as i128;
        let s1 = sext(s1, 31);
        ((n * s2) as u64, (s1 * s1) as u64)
    }
}

impl Logic for SpreadProducts {
    fn update(&mut self) {
        let (n_s2, s1_sq) = Self::products(self.n.val().to_u64(), self.s1.val().to_u64(), self.s2.val().to_u64());
        self.n_s2.next = n_s2.into();
        self.s1_sq.next = s1_sq.into();
    }
    fn connect(&mut self) {
        self.n_s2.connect();
        self.s1_sq.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "wire _unused_high = ^{s1[39:31], s2[47]};
wire signed [16:0] n_s = n;
wire signed [24:0] s2_lo = {1'b0, s2[23:0]};
wire signed [23:0] s2_hi = {1'b0, s2[46:24]};
wire signed [41:0] ns_lo = n_s * s2_lo;
wire signed [40:0] ns_hi = n_s * s2_hi;
wire signed [13:0] h = s1[30:17];
wire signed [17:0] l = {1'b0, s1[16:0]};
wire signed [27:0] hh = h * h;
wire signed [31:0] hl = h * l;
wire signed [35:0] ll = l * l;
always @(*) begin
    n_s2 = {{22{ns_lo[41]}}, ns_lo} + {{{23{ns_hi[40]}}, ns_hi} << 24};
    s1_sq = {{2{hh[27]}}, hh, 34'b0} + {{14{hl[31]}}, hl, 18'b0} + {{28{ll[35]}}, ll};
end"
            .into(),
        )
    }
}

/// `dout = din[offset +: M]`; the other bits of `din` are marked unused (Verilator's `*unused*`
/// idiom). Use it only where those bits are known to carry nothing (zero or sign copies).
#[derive(LogicBlock)]
pub struct Slice<const N: usize, const M: usize> {
    /// Wide input.
    pub din: Signal<In, Bits<N>>,
    /// The selected bits.
    pub dout: Signal<Out, Bits<M>>,
    _offset: usize,
}

impl<const N: usize, const M: usize> Slice<N, M> {
    /// Bits `offset .. offset + M` of `din`.
    pub fn new(offset: usize) -> Self {
        assert!(M < N && offset + M <= N, "Slice<{N}, {M}> at {offset}");
        Slice { din: Signal::default(), dout: Signal::default(), _offset: offset }
    }
}

impl<const N: usize, const M: usize> Logic for Slice<N, M> {
    fn update(&mut self) {
        self.dout.next = self.din.val().get_bits::<M>(self._offset);
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let off = self._offset;
        let mut rest = Vec::new();
        if off + M < N {
            rest.push(format!("din[{}:{}]", N - 1, off + M));
        }
        if off > 0 {
            rest.push(format!("din[{}:0]", off - 1));
        }
        Verilog::Custom(format!(
            "wire _unused_slice_bits = ^{{{}}};\nalways @(*) dout = din[{} +: {}];",
            rest.join(", "),
            off,
            M
        ))
    }
}

/// `2^62 + (2^s >> 1)`: what [`RoundShift`]'s input carries besides the value (the offset that
/// makes it positive and the rounding half), `s <= 62`.
pub fn round_offset(s: u32) -> u64 {
    (1 << 62) + ((1u64 << s) >> 1)
}

/// `y = shift_round(v, s)` (round half up, arithmetic) for `x = v + round_offset(s)`,
/// `|v| < 2^62`, `s <= 62`: `(x >> s) - (2^62 >> s)`, exact because `2^s` divides `2^62`.
/// Combinational: a shifter and a subtractor (only as wide as the caller keeps).
#[derive(LogicBlock)]
pub struct RoundShift {
    /// `v + round_offset(s)`.
    pub x: Signal<In, Bits<64>>,
    /// Shift, `0..=62`.
    pub s: Signal<In, Bits<8>>,
    /// `shift_round(v, s)`, two's complement.
    pub y: Signal<Out, Bits<64>>,
    offset: Constant<Bits<64>>,
}

impl Default for RoundShift {
    fn default() -> Self {
        RoundShift {
            x: Signal::default(),
            s: Signal::default(),
            y: Signal::default(),
            offset: Constant::new((1u64 << 62).into()),
        }
    }
}

impl Logic for RoundShift {
    #[hdl_gen]
    fn update(&mut self) {
        self.y.next = (self.x.val() >> self.s.val()) - (self.offset.val() >> self.s.val());
    }
}

/// Pipelined integer square root: `root = floor(sqrt(d))` for `d < 2^(2K)`, one radicand per
/// cycle, [`IsqrtPipe::latency`] cycles. Restoring digit-by-digit: each of the `K` steps brings
/// down two bits of `d` and tries `4 root + 1`; a stage does `S` steps (`K` is rounded up to a
/// multiple of `S`; leading zero steps change nothing). After step `g` the remainder is at most
/// twice the `g + 1`-bit root, so it is kept to `g + 3` bits: synthesis then builds each step's
/// compare and subtract at that width, not at 64 bits.
#[derive(LogicBlock)]
pub struct IsqrtPipe {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Radicand, `< 2^(2K)`, sampled every cycle.
    pub d: Signal<In, Bits<64>>,
    /// `floor(sqrt(d))` of the radicand of `latency` cycles earlier.
    pub root: Signal<Out, Bits<64>>,
    rem: Vec<DFF<Bits<64>>>,
    acc: Vec<DFF<Bits<64>>>,
    dr: Vec<DFF<Bits<64>>>,
    x_rem: Vec<Signal<Local, Bits<64>>>,
    x_root: Vec<Signal<Local, Bits<64>>>,
    x_dr: Vec<Signal<Local, Bits<64>>>,
    bring: Vec<Signal<Local, Bits<64>>>,
    trial: Vec<Signal<Local, Bits<64>>>,
    tail_unused: Signal<Local, Bits<64>>,
    align: Constant<Bits<64>>,
    zero: Constant<Bits<64>>,
    /// Per step `g`, the remainder's bits: `2^(g+3) - 1`.
    rem_mask: Vec<Constant<Bits<64>>>,
    _steps: usize,
    _stages: usize,
}

impl IsqrtPipe {
    /// A pipe for radicands below `2^(2 * result_bits)`, `steps` result bits per stage.
    pub fn new(result_bits: usize, steps: usize) -> Self {
        assert!(steps >= 1 && (1..=32).contains(&result_bits));
        let k = result_bits.div_ceil(steps) * steps;
        assert!(k <= 32);
        let stages = k / steps;
        let v = |n: usize| (0..n).map(|_| Signal::default()).collect::<Vec<_>>();
        let f = |n: usize| (0..n).map(|_| DFF::default()).collect::<Vec<_>>();
        IsqrtPipe {
            clock: Signal::default(),
            d: Signal::default(),
            root: Signal::default(),
            rem: f(stages - 1),
            acc: f(stages),
            dr: f(stages - 1),
            x_rem: v(stages * (steps + 1)),
            x_root: v(stages * (steps + 1)),
            x_dr: v(stages * (steps + 1)),
            bring: v(stages * steps),
            trial: v(stages * steps),
            tail_unused: Signal::default(),
            align: Constant::new(((64 - 2 * k) as u64).into()),
            zero: Constant::new(0u64.into()),
            rem_mask: (0..k).map(|g| Constant::new((mask(g + 3) as u64).into())).collect(),
            _steps: steps,
            _stages: stages,
        }
    }

    /// Cycles from `d` to `root` for `result_bits` bits at `steps` per stage.
    pub fn latency(result_bits: usize, steps: usize) -> usize {
        spec::timing::vector::isqrt_latency(result_bits, steps)
    }
}

impl Logic for IsqrtPipe {
    #[hdl_gen]
    fn update(&mut self) {
        for st in 0..self._stages {
            self.acc[st].clock.next = self.clock.val();
        }
        for st in 0..(self._stages - 1) {
            self.rem[st].clock.next = self.clock.val();
            self.dr[st].clock.next = self.clock.val();
        }
        for last in (self._stages - 1)..(self._stages) {
            Signal::<Out, Bits<64>>::link(&mut self.root, &mut self.acc[last].q);
        }
        // Stage st works on x_*[st * (S + 1) + 0 ..= S]: entry 0 is its input.
        self.x_rem[0].next = self.zero.val();
        self.x_root[0].next = self.zero.val();
        self.x_dr[0].next = self.d.val() << self.align.val();
        for sp in (self._steps + 1)..(self._steps + 2) {
            for st in 1..self._stages {
                self.x_rem[st * sp].next = self.rem[st - 1].q.val();
                self.x_root[st * sp].next = self.acc[st - 1].q.val();
                self.x_dr[st * sp].next = self.dr[st - 1].q.val();
            }
            for s in (self._steps)..(self._steps + 1) {
                for st in 0..self._stages {
                    for j in 0..self._steps {
                        self.bring[st * s + j].next =
                            (self.x_rem[st * sp + j].val() << 2) + (self.x_dr[st * sp + j].val() >> 62);
                        self.trial[st * s + j].next = (self.x_root[st * sp + j].val() << 2) + 1;
                        self.x_dr[st * sp + j + 1].next = self.x_dr[st * sp + j].val() << 2;
                        if self.bring[st * s + j].val() >= self.trial[st * s + j].val() {
                            self.x_rem[st * sp + j + 1].next = (self.bring[st * s + j].val()
                                - self.trial[st * s + j].val())
                                & self.rem_mask[st * s + j].val();
                            self.x_root[st * sp + j + 1].next = (self.x_root[st * sp + j].val() << 1) + 1;
                        } else {
                            self.x_rem[st * sp + j + 1].next =
                                self.bring[st * s + j].val() & self.rem_mask[st * s + j].val();
                            self.x_root[st * sp + j + 1].next = self.x_root[st * sp + j].val() << 1;
                        }
                    }
                    self.acc[st].d.next = self.x_root[st * sp + s].val();
                }
                // The last stage's remainder is not needed.
                for st in 0..(self._stages - 1) {
                    self.rem[st].d.next = self.x_rem[st * sp + s].val();
                    self.dr[st].d.next = self.x_dr[st * sp + s].val();
                }
                for st in (self._stages - 1)..(self._stages) {
                    self.tail_unused.next = self.x_rem[st * sp + s].val() ^ self.x_dr[st * sp + s].val();
                }
            }
        }
    }
}

/// Pipelined reciprocal-style divider: `q = floor(num * 2^Q / den)` for `num < den < 2^D`
/// (`D <= 62`), one division per cycle, [`RecipPipe::latency`] cycles. Restoring: each of the
/// `Q` steps doubles the remainder and subtracts `den` when it fits; a stage does `S` steps.
/// Operands and remainders are kept to `D` bits (every remainder is below `den`), so each
/// step's doubled remainder, compare and subtract are `D + 1` bits wide.
#[derive(LogicBlock)]
pub struct RecipPipe {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Numerator, `< den`, sampled every cycle.
    pub num: Signal<In, Bits<64>>,
    /// Denominator, `< 2^D`.
    pub den: Signal<In, Bits<64>>,
    /// `floor(num * 2^Q / den)` (`< 2^Q`) of the operands of `latency` cycles earlier.
    pub q: Signal<Out, Bits<64>>,
    rem: Vec<DFF<Bits<64>>>,
    dreg: Vec<DFF<Bits<64>>>,
    quo: Vec<DFF<Bits<64>>>,
    x_rem: Vec<Signal<Local, Bits<64>>>,
    x_quo: Vec<Signal<Local, Bits<64>>>,
    x_den: Vec<Signal<Local, Bits<64>>>,
    dbl: Vec<Signal<Local, Bits<64>>>,
    tail_unused: Signal<Local, Bits<64>>,
    zero: Constant<Bits<64>>,
    /// `2^D - 1`.
    den_mask: Constant<Bits<64>>,
    _steps: usize,
    _stages: usize,
}

impl RecipPipe {
    /// A divider producing `quotient_bits` bits (a multiple of `steps`), `steps` per stage, for
    /// denominators below `2^den_bits` (`den_bits <= 62`).
    pub fn new(quotient_bits: usize, steps: usize, den_bits: usize) -> Self {
        assert!(steps >= 1 && quotient_bits.is_multiple_of(steps) && (1..=62).contains(&quotient_bits));
        assert!((1..=62).contains(&den_bits));
        let stages = quotient_bits / steps;
        let v = |n: usize| (0..n).map(|_| Signal::default()).collect::<Vec<_>>();
        let f = |n: usize| (0..n).map(|_| DFF::default()).collect::<Vec<_>>();
        RecipPipe {
            clock: Signal::default(),
            num: Signal::default(),
            den: Signal::default(),
            q: Signal::default(),
            rem: f(stages - 1),
            dreg: f(stages - 1),
            quo: f(stages),
            x_rem: v(stages * (steps + 1)),
            x_quo: v(stages * (steps + 1)),
            x_den: v(stages),
            dbl: v(stages * steps),
            tail_unused: Signal::default(),
            zero: Constant::new(0u64.into()),
            den_mask: Constant::new((mask(den_bits) as u64).into()),
            _steps: steps,
            _stages: stages,
        }
    }

    /// Cycles from the operands to `q`.
    pub fn latency(quotient_bits: usize, steps: usize) -> usize {
        spec::timing::vector::recip_latency(quotient_bits, steps)
    }
}

impl Logic for RecipPipe {
    #[hdl_gen]
    fn update(&mut self) {
        for st in 0..self._stages {
            self.quo[st].clock.next = self.clock.val();
        }
        for st in 0..(self._stages - 1) {
            self.rem[st].clock.next = self.clock.val();
            self.dreg[st].clock.next = self.clock.val();
        }
        for last in (self._stages - 1)..(self._stages) {
            Signal::<Out, Bits<64>>::link(&mut self.q, &mut self.quo[last].q);
        }
        self.x_rem[0].next = self.num.val() & self.den_mask.val();
        self.x_quo[0].next = self.zero.val();
        self.x_den[0].next = self.den.val() & self.den_mask.val();
        for sp in (self._steps + 1)..(self._steps + 2) {
            for st in 1..self._stages {
                self.x_rem[st * sp].next = self.rem[st - 1].q.val();
                self.x_quo[st * sp].next = self.quo[st - 1].q.val();
                self.x_den[st].next = self.dreg[st - 1].q.val();
            }
            for s in (self._steps)..(self._steps + 1) {
                for st in 0..self._stages {
                    for j in 0..self._steps {
                        self.dbl[st * s + j].next = self.x_rem[st * sp + j].val() << 1;
                        if self.dbl[st * s + j].val() >= self.x_den[st].val() {
                            self.x_rem[st * sp + j + 1].next =
                                (self.dbl[st * s + j].val() - self.x_den[st].val()) & self.den_mask.val();
                            self.x_quo[st * sp + j + 1].next = (self.x_quo[st * sp + j].val() << 1) + 1;
                        } else {
                            self.x_rem[st * sp + j + 1].next = self.dbl[st * s + j].val();
                            self.x_quo[st * sp + j + 1].next = self.x_quo[st * sp + j].val() << 1;
                        }
                    }
                    self.quo[st].d.next = self.x_quo[st * sp + s].val();
                }
                for st in 0..(self._stages - 1) {
                    self.rem[st].d.next = self.x_rem[st * sp + s].val();
                    self.dreg[st].d.next = self.x_den[st].val();
                }
                for st in (self._stages - 1)..(self._stages) {
                    self.tail_unused.next = self.x_rem[st * sp + s].val();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::{generate, lint};

    use crate::testkit::Rng;

    fn check_mul<const A: usize, const B: usize, const P: usize>(pairs: &[(i64, i64)]) {
        let mut uut = MulS::<A, B, P>::default();
        uut.connect_all();
        for &(a, b) in pairs {
            uut.a.next = ((a as u64) & (mask(A) as u64)).into();
            uut.b.next = ((b as u64) & (mask(B) as u64)).into();
            assert!(simulate(&mut uut, 10));
            let want = ((a as i128 * b as i128) as u128 & mask(P)) as u64;
            assert_eq!(uut.p.val().to_u64(), want, "MulS<{A},{B},{P}> {a} * {b}");
        }
    }

    fn range(bits: usize) -> std::ops::RangeInclusive<i64> {
        -(1i64 << (bits - 1))..=(1i64 << (bits - 1)) - 1
    }

    /// Exhaustive at small widths (full and truncated products), random and extreme at the
    /// widths the vector unit instantiates.
    #[test]
    fn muls_matches_integer_product() {
        let small: Vec<(i64, i64)> = range(5).flat_map(|a| range(6).map(move |b| (a, b))).collect();
        check_mul::<5, 6, 11>(&small);
        check_mul::<5, 6, 8>(&small);
        check_mul::<5, 6, 6>(&small);
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        fn wide<const A: usize, const B: usize, const P: usize>(rng: &mut Rng) {
            let ext = |bits: usize| [-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1, 0, -1, 1];
            let mut pairs: Vec<(i64, i64)> =
                ext(A).iter().flat_map(|&a| ext(B).into_iter().map(move |b| (a, b))).collect();
            for _ in 0..400 {
                let a = sext(rng.next(), A) as i64;
                let b = sext(rng.next(), B) as i64;
                pairs.push((a, b));
            }
            check_mul::<A, B, P>(&pairs);
        }
        wide::<17, 16, 33>(&mut rng);
        wide::<34, 27, 64>(&mut rng);
        wide::<24, 16, 40>(&mut rng);
        wide::<40, 17, 57>(&mut rng);
        wide::<17, 48, 64>(&mut rng);
        wide::<40, 40, 64>(&mut rng);
    }

    proptest::proptest! {
        /// The three terms sum to the product over the whole operand range.
        #[test]
        fn recip_product_terms_sum_to_the_product(t in -(1i64 << 33)..(1i64 << 33), r in 0u64..=(1 << 26) - 1) {
            let sum = RecipProduct::terms(t as u64, r).iter().fold(0u64, |a, &x| a.wrapping_add(x));
            proptest::prop_assert_eq!(sum, (t as i128 * r as i128) as u64);
        }
    }

    /// The Verilog body in Icarus gives the Rust model's terms (every extreme pair, every
    /// `r_hi`, random words), and lints clean.
    #[test]
    fn recip_product_verilog_matches_the_model_in_icarus() {
        let v = generate(&mut RecipProduct::default(), "rp");
        lint(&v, "rp").unwrap();
        let ts = [0, 1, (1 << 34) - 1, 1 << 33, (1 << 33) - 1, 0x1_ffff, 0x2_0000];
        let rs = [0, 1, (1 << 24) - 1, 1 << 24, (1 << 25) - 1, 1 << 25, (1 << 26) - 1, 1 << 26];
        let mut vecs: Vec<Vec<u64>> = ts.iter().flat_map(|&t| rs.iter().map(move |&r| vec![t, r])).collect();
        let mut rng = Rng::new(0x5eed_f7e5);
        vecs.extend((0..2000).map(|_| vec![rng.next() & ((1 << 34) - 1), rng.next() & ((1 << 27) - 1)]));
        let outs = [("lo", 64), ("hi", 64), ("top", 64)];
        let got = crate::testkit::icarus_combinational(&v, "rp", &[("t", 34), ("r", 27)], &outs, &vecs);
        for (x, g) in vecs.iter().zip(got) {
            assert_eq!(g, RecipProduct::terms(x[0], x[1]).to_vec(), "t={:#x} r={:#x}", x[0], x[1]);
        }
    }

    proptest::proptest! {
        /// In the contract's ranges the products are exact.
        #[test]
        fn spread_products_are_exact_in_range(n in 0u64..=1 << 15, s1 in -(1i64 << 30)..=(1 << 30), s2 in 0u64..1 << 46) {
            let (n_s2, s1_sq) = SpreadProducts::products(n, s1 as u64, s2);
            proptest::prop_assert_eq!(n_s2, n * s2);
            proptest::prop_assert_eq!(s1_sq as i64, s1 * s1);
        }
    }

    /// The Verilog body in Icarus gives the Rust model's products (extremes and random port
    /// words, in and out of range), and lints clean.
    #[test]
    fn spread_products_verilog_matches_the_model_in_icarus() {
        let v = generate(&mut SpreadProducts::default(), "sp");
        lint(&v, "sp").unwrap();
        let ns = [0, 1, 1 << 15, (1 << 17) - 1, 1 << 16];
        let s1s = [0, 1, (1 << 40) - 1, (1 << 40) - (1 << 30), (1 << 30) - 1, 0x1_ffff, 0x2_0000, 1 << 30];
        let s2s = [0, 1, (1 << 46) - 1, (1 << 47) - 1, (1 << 48) - 1, 0xff_ffff, 1 << 24];
        let mut vecs = vec![];
        for n in ns {
            for a in s1s {
                vecs.extend(s2s.iter().map(|&b| vec![n, a, b]));
            }
        }
        let mut rng = Rng::new(0x5ca1_ab1e);
        vecs.extend(
            (0..2000).map(|_| {
                vec![rng.next() & ((1 << 17) - 1), rng.next() & ((1 << 40) - 1), rng.next() & ((1 << 48) - 1)]
            }),
        );
        let ins = [("n", 17), ("s1", 40), ("s2", 48)];
        let got = crate::testkit::icarus_combinational(&v, "sp", &ins, &[("n_s2", 64), ("s1_sq", 64)], &vecs);
        for (x, g) in vecs.iter().zip(got) {
            let (a, b) = SpreadProducts::products(x[0], x[1], x[2]);
            assert_eq!(g, vec![a, b], "n={:#x} s1={:#x} s2={:#x}", x[0], x[1], x[2]);
        }
    }

    #[test]
    fn slice_and_round_shift_match_spec() {
        let mut s = Slice::<64, 27>::new(3);
        s.connect_all();
        s.din.next = 0xfedc_ba98_7654_3210u64.into();
        assert!(simulate(&mut s, 10));
        assert_eq!(s.dout.val().to_u64(), (0xfedc_ba98_7654_3210u64 >> 3) & ((1 << 27) - 1));
        let mut uut = RoundShift::default();
        uut.connect_all();
        let mut rng = Rng::new(0x1234_5678_9abc_def1);
        let mut cases: Vec<(i64, u32)> =
            vec![(-1, 1), (1, 1), (-3, 1), (-5, 2), (0, 0), (-(1 << 61), 62), ((1 << 61) - 1, 62)];
        for _ in 0..2000 {
            let v = (rng.next() as i64) >> (2 + rng.next() % 60);
            cases.push((v, (rng.next() % 63) as u32));
        }
        for (v, sh) in cases {
            uut.x.next = ((v as u64).wrapping_add(round_offset(sh))).into();
            uut.s.next = (sh as u64).into();
            assert!(simulate(&mut uut, 10));
            assert_eq!(uut.y.val().to_u64() as i64, spec::numerics::shift_round(v, sh), "{v} >> {sh}");
        }
    }

    /// Feeds one operand pair per cycle and checks each result `lat` cycles later.
    macro_rules! run_pipe {
        ($uut:expr, $ty:ty, $lat:expr, $cases:expr, |$x:ident, $a:ident, $b:ident| $set:block, $out:ident) => {{
            let mut uut = $uut;
            uut.connect_all();
            let lat: usize = $lat;
            let cases: Vec<(u64, u64, u64)> = $cases;
            let mut sim = Simulation::new();
            sim.add_clock(5, |x: &mut Box<$ty>| x.clock.next = !x.clock.val());
            sim.add_testbench(move |mut ep: Sim<$ty>| {
                let mut $x = ep.init()?;
                for t in 0..cases.len() + lat - 1 {
                    if let Some(&($a, $b, _)) = cases.get(t) {
                        $set
                    }
                    wait_clock_cycle!(ep, clock, $x);
                    if t + 1 >= lat {
                        let want = cases[t + 1 - lat].2;
                        sim_assert_eq!(ep, $x.$out.val().to_u64(), want, $x);
                    }
                }
                ep.done($x)
            });
            sim.run(Box::new(uut), 100_000_000).unwrap();
        }};
    }

    /// Exhaustive below 2^12 (6 result bits), then random and boundary radicands at 28 result
    /// bits (rows of up to 8192 channels), 2 and 3 bits per stage.
    #[test]
    fn isqrt_pipe_matches_integer_sqrt() {
        macro_rules! isq {
            ($k:expr, $s:expr, $cases:expr) => {
                run_pipe!(
                    IsqrtPipe::new($k, $s),
                    IsqrtPipe,
                    IsqrtPipe::latency($k, $s),
                    $cases,
                    |x, a, _b| {
                        x.d.next = a.into();
                    },
                    root
                )
            };
        }
        let exhaustive: Vec<(u64, u64, u64)> = (0..1u64 << 12).map(|d| (d, 0, d.isqrt())).collect();
        isq!(6, 2, exhaustive);
        let mut rng = Rng::new(0xdead_beef_1234_5678);
        let mut cases: Vec<u64> = vec![0, 1, 2, 3, (1 << 56) - 1, 1 << 54, (1 << 55) + 12345];
        for k in 1..28u64 {
            cases.extend([(k * k) - 1, k * k, (1 << (2 * k)) - 1, 1 << (2 * k)]);
        }
        for _ in 0..1000 {
            cases.push(rng.next() >> (8 + rng.next() % 56));
        }
        let cases: Vec<(u64, u64, u64)> = cases.into_iter().map(|d| (d, 0, d.isqrt())).collect();
        isq!(28, 2, cases.clone());
        isq!(28, 3, cases);
    }

    /// Exhaustive for 6-bit denominators (kept to 6 bits), random and boundary cases at the vector
    /// unit's size (26 quotient bits, 2 per stage, 40-bit denominators): both of its uses,
    /// `2^40 / sum` and `2^(b+24) / sd`.
    #[test]
    fn recip_pipe_matches_integer_division() {
        macro_rules! div {
            ($q:expr, $s:expr, $d:expr, $cases:expr) => {
                run_pipe!(
                    RecipPipe::new($q, $s, $d),
                    RecipPipe,
                    RecipPipe::latency($q, $s),
                    $cases,
                    |x, a, b| {
                        x.num.next = a.into();
                        x.den.next = b.into();
                    },
                    q
                )
            };
        }
        let small: Vec<(u64, u64, u64)> = (1..64u64).flat_map(|d| (0..d).map(move |n| (n, d, (n << 6) / d))).collect();
        div!(6, 2, 6, small);
        let mut rng = Rng::new(0x0bad_cafe_f00d_1234);
        let mut cases = Vec::new();
        let mut soft = |sum: u64| cases.push((1u64 << 14, sum, (1u64 << 40) / sum));
        for s in [1u64 << 15, (1 << 15) + 1, (1 << 31) - 1, 255 * 32768 + 1] {
            soft(s);
        }
        for _ in 0..500 {
            soft((1 << 15) + rng.next() % ((1 << 31) - (1 << 15)));
        }
        let mut ln = |sd: u64| {
            let b = 64 - sd.leading_zeros() as u64;
            cases.push((1u64 << b, 4 * sd, (1u64 << (b + 24)) / sd));
        };
        for sd in [1u64, 2, 3, 4, 5, 7, 8, (1 << 28) - 1, 1 << 27, (1 << 30) - 1] {
            ln(sd);
        }
        for _ in 0..500 {
            ln(1 + (rng.next() >> (34 + rng.next() % 30)));
        }
        div!(26, 2, 40, cases);
    }

    #[test]
    fn arith_verilog_is_lint_clean() {
        lint(&generate(&mut MulS::<34, 27, 64>::default(), "mul"), "mul").unwrap();
        lint(&generate(&mut MulS::<17, 17, 17>::default(), "mul"), "mul").unwrap();
        lint(&generate(&mut Slice::<64, 27>::new(0), "sl"), "sl").unwrap();
        lint(&generate(&mut Slice::<64, 27>::new(3), "sl"), "sl").unwrap();
        lint(&generate(&mut Slice::<64, 27>::new(37), "sl"), "sl").unwrap();
        lint(&generate(&mut RoundShift::default(), "rs"), "rs").unwrap();
        lint(&generate(&mut IsqrtPipe::new(28, 2), "isq"), "isq").unwrap();
        lint(&generate(&mut RecipPipe::new(26, 2, 40), "div"), "div").unwrap();
    }
}
