//! The DMA unit: LOAD (DRAM -> scratchpad bank) and STORE (bank -> DRAM), 2-D (rows of words
//! with independent strides on both sides). One instruction runs while the next waits in a
//! one-deep slot. Fields are checked when an instruction starts; a bad one is reported (and not
//! run).

use crate::storage::SP_ADDR_BITS;
use crate::InsnBits;
use rust_hdl::prelude::*;
use spec::isa;
use spec::regmap::error_code;

const D_IDLE: u64 = 0;
const D_CHECK: u64 = 1;
const D_LOAD: u64 = 2;
const D_STORE: u64 = 3;

/// The DMA unit for `W`-bit words with `BE` byte enables.
#[derive(LogicBlock)]
pub struct DmaUnit<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Instruction being dispatched.
    pub insn: Signal<In, InsnBits>,
    /// Its index.
    pub index: Signal<In, Bits<32>>,
    /// Dispatch strobe.
    pub valid: Signal<In, Bit>,
    /// The slot is free.
    pub ready: Signal<Out, Bit>,
    /// Nothing running or waiting.
    pub idle: Signal<Out, Bit>,
    /// An instruction completed (pulse).
    pub done: Signal<Out, Bit>,
    /// An instruction was rejected (pulse).
    pub error: Signal<Out, Bit>,
    /// Why.
    pub error_code: Signal<Out, Bits<8>>,
    /// Which.
    pub error_index: Signal<Out, Bits<32>>,
    /// Read command valid.
    pub rd_cmd_valid: Signal<Out, Bit>,
    /// Read command accepted.
    pub rd_cmd_ready: Signal<In, Bit>,
    /// Read command address.
    pub rd_cmd_addr: Signal<Out, Bits<40>>,
    /// Read command beats.
    pub rd_cmd_beats: Signal<Out, Bits<32>>,
    /// Read data.
    pub rd_data: Signal<In, Bits<W>>,
    /// A beat for this unit.
    pub rd_data_valid: Signal<In, Bit>,
    /// Beat taken.
    pub rd_data_ready: Signal<Out, Bit>,
    /// Write command valid.
    pub wr_cmd_valid: Signal<Out, Bit>,
    /// Write command accepted.
    pub wr_cmd_ready: Signal<In, Bit>,
    /// Write command address.
    pub wr_cmd_addr: Signal<Out, Bits<40>>,
    /// Write command beats.
    pub wr_cmd_beats: Signal<Out, Bits<32>>,
    /// Write data.
    pub wr_data: Signal<Out, Bits<W>>,
    /// Write data valid.
    pub wr_data_valid: Signal<Out, Bit>,
    /// Write data taken.
    pub wr_data_ready: Signal<In, Bit>,
    /// The write engine has answered every burst.
    pub wr_idle: Signal<In, Bit>,
    /// Scratchpad read enable (this unit uses its read port).
    pub sp_rd_en: Signal<Out, Bit>,
    /// Scratchpad read bank.
    pub sp_rd_bank: Signal<Out, Bits<4>>,
    /// Scratchpad read address.
    pub sp_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Scratchpad read data.
    pub sp_rd_data: Signal<In, Bits<W>>,
    /// Scratchpad write bank.
    pub sp_wr_bank: Signal<Out, Bits<4>>,
    /// Scratchpad write address.
    pub sp_wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Scratchpad write data.
    pub sp_wr_data: Signal<Out, Bits<W>>,
    /// Byte enables.
    pub sp_wr_be: Signal<Out, Bits<BE>>,
    /// Write strobe.
    pub sp_wr_en: Signal<Out, Bit>,

    pend_valid: DFF<Bit>,
    pend_insn: DFF<InsnBits>,
    pend_index: DFF<Bits<32>>,
    act: DFF<InsnBits>,
    act_index: DFF<Bits<32>>,
    state: DFF<Bits<2>>,
    row_issue: DFF<Bits<16>>,
    dram_row: DFF<Bits<40>>,
    row_data: DFF<Bits<16>>,
    word_data: DFF<Bits<32>>,
    sp_row: DFF<Bits<SP_ADDR_BITS>>,
    sp_word: DFF<Bits<SP_ADDR_BITS>>,
    st_phase: DFF<Bit>,
    done_r: DFF<Bit>,
    err_r: DFF<Bit>,
    rd_req: DFF<Bit>,
    wr_req: DFF<Bit>,
    is_store: Signal<Local, Bit>,
    bank: Signal<Local, Bits<4>>,
    addr: Signal<Local, Bits<20>>,
    rows: Signal<Local, Bits<16>>,
    stride: Signal<Local, Bits<20>>,
    words: Signal<Local, Bits<32>>,
    dram: Signal<Local, Bits<40>>,
    dram_stride: Signal<Local, Bits<40>>,
    bad: Signal<Local, Bit>,
    rd_want: Signal<Local, Bit>,
    wr_want: Signal<Local, Bit>,
    /// Fields of other units (Verilator's `*unused*` naming marks them as intentionally unread).
    unused_insn_bits: Signal<Local, Bit>,
    st_idle: Constant<Bits<2>>,
    st_check: Constant<Bits<2>>,
    st_load: Constant<Bits<2>>,
    st_store: Constant<Bits<2>>,
    f_bank: Constant<Bits<9>>,
    f_addr: Constant<Bits<9>>,
    f_rows: Constant<Bits<9>>,
    f_stride: Constant<Bits<9>>,
    f_words: Constant<Bits<9>>,
    f_dram: Constant<Bits<9>>,
    f_dram_stride: Constant<Bits<9>>,
    f_opcode: Constant<Bits<9>>,
    op_store: Constant<Bits<8>>,
    n_banks: Constant<Bits<4>>,
    addr_max: Constant<Bits<20>>,
    align: Constant<Bits<40>>,
    all_bytes: Constant<Bits<BE>>,
    code_field: Constant<Bits<8>>,
}

