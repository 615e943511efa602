//! The GEMM unit: takes GEMM instructions from the controller (one running, one waiting in a
//! slot), checks their fields, streams the weight stream from DRAM into the weight FIFO in
//! chunks that always fit (so its read data never stalls the shared read channel), and runs the
//! [`GemmEngine`]. Its scratchpad ports (A, B, X, output) go to the bank crossbar.

use crate::bus::{ReadClient, SpReadClient, SpWriteClient, UnitPort, INSN_BITS};
use crate::gemm::{b_mode, GemmEngine};
use crate::mul::Mul;
use crate::storage::{WordFifo, SP_ADDR_BITS};
use crate::widen::Extend;
use rust_hdl::prelude::*;
use spec::isa;
use spec::regmap::error_code;

const U_IDLE: u64 = 0;
const U_CHECK: u64 = 1;
const U_RUN: u64 = 2;
const U_PREP: u64 = 3;

/// The GEMM unit for `W = 8R`-bit words with `BE = R` byte enables.
#[derive(LogicBlock)]
pub struct GemmUnit<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Dispatch from and completion to the controller.
    pub dispatch: UnitPort,
    /// Reads the weight stream from DRAM.
    pub rd: ReadClient<W>,
    /// Reads operand A.
    pub sp_a: SpReadClient<W>,
    /// Reads operand B or the row scales.
    pub sp_b: SpReadClient<W>,
    /// Reads the residual's low plane.
    pub sp_x_lo: SpReadClient<W>,
    /// Reads the residual's high plane (same addresses as the low plane).
    pub sp_x_hi: SpReadClient<W>,
    /// Writes the output (int8, or the residual's low plane).
    pub sp_out_lo: SpWriteClient<W, BE>,
    /// Writes the residual output's high plane (same addresses and enables as the low plane).
    pub sp_out_hi: SpWriteClient<W, BE>,
    /// A row entered the array this cycle.
    pub active: Signal<Out, Bit>,
    engine: GemmEngine<W, BE>,
    fifo: WordFifo<W>,
    words_mul: Mul<16, 16, 32>,
    pend_valid: DFF<Bit>,
    pend_insn: DFF<Bits<INSN_BITS>>,
    pend_index: DFF<Bits<32>>,
    act: DFF<Bits<INSN_BITS>>,
    act_index: DFF<Bits<32>>,
    state: DFF<Bits<2>>,
    words_left: DFF<Bits<32>>,
    inflight: DFF<Bits<32>>,
    fetch_addr: DFF<Bits<40>>,
    engine_done: DFF<Bit>,
    done_r: DFF<Bit>,
    err_r: DFF<Bit>,
    mul_nt: DFF<Bits<16>>,
    mul_per: DFF<Bits<16>>,
    chunk_r: DFF<Bits<32>>,
    cmd_pending: DFF<Bit>,
    ext_count: Extend<32, 16>,
    opcode_unused: Signal<Local, Bit>,
    unused_insn_bits: Signal<Local, Bit>,
    flags: Signal<Local, Bits<8>>,
    m: Signal<Local, Bits<16>>,
    k: Signal<Local, Bits<16>>,
    n: Signal<Local, Bits<16>>,
    fa_bank: Signal<Local, Bits<4>>,
    fa_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    fa_stride: Signal<Local, Bits<SP_ADDR_BITS>>,
    fb_bank: Signal<Local, Bits<4>>,
    fb_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    fb_stride: Signal<Local, Bits<SP_ADDR_BITS>>,
    fb_group: Signal<Local, Bits<4>>,
    fo_bank: Signal<Local, Bits<4>>,
    fo_hi_bank: Signal<Local, Bits<4>>,
    fo_group: Signal<Local, Bits<4>>,
    fo_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    fo_stride: Signal<Local, Bits<SP_ADDR_BITS>>,
    frs_bank: Signal<Local, Bits<4>>,
    frs_addr: Signal<Local, Bits<SP_ADDR_BITS>>,
    fw_addr: Signal<Local, Bits<40>>,
    onchip: Signal<Local, Bit>,
    columns: Signal<Local, Bit>,
    row_scale: Signal<Local, Bit>,
    mode: Signal<Local, Bits<2>>,
    lut: Signal<Local, Bit>,
    resid: Signal<Local, Bit>,
    kt: Signal<Local, Bits<16>>,
    nt: Signal<Local, Bits<16>>,
    per_nt: Signal<Local, Bits<16>>,
    total_words: Signal<Local, Bits<32>>,
    bad: Signal<Local, Bit>,
    credit: Signal<Local, Bits<32>>,
    free: Signal<Local, Bits<32>>,
    issue: Signal<Local, Bit>,
    ext_chunk40: Extend<40, 32>,
    st_idle: Constant<Bits<2>>,
    st_check: Constant<Bits<2>>,
    st_run: Constant<Bits<2>>,
    st_prep: Constant<Bits<2>>,
    n_banks: Constant<Bits<4>>,
    addr_max: Constant<Bits<SP_ADDR_BITS>>,
    align: Constant<Bits<40>>,
    code_field: Constant<Bits<8>>,
    max_m: Constant<Bits<16>>,
    max_w: Constant<Bits<16>>,
    group_last: Constant<Bits<4>>,
    undefined_flags: Constant<Bits<8>>,
    k_round: Constant<Bits<16>>,
    k_shift: Constant<Bits<16>>,
    n_round: Constant<Bits<16>>,
    n_shift: Constant<Bits<16>>,
    hdr_words: Constant<Bits<16>>,
    lut_words: Constant<Bits<32>>,
    fifo_depth: Constant<Bits<32>>,
    min_chunk: Constant<Bits<32>>,
    word_shift: Constant<Bits<40>>,
    bm_rows: Constant<Bits<2>>,
    bm_cols: Constant<Bits<2>>,
    bm_fifo: Constant<Bits<2>>,
    mode_dup: Constant<Bits<2>>,
    mode_lut: Constant<Bits<2>>,
    mode_resid: Constant<Bits<2>>,
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

