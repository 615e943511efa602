//! Wide multiplication (a leaf primitive). Rust-HDL's DSL multiplies only `Signed<16> x Signed<16>` (and unsigned
//! operands of equal width), so products wider than that use [`Mul`], a leaf primitive with a
//! one-line Verilog body (`p = a * b` with the operands' signedness), like the width converters
//! in `widen`. [`Mul::from_adders`] is the same product written as a tree of shifted adds, for
//! products too small to spend a DSP on (synthesis maps every `*` to DSPs).

use rust_hdl::prelude::*;

/// `p = a * b`, each operand signed or unsigned, the product truncated to `P` bits
/// (`P <= 128`; exact when `P >= A + B`).
#[derive(LogicBlock)]
pub struct Mul<const A: usize, const B: usize, const P: usize> {
    /// Left operand.
    pub a: Signal<In, Bits<A>>,
    /// Right operand.
    pub b: Signal<In, Bits<B>>,
    /// Product (two's complement if either operand is signed).
    pub p: Signal<Out, Bits<P>>,
    _a_signed: bool,
    _b_signed: bool,
    _adders: bool,
}

impl<const A: usize, const B: usize, const P: usize> Mul<A, B, P> {
    /// A multiplier; `a_signed`/`b_signed` select two's complement operands.
    pub fn new(a_signed: bool, b_signed: bool) -> Self {
        assert!(A <= 64 && B <= 64 && P <= 128, "operands up to 64 bits, product up to 128");
        Mul {
            a: Signal::default(),
            b: Signal::default(),
            p: Signal::default(),
            _a_signed: a_signed,
            _b_signed: b_signed,
            _adders: false,
        }
    }

    /// The same product (`b` unsigned) built from adders, not a `*`: one partial product
    /// `b << i` per bit `i` of `a` (subtracted for the sign bit of a signed `a`), summed in a
    /// balanced tree. For a narrow `a` (e.g. an int8 scale), so synthesis spends a few LUTs and
    /// a carry chain per bit of `a` instead of a DSP. Needs `P >= A + B` (exact product).
    pub fn from_adders(a_signed: bool) -> Self {
        assert!(P >= A + B, "Mul::from_adders: the product must be exact (P >= A + B)");
        Mul { _adders: true, ..Self::new(a_signed, false) }
    }
}

/// The value of the low `n` bits of `v`, sign-extended if `signed`.
fn operand(v: u128, n: usize, signed: bool) -> i128 {
    let v = v & ((1u128 << n) - 1);
    if signed && (v >> (n - 1)) & 1 == 1 {
        v as i128 - (1i128 << n)
    } else {
        v as i128
    }
}

impl<const A: usize, const B: usize, const P: usize> Logic for Mul<A, B, P> {
    fn update(&mut self) {
        let a = operand(self.a.val().to_u128(), A, self._a_signed);
        let b = operand(self.b.val().to_u128(), B, self._b_signed);
        let prod = a.wrapping_mul(b) as u128;
        let mut p = Bits::<P>::default();
        for i in 0..P {
            p = p.replace_bit(i, (prod >> i) & 1 == 1);
        }
        self.p.next = p;
    }
    fn connect(&mut self) {
        self.p.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(if self._adders {
            adder_tree_verilog((A, self._a_signed), B, P)
        } else {
            product_verilog((A, self._a_signed), (B, self._b_signed), P)
        })
    }
}