impl<const W: usize, const BE: usize> DmaUnit<W, BE> {
    /// A DMA unit for `cfg`.
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
        for (f, w) in [
            (isa::DMA_BANK, 4),
            (isa::DMA_ADDR, 20),
            (isa::DMA_ROWS, 16),
            (isa::DMA_STRIDE, 20),
            (isa::DMA_WORDS, 32),
            (isa::DMA_DRAM_ADDR, 40),
            (isa::DMA_DRAM_STRIDE, 40),
        ] {
            assert_eq!(f.width, w, "spec field {} changed width: update the DMA unit", f.name);
        }
        let f = |x: isa::Field| Constant::new(Bits::<9>::from(x.lsb as u64));
        DmaUnit {
            clock: Signal::default(),
            reset: Signal::default(),
            insn: Signal::default(),
            index: Signal::default(),
            valid: Signal::default(),
            ready: Signal::default(),
            idle: Signal::default(),
            done: Signal::default(),
            error: Signal::default(),
            error_code: Signal::default(),
            error_index: Signal::default(),
            rd_cmd_valid: Signal::default(),
            rd_cmd_ready: Signal::default(),
            rd_cmd_addr: Signal::default(),
            rd_cmd_beats: Signal::default(),
            rd_data: Signal::default(),
            rd_data_valid: Signal::default(),
            rd_data_ready: Signal::default(),
            wr_cmd_valid: Signal::default(),
            wr_cmd_ready: Signal::default(),
            wr_cmd_addr: Signal::default(),
            wr_cmd_beats: Signal::default(),
            wr_data: Signal::default(),
            wr_data_valid: Signal::default(),
            wr_data_ready: Signal::default(),
            wr_idle: Signal::default(),
            sp_rd_en: Signal::default(),
            sp_rd_bank: Signal::default(),
            sp_rd_addr: Signal::default(),
            sp_rd_data: Signal::default(),
            sp_wr_bank: Signal::default(),
            sp_wr_addr: Signal::default(),
            sp_wr_data: Signal::default(),
            sp_wr_be: Signal::default(),
            sp_wr_en: Signal::default(),
            pend_valid: DFF::default(),
            pend_insn: DFF::default(),
            pend_index: DFF::default(),
            act: DFF::default(),
            act_index: DFF::default(),
            state: DFF::default(),
            row_issue: DFF::default(),
            dram_row: DFF::default(),
            row_data: DFF::default(),
            word_data: DFF::default(),
            sp_row: DFF::default(),
            sp_word: DFF::default(),
            st_phase: DFF::default(),
            done_r: DFF::default(),
            err_r: DFF::default(),
            rd_req: DFF::default(),
            wr_req: DFF::default(),
            is_store: Signal::default(),
            bank: Signal::default(),
            addr: Signal::default(),
            rows: Signal::default(),
            stride: Signal::default(),
            words: Signal::default(),
            dram: Signal::default(),
            dram_stride: Signal::default(),
            bad: Signal::default(),
            rd_want: Signal::default(),
            wr_want: Signal::default(),
            unused_insn_bits: Signal::default(),
            st_idle: Constant::new(D_IDLE.into()),
            st_check: Constant::new(D_CHECK.into()),
            st_load: Constant::new(D_LOAD.into()),
            st_store: Constant::new(D_STORE.into()),
            f_bank: f(isa::DMA_BANK),
            f_addr: f(isa::DMA_ADDR),
            f_rows: f(isa::DMA_ROWS),
            f_stride: f(isa::DMA_STRIDE),
            f_words: f(isa::DMA_WORDS),
            f_dram: f(isa::DMA_DRAM_ADDR),
            f_dram_stride: f(isa::DMA_DRAM_STRIDE),
            f_opcode: f(isa::OPCODE),
            op_store: Constant::new(Bits::<8>::from(isa::Opcode::Store as u64)),
            n_banks: Constant::new(Bits::<4>::from(cfg.banks as u64 - 1)),
            addr_max: Constant::new(Bits::<20>::from(cfg.bank_words as u64 - 1)),
            align: Constant::new(Bits::<40>::from(cfg.word_bytes() as u64 - 1)),
            all_bytes: Constant::new(!Bits::<BE>::default()),
            code_field: Constant::new(Bits::<8>::from(error_code::BAD_FIELD as u64)),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for DmaUnit<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, pend_valid, pend_insn, pend_index, act, act_index, state, row_issue, dram_row, row_data,
            word_data, sp_row, sp_word, st_phase, done_r, err_r, rd_req, wr_req
        );
        self.unused_insn_bits.next = self.act.q.val().xor();
        // Fields of the active instruction.
        self.is_store.next = self.act.q.val().get_bits::<8>(self.f_opcode.val().index()) == self.op_store.val();
        self.bank.next = self.act.q.val().get_bits::<4>(self.f_bank.val().index());
        self.addr.next = self.act.q.val().get_bits::<20>(self.f_addr.val().index());
        self.rows.next = self.act.q.val().get_bits::<16>(self.f_rows.val().index());
        self.stride.next = self.act.q.val().get_bits::<20>(self.f_stride.val().index());
        self.words.next = self.act.q.val().get_bits::<32>(self.f_words.val().index());
        self.dram.next = self.act.q.val().get_bits::<40>(self.f_dram.val().index());
        self.dram_stride.next = self.act.q.val().get_bits::<40>(self.f_dram_stride.val().index());
        self.bad.next = (self.bank.val() > self.n_banks.val())
            || (self.addr.val() > self.addr_max.val())
            || (self.stride.val() > self.addr_max.val())
            || (self.rows.val() == 0)
            || (self.words.val() == 0)
            || ((self.dram.val() & self.align.val()) != 0)
            || ((self.dram_stride.val() & self.align.val()) != 0);