impl<const W: usize, const BE: usize> GemmUnit<W, BE> {
    /// A GEMM unit for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
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
            assert_eq!(fld.width, w, "spec field {} changed width: update the GEMM unit", fld.name);
        }
        let f = |x: isa::Field| Constant::new(Bits::<9>::from(x.lsb as u64));
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        GemmUnit {
            clock: Signal::default(),
            reset: Signal::default(),
            dispatch: UnitPort::default(),
            rd: ReadClient::default(),
            sp_a: SpReadClient::default(),
            sp_b: SpReadClient::default(),
            sp_x_lo: SpReadClient::default(),
            sp_x_hi: SpReadClient::default(),
            sp_out_lo: SpWriteClient::default(),
            sp_out_hi: SpWriteClient::default(),
            active: Signal::default(),
            engine: GemmEngine::new(rows, cols, cfg.max_tokens.next_power_of_two(), cfg.weight_fifo_words),
            fifo: WordFifo::new(cfg.weight_fifo_words),
            words_mul: Mul::new(false, false),
            pend_valid: DFF::default(),
            pend_insn: DFF::default(),
            pend_index: DFF::default(),
            act: DFF::default(),
            act_index: DFF::default(),
            state: DFF::default(),
            words_left: DFF::default(),
            inflight: DFF::default(),
            fetch_addr: DFF::default(),
            engine_done: DFF::default(),
            done_r: DFF::default(),
            err_r: DFF::default(),
            mul_nt: DFF::default(),
            mul_per: DFF::default(),
            chunk_r: DFF::default(),
            cmd_pending: DFF::default(),
            ext_count: Extend::new(false),
            opcode_unused: Signal::default(),
            unused_insn_bits: Signal::default(),
            flags: Signal::default(),
            m: Signal::default(),
            k: Signal::default(),
            n: Signal::default(),
            fa_bank: Signal::default(),
            fa_addr: Signal::default(),
            fa_stride: Signal::default(),
            fb_bank: Signal::default(),
            fb_addr: Signal::default(),
            fb_stride: Signal::default(),
            fb_group: Signal::default(),
            fo_bank: Signal::default(),
            fo_hi_bank: Signal::default(),
            fo_group: Signal::default(),
            fo_addr: Signal::default(),
            fo_stride: Signal::default(),
            frs_bank: Signal::default(),
            frs_addr: Signal::default(),
            fw_addr: Signal::default(),
            onchip: Signal::default(),
            columns: Signal::default(),
            row_scale: Signal::default(),
            mode: Signal::default(),
            lut: Signal::default(),
            resid: Signal::default(),
            kt: Signal::default(),
            nt: Signal::default(),
            per_nt: Signal::default(),
            total_words: Signal::default(),
            bad: Signal::default(),
            credit: Signal::default(),
            free: Signal::default(),
            issue: Signal::default(),
            ext_chunk40: Extend::new(false),
            st_idle: Constant::new(U_IDLE.into()),
            st_check: Constant::new(U_CHECK.into()),
            st_run: Constant::new(U_RUN.into()),
            st_prep: Constant::new(U_PREP.into()),
            n_banks: Constant::new(Bits::<4>::from(cfg.banks as u64 - 1)),
            addr_max: Constant::new(Bits::<SP_ADDR_BITS>::from(cfg.bank_words as u64 - 1)),
            align: Constant::new(Bits::<40>::from(cfg.word_bytes() as u64 - 1)),
            code_field: Constant::new(Bits::<8>::from(error_code::BAD_FIELD as u64)),
            max_m: c16(cfg.max_tokens as u64),
            max_w: c16(cfg.max_width.min(0xffff) as u64),
            group_last: Constant::new(Bits::<4>::from((rows / cols - 1) as u64)),
            undefined_flags: Constant::new(Bits::<8>::from(!isa::gemm_flags::DEFINED & 0xff)),
            k_round: c16(rows as u64 - 1),
            k_shift: c16(rows.trailing_zeros() as u64),
            n_round: c16(cols as u64 - 1),
            n_shift: c16(cols.trailing_zeros() as u64),
            hdr_words: c16((isa::weight_header_bytes(cols) / rows) as u64),
            lut_words: Constant::new(Bits::<32>::from((isa::LUT_BYTES / rows) as u64)),
            fifo_depth: Constant::new(Bits::<32>::from(cfg.weight_fifo_words as u64)),
            min_chunk: Constant::new(Bits::<32>::from((cfg.weight_fifo_words / 2) as u64)),
            word_shift: Constant::new(Bits::<40>::from(cfg.word_bytes().trailing_zeros() as u64)),
            bm_rows: Constant::new(b_mode::ROWS.into()),
            bm_cols: Constant::new(b_mode::COLUMNS.into()),
            bm_fifo: Constant::new(b_mode::FIFO.into()),
            mode_dup: Constant::new(3u64.into()),
            mode_lut: Constant::new(1u64.into()),
            mode_resid: Constant::new(2u64.into()),
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

impl<const W: usize, const BE: usize> Logic for GemmUnit<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            pend_valid,
            pend_insn,
            pend_index,
            act,
            act_index,
            state,
            words_left,
            inflight,
            fetch_addr,
            engine_done,
            done_r,
            err_r,
            mul_nt,
            mul_per,
            chunk_r,
            cmd_pending
        );
        self.engine.clock.next = self.clock.val();
        self.engine.reset.next = self.reset.val();
        self.fifo.clock.next = self.clock.val();
        self.fifo.reset.next = self.reset.val();
        self.unused_insn_bits.next = self.act.q.val().xor();

        // ---------------- decode the active instruction ----------------
        self.flags.next = self.act.q.val().get_bits::<8>(self.f_flags.val().index());
        self.m.next = self.act.q.val().get_bits::<16>(self.f_m.val().index());
        self.k.next = self.act.q.val().get_bits::<16>(self.f_k.val().index());
        self.n.next = self.act.q.val().get_bits::<16>(self.f_n.val().index());
        self.fa_bank.next = self.act.q.val().get_bits::<4>(self.f_a_bank.val().index());
        self.fa_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_a_addr.val().index());
        self.fa_stride.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_a_stride.val().index());
        self.fb_bank.next = self.act.q.val().get_bits::<4>(self.f_b_bank.val().index());
        self.fb_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_b_addr.val().index());
        self.fb_stride.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_b_stride.val().index());
        self.fb_group.next = self.act.q.val().get_bits::<4>(self.f_b_group.val().index());
        self.fo_bank.next = self.act.q.val().get_bits::<4>(self.f_o_bank.val().index());
        self.fo_hi_bank.next = self.act.q.val().get_bits::<4>(self.f_o_hi_bank.val().index());
        self.fo_group.next = self.act.q.val().get_bits::<4>(self.f_o_group.val().index());
        self.fo_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_o_addr.val().index());
        self.fo_stride.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_o_stride.val().index());
        self.frs_bank.next = self.act.q.val().get_bits::<4>(self.f_rs_bank.val().index());
        self.frs_addr.next = self.act.q.val().get_bits::<SP_ADDR_BITS>(self.f_rs_addr.val().index());
        self.fw_addr.next = self.act.q.val().get_bits::<40>(self.f_w_addr.val().index());
        self.opcode_unused.next = self.act.q.val().get_bits::<8>(self.f_opcode.val().index()).xor();
        self.onchip.next = self.flags.val().get_bit(1);
        self.columns.next = self.flags.val().get_bit(2);
        self.row_scale.next = self.flags.val().get_bit(3);
        self.mode.next = self.flags.val().get_bits::<2>(4);
        self.lut.next = self.mode.val() == self.mode_lut.val();
        self.resid.next = self.mode.val() == self.mode_resid.val();

        // Words of the weight stream: the LUT, then per n-tile a header and (DRAM B) the tiles.
        self.kt.next = (self.k.val() + self.k_round.val()) >> self.k_shift.val();
        self.nt.next = (self.n.val() + self.n_round.val()) >> self.n_shift.val();
        self.per_nt.next = self.hdr_words.val();
        if !self.onchip.val() {
            self.per_nt.next = self.hdr_words.val() + (self.kt.val() << self.k_shift.val());
        }
        // The multiplier and the FIFO-count extension are fed straight from registers (join:
        // separate Verilog statements), so Verilator sees no loop through this block.
        Signal::<In, Bits<16>>::join(&mut self.words_mul.a, &mut self.mul_nt.q);
        Signal::<In, Bits<16>>::join(&mut self.words_mul.b, &mut self.mul_per.q);
        Signal::<In, Bits<16>>::join(&mut self.ext_count.din, &mut self.fifo.count);
        Signal::<In, Bits<32>>::join(&mut self.ext_chunk40.din, &mut self.chunk_r.q);
        self.total_words.next = self.words_mul.p.val();
        if self.lut.val() {
            self.total_words.next = self.words_mul.p.val() + self.lut_words.val();
        }

        // Field checks (the golden backend applies the same rules).
        self.bad.next = (self.m.val() == 0)
            || (self.m.val() > self.max_m.val())
            || (self.k.val() == 0)
            || (self.k.val() > self.max_w.val())
            || (self.n.val() == 0)
            || (self.n.val() > self.max_w.val())
            || (self.fa_bank.val() > self.n_banks.val())
            || (self.fo_bank.val() > self.n_banks.val())
            || (self.fa_addr.val() > self.addr_max.val())
            || (self.fa_stride.val() > self.addr_max.val())
            || (self.fo_addr.val() > self.addr_max.val())
            || (self.fo_stride.val() > self.addr_max.val())
            || ((self.fw_addr.val() & self.align.val()) != 0)
            || ((self.flags.val() & self.undefined_flags.val()) != 0)
            || ((self.mode.val() == self.mode_dup.val())
                && ((self.fo_hi_bank.val() > self.n_banks.val()) || (self.fo_hi_bank.val() == self.fo_bank.val())))
            || (self.columns.val() && !self.onchip.val())
            || (self.row_scale.val() && self.onchip.val())
            || (self.fo_group.val() > self.group_last.val())
            || (self.onchip.val()
                && ((self.fb_bank.val() > self.n_banks.val())
                    || (self.fb_addr.val() > self.addr_max.val())
                    || (self.fb_stride.val() > self.addr_max.val())
                    || (self.fb_bank.val() == self.fa_bank.val())))
            || (self.onchip.val() && !self.columns.val() && (self.fb_group.val() > self.group_last.val()))
            || (self.row_scale.val()
                && ((self.frs_bank.val() > self.n_banks.val())
                    || (self.frs_addr.val() > self.addr_max.val())
                    || (self.frs_bank.val() == self.fa_bank.val())))
            || (self.resid.val()
                && ((self.fo_hi_bank.val() > self.n_banks.val())
                    || (self.fo_hi_bank.val() == self.fo_bank.val())
                    || (self.fo_bank.val() == self.fa_bank.val())
                    || (self.fo_hi_bank.val() == self.fa_bank.val())))
            || (self.resid.val()
                && self.onchip.val()
                && ((self.fb_bank.val() == self.fo_bank.val()) || (self.fb_bank.val() == self.fo_hi_bank.val())))
            || (self.resid.val()
                && self.row_scale.val()
                && ((self.frs_bank.val() == self.fo_bank.val()) || (self.frs_bank.val() == self.fo_hi_bank.val())));

        // ---------------- engine operands ----------------
        self.engine.start.next = false;
        self.engine.m.next = self.m.val();
        self.engine.k.next = self.k.val();
        self.engine.n.next = self.n.val();
        self.engine.a_addr.next = self.fa_addr.val();
        self.engine.a_stride.next = self.fa_stride.val();
        self.engine.a_unsigned.next = self.flags.val().get_bit(0);
        self.engine.b_mode.next = self.bm_fifo.val();
        if self.onchip.val() {
            self.engine.b_mode.next = self.bm_rows.val();
            if self.columns.val() {
                self.engine.b_mode.next = self.bm_cols.val();
            }
        }
        self.engine.b_addr.next = self.fb_addr.val();
        self.engine.b_stride.next = self.fb_stride.val();
        self.engine.b_group.next = self.fb_group.val();
        self.engine.rs_en.next = self.row_scale.val();
        self.engine.rs_addr.next = self.frs_addr.val();
        self.engine.o_addr.next = self.fo_addr.val();
        self.engine.o_stride.next = self.fo_stride.val();
        self.engine.o_group.next = self.fo_group.val();
        self.engine.o_mode.next = self.mode.val();

        // ---------------- weight stream ----------------
        self.engine.wf_data.next = self.fifo.dout.val();
        self.engine.wf_count.next = self.fifo.count.val();
        self.fifo.pop.next = self.engine.wf_pop.val();
        self.fifo.din.next = self.rd.data.val();
        self.fifo.push.next = self.rd.data_valid.val();
        self.rd.data_ready.next = true;
        // Free FIFO space not yet promised to a command in flight; a command is sized one cycle
        // (chunk_r) and issued the next, so its data never waits for FIFO space.
        self.credit.next = self.fifo_depth.val() - self.ext_count.dout.val() - self.inflight.q.val();
        if (self.state.q.val() == self.st_run.val()) && !self.cmd_pending.q.val() && (self.words_left.q.val() != 0) {
            if self.words_left.q.val() <= self.credit.val() {
                self.chunk_r.d.next = self.words_left.q.val();
                self.cmd_pending.d.next = true;
            } else if self.credit.val() >= self.min_chunk.val() {
                self.chunk_r.d.next = self.credit.val();
                self.cmd_pending.d.next = true;
            }
        }
        self.issue.next = self.cmd_pending.q.val();
        self.rd.cmd_valid.next = self.issue.val();
        self.rd.cmd_addr.next = self.fetch_addr.q.val();
        self.rd.cmd_beats.next = self.chunk_r.q.val();
        self.free.next = self.inflight.q.val();
        if self.issue.val() && self.rd.cmd_ready.val() {
            self.cmd_pending.d.next = false;
            self.free.next = self.inflight.q.val() + self.chunk_r.q.val();
            self.words_left.d.next = self.words_left.q.val() - self.chunk_r.q.val();
            self.fetch_addr.d.next = self.fetch_addr.q.val() + (self.ext_chunk40.dout.val() << self.word_shift.val());
        }
        self.inflight.d.next = self.free.val();
        if self.rd.data_valid.val() {
            self.inflight.d.next = self.free.val() - 1;
        }

        // ---------------- slot and state machine ----------------
        self.done_r.d.next = false;
        self.err_r.d.next = false;
        if self.dispatch.valid.val() {
            self.pend_valid.d.next = true;
            self.pend_insn.d.next = self.dispatch.insn.val();
            self.pend_index.d.next = self.dispatch.index.val();
        }
        if self.engine.done.val() {
            self.engine_done.d.next = true;
        }
        if self.state.q.val() == self.st_idle.val() {
            if self.pend_valid.q.val() {
                self.act.d.next = self.pend_insn.q.val();
                self.act_index.d.next = self.pend_index.q.val();
                self.pend_valid.d.next = self.dispatch.valid.val();
                self.state.d.next = self.st_check.val();
            }
        } else if self.state.q.val() == self.st_check.val() {
            self.mul_nt.d.next = self.nt.val();
            self.mul_per.d.next = self.per_nt.val();
            self.engine_done.d.next = false;
            self.cmd_pending.d.next = false;
            if self.bad.val() {
                self.err_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            } else {
                self.state.d.next = self.st_prep.val();
            }
        } else if self.state.q.val() == self.st_prep.val() {
            self.words_left.d.next = self.total_words.val();
            self.fetch_addr.d.next = self.fw_addr.val();
            self.engine.start.next = true;
            self.state.d.next = self.st_run.val();
        } else if self.state.q.val() == self.st_run.val() {
            if self.engine_done.q.val() && (self.words_left.q.val() == 0) && (self.inflight.q.val() == 0) {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.pend_valid.d.next = false;
            self.cmd_pending.d.next = false;
            self.inflight.d.next = 0.into();
            self.words_left.d.next = 0.into();
        }
        self.dispatch.ready.next = !self.pend_valid.q.val();
        self.dispatch.idle.next = !self.pend_valid.q.val() && (self.state.q.val() == self.st_idle.val());
        self.dispatch.done.next = self.done_r.q.val();
        self.dispatch.error.next = self.err_r.q.val();
        self.dispatch.error_code.next = self.code_field.val();
        self.dispatch.error_index.next = self.act_index.q.val();

        // ---------------- scratchpad ports ----------------
        self.active.next = self.engine.active.val();
        self.sp_a.en.next = self.engine.a_rd_en.val();
        self.sp_a.bank.next = self.fa_bank.val();
        self.sp_a.addr.next = self.engine.a_rd_addr.val();
        self.engine.a_rd_data.next = self.sp_a.data.val();
        self.sp_b.en.next = self.engine.b_rd_en.val();
        self.sp_b.bank.next = self.fb_bank.val();
        if self.row_scale.val() {
            self.sp_b.bank.next = self.frs_bank.val();
        }
        self.sp_b.addr.next = self.engine.b_rd_addr.val();
        self.engine.b_rd_data.next = self.sp_b.data.val();
        self.sp_x_lo.en.next = self.engine.x_rd_en.val();
        self.sp_x_hi.en.next = self.engine.x_rd_en.val();
        self.sp_x_lo.bank.next = self.fo_bank.val();
        self.sp_x_hi.bank.next = self.fo_hi_bank.val();
        self.sp_x_lo.addr.next = self.engine.x_rd_addr.val();
        self.sp_x_hi.addr.next = self.engine.x_rd_addr.val();
        self.engine.x_lo_data.next = self.sp_x_lo.data.val();
        self.engine.x_hi_data.next = self.sp_x_hi.data.val();
        self.sp_out_lo.en.next = self.engine.o_wr_en.val();
        self.sp_out_hi.en.next = self.engine.o_hi_en.val();
        self.sp_out_lo.bank.next = self.fo_bank.val();
        self.sp_out_hi.bank.next = self.fo_hi_bank.val();
        self.sp_out_lo.addr.next = self.engine.o_wr_addr.val();
        self.sp_out_hi.addr.next = self.engine.o_wr_addr.val();
        self.sp_out_lo.data.next = self.engine.o_wr_data.val();
        self.sp_out_hi.data.next = self.engine.o_hi_data.val();
        self.sp_out_lo.be.next = self.engine.o_wr_be.val();
        self.sp_out_hi.be.next = self.engine.o_wr_be.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_unit_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut GemmUnit::<64, 8>::new(&spec::AccelConfig::small()), "gemm_unit");
        crate::verilog::lint(&v, "gemm_unit").unwrap();
    }
}
