//! The word folding of a vector unit with fewer lanes than the array has rows
//! (`AccelConfig::vector_lanes`): the row engine works on `V`-bit slices of the scratchpad's
//! `W`-bit words, `F = W / V` slices a word, slice `k` holding bytes `kV/8..`. A slice address is
//! `word * F + k`, so the byte layout of every row, parameter block and exp table is the
//! scratchpad's own and the compiler does not know about folding.
//!
//! Two leaf primitives with their Verilog written out (like [`crate::widen`]): [`SliceRead`]
//! picks the slice a read asked for out of the word read, [`SliceWrite`] puts a slice in every
//! position of a word and enables only its bytes. Both are plain wiring when `F = 1`.

use rust_hdl::prelude::*;

/// Bits of a slice index (`F <= 16`: at least 4 lanes, at most 64 rows).
pub const SLICE_BITS: usize = 4;

/// The slice an index selects: itself below `f`, else slice 0 (the Verilog's `default`).
pub(crate) fn slice(sel: Bits<SLICE_BITS>, f: usize) -> usize {
    if sel.index() < f {
        sel.index()
    } else {
        0
    }
}

/// The Verilog concatenation of `B` bits holding `parts` (`n` bits, listed high to low) at
/// slice `k` (bits `k n..`) and zeros elsewhere.
pub(crate) fn placed_at(b: usize, n: usize, k: usize, parts: &str) -> String {
    let mut all = Vec::new();
    if b > n * (k + 1) {
        all.push(format!("{}'d0", b - n * (k + 1)));
    }
    all.push(parts.to_string());
    if k > 0 {
        all.push(format!("{}'d0", n * k));
    }
    format!("{{{}}}", all.join(", "))
}

/// `dout = din[sel V +: V]`: slice `sel` of a `W`-bit word (`sel < W / V`).
#[derive(LogicBlock)]
pub struct SliceRead<const W: usize, const V: usize> {
    /// The word.
    pub din: Signal<In, Bits<W>>,
    /// The slice index.
    pub sel: Signal<In, Bits<SLICE_BITS>>,
    /// The slice.
    pub dout: Signal<Out, Bits<V>>,
}

impl<const W: usize, const V: usize> Default for SliceRead<W, V> {
    fn default() -> Self {
        assert!(W.is_multiple_of(V) && W / V <= 1 << SLICE_BITS, "{W} / {V}");
        SliceRead { din: Signal::default(), sel: Signal::default(), dout: Signal::default() }
    }
}

impl<const W: usize, const V: usize> Logic for SliceRead<W, V> {
    fn update(&mut self) {
        let k = slice(self.sel.val(), W / V);
        self.dout.next = (self.din.val() >> ((k * V) as u64)).get_bits::<V>(0);
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let cases: String =
            (0..W / V).map(|k| format!("  {SLICE_BITS}'d{k}: dout = din[{}:{}];\n", k * V + V - 1, k * V)).collect();
        Verilog::Custom(format!("always @(*) case (sel)\n{cases}  default: dout = din[{}:0];\nendcase", V - 1))
    }
}

/// A `V`-bit slice with its `VB` byte enables written at slice `sel` of a `W`-bit word:
/// `dout = {F{din}}`, `be_out` = `be` at bytes `sel VB..`, zero elsewhere.
#[derive(LogicBlock)]
pub struct SliceWrite<const W: usize, const B: usize, const V: usize, const VB: usize> {
    /// The slice.
    pub din: Signal<In, Bits<V>>,
    /// Its byte enables.
    pub be: Signal<In, Bits<VB>>,
    /// The slice index.
    pub sel: Signal<In, Bits<SLICE_BITS>>,
    /// The slice in every position of the word.
    pub dout: Signal<Out, Bits<W>>,
    /// The word's byte enables.
    pub be_out: Signal<Out, Bits<B>>,
}

