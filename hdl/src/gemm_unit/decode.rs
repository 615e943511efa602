//! The GEMM unit's instruction decoder: the fields of a GEMM instruction word
//! (`spec::isa::GEMM_*`), the engine's B source and output function from its flags, the shape of
//! its weight stream, and the field checks of `spec::isa::Insn::check` (BAD_FIELD when one
//! fails). Combinational.

use crate::bus::INSN_BITS;
use crate::gemm::{b_mode, o_mode};
use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;
use spec::isa;

/// The decoder for a configuration's banks, bank size, array and limits.
#[derive(LogicBlock)]
pub struct GemmDecode {
    /// The instruction word.
    pub insn: Signal<In, Bits<INSN_BITS>>,
    /// Rows of A.
    pub m: Signal<Out, Bits<16>>,
    /// Reduction length.
    pub k: Signal<Out, Bits<16>>,
    /// Output channels.
    pub n: Signal<Out, Bits<16>>,
    /// A: bank.
    pub a_bank: Signal<Out, Bits<4>>,
    /// A: word address of row 0.
    pub a_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// A: words between rows.
    pub a_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// A holds uint8.
    pub a_unsigned: Signal<Out, Bit>,
    /// Source of B ([`b_mode`]).
    pub b_mode: Signal<Out, Bits<2>>,
    /// On-chip B: bank.
    pub b_bank: Signal<Out, Bits<4>>,
    /// On-chip B: word address.
    pub b_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// On-chip B: stride.
    pub b_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// On-chip B by rows: byte group.
    pub b_group: Signal<Out, Bits<4>>,
    /// Output: bank (the low plane of a residual).
    pub o_bank: Signal<Out, Bits<4>>,
    /// Output: second bank (the residual's high plane, or the int8 copy).
    pub o_hi_bank: Signal<Out, Bits<4>>,
    /// Output: byte group.
    pub o_group: Signal<Out, Bits<4>>,
    /// Output: word address of row 0.
    pub o_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Output: words between rows.
    pub o_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Output function ([`o_mode`]).
    pub o_mode: Signal<Out, Bits<2>>,
    /// Multiply rows by their scales.
    pub row_scale: Signal<Out, Bit>,
    /// Row scales: bank.
    pub rs_bank: Signal<Out, Bits<4>>,
    /// Row scales: word address.
    pub rs_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// DRAM byte address of the weight stream.
    pub w_addr: Signal<Out, Bits<40>>,
    /// n-tiles, `ceil(N/C)`.
    pub n_tiles: Signal<Out, Bits<16>>,
    /// Weight-stream words per n-tile: the header, and the tiles when B comes from DRAM.
    pub words_per_n_tile: Signal<Out, Bits<16>>,
    /// The stream starts with the LUT.
    pub with_lut: Signal<Out, Bit>,
    /// A field check fails.
    pub bad: Signal<Out, Bit>,
    flags: Signal<Local, Bits<8>>,
    onchip: Signal<Local, Bit>,
    columns: Signal<Local, Bit>,
    resid: Signal<Local, Bit>,
    k_tiles: Signal<Local, Bits<16>>,
    opcode_unused: Signal<Local, Bit>,
    unused_insn_bits: Signal<Local, Bit>,
    last_bank: Constant<Bits<4>>,
    addr_max: Constant<Bits<SP_ADDR_BITS>>,
    align: Constant<Bits<40>>,
    max_m: Constant<Bits<16>>,
    max_w: Constant<Bits<16>>,
    group_last: Constant<Bits<4>>,
    undefined_flags: Constant<Bits<8>>,
    k_round: Constant<Bits<16>>,
    k_shift: Constant<Bits<16>>,
    n_round: Constant<Bits<16>>,
    n_shift: Constant<Bits<16>>,
    header_words: Constant<Bits<16>>,
    bm_rows: Constant<Bits<2>>,
    bm_cols: Constant<Bits<2>>,
    bm_fifo: Constant<Bits<2>>,
    om_dup: Constant<Bits<2>>,
    om_lut: Constant<Bits<2>>,
    om_resid: Constant<Bits<2>>,
    f_opcode: Constant<Bits<9>>,
    f_flags: Constant<Bits<9>>,
    f_m: Constant<Bits<9>>,
    f_k: Constant<Bits<9>>,
    f_n: Constant<Bits<9>>,
    f_a_bank: Constant<Bits<9>>,
    f_a_addr: Constant<Bits<9>>,
    f_a_stride: Constant<Bits<9>>,
    f_b_bank: Constant<Bits<9>>,
    f_b_addr: Constant<Bits<9>>,
    f_b_stride: Constant<Bits<9>>,
    f_b_group: Constant<Bits<9>>,
    f_o_bank: Constant<Bits<9>>,
    f_o_hi_bank: Constant<Bits<9>>,
    f_o_group: Constant<Bits<9>>,
    f_o_addr: Constant<Bits<9>>,
    f_o_stride: Constant<Bits<9>>,
    f_rs_bank: Constant<Bits<9>>,
    f_rs_addr: Constant<Bits<9>>,
    f_w_addr: Constant<Bits<9>>,
}

