//! The word folding of the column pass when it has fewer lanes than a word has bytes
//! (`AccelConfig::select_lanes`): with `N` lanes and `R`-byte words a word holds `F = R / N`
//! slices, slice `k` being bytes `kN..kN + N`, and the pass takes one slice at a time.
//!
//! Three leaf primitives with their Verilog written out (like [`crate::widen`]); with `F = 1`
//! each is plain wiring:
//! * [`SliceBytes`]: the `N` bytes of slice `sel` of a word, one per lane;
//! * [`Replicate`]: `N` lane bytes repeated over a whole word (a write's byte enables pick the
//!   slice);
//! * [`BitsAt`]: `N` lane bits placed at slice `sel` of a `BE`-bit byte-enable vector, zero
//!   elsewhere.

use crate::vector_unit::{placed_at, slice};
use rust_hdl::prelude::*;

/// Bits of a slice index (`F <= spec::limits::MAX_SELECT_FOLD = 16`), as the vector unit's.
pub const FOLD_SEL_BITS: usize = crate::vector_unit::SLICE_BITS;

/// `bytes[l] = din` byte `sel N + l` for `l < N`: slice `sel` of a `W`-bit word, lane by lane.
#[derive(LogicBlock)]
pub struct SliceBytes<const W: usize> {
    /// The word.
    pub din: Signal<In, Bits<W>>,
    /// The slice index (`< F`).
    pub sel: Signal<In, Bits<FOLD_SEL_BITS>>,
    /// The slice's bytes, lane 0 first.
    pub bytes: Vec<Signal<Out, Bits<8>>>,
}

impl<const W: usize> SliceBytes<W> {
    /// A selector of `lanes`-byte slices (`lanes` divides `W / 8` at most 16 times).
    pub fn new(lanes: usize) -> Self {
        assert!(
            W.is_multiple_of(8) && lanes > 0 && (W / 8).is_multiple_of(lanes) && W / 8 / lanes <= 1 << FOLD_SEL_BITS
        );
        SliceBytes {
            din: Signal::default(),
            sel: Signal::default(),
            bytes: (0..lanes).map(|_| Signal::default()).collect(),
        }
    }
}