/// The Verilog body of [`Mul::from_adders`]: `p = a * b` modulo `2^p_bits` as a balanced tree
/// of adds of the partial products `a[i] ? b << i : 0` (the sign bit's negated). Exact because
/// `p_bits >= a_bits + b_bits` and every step is arithmetic modulo `2^p_bits`.
pub fn adder_tree_verilog((a_bits, a_signed): (usize, bool), b_bits: usize, p_bits: usize) -> String {
    let mut v = format!("wire [{hi}:0] b_wide = {{{}'d0, b}};\n", p_bits - b_bits, hi = p_bits - 1);
    let mut level: Vec<String> = (0..a_bits)
        .map(|i| {
            let neg = if a_signed && i + 1 == a_bits { "-" } else { "" };
            v += &format!("wire [{}:0] pp{i} = a[{i}] ? {neg}(b_wide << {i}) : {p_bits}'d0;\n", p_bits - 1);
            format!("pp{i}")
        })
        .collect();
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        level = level
            .chunks(2)
            .enumerate()
            .map(|(k, pair)| match pair {
                [x, y] => {
                    v += &format!("wire [{}:0] s{depth}_{k} = {x} + {y};\n", p_bits - 1);
                    format!("s{depth}_{k}")
                }
                [x] => x.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    v + &format!("always @(*) p = {};", level[0])
}

/// The Verilog body of a multiplier leaf: `p` = the low `p_bits` bits of `a * b` (sign- or
/// zero-extended when `p_bits` exceeds the full product).
///
/// The product is written at its **native** width: signed operands stay their own width, an
/// unsigned operand gains one zero bit, and the full product is `A' + B'` bits. Synthesis
/// therefore sees a multiplier exactly as wide as the numerics (a 34 x 27 product maps to the
/// DSP tiles of 34 x 27, not of the 64 x 64 that sign-extending both operands to the result
/// width by hand would ask for), and `wreduce` may narrow it further. Yosys still cuts both
/// operands when either is too wide for a port (34 x 27: four DSP48E1); where that matters the
/// partial products are written out (`crate::arith::RecipProduct`, `SpreadProducts`).
pub fn product_verilog((a_bits, a_signed): (usize, bool), (b_bits, b_signed): (usize, bool), p_bits: usize) -> String {
    let operand = |name: &str, signed: bool| {
        if signed {
            format!("$signed({name})")
        } else {
            format!("$signed({{1'b0, {name}}})")
        }
    };
    let any_signed = a_signed || b_signed;
    let full_bits =
        if any_signed { a_bits + usize::from(!a_signed) + b_bits + usize::from(!b_signed) } else { a_bits + b_bits };
    let product = if any_signed {
        format!("{} * {}", operand("a", a_signed), operand("b", b_signed))
    } else {
        "a * b".to_string()
    };
    let signed_kw = if any_signed { "signed " } else { "" };
    let mut v = format!("wire {signed_kw}[{}:0] full = {product};\n", full_bits - 1);
    if p_bits < full_bits {
        v += &format!("wire _unused_full_high = ^full[{}:{p_bits}];\n", full_bits - 1);
        v += &format!("always @(*) p = full[{}:0];", p_bits - 1);
    } else if p_bits == full_bits {
        v += "always @(*) p = full;";
    } else {
        let fill = if any_signed { format!("full[{}]", full_bits - 1) } else { "1'b0".into() };
        v += &format!("always @(*) p = {{{{{}{{{fill}}}}}, full}};", p_bits - full_bits);
    }
    v
}

/// The two products of a PE pair: `a * w_l` and `a * w_f` for one activation `a` (int8 or
/// uint8, i.e. `-128 ..= 255`, in the low 9 bits of a sign-extended word) and two int8 weights
/// (low 8 bits), each product sign-extended to 32 bits.
///
/// Packed (`packed = true`), both come from **one** multiplier: `a * (w_f * 2^16 + w_l)`, a
/// 9 x 25-bit product that fits one DSP48E1 (25 x 18) or DSP48E2 (27 x 18). Its low 16 bits are
/// `a * w_l` (which fits 16 signed bits on that domain) and its bits from 16 up, plus the borrow
/// bit 15, are `a * w_f` (Xilinx WP486's technique; the correction is the `+ p[15]`). Unpacked,
/// two 9 x 8-bit multipliers (for 18 x 18 multiplier targets, where the packed product needs two).
#[derive(LogicBlock)]
pub struct PairMul {
    /// Activation (`-128 ..= 255` in the low 9 bits).
    pub a: Signal<In, Signed<16>>,
    /// The leader column's weight (int8 in the low 8 bits).
    pub w_l: Signal<In, Signed<16>>,
    /// The follower column's weight (int8 in the low 8 bits).
    pub w_f: Signal<In, Signed<16>>,
    /// `a * w_l`.
    pub p_l: Signal<Out, Signed<32>>,
    /// `a * w_f`.
    pub p_f: Signal<Out, Signed<32>>,
    _packed: bool,
}

impl PairMul {
    /// A pair multiplier, packed into one wide product or as two narrow ones.
    pub fn new(packed: bool) -> Self {
        PairMul {
            a: Signal::default(),
            w_l: Signal::default(),
            w_f: Signal::default(),
            p_l: Signal::default(),
            p_f: Signal::default(),
            _packed: packed,
        }
    }
}

/// `(a * w_l, a * w_f)` as [`PairMul`] computes them, from the low 9 bits of `a` and the low 8
/// of each weight; exact for `a` in `-128 ..= 255` (packed or not).
pub fn pair_products(a: i64, w_l: i64, w_f: i64, packed: bool) -> (i64, i64) {
    let sext = |v: i64, n: u32| (v << (64 - n)) >> (64 - n);
    let (a, w_l, w_f) = (sext(a, 9), sext(w_l, 8), sext(w_f, 8));
    if !packed {
        return (a * w_l, a * w_f);
    }
    let product = a * (w_f * (1 << 16) + w_l);
    (sext(product, 16), (product >> 16) + ((product >> 15) & 1))
}

impl Logic for PairMul {
    fn update(&mut self) {
        let word = |s: Signed<16>| s.inner().to_u64() as i64;
        let (p_l, p_f) = pair_products(word(self.a.val()), word(self.w_l.val()), word(self.w_f.val()), self._packed);
        self.p_l.next = Signed::from(p_l);
        self.p_f.next = Signed::from(p_f);
    }
    fn connect(&mut self) {
        self.p_l.connect();
        self.p_f.connect();
    }
    fn hdl(&self) -> Verilog {
        let unused = "wire _unused_high = ^{a[15:9], w_l[15:8], w_f[15:8]};\n";
        Verilog::Custom(if self._packed {
            format!(
                "{unused}\
                 wire signed [24:0] packed_w = $signed({{w_f[7], w_f[7:0], 16'h0000}}) + $signed({{{{17{{w_l[7]}}}}, w_l[7:0]}});\n\
                 wire signed [33:0] prod = $signed(a[8:0]) * packed_w;\n\
                 wire signed [17:0] high = $signed(prod[33:16]) + $signed({{17'd0, prod[15]}});\n\
                 always @(*) begin\n  p_l = {{{{16{{prod[15]}}}}, prod[15:0]}};\n  p_f = {{{{14{{high[17]}}}}, high}};\nend"
            )
        } else {
            format!(
                "{unused}\
                 wire signed [16:0] prod_l = $signed(a[8:0]) * $signed(w_l[7:0]);\n\
                 wire signed [16:0] prod_f = $signed(a[8:0]) * $signed(w_f[7:0]);\n\
                 always @(*) begin\n  p_l = {{{{15{{prod_l[16]}}}}, prod_l}};\n  p_f = {{{{15{{prod_f[16]}}}}, prod_f}};\nend"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operand_sign_extension() {
        assert_eq!(operand(0xff, 8, true), -1);
        assert_eq!(operand(0xff, 8, false), 255);
        assert_eq!(operand(0x80, 8, true), -128);
        assert_eq!(operand(0x17f, 8, true), 127);
    }

    #[test]
    fn mul_model_matches_integer_product() {
        let mut m = Mul::<8, 16, 24>::new(true, false);
        for (a, b) in [(0x80u64, 0xffffu64), (0x7f, 0x8000), (0xff, 1), (0, 12345)] {
            m.a.next = a.into();
            m.b.next = b.into();
            m.a.connect();
            m.b.connect();
            // Drive the inputs as rust-hdl would, then evaluate.
            m.a = Signal::default();
            m.b = Signal::default();
            m.a.next = a.into();
            m.b.next = b.into();
            m.a.update_all();
            m.b.update_all();
            m.update();
            let want = (operand(a as u128, 8, true) * b as i128) as u128 & 0xff_ffff;
            assert_eq!(m.p.next.to_u128(), want, "a={a:#x} b={b:#x}");
        }
    }

    /// Exact `a * b` of the low bits of two operand words, truncated to `p` bits.
    fn exact(a: u64, (an, asg): (usize, bool), b: u64, (bn, bsg): (usize, bool), p: usize) -> u64 {
        let prod = operand(a as u128, an, asg).wrapping_mul(operand(b as u128, bn, bsg)) as u128;
        (prod & ((1u128 << p) - 1)) as u64
    }

    /// Operand words: every extreme (0, 1, -1, min, max) paired, then random words.
    fn vectors(an: usize, bn: usize, seed: u64, random: usize) -> Vec<Vec<u64>> {
        let mask = |n: usize| if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        let ext = |n: usize| vec![0, 1, mask(n), 1 << (n - 1), mask(n) >> 1];
        let mut v: Vec<Vec<u64>> =
            ext(an).into_iter().flat_map(|a| ext(bn).into_iter().map(move |b| vec![a, b])).collect();
        let mut rng = crate::testkit::Rng::new(seed);
        v.extend((0..random).map(|_| vec![rng.next() & mask(an), rng.next() & mask(bn)]));
        v
    }

    /// The hand-written Verilog body (native-width product, then truncate or extend) simulated
    /// in Icarus equals the exact integer product, for every signedness pair, at truncating,
    /// exact and extending result widths (exhaustive at 5 x 6 bits) and at the design's widths.
    #[test]
    fn product_verilog_equals_the_integer_product_in_icarus() {
        fn check<const A: usize, const B: usize, const P: usize>(sa: bool, sb: bool, vecs: Vec<Vec<u64>>) {
            let v = crate::verilog::generate(&mut Mul::<A, B, P>::new(sa, sb), "mul");
            let got = crate::testkit::icarus_combinational(&v, "mul", &[("a", A), ("b", B)], &[("p", P)], &vecs);
            for (x, g) in vecs.iter().zip(got) {
                let want = exact(x[0], (A, sa), x[1], (B, sb), P);
                assert_eq!(g[0], want, "Mul<{A},{B},{P}>({sa},{sb}) a={:#x} b={:#x}", x[0], x[1]);
            }
        }
        let all: Vec<Vec<u64>> = (0..32u64).flat_map(|a| (0..64u64).map(move |b| vec![a, b])).collect();
        for (sa, sb) in [(true, true), (true, false), (false, true), (false, false)] {
            check::<5, 6, 8>(sa, sb, all.clone());
            check::<5, 6, 11>(sa, sb, all.clone());
            check::<5, 6, 15>(sa, sb, all.clone());
        }
        check::<17, 24, 41>(false, true, vectors(17, 24, 1, 300));
        check::<15, 24, 39>(true, true, vectors(15, 24, 2, 300));
        check::<16, 16, 32>(false, false, vectors(16, 16, 3, 300));
        check::<34, 27, 64>(true, true, vectors(34, 27, 4, 300));
        check::<40, 40, 64>(true, true, vectors(40, 40, 5, 300));
        check::<17, 48, 64>(true, true, vectors(17, 48, 6, 300));
    }

    /// The adder-tree body in Icarus equals the exact product: exhaustive at the requantizer's
    /// shape (every int8 `a` against every 15-bit `b` in steps, plus the extremes), exhaustive
    /// at 5 x 6 bits for both signednesses of `a`, and an odd operand width (unpaired tree leaf).
    #[test]
    fn adder_tree_verilog_equals_the_integer_product_in_icarus() {
        fn check<const A: usize, const B: usize, const P: usize>(sa: bool, vecs: Vec<Vec<u64>>) {
            let mut m = Mul::<A, B, P>::from_adders(sa);
            let v = crate::verilog::generate(&mut m, "mul");
            crate::verilog::lint(&v, "mul").unwrap();
            let got = crate::testkit::icarus_combinational(&v, "mul", &[("a", A), ("b", B)], &[("p", P)], &vecs);
            for (x, g) in vecs.iter().zip(got) {
                let want = exact(x[0], (A, sa), x[1], (B, false), P);
                assert_eq!(g[0], want, "from_adders Mul<{A},{B},{P}>({sa}) a={:#x} b={:#x}", x[0], x[1]);
            }
        }
        let all: Vec<Vec<u64>> = (0..32u64).flat_map(|a| (0..64u64).map(move |b| vec![a, b])).collect();
        for sa in [true, false] {
            check::<5, 6, 11>(sa, all.clone());
            check::<5, 6, 13>(sa, all.clone());
        }
        let mut shape: Vec<Vec<u64>> = (0..256u64)
            .flat_map(|a| (0..0x8000u64).step_by(97).chain([0x7fff, 0xffff]).map(move |b| vec![a, b]))
            .collect();
        shape.extend(vectors(8, 16, 7, 2000));
        check::<8, 16, 24>(true, shape);
        check::<7, 9, 17>(true, vectors(7, 9, 8, 500));
    }

    #[test]
    fn mul_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Mul::<17, 24, 41>::new(false, true), "mul");
        crate::verilog::lint(&v, "mul").unwrap();
        let v = crate::verilog::generate(&mut Mul::<15, 24, 39>::new(true, true), "mul");
        crate::verilog::lint(&v, "mul").unwrap();
    }

    /// Exhaustive over every activation the array sees (int8 and uint8) and every pair of int8
    /// weights: packed and unpacked pair products equal the two integer products.
    #[test]
    fn pair_products_are_exact_for_every_8_bit_operand() {
        for a in -128i64..=255 {
            for w_l in -128i64..=127 {
                for w_f in -128i64..=127 {
                    for packed in [true, false] {
                        assert_eq!(pair_products(a, w_l, w_f, packed), (a * w_l, a * w_f), "a={a} w_l={w_l} w_f={w_f}");
                    }
                }
            }
        }
    }

    /// The pair multiplier's Verilog (both bodies) in Icarus equals the integer products: every
    /// activation against the extreme weights, every weight pair against the extreme activations,
    /// and random triples.
    #[test]
    fn pair_mul_verilog_equals_the_integer_products_in_icarus() {
        let ends = [-128i64, -127, -1, 0, 1, 127];
        let acts = [-128i64, -1, 0, 1, 127, 128, 255];
        let mut v: Vec<[i64; 3]> = Vec::new();
        for a in -128..=255 {
            v.extend(ends.iter().flat_map(|&l| ends.iter().map(move |&f| [a, l, f])));
        }
        v.extend(
            acts.iter()
                .flat_map(|&a| (-128..=127).flat_map(move |l| [[a, l, -128], [a, l, 127], [a, -128, l], [a, l, l]])),
        );
        let mut rng = crate::testkit::Rng::new(0x5eed);
        v.extend((0..4000).map(|_| [rng.range(-128, 255), rng.range(-128, 127), rng.range(-128, 127)]));
        let vecs: Vec<Vec<u64>> = v.iter().map(|x| x.iter().map(|&y| y as u64 & 0xffff).collect()).collect();
        for packed in [true, false] {
            let verilog = crate::verilog::generate(&mut PairMul::new(packed), "pair_mul");
            crate::verilog::lint(&verilog, "pair_mul").unwrap();
            let got = crate::testkit::icarus_combinational(
                &verilog,
                "pair_mul",
                &[("a", 16), ("w_l", 16), ("w_f", 16)],
                &[("p_l", 32), ("p_f", 32)],
                &vecs,
            );
            for (x, g) in v.iter().zip(got) {
                let want = [(x[0] * x[1]) as u32 as u64, (x[0] * x[2]) as u32 as u64];
                assert_eq!(g, want, "packed={packed} a={} w_l={} w_f={}", x[0], x[1], x[2]);
            }
        }
    }
}