impl GemmDecode {
    /// The decoder for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        let (rows, cols) = (cfg.array_rows, cfg.array_cols);
        for (fld, w) in [
            (isa::GEMM_FLAGS, 8),
            (isa::GEMM_M, 16),
            (isa::GEMM_K, 16),
            (isa::GEMM_N, 16),
            (isa::GEMM_A_BANK, 4),
            (isa::GEMM_A_ADDR, 20),
            (isa::GEMM_B_GROUP, 4),
            (isa::GEMM_O_GROUP, 4),
            (isa::GEMM_W_ADDR, 40),
        ] {
            assert_eq!(fld.width, w, "spec field {} changed width: update the GEMM decoder", fld.name);
        }
        let f = |x: isa::Field| Constant::new(Bits::<9>::from(x.lsb as u64));
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        GemmDecode {
            insn: Signal::default(),
            m: Signal::default(),
            k: Signal::default(),
            n: Signal::default(),
            a_bank: Signal::default(),
            a_addr: Signal::default(),
            a_stride: Signal::default(),
            a_unsigned: Signal::default(),
            b_mode: Signal::default(),
            b_bank: Signal::default(),
            b_addr: Signal::default(),
            b_stride: Signal::default(),
            b_group: Signal::default(),
            o_bank: Signal::default(),
            o_hi_bank: Signal::default(),
            o_group: Signal::default(),
            o_addr: Signal::default(),
            o_stride: Signal::default(),
            o_mode: Signal::default(),
            row_scale: Signal::default(),
            rs_bank: Signal::default(),
            rs_addr: Signal::default(),
            w_addr: Signal::default(),
            n_tiles: Signal::default(),
            words_per_n_tile: Signal::default(),
            with_lut: Signal::default(),
            bad: Signal::default(),
            flags: Signal::default(),
            onchip: Signal::default(),
            columns: Signal::default(),
            resid: Signal::default(),
            k_tiles: Signal::default(),
            opcode_unused: Signal::default(),
            unused_insn_bits: Signal::default(),
            last_bank: Constant::new(Bits::<4>::from(cfg.banks as u64 - 1)),
            addr_max: Constant::new(Bits::<SP_ADDR_BITS>::from(cfg.bank_words as u64 - 1)),
            align: Constant::new(Bits::<40>::from(cfg.word_bytes() as u64 - 1)),
            max_m: c16(cfg.max_tokens as u64),
            max_w: c16(cfg.max_width.min(0xffff) as u64),
            group_last: Constant::new(Bits::<4>::from((rows / cols - 1) as u64)),
            undefined_flags: Constant::new(Bits::<8>::from(!isa::gemm_flags::DEFINED & 0xff)),
            k_round: c16(rows as u64 - 1),
            k_shift: c16(rows.trailing_zeros() as u64),
            n_round: c16(cols as u64 - 1),
            n_shift: c16(cols.trailing_zeros() as u64),
            header_words: c16((isa::weight_header_bytes(cols) / rows) as u64),
            bm_rows: Constant::new(b_mode::ROWS.into()),
            bm_cols: Constant::new(b_mode::COLUMNS.into()),
            bm_fifo: Constant::new(b_mode::FIFO.into()),
            om_dup: Constant::new(o_mode::DUP.into()),
            om_lut: Constant::new(o_mode::LUT.into()),
            om_resid: Constant::new(o_mode::RESID16.into()),
            f_opcode: f(isa::OPCODE),
            f_flags: f(isa::GEMM_FLAGS),
            f_m: f(isa::GEMM_M),
            f_k: f(isa::GEMM_K),
            f_n: f(isa::GEMM_N),
            f_a_bank: f(isa::GEMM_A_BANK),
            f_a_addr: f(isa::GEMM_A_ADDR),
            f_a_stride: f(isa::GEMM_A_STRIDE),
            f_b_bank: f(isa::GEMM_B_BANK),
            f_b_addr: f(isa::GEMM_B_ADDR),
            f_b_stride: f(isa::GEMM_B_STRIDE),
            f_b_group: f(isa::GEMM_B_GROUP),
            f_o_bank: f(isa::GEMM_O_BANK),
            f_o_hi_bank: f(isa::GEMM_O_HI_BANK),
            f_o_group: f(isa::GEMM_O_GROUP),
            f_o_addr: f(isa::GEMM_O_ADDR),
            f_o_stride: f(isa::GEMM_O_STRIDE),
            f_rs_bank: f(isa::GEMM_RS_BANK),
            f_rs_addr: f(isa::GEMM_RS_ADDR),
            f_w_addr: f(isa::GEMM_W_ADDR),
        }
    }
}