        // Defaults.
        self.done_r.d.next = false;
        self.err_r.d.next = false;
        // Command requests are registers, held until the arbiter (or write engine) takes them,
        // then one idle cycle while the row counter catches up: a request never depends on
        // this cycle's grant, so the arbiter's combinational grant forms no loop.
        self.rd_want.next = (self.state.q.val() == self.st_load.val()) && (self.row_issue.q.val() != self.rows.val());
        self.wr_want.next = (self.state.q.val() == self.st_store.val()) && (self.row_issue.q.val() != self.rows.val());
        Signal::<Out, Bit>::link(&mut self.rd_cmd_valid, &mut self.rd_req.q);
        Signal::<Out, Bit>::link(&mut self.wr_cmd_valid, &mut self.wr_req.q);
        self.rd_req.d.next =
            (self.rd_req.q.val() && !self.rd_cmd_ready.val()) || (!self.rd_req.q.val() && self.rd_want.val());
        self.wr_req.d.next =
            (self.wr_req.q.val() && !self.wr_cmd_ready.val()) || (!self.wr_req.q.val() && self.wr_want.val());
        self.rd_cmd_addr.next = self.dram_row.q.val();
        self.rd_cmd_beats.next = self.words.val();
        self.rd_data_ready.next = false;
        self.wr_cmd_addr.next = self.dram_row.q.val();
        self.wr_cmd_beats.next = self.words.val();
        self.wr_data.next = self.sp_rd_data.val();
        self.wr_data_valid.next = false;
        self.sp_rd_en.next = false;
        self.sp_rd_bank.next = self.bank.val();
        self.sp_rd_addr.next = self.sp_word.q.val();
        self.sp_wr_bank.next = self.bank.val();
        self.sp_wr_addr.next = self.sp_word.q.val();
        self.sp_wr_data.next = self.rd_data.val();
        self.sp_wr_be.next = self.all_bytes.val();
        self.sp_wr_en.next = false;

