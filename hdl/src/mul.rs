//! Wide multiplication (a leaf primitive). Rust-HDL's DSL multiplies only `Signed<16> x Signed<16>` (and unsigned
//! operands of equal width), so products wider than that use [`Mul`], a leaf primitive with a
//! one-line Verilog body (`p = a * b` with the operands' signedness), like the width converters
//! in `widen`.

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
        }
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
        // Operands are widened to P bits (sign- or zero-extended) so Verilog computes the product
        // at the result width without width warnings.
        let ext = |name: &str, n: usize, signed: bool| {
            if n >= P {
                format!("{name}[{}:0]", P - 1)
            } else {
                let fill = if signed { format!("{name}[{}]", n - 1) } else { "1'b0".into() };
                format!("{{{{{}{{{fill}}}}}, {name}}}", P - n)
            }
        };
        let unused = |name: &str, n: usize| {
            if n > P {
                format!("wire _unused_{name}_high = ^{name}[{}:{P}];\n", n - 1)
            } else {
                String::new()
            }
        };
        Verilog::Custom(format!(
            "{}{}always @(*) p = {} * {};",
            unused("a", A),
            unused("b", B),
            ext("a", A, self._a_signed),
            ext("b", B, self._b_signed)
        ))
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

    #[test]
    fn mul_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Mul::<32, 8, 40>::new(true, true), "mul");
        crate::verilog::lint(&v, "mul").unwrap();
        let v = crate::verilog::generate(&mut Mul::<40, 16, 56>::new(true, false), "mul");
        crate::verilog::lint(&v, "mul").unwrap();
    }
}