impl Logic for GemmDecode {
    #[hdl_gen]
    fn update(&mut self) {
        // The opcode and the other units' fields are the controller's; fold them so lint sees
        // every bit used.
        self.unused_insn_bits.next = self.insn.val().xor();
        self.opcode_unused.next = self.insn.val().get_bits::<8>(self.f_opcode.val().index()).xor();
        self.flags.next = self.insn.val().get_bits::<8>(self.f_flags.val().index());
        self.m.next = self.insn.val().get_bits::<16>(self.f_m.val().index());
        self.k.next = self.insn.val().get_bits::<16>(self.f_k.val().index());
        self.n.next = self.insn.val().get_bits::<16>(self.f_n.val().index());
        self.a_bank.next = self.insn.val().get_bits::<4>(self.f_a_bank.val().index());
        self.a_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_a_addr.val().index());
        self.a_stride.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_a_stride.val().index());
        self.b_bank.next = self.insn.val().get_bits::<4>(self.f_b_bank.val().index());
        self.b_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_b_addr.val().index());
        self.b_stride.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_b_stride.val().index());
        self.b_group.next = self.insn.val().get_bits::<4>(self.f_b_group.val().index());
        self.o_bank.next = self.insn.val().get_bits::<4>(self.f_o_bank.val().index());
        self.o_hi_bank.next = self.insn.val().get_bits::<4>(self.f_o_hi_bank.val().index());
        self.o_group.next = self.insn.val().get_bits::<4>(self.f_o_group.val().index());
        self.o_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_o_addr.val().index());
        self.o_stride.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_o_stride.val().index());
        self.rs_bank.next = self.insn.val().get_bits::<4>(self.f_rs_bank.val().index());
        self.rs_addr.next = self.insn.val().get_bits::<SP_ADDR_BITS>(self.f_rs_addr.val().index());
        self.w_addr.next = self.insn.val().get_bits::<40>(self.f_w_addr.val().index());
        self.a_unsigned.next = self.flags.val().get_bit(0);
        self.onchip.next = self.flags.val().get_bit(1);
        self.columns.next = self.flags.val().get_bit(2);
        self.row_scale.next = self.flags.val().get_bit(3);
        self.o_mode.next = self.flags.val().get_bits::<2>(4);
        self.with_lut.next = self.o_mode.val() == self.om_lut.val();
        self.resid.next = self.o_mode.val() == self.om_resid.val();
        self.b_mode.next = self.bm_fifo.val();
        if self.onchip.val() {
            self.b_mode.next = self.bm_rows.val();
            if self.columns.val() {
                self.b_mode.next = self.bm_cols.val();
            }
        }

        // Words of the weight stream per n-tile: a header and (DRAM B) its k-tiles of R rows.
        self.k_tiles.next = (self.k.val() + self.k_round.val()) >> self.k_shift.val();
        self.n_tiles.next = (self.n.val() + self.n_round.val()) >> self.n_shift.val();
        self.words_per_n_tile.next = self.header_words.val();
        if !self.onchip.val() {
            self.words_per_n_tile.next = self.header_words.val() + (self.k_tiles.val() << self.k_shift.val());
        }

        // Field checks (`spec::isa::Insn::check`).
        self.bad.next = (self.m.val() == 0)
            || (self.m.val() > self.max_m.val())
            || (self.k.val() == 0)
            || (self.k.val() > self.max_w.val())
            || (self.n.val() == 0)
            || (self.n.val() > self.max_w.val())
            || (self.a_bank.val() > self.last_bank.val())
            || (self.o_bank.val() > self.last_bank.val())
            || (self.a_addr.val() > self.addr_max.val())
            || (self.a_stride.val() > self.addr_max.val())
            || (self.o_addr.val() > self.addr_max.val())
            || (self.o_stride.val() > self.addr_max.val())
            || ((self.w_addr.val() & self.align.val()) != 0)
            || ((self.flags.val() & self.undefined_flags.val()) != 0)
            || ((self.o_mode.val() == self.om_dup.val())
                && ((self.o_hi_bank.val() > self.last_bank.val()) || (self.o_hi_bank.val() == self.o_bank.val())))
            || (self.columns.val() && !self.onchip.val())
            || (self.row_scale.val() && self.onchip.val())
            || (self.o_group.val() > self.group_last.val())
            || (self.onchip.val()
                && ((self.b_bank.val() > self.last_bank.val())
                    || (self.b_addr.val() > self.addr_max.val())
                    || (self.b_stride.val() > self.addr_max.val())
                    || (self.b_bank.val() == self.a_bank.val())))
            || (self.onchip.val() && !self.columns.val() && (self.b_group.val() > self.group_last.val()))
            || (self.row_scale.val()
                && ((self.rs_bank.val() > self.last_bank.val())
                    || (self.rs_addr.val() > self.addr_max.val())
                    || (self.rs_bank.val() == self.a_bank.val())))
            || (self.resid.val()
                && ((self.o_hi_bank.val() > self.last_bank.val())
                    || (self.o_hi_bank.val() == self.o_bank.val())
                    || (self.o_bank.val() == self.a_bank.val())
                    || (self.o_hi_bank.val() == self.a_bank.val())))
            || (self.resid.val()
                && self.onchip.val()
                && ((self.b_bank.val() == self.o_bank.val()) || (self.b_bank.val() == self.o_hi_bank.val())))
            || (self.resid.val()
                && self.row_scale.val()
                && ((self.rs_bank.val() == self.o_bank.val()) || (self.rs_bank.val() == self.o_hi_bank.val())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spec::isa::{Field, Insn, Opcode, Word};

    /// A GEMM word with random fields, each drawn within the small config's limits 19 times in
    /// 20 (so that whole instructions pass often and each single check fails alone often).
    fn word() -> impl Strategy<Value = Word> {
        let small = |hi: u64| prop_oneof![19 => 0..hi, 1 => any::<u64>()];
        (
            (0u64..64, prop_oneof![9 => 0u64..64, 1 => any::<u64>()]),
            (small(40), small(5000), small(5000)),
            (small(13), small(1 << 14), small(1 << 14), small(13), small(1 << 14), small(1 << 14), small(2)),
            (small(13), small(13), small(2), small(1 << 14), small(1 << 14), small(13), small(1 << 14)),
            prop_oneof![19 => (0u64..1 << 20).prop_map(|a| a * 64), 1 => any::<u64>()],
        )
            .prop_map(
                |(
                    (flags, flags_wide),
                    (m, k, n),
                    (ab, aa, ast, bb, ba, bst, bg),
                    (ob, ohb, og, oa, ost, rb, ra),
                    w,
                )| {
                    let mut word: Word = [0; isa::INSN_BYTES];
                    isa::OPCODE.set(&mut word, Opcode::Gemm as u64);
                    let flags = if flags_wide > 63 { flags_wide } else { flags };
                    let set = |wd: &mut Word, f: Field, v: u64| f.set(wd, v & ((1u64 << f.width.min(63)) - 1));
                    set(&mut word, isa::GEMM_FLAGS, flags);
                    for (f, v) in [
                        (isa::GEMM_M, m),
                        (isa::GEMM_K, k),
                        (isa::GEMM_N, n),
                        (isa::GEMM_A_BANK, ab),
                        (isa::GEMM_A_ADDR, aa),
                        (isa::GEMM_A_STRIDE, ast),
                        (isa::GEMM_B_BANK, bb),
                        (isa::GEMM_B_ADDR, ba),
                        (isa::GEMM_B_STRIDE, bst),
                        (isa::GEMM_B_GROUP, bg),
                        (isa::GEMM_O_BANK, ob),
                        (isa::GEMM_O_HI_BANK, ohb),
                        (isa::GEMM_O_GROUP, og),
                        (isa::GEMM_O_ADDR, oa),
                        (isa::GEMM_O_STRIDE, ost),
                        (isa::GEMM_RS_BANK, rb),
                        (isa::GEMM_RS_ADDR, ra),
                        (isa::GEMM_W_ADDR, w),
                    ] {
                        set(&mut word, f, v);
                    }
                    word
                },
            )
    }

    fn bits(w: &Word) -> Bits<INSN_BITS> {
        let mut b = Bits::<INSN_BITS>::default();
        for i in 0..INSN_BITS {
            let f = Field { name: "bit", lsb: i as u32, width: 1 };
            b = b.replace_bit(i, f.get(w) == 1);
        }
        b
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Fields as `spec::isa` lays them out, and `bad` exactly when `spec::isa` rejects the
        /// instruction (decoding or checking).
        #[test]
        fn decodes_and_checks_like_spec(w in word()) {
            let cfg = spec::AccelConfig::small();
            let mut uut = GemmDecode::new(&cfg);
            uut.connect_all();
            uut.insn.next = bits(&w);
            simulate(&mut uut, 10);
            let spec_ok = Insn::decode(&w).and_then(|i| i.check(&cfg)).is_ok();
            prop_assert_eq!(uut.bad.val(), !spec_ok);
            prop_assert_eq!(uut.m.val().to_u64(), isa::GEMM_M.get(&w));
            prop_assert_eq!(uut.k.val().to_u64(), isa::GEMM_K.get(&w));
            prop_assert_eq!(uut.o_addr.val().to_u64(), isa::GEMM_O_ADDR.get(&w));
            prop_assert_eq!(uut.w_addr.val().to_u64(), isa::GEMM_W_ADDR.get(&w));
            prop_assert_eq!(uut.rs_addr.val().to_u64(), isa::GEMM_RS_ADDR.get(&w));
            if spec_ok {
                let k = isa::GEMM_K.get(&w) as usize;
                let n = isa::GEMM_N.get(&w) as usize;
                let flags = isa::GEMM_FLAGS.get(&w);
                let dram = flags & isa::gemm_flags::B_ONCHIP == 0;
                let lut = (flags >> isa::gemm_flags::MODE_SHIFT) & 3 == o_mode::LUT;
                let (r, c) = (cfg.array_rows, cfg.array_cols);
                let per = uut.words_per_n_tile.val().to_u64() as usize;
                let n_tiles = uut.n_tiles.val().to_u64() as usize;
                let words = n_tiles * per + if uut.with_lut.val() { isa::LUT_BYTES / r } else { 0 };
                prop_assert_eq!(words, isa::weight_stream_words(k, n, r, c, dram, lut));
            }
        }
    }

    #[test]
    fn verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut GemmDecode::new(&spec::AccelConfig::small()), "gemm_decode");
        crate::verilog::lint(&v, "gemm_decode").unwrap();
    }
}
