//! The DMA unit: LOAD (DRAM -> scratchpad bank) and STORE (bank -> DRAM), 2-D (rows of words
//! with independent strides on both sides). One instruction runs while the next waits in a
//! one-deep slot. Fields are checked when an instruction starts; a bad one is reported (and not
//! run).

use crate::bus::{ReadClient, SpReadClient, SpWriteClient, UnitPort, WriteClient, INSN_BITS};
use crate::storage::SP_ADDR_BITS;
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
    /// Dispatch from and completion to the controller.
    pub dispatch: UnitPort,
    /// Reads from DRAM (LOAD).
    pub rd: ReadClient<W>,
    /// Writes to DRAM (STORE).
    pub wr: WriteClient<W>,
    /// Reads the scratchpad (STORE).
    pub sp_rd: SpReadClient<W>,
    /// Writes the scratchpad (LOAD).
    pub sp_wr: SpWriteClient<W, BE>,

    pend_valid: DFF<Bit>,
    pend_insn: DFF<Bits<INSN_BITS>>,
    pend_index: DFF<Bits<32>>,
    act: DFF<Bits<INSN_BITS>>,
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
    cmd_taken: Signal<Local, Bit>,
    word_moved: Signal<Local, Bit>,
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
            dispatch: UnitPort::default(),
            rd: ReadClient::default(),
            wr: WriteClient::default(),
            sp_rd: SpReadClient::default(),
            sp_wr: SpWriteClient::default(),
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
            cmd_taken: Signal::default(),
            word_moved: Signal::default(),
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
        Signal::<Out, Bit>::link(&mut self.rd.cmd_valid, &mut self.rd_req.q);
        Signal::<Out, Bit>::link(&mut self.wr.cmd_valid, &mut self.wr_req.q);
        self.rd_req.d.next =
            (self.rd_req.q.val() && !self.rd.cmd_ready.val()) || (!self.rd_req.q.val() && self.rd_want.val());
        self.wr_req.d.next =
            (self.wr_req.q.val() && !self.wr.cmd_ready.val()) || (!self.wr_req.q.val() && self.wr_want.val());
        self.cmd_taken.next =
            ((self.state.q.val() == self.st_load.val()) && self.rd_req.q.val() && self.rd.cmd_ready.val())
                || ((self.state.q.val() == self.st_store.val()) && self.wr_req.q.val() && self.wr.cmd_ready.val());
        self.word_moved.next = ((self.state.q.val() == self.st_load.val()) && self.rd.data_valid.val())
            || ((self.state.q.val() == self.st_store.val())
                && (self.row_data.q.val() != self.rows.val())
                && self.st_phase.q.val()
                && self.wr.data_ready.val());
        self.rd.cmd_addr.next = self.dram_row.q.val();
        self.rd.cmd_beats.next = self.words.val();
        self.rd.data_ready.next = false;
        self.wr.cmd_addr.next = self.dram_row.q.val();
        self.wr.cmd_beats.next = self.words.val();
        self.wr.data.next = self.sp_rd.data.val();
        self.wr.data_valid.next = false;
        self.sp_rd.en.next = false;
        self.sp_rd.bank.next = self.bank.val();
        self.sp_rd.addr.next = self.sp_word.q.val();
        self.sp_wr.bank.next = self.bank.val();
        self.sp_wr.addr.next = self.sp_word.q.val();
        self.sp_wr.data.next = self.rd.data.val();
        self.sp_wr.be.next = self.all_bytes.val();
        self.sp_wr.en.next = false;

        // The slot.
        if self.dispatch.valid.val() {
            self.pend_valid.d.next = true;
            self.pend_insn.d.next = self.dispatch.insn.val();
            self.pend_index.d.next = self.dispatch.index.val();
        }

        if self.state.q.val() == self.st_idle.val() {
            if self.pend_valid.q.val() {
                self.act.d.next = self.pend_insn.q.val();
                self.act_index.d.next = self.pend_index.q.val();
                self.pend_valid.d.next = self.dispatch.valid.val();
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
            self.rd.data_ready.next = true;
            self.sp_wr.en.next = self.rd.data_valid.val();
            if self.row_data.q.val() == self.rows.val() {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        } else {
            // STORE: one write command per row; a word read from the bank every other cycle.
            self.sp_rd.en.next = true;
            if self.row_data.q.val() != self.rows.val() {
                if !self.st_phase.q.val() {
                    self.st_phase.d.next = true;
                } else {
                    self.wr.data_valid.next = true;
                    if self.wr.data_ready.val() {
                        self.st_phase.d.next = false;
                    }
                }
            } else if self.wr.idle.val() && (self.row_issue.q.val() == self.rows.val()) {
                self.done_r.d.next = true;
                self.state.d.next = self.st_idle.val();
            }
        }
        // Both directions: a command taken moves on to the next DRAM row, a word moved to the next
        // bank word (and after the row's last word to the next row).
        if self.cmd_taken.val() {
            self.row_issue.d.next = self.row_issue.q.val() + 1;
            self.dram_row.d.next = self.dram_row.q.val() + self.dram_stride.val();
        }
        if self.word_moved.val() {
            self.word_data.d.next = self.word_data.q.val() + 1;
            self.sp_word.d.next = self.sp_word.q.val() + 1;
            if self.word_data.q.val() + 1 == self.words.val() {
                self.word_data.d.next = 0.into();
                self.row_data.d.next = self.row_data.q.val() + 1;
                self.sp_row.d.next = self.sp_row.q.val() + self.stride.val();
                self.sp_word.d.next = self.sp_row.q.val() + self.stride.val();
            }
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.pend_valid.d.next = false;
            self.rd_req.d.next = false;
            self.wr_req.d.next = false;
        }
        self.dispatch.ready.next = !self.pend_valid.q.val();
        self.dispatch.idle.next = !self.pend_valid.q.val() && (self.state.q.val() == self.st_idle.val());
        self.dispatch.done.next = self.done_r.q.val();
        self.dispatch.error.next = self.err_r.q.val();
        self.dispatch.error_code.next = self.code_field.val();
        self.dispatch.error_index.next = self.act_index.q.val();
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