impl<const W: usize> Logic for SliceBytes<W> {
    fn update(&mut self) {
        let n = self.bytes.len();
        let k = slice(self.sel.val(), W / 8 / n);
        for (l, b) in self.bytes.iter_mut().enumerate() {
            b.next = (self.din.val() >> (8 * (k * n + l)) as u64).get_bits::<8>(0);
        }
    }
    fn connect(&mut self) {
        for b in &mut self.bytes {
            b.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        let n = self.bytes.len();
        let f = W / 8 / n;
        let byte = |i: usize| format!("din[{}:{}]", 8 * i + 7, 8 * i);
        let body: String = (0..n)
            .map(|l| {
                if f == 1 {
                    return format!("always @(*) bytes${l} = {};\n", byte(l));
                }
                let cases: String =
                    (0..f).map(|k| format!("  {FOLD_SEL_BITS}'d{k}: bytes${l} = {};\n", byte(k * n + l))).collect();
                format!("always @(*) case (sel)\n{cases}  default: bytes${l} = {};\nendcase\n", byte(l))
            })
            .collect();
        let unused = if f == 1 { "wire _unused_sel = ^sel;\n" } else { "" };
        Verilog::Custom(format!("{unused}{body}"))
    }
}

/// `dout = {F{bytes[N-1], .., bytes[0]}}`: `N` lane bytes repeated over a `W`-bit word.
#[derive(LogicBlock)]
pub struct Replicate<const W: usize> {
    /// The lane bytes, lane 0 lowest.
    pub bytes: Vec<Signal<In, Bits<8>>>,
    /// The word.
    pub dout: Signal<Out, Bits<W>>,
}

impl<const W: usize> Replicate<W> {
    /// Repeats `lanes` bytes (`lanes` divides `W / 8`).
    pub fn new(lanes: usize) -> Self {
        assert!(W.is_multiple_of(8) && lanes > 0 && (W / 8).is_multiple_of(lanes));
        Replicate { bytes: (0..lanes).map(|_| Signal::default()).collect(), dout: Signal::default() }
    }
}

impl<const W: usize> Logic for Replicate<W> {
    fn update(&mut self) {
        let n = self.bytes.len();
        let mut w = Bits::<W>::default();
        for i in 0..W / 8 {
            let b = self.bytes[i % n].val();
            for j in 0..8 {
                w = w.replace_bit(8 * i + j, b.get_bit(j));
            }
        }
        self.dout.next = w;
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let n = self.bytes.len();
        let lanes: Vec<String> = (0..n).rev().map(|i| format!("bytes${i}")).collect();
        Verilog::Custom(format!("always @(*) dout = {{{}{{{}}}}};", W / 8 / n, lanes.join(", ")))
    }
}

/// `dout = {bits[N-1], .., bits[0]} << sel N`: `N` lane bits at slice `sel` of `BE` bits.
#[derive(LogicBlock)]
pub struct BitsAt<const BE: usize> {
    /// The lane bits, lane 0 lowest.
    pub bits: Vec<Signal<In, Bit>>,
    /// The slice index (`< F`).
    pub sel: Signal<In, Bits<FOLD_SEL_BITS>>,
    /// The bits at their slice, zero elsewhere.
    pub dout: Signal<Out, Bits<BE>>,
}

impl<const BE: usize> BitsAt<BE> {
    /// Places `lanes` bits (`lanes` divides `BE` at most 16 times).
    pub fn new(lanes: usize) -> Self {
        assert!(lanes > 0 && BE.is_multiple_of(lanes) && BE / lanes <= 1 << FOLD_SEL_BITS);
        BitsAt {
            bits: (0..lanes).map(|_| Signal::default()).collect(),
            sel: Signal::default(),
            dout: Signal::default(),
        }
    }
}

impl<const BE: usize> Logic for BitsAt<BE> {
    fn update(&mut self) {
        let n = self.bits.len();
        let k = slice(self.sel.val(), BE / n);
        let mut w = Bits::<BE>::default();
        for (l, b) in self.bits.iter().enumerate() {
            w = w.replace_bit(k * n + l, b.val());
        }
        self.dout.next = w;
    }
    fn connect(&mut self) {
        self.dout.connect();
    }
    fn hdl(&self) -> Verilog {
        let n = self.bits.len();
        let f = BE / n;
        let lanes: Vec<String> = (0..n).rev().map(|i| format!("bits${i}")).collect();
        let at = |k: usize| placed_at(BE, n, k, &lanes.join(", "));
        if f == 1 {
            return Verilog::Custom(format!("wire _unused_sel = ^sel;\nalways @(*) dout = {};", at(0)));
        }
        let cases: String = (0..f).map(|k| format!("  {FOLD_SEL_BITS}'d{k}: dout = {};\n", at(k))).collect();
        Verilog::Custom(format!("always @(*) case (sel)\n{cases}  default: dout = {};\nendcase", at(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Rng;

    fn word<const W: usize>(bytes: &[u8]) -> Bits<W> {
        let mut w = Bits::<W>::default();
        for (i, b) in bytes.iter().enumerate() {
            for j in 0..8 {
                w = w.replace_bit(8 * i + j, (b >> j) & 1 == 1);
            }
        }
        w
    }

    /// Every lane count of a 16-byte word and every index (out of range too): each lane gets
    /// byte `k N + l` of random words, the lane bytes repeat at every slice, the lane bits land
    /// at slice `k` alone.
    #[test]
    fn slices_follow_the_byte_layout() {
        let mut rng = Rng::new(0xf01d);
        for n in [1usize, 2, 4, 8, 16] {
            let f = 16 / n;
            let mut rd = SliceBytes::<128>::new(n);
            let mut rep = Replicate::<128>::new(n);
            let mut at = BitsAt::<16>::new(n);
            for sel in 0..16usize {
                let bytes: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
                let k = if sel < f { sel } else { 0 };
                rd.din.next = word::<128>(&bytes);
                rd.sel.next = (sel as u64).into();
                rd.din.update_all();
                rd.sel.update_all();
                rd.update();
                for l in 0..n {
                    assert_eq!(rd.bytes[l].next, Bits::<8>::from(bytes[k * n + l] as u64), "n={n} sel={sel} l={l}");
                }
                let lane_bytes = &bytes[..n];
                for (l, b) in rep.bytes.iter_mut().enumerate() {
                    b.next = (lane_bytes[l] as u64).into();
                    b.update_all();
                }
                rep.update();
                let want: Vec<u8> = (0..16).map(|i| lane_bytes[i % n]).collect();
                assert_eq!(rep.dout.next, word::<128>(&want), "n={n}");
                let bits: Vec<bool> = (0..n).map(|_| rng.below(2) == 1).collect();
                for (l, b) in at.bits.iter_mut().enumerate() {
                    b.next = bits[l];
                    b.update_all();
                }
                at.sel.next = (sel as u64).into();
                at.sel.update_all();
                at.update();
                let mut want = 0u64;
                for (l, &b) in bits.iter().enumerate() {
                    want |= (b as u64) << (k * n + l);
                }
                assert_eq!(at.dout.next, Bits::<16>::from(want), "n={n} sel={sel}");
            }
        }
    }

    /// Folded and unfolded, each primitive alone generates Verilog that `verilator -Wall` accepts.
    #[test]
    fn fold_primitives_are_lint_clean() {
        for n in [2usize, 8] {
            let v = crate::verilog::generate(&mut SliceBytes::<64>::new(n), "slice_bytes");
            crate::verilog::lint(&v, "slice_bytes").unwrap();
            let v = crate::verilog::generate(&mut Replicate::<64>::new(n), "replicate");
            crate::verilog::lint(&v, "replicate").unwrap();
            let v = crate::verilog::generate(&mut BitsAt::<8>::new(n), "bits_at");
            crate::verilog::lint(&v, "bits_at").unwrap();
        }
    }
}
