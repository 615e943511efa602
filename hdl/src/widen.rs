//! Width conversion primitives. Rust-HDL's DSL has no concatenation and Verilator -Wall rejects
//! implicit extension, so these two leaf primitives (like rust-hdl's own DFF and RAM) write their
//! bodies as Verilog text: [`Extend`] (`{{(M-N){fill}}, din}`), [`Concat`] (`{hi, lo}`), [`Pack`]
//! (bytes into a word) and [`PackBits`] (bits into a vector).

use rust_hdl::prelude::*;

/// `dout = din` zero- or sign-extended from `N` to `M` bits.
#[derive(LogicBlock)]
pub struct Extend<const M: usize, const N: usize> {
    /// Narrow input.
    pub din: Signal<In, Bits<N>>,
    /// Wide output.
    pub dout: Signal<Out, Bits<M>>,
    _signed: bool,
}

impl<const M: usize, const N: usize> Extend<M, N> {
    /// An extender; `signed` replicates bit `N - 1`.
    pub fn new(signed: bool) -> Self {
        assert!(M > N, "extension must widen");
        Extend { din: Signal::default(), dout: Signal::default(), _signed: signed }
    }
}

impl<const M: usize, const N: usize> Logic for Extend<M, N> {
    fn update(&mut self) {
        let x = self.din.val();
        let mut y: Bits<M> = bit_cast(x);
        if self._signed && x.get_bit(N - 1) {
            for i in N..M {
                y = y.replace_bit(i, true);
            }
        }
        self.dout.next = y;
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let fill = if self._signed { format!("din[{}]", N - 1) } else { "1'b0".into() };
        Verilog::Custom(format!("always @(*) dout = {{{{{}{{{fill}}}}}, din}};", M - N))
    }
}

/// `dout = {lanes[W/8 - 1], ..., lanes[0]}`: bytes into a little-endian word.
#[derive(LogicBlock)]
pub struct Pack<const W: usize> {
    /// Bytes, lane 0 = bits 7:0.
    pub lanes: Vec<Signal<In, Bits<8>>>,
    /// The word.
    pub dout: Signal<Out, Bits<W>>,
}

impl<const W: usize> Default for Pack<W> {
    fn default() -> Self {
        assert_eq!(W % 8, 0);
        Pack { lanes: (0..W / 8).map(|_| Signal::default()).collect(), dout: Signal::default() }
    }
}

impl<const W: usize> Logic for Pack<W> {
    fn update(&mut self) {
        let mut w = Bits::<W>::default();
        for (i, l) in self.lanes.iter().enumerate() {
            for b in 0..8 {
                w = w.replace_bit(8 * i + b, l.val().get_bit(b));
            }
        }
        self.dout.next = w;
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let lanes: Vec<String> = (0..W / 8).rev().map(|i| format!("lanes${i}")).collect();
        Verilog::Custom(format!("always @(*) dout = {{{}}};", lanes.join(", ")))
    }
}

/// `dout = {lanes[N - 1], ..., lanes[0]}`: single bits into a vector.
#[derive(LogicBlock)]
pub struct PackBits<const N: usize> {
    /// Bits, lane 0 = bit 0.
    pub lanes: Vec<Signal<In, Bit>>,
    /// The vector.
    pub dout: Signal<Out, Bits<N>>,
}

impl<const N: usize> Default for PackBits<N> {
    fn default() -> Self {
        PackBits { lanes: (0..N).map(|_| Signal::default()).collect(), dout: Signal::default() }
    }
}

impl<const N: usize> Logic for PackBits<N> {
    fn update(&mut self) {
        let mut w = Bits::<N>::default();
        for (i, l) in self.lanes.iter().enumerate() {
            w = w.replace_bit(i, l.val());
        }
        self.dout.next = w;
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let lanes: Vec<String> = (0..N).rev().map(|i| format!("lanes${i}")).collect();
        Verilog::Custom(format!("always @(*) dout = {{{}}};", lanes.join(", ")))
    }
}

/// `dout = {hi, lo}` with `C == A + B`: a zero-extension when `hi` is a zero constant.
///
/// A leaf primitive with a one-line Verilog body; the Rust model is what rust-hdl simulates.
#[derive(LogicBlock)]
pub struct Concat<const A: usize, const B: usize, const C: usize> {
    /// Upper `A` bits.
    pub hi: Signal<In, Bits<A>>,
    /// Lower `B` bits.
    pub lo: Signal<In, Bits<B>>,
    /// `{hi, lo}`.
    pub dout: Signal<Out, Bits<C>>,
}

impl<const A: usize, const B: usize, const C: usize> Default for Concat<A, B, C> {
    fn default() -> Self {
        assert_eq!(A + B, C, "Concat<A, B, C> needs C == A + B");
        Concat { hi: Signal::default(), lo: Signal::default(), dout: Signal::default() }
    }
}

impl<const A: usize, const B: usize, const C: usize> Logic for Concat<A, B, C> {
    fn update(&mut self) {
        self.dout.next = (bit_cast::<C, A>(self.hi.val()) << (B as u64)) | bit_cast::<C, B>(self.lo.val());
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom("always @(*) dout = {hi, lo};".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_is_exact_and_lint_clean() {
        for signed in [false, true] {
            let v = crate::verilog::generate(&mut Extend::<16, 8>::new(signed), "ext");
            crate::verilog::lint(&v, "ext").unwrap();
            let mut uut = Extend::<16, 8>::new(signed);
            uut.connect_all();
            for x in 0..256u64 {
                uut.din.next = x.into();
                assert!(simulate(&mut uut, 10));
                let want = if signed { x as u8 as i8 as i16 as u16 as u64 } else { x };
                assert_eq!(uut.dout.val(), Bits::<16>::from(want));
            }
        }
    }

    #[test]
    fn pack_is_little_endian_and_lint_clean() {
        crate::verilog::lint(&crate::verilog::generate(&mut Pack::<32>::default(), "pack"), "pack").unwrap();
        let mut uut = Pack::<32>::default();
        uut.connect_all();
        for (i, b) in [0x11u64, 0x22, 0x33, 0x44].iter().enumerate() {
            uut.lanes[i].next = (*b).into();
        }
        assert!(simulate(&mut uut, 10));
        assert_eq!(uut.dout.val(), Bits::<32>::from(0x4433_2211u64));
        crate::verilog::lint(&crate::verilog::generate(&mut PackBits::<4>::default(), "pb"), "pb").unwrap();
        let mut uut = PackBits::<4>::default();
        uut.connect_all();
        for (i, b) in [true, false, true, true].iter().enumerate() {
            uut.lanes[i].next = *b;
        }
        assert!(simulate(&mut uut, 10));
        assert_eq!(uut.dout.val(), Bits::<4>::from(0b1101u64));
    }
}