        // The slot.
        if self.valid.val() {
            self.pend_valid.d.next = true;
            self.pend_insn.d.next = self.insn.val();
            self.pend_index.d.next = self.index.val();
        }

        if self.state.q.val() == self.st_idle.val() {
            if self.pend_valid.q.val() {
                self.act.d.next = self.pend_insn.q.val();
                self.act_index.d.next = self.pend_index.q.val();
                self.pend_valid.d.next = self.valid.val();
                self.state.d.next = self.st_check.val();
            }
        } else if self.state.q.val() == self.st_check.val() {
            self.row_issue.d.next = 0.into();
            self.row_data.d.next = 0.into();
            self.word_data.d.next = 0.into();
            self.dram_row.d.next = self.dram.val();
            self.sp_row.d.next = self.addr.val();
            self.sp_word.d.next = self.addr.val();
            self.st_phase.d.next = false;
            if self.bad.val() {
                self.err_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            } else if self.is_store.val() {
                self.state.d.next = self.st_store.val();
            } else {
                self.state.d.next = self.st_load.val();
            }
        } else if self.state.q.val() == self.st_load.val() {
            // One read command per row; every beat goes to the bank.
            if self.rd_req.q.val() {
                if self.rd_cmd_ready.val() {
                    self.row_issue.d.next = self.row_issue.q.val() + 1;
                    self.dram_row.d.next = self.dram_row.q.val() + self.dram_stride.val();
                }
            }
            self.rd_data_ready.next = true;
            self.sp_wr_en.next = self.rd_data_valid.val();
            if self.rd_data_valid.val() {
                self.word_data.d.next = self.word_data.q.val() + 1;
                self.sp_word.d.next = self.sp_word.q.val() + 1;
                if self.word_data.q.val() + 1 == self.words.val() {
                    self.word_data.d.next = 0.into();
                    self.row_data.d.next = self.row_data.q.val() + 1;
                    self.sp_row.d.next = self.sp_row.q.val() + self.stride.val();
                    self.sp_word.d.next = self.sp_row.q.val() + self.stride.val();
                }
            }
            if self.row_data.q.val() == self.rows.val() {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        } else {
            // STORE: one write command per row; a word read from the bank every other cycle.
            if self.wr_req.q.val() {
                if self.wr_cmd_ready.val() {
                    self.row_issue.d.next = self.row_issue.q.val() + 1;
                    self.dram_row.d.next = self.dram_row.q.val() + self.dram_stride.val();
                }
            }
            self.sp_rd_en.next = true;
            if self.row_data.q.val() != self.rows.val() {
                if !self.st_phase.q.val() {
                    self.st_phase.d.next = true;
                } else {
                    self.wr_data_valid.next = true;
                    if self.wr_data_ready.val() {
                        self.st_phase.d.next = false;
                        self.word_data.d.next = self.word_data.q.val() + 1;
                        self.sp_word.d.next = self.sp_word.q.val() + 1;
                        if self.word_data.q.val() + 1 == self.words.val() {
                            self.word_data.d.next = 0.into();
                            self.row_data.d.next = self.row_data.q.val() + 1;
                            self.sp_row.d.next = self.sp_row.q.val() + self.stride.val();
                            self.sp_word.d.next = self.sp_row.q.val() + self.stride.val();
                        }
                    }
                }
            } else if self.wr_idle.val() && (self.row_issue.q.val() == self.rows.val()) {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.pend_valid.d.next = false;
            self.rd_req.d.next = false;
            self.wr_req.d.next = false;
        }
        self.ready.next = !self.pend_valid.q.val();
        self.idle.next = !self.pend_valid.q.val() && (self.state.q.val() == self.st_idle.val());
        self.done.next = self.done_r.q.val();
        self.error.next = self.err_r.q.val();
        self.error_code.next = self.code_field.val();
        self.error_index.next = self.act_index.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dma_unit_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut DmaUnit::<64, 8>::new(&spec::AccelConfig::small()), "dma");
        crate::verilog::lint(&v, "dma").unwrap();
    }
}