impl<const W: usize, const B: usize, const V: usize, const VB: usize> Default for SliceWrite<W, B, V, VB> {
    fn default() -> Self {
        assert!(W == 8 * B && V == 8 * VB && W.is_multiple_of(V) && W / V <= 1 << SLICE_BITS, "{W} / {V}");
        SliceWrite {
            din: Signal::default(),
            be: Signal::default(),
            sel: Signal::default(),
            dout: Signal::default(),
            be_out: Signal::default(),
        }
    }
}

impl<const W: usize, const B: usize, const V: usize, const VB: usize> Logic for SliceWrite<W, B, V, VB> {
    fn update(&mut self) {
        let k = slice(self.sel.val(), W / V);
        let mut word = Bits::<W>::default();
        for j in 0..W / V {
            word = word | (bit_cast::<W, V>(self.din.val()) << ((j * V) as u64));
        }
        self.dout.next = word;
        self.be_out.next = bit_cast::<B, VB>(self.be.val()) << ((k * VB) as u64);
    }
    fn connect(&mut self) {
        self.dout.connect();
        self.be_out.connect();
    }
    fn hdl(&self) -> Verilog {
        let f = W / V;
        let be_at = |k: usize| placed_at(B, VB, k, "be");
        let cases: String = (0..f).map(|k| format!("  {SLICE_BITS}'d{k}: be_out = {};\n", be_at(k))).collect();
        Verilog::Custom(format!(
            "always @(*) dout = {{{f}{{din}}}};\nalways @(*) case (sel)\n{cases}  default: be_out = {};\nendcase",
            be_at(0)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b128<const N: usize>(v: u128) -> Bits<N> {
        let mut b = Bits::<N>::default();
        for i in 0..N.min(128) {
            b = b.replace_bit(i, (v >> i) & 1 == 1);
        }
        b
    }

    /// Every slice of a 128-bit word read as four 32-bit slices, against the byte layout.
    #[test]
    fn slice_read_picks_the_bytes_of_its_slice() {
        let word: u128 = 0x0f0e0d0c_0b0a0908_07060504_03020100;
        let mut r = SliceRead::<128, 32>::default();
        for k in 0..16u128 {
            r.din.next = b128(word);
            r.sel.next = b128(k);
            r.din.update_all();
            r.sel.update_all();
            r.update();
            let expect = if k < 4 { (word >> (32 * k)) as u32 } else { 0x03020100 };
            assert_eq!(r.dout.next, b128::<32>(expect as u128), "slice {k}");
        }
    }

    /// Four slices a word and one slice a word: both primitives lint clean on their own.
    #[test]
    fn slices_are_lint_clean() {
        let v = crate::verilog::generate(&mut SliceRead::<128, 32>::default(), "slice_read");
        crate::verilog::lint(&v, "slice_read").unwrap();
        let v = crate::verilog::generate(&mut SliceRead::<64, 64>::default(), "slice_read");
        crate::verilog::lint(&v, "slice_read").unwrap();
        let v = crate::verilog::generate(&mut SliceWrite::<128, 16, 32, 4>::default(), "slice_write");
        crate::verilog::lint(&v, "slice_write").unwrap();
        let v = crate::verilog::generate(&mut SliceWrite::<64, 8, 64, 8>::default(), "slice_write");
        crate::verilog::lint(&v, "slice_write").unwrap();
    }

    /// A 4-byte slice written at each of four positions: the data repeats, the enables move.
    #[test]
    fn slice_write_enables_only_its_slice() {
        let mut w = SliceWrite::<128, 16, 32, 4>::default();
        for k in 0..4u128 {
            w.din.next = b128(0xa1b2c3d4);
            w.be.next = b128(0b1011);
            w.sel.next = b128(k);
            w.din.update_all();
            w.be.update_all();
            w.sel.update_all();
            w.update();
            assert_eq!(w.dout.next, b128::<128>(0xa1b2c3d4_a1b2c3d4_a1b2c3d4_a1b2c3d4), "slice {k}");
            assert_eq!(w.be_out.next, b128::<16>(0b1011 << (4 * k)), "slice {k}");
        }
    }
}
