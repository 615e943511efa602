//! The controller: fetches 256-bit instructions over the AXI4 read engine, checks them, and runs
//! them one at a time: LOAD/STORE (2-D DMA between DRAM and a scratchpad bank) and GEMM (weight
//! stream into the FIFO while the GEMM engine runs). It owns the scratchpad ports (muxed to
//! whichever unit the current instruction uses) and the status counters of the register map.
//!
//! Field positions come from `spec::isa` (as constants), widths are checked against it in `new`.

use crate::storage::{FIFO_COUNT_BITS, SP_ADDR_BITS};
use rust_hdl::prelude::*;
use spec::isa;
use spec::regmap::error_code;

// Controller states: idle, fetch (read command), fetch_wait (collect beats), decode (check),
// load/store (2-D DMA), gemm_start (FIFO reset, weight stream, engine start), gemm, next.
const C_IDLE: u64 = 0;
const C_FETCH: u64 = 1;
const C_FETCH_WAIT: u64 = 2;
const C_DECODE: u64 = 3;
const C_LOAD: u64 = 4;
const C_STORE: u64 = 5;
const C_GEMM_START: u64 = 6;
const C_GEMM: u64 = 7;
const C_NEXT: u64 = 8;

/// Instruction register: shifts in `256 / W` beats (`W < 256`), takes one beat (`W = 256`) or the
/// `sel`-th 256-bit slice of a beat (`W > 256`). A leaf primitive with a Verilog body.
#[derive(LogicBlock)]
pub struct InsnReg<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Take `beat`.
    pub load: Signal<In, Bit>,
    /// A read beat.
    pub beat: Signal<In, Bits<W>>,
    /// Which 256-bit slice of a wide beat (ignored for `W <= 256`).
    pub sel: Signal<In, Bits<8>>,
    /// The instruction.
    pub insn: Signal<Out, Bits<256>>,
}

impl<const W: usize> Default for InsnReg<W> {
    fn default() -> Self {
        InsnReg {
            clock: Signal::default(),
            load: Signal::default(),
            beat: Signal::default(),
            sel: Signal::default(),
            insn: Signal::default(),
        }
    }
}

impl<const W: usize> Logic for InsnReg<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.load.val() {
            let mut v = self.insn.val();
            if W < 256 {
                v = v >> W as u64;
                for i in 0..W {
                    v = v.replace_bit(256 - W + i, self.beat.val().get_bit(i));
                }
            } else {
                let off = if W > 256 { self.sel.val().index() * 256 } else { 0 };
                for i in 0..256 {
                    v = v.replace_bit(i, self.beat.val().get_bit(off + i));
                }
            }
            self.insn.next = v;
        }
    }
    fn connect(&mut self) {
        self.insn.connect();
    }
    fn hdl(&self) -> Verilog {
        let body = if W < 256 {
            format!("insn <= {{beat, insn[255:{W}]}};")
        } else if W == 256 {
            "insn <= beat;".to_string()
        } else {
            "insn <= beat[sel*256 +: 256];".to_string()
        };
        let unused = if W <= 256 { "wire _unused_sel = ^sel;\n" } else { "" };
        Verilog::Custom(format!(
            "{unused}initial insn = 256'h0;\nalways @(posedge clock) begin\n    if (load) {body}\nend"
        ))
    }
}

/// The controller for `W`-bit words with `BE` byte enables.
#[derive(LogicBlock)]
pub struct Controller<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    // Register block.
    /// START pulse.
    pub start: Signal<In, Bit>,
    /// INSN_BASE.
    pub insn_base: Signal<In, Bits<40>>,
    /// INSN_COUNT.
    pub insn_count: Signal<In, Bits<32>>,
    /// STATUS.BUSY.
    pub busy: Signal<Out, Bit>,
    /// STATUS.DONE.
    pub done: Signal<Out, Bit>,
    /// STATUS.ERROR.
    pub error: Signal<Out, Bit>,
    /// ERROR_CODE.
    pub error_code: Signal<Out, Bits<8>>,
    /// ERROR_INSN.
    pub error_insn: Signal<Out, Bits<32>>,
    /// INSN_DONE.
    pub insn_done: Signal<Out, Bits<32>>,
    /// CYCLES.
    pub cycles: Signal<Out, Bits<64>>,
    /// ACTIVE.
    pub active: Signal<Out, Bits<64>>,
    // AXI read engine.
    /// Read command valid.
    pub rd_cmd_valid: Signal<Out, Bit>,
    /// Read command accepted.
    pub rd_cmd_ready: Signal<In, Bit>,
    /// Read command byte address.
    pub rd_cmd_addr: Signal<Out, Bits<40>>,
    /// Read command beats.
    pub rd_cmd_beats: Signal<Out, Bits<32>>,
    /// Read beat.
    pub rd_data: Signal<In, Bits<W>>,
    /// Read beat valid.
    pub rd_data_valid: Signal<In, Bit>,
    /// Read beat accepted.
    pub rd_data_ready: Signal<Out, Bit>,
    /// Read engine idle.
    pub rd_idle: Signal<In, Bit>,
    /// Read engine saw an error response since its last clear.
    pub rd_error: Signal<In, Bit>,
    /// Clear the engines' error flags (pulsed on START).
    pub axi_clear: Signal<Out, Bit>,
    // AXI write engine.
    /// Write command valid.
    pub wr_cmd_valid: Signal<Out, Bit>,
    /// Write command accepted.
    pub wr_cmd_ready: Signal<In, Bit>,
    /// Write command byte address.
    pub wr_cmd_addr: Signal<Out, Bits<40>>,
    /// Write command beats.
    pub wr_cmd_beats: Signal<Out, Bits<32>>,
    /// Write beat.
    pub wr_data: Signal<Out, Bits<W>>,
    /// Write beat valid.
    pub wr_data_valid: Signal<Out, Bit>,
    /// Write beat accepted.
    pub wr_data_ready: Signal<In, Bit>,
    /// Write engine idle.
    pub wr_idle: Signal<In, Bit>,
    /// Write engine saw an error response.
    pub wr_error: Signal<In, Bit>,
    // Scratchpad.
    /// Read bank.
    pub sp_rd_bank: Signal<Out, Bits<4>>,
    /// Read address.
    pub sp_rd_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Read data.
    pub sp_rd_data: Signal<In, Bits<W>>,
    /// Write bank.
    pub sp_wr_bank: Signal<Out, Bits<4>>,
    /// Write address.
    pub sp_wr_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Write data.
    pub sp_wr_data: Signal<Out, Bits<W>>,
    /// Byte enables.
    pub sp_wr_be: Signal<Out, Bits<BE>>,
    /// Write strobe.
    pub sp_wr_en: Signal<Out, Bit>,
    // Weight FIFO.
    /// Push data.
    pub wf_din: Signal<Out, Bits<W>>,
    /// Push strobe.
    pub wf_push: Signal<Out, Bit>,
    /// Fill count.
    pub wf_count: Signal<In, Bits<FIFO_COUNT_BITS>>,
    /// Empty the FIFO.
    pub wf_reset: Signal<Out, Bit>,
    // GEMM engine.
    /// Start pulse.
    pub g_start: Signal<Out, Bit>,
    /// M.
    pub g_m: Signal<Out, Bits<16>>,
    /// K.
    pub g_k: Signal<Out, Bits<16>>,
    /// N.
    pub g_n: Signal<Out, Bits<16>>,
    /// A address.
    pub g_a_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// A stride.
    pub g_a_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// A unsigned.
    pub g_a_unsigned: Signal<Out, Bit>,
    /// Output address.
    pub g_o_addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// Output stride.
    pub g_o_stride: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// GEMM finished.
    pub g_done: Signal<In, Bit>,
    /// A row entered the array.
    pub g_active: Signal<In, Bit>,
    /// GEMM A read address.
    pub g_a_rd_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// GEMM output write address.
    pub g_o_wr_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// GEMM output write data.
    pub g_o_wr_data: Signal<In, Bits<W>>,
    /// GEMM output byte enables.
    pub g_o_wr_be: Signal<In, Bits<BE>>,
    /// GEMM output write strobe.
    pub g_o_wr_en: Signal<In, Bit>,

    insn_reg: InsnReg<W>,
    state: DFF<Bits<4>>,
    pc: DFF<Bits<32>>,
    count: DFF<Bits<32>>,
    beats_left: DFF<Bits<8>>,
    busy_r: DFF<Bit>,
    done_r: DFF<Bit>,
    error_r: DFF<Bit>,
    code_r: DFF<Bits<8>>,
    err_insn_r: DFF<Bits<32>>,
    insn_done_r: DFF<Bits<32>>,
    cycles_r: DFF<Bits<64>>,
    active_r: DFF<Bits<64>>,
    // DMA progress.
    row_issue: DFF<Bits<16>>,
    dram_row: DFF<Bits<40>>,
    row_data: DFF<Bits<16>>,
    word_data: DFF<Bits<32>>,
    insn_addr: DFF<Bits<40>>,
    sp_row: DFF<Bits<SP_ADDR_BITS>>,
    sp_word: DFF<Bits<SP_ADDR_BITS>>,
    st_phase: DFF<Bit>,
    g_issued: DFF<Bit>,
    g_finished: DFF<Bit>,
    // Decoded fields (wires).
    opcode: Signal<Local, Bits<8>>,
    d_bank: Signal<Local, Bits<4>>,
    d_addr: Signal<Local, Bits<20>>,
    d_rows: Signal<Local, Bits<16>>,
    d_words: Signal<Local, Bits<32>>,
    d_stride: Signal<Local, Bits<20>>,
    d_dram: Signal<Local, Bits<40>>,
    d_dram_stride: Signal<Local, Bits<40>>,
    reserved: Signal<Local, Bits<24>>,
    g_flags: Signal<Local, Bits<8>>,
    gm: Signal<Local, Bits<16>>,
    gk: Signal<Local, Bits<16>>,
    gn: Signal<Local, Bits<16>>,
    ga_bank: Signal<Local, Bits<4>>,
    ga_addr: Signal<Local, Bits<20>>,
    ga_stride: Signal<Local, Bits<20>>,
    go_bank: Signal<Local, Bits<4>>,
    go_addr: Signal<Local, Bits<20>>,
    go_stride: Signal<Local, Bits<20>>,
    gw_addr: Signal<Local, Bits<40>>,
    kt: Signal<Local, Bits<16>>,
    nt: Signal<Local, Bits<16>>,
    per_nt: Signal<Local, Bits<16>>,
    w_words: Signal<Local, Bits<32>>,
    bad_field: Signal<Local, Bit>,
    fifo_full: Signal<Local, Bit>,
    // Constants.
    st_idle: Constant<Bits<4>>,
    st_fetch: Constant<Bits<4>>,
    st_fetch_wait: Constant<Bits<4>>,
    st_decode: Constant<Bits<4>>,
    st_load: Constant<Bits<4>>,
    st_store: Constant<Bits<4>>,
    st_gemm_start: Constant<Bits<4>>,
    st_gemm: Constant<Bits<4>>,
    st_next: Constant<Bits<4>>,
    f_opcode: Constant<Bits<8>>,
    f_dma_bank: Constant<Bits<8>>,
    f_dma_addr: Constant<Bits<8>>,
    f_dma_rows: Constant<Bits<8>>,
    f_dma_words: Constant<Bits<8>>,
    f_dma_stride: Constant<Bits<8>>,
    f_dma_dram: Constant<Bits<8>>,
    f_dma_dram_stride: Constant<Bits<8>>,
    f_reserved: Constant<Bits<8>>,
    f_g_flags: Constant<Bits<8>>,
    f_g_m: Constant<Bits<8>>,
    f_g_k: Constant<Bits<8>>,
    f_g_n: Constant<Bits<8>>,
    f_g_a_bank: Constant<Bits<8>>,
    f_g_a_addr: Constant<Bits<8>>,
    f_g_a_stride: Constant<Bits<8>>,
    f_g_o_bank: Constant<Bits<8>>,
    f_g_o_addr: Constant<Bits<8>>,
    f_g_o_stride: Constant<Bits<8>>,
    f_g_w_addr: Constant<Bits<8>>,
    op_load: Constant<Bits<8>>,
    op_store: Constant<Bits<8>>,
    op_gemm: Constant<Bits<8>>,
    err_opcode: Constant<Bits<8>>,
    err_field: Constant<Bits<8>>,
    err_axi: Constant<Bits<8>>,
    flags_max: Constant<Bits<8>>,
    n_banks: Constant<Bits<4>>,
    addr_max: Constant<Bits<20>>,
    max_tokens: Constant<Bits<16>>,
    max_width: Constant<Bits<16>>,
    align_mask: Constant<Bits<40>>,
    insn_beats: Constant<Bits<8>>,
    insn_beats32: Constant<Bits<32>>,
    sel_mask: Constant<Bits<8>>,
    fifo_depth: Constant<Bits<FIFO_COUNT_BITS>>,
    k_round: Constant<Bits<16>>,
    k_shift: Constant<Bits<16>>,
    n_round: Constant<Bits<16>>,
    n_shift: Constant<Bits<16>>,
    hdr_words: Constant<Bits<16>>,
    all_bytes: Constant<Bits<BE>>,
    one64: Constant<Bits<64>>,
    insn_bytes: Constant<Bits<40>>,
}

impl<const W: usize, const BE: usize> Controller<W, BE> {
    /// A controller for `cfg` (its array size must match `W`/`BE`).
    pub fn new(cfg: &spec::AccelConfig) -> Self {
        assert_eq!(W, cfg.axi_data_bits());
        assert_eq!(BE, cfg.word_bytes());
        // The field widths below are the types of the `get_bits` calls in `update`.
        for (f, w) in [
            (isa::OPCODE, 8),
            (isa::DMA_BANK, 4),
            (isa::DMA_ADDR, 20),
            (isa::DMA_ROWS, 16),
            (isa::DMA_WORDS, 32),
            (isa::DMA_STRIDE, 20),
            (isa::DMA_DRAM_ADDR, 40),
            (isa::DMA_DRAM_STRIDE, 40),
            (isa::RESERVED, 24),
            (isa::GEMM_FLAGS, 8),
            (isa::GEMM_M, 16),
            (isa::GEMM_K, 16),
            (isa::GEMM_N, 16),
            (isa::GEMM_A_BANK, 4),
            (isa::GEMM_A_ADDR, 20),
            (isa::GEMM_A_STRIDE, 20),
            (isa::GEMM_O_BANK, 4),
            (isa::GEMM_O_ADDR, 20),
            (isa::GEMM_O_STRIDE, 20),
            (isa::GEMM_W_ADDR, 40),
        ] {
            assert_eq!(f.width, w, "spec field {} changed width: update the controller", f.name);
        }
        let (rows, cols) = (cfg.array_rows, cfg.array_cols);
        let f8 = |f: isa::Field| Constant::new(Bits::<8>::from(f.lsb as u64));
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        let c16 = |v: usize| Constant::new(Bits::<16>::from(v as u64));
        Controller {
            clock: Signal::default(),
            reset: Signal::default(),
            start: Signal::default(),
            insn_base: Signal::default(),
            insn_count: Signal::default(),
            busy: Signal::default(),
            done: Signal::default(),
            error: Signal::default(),
            error_code: Signal::default(),
            error_insn: Signal::default(),
            insn_done: Signal::default(),
            cycles: Signal::default(),
            active: Signal::default(),
            rd_cmd_valid: Signal::default(),
            rd_cmd_ready: Signal::default(),
            rd_cmd_addr: Signal::default(),
            rd_cmd_beats: Signal::default(),
            rd_data: Signal::default(),
            rd_data_valid: Signal::default(),
            rd_data_ready: Signal::default(),
            rd_idle: Signal::default(),
            rd_error: Signal::default(),
            axi_clear: Signal::default(),
            wr_cmd_valid: Signal::default(),
            wr_cmd_ready: Signal::default(),
            wr_cmd_addr: Signal::default(),
            wr_cmd_beats: Signal::default(),
            wr_data: Signal::default(),
            wr_data_valid: Signal::default(),
            wr_data_ready: Signal::default(),
            wr_idle: Signal::default(),
            wr_error: Signal::default(),
            sp_rd_bank: Signal::default(),
            sp_rd_addr: Signal::default(),
            sp_rd_data: Signal::default(),
            sp_wr_bank: Signal::default(),
            sp_wr_addr: Signal::default(),
            sp_wr_data: Signal::default(),
            sp_wr_be: Signal::default(),
            sp_wr_en: Signal::default(),
            wf_din: Signal::default(),
            wf_push: Signal::default(),
            wf_count: Signal::default(),
            wf_reset: Signal::default(),
            g_start: Signal::default(),
            g_m: Signal::default(),
            g_k: Signal::default(),
            g_n: Signal::default(),
            g_a_addr: Signal::default(),
            g_a_stride: Signal::default(),
            g_a_unsigned: Signal::default(),
            g_o_addr: Signal::default(),
            g_o_stride: Signal::default(),
            g_done: Signal::default(),
            g_active: Signal::default(),
            g_a_rd_addr: Signal::default(),
            g_o_wr_addr: Signal::default(),
            g_o_wr_data: Signal::default(),
            g_o_wr_be: Signal::default(),
            g_o_wr_en: Signal::default(),
            insn_reg: InsnReg::default(),
            state: DFF::default(),
            pc: DFF::default(),
            count: DFF::default(),
            beats_left: DFF::default(),
            busy_r: DFF::default(),
            done_r: DFF::default(),
            error_r: DFF::default(),
            code_r: DFF::default(),
            err_insn_r: DFF::default(),
            insn_done_r: DFF::default(),
            cycles_r: DFF::default(),
            active_r: DFF::default(),
            row_issue: DFF::default(),
            dram_row: DFF::default(),
            row_data: DFF::default(),
            word_data: DFF::default(),
            insn_addr: DFF::default(),
            sp_row: DFF::default(),
            sp_word: DFF::default(),
            st_phase: DFF::default(),
            g_issued: DFF::default(),
            g_finished: DFF::default(),
            opcode: Signal::default(),
            d_bank: Signal::default(),
            d_addr: Signal::default(),
            d_rows: Signal::default(),
            d_words: Signal::default(),
            d_stride: Signal::default(),
            d_dram: Signal::default(),
            d_dram_stride: Signal::default(),
            reserved: Signal::default(),
            g_flags: Signal::default(),
            gm: Signal::default(),
            gk: Signal::default(),
            gn: Signal::default(),
            ga_bank: Signal::default(),
            ga_addr: Signal::default(),
            ga_stride: Signal::default(),
            go_bank: Signal::default(),
            go_addr: Signal::default(),
            go_stride: Signal::default(),
            gw_addr: Signal::default(),
            kt: Signal::default(),
            nt: Signal::default(),
            per_nt: Signal::default(),
            w_words: Signal::default(),
            bad_field: Signal::default(),
            fifo_full: Signal::default(),
            st_idle: Constant::new(C_IDLE.into()),
            st_fetch: Constant::new(C_FETCH.into()),
            st_fetch_wait: Constant::new(C_FETCH_WAIT.into()),
            st_decode: Constant::new(C_DECODE.into()),
            st_load: Constant::new(C_LOAD.into()),
            st_store: Constant::new(C_STORE.into()),
            st_gemm_start: Constant::new(C_GEMM_START.into()),
            st_gemm: Constant::new(C_GEMM.into()),
            st_next: Constant::new(C_NEXT.into()),
            f_opcode: f8(isa::OPCODE),
            f_dma_bank: f8(isa::DMA_BANK),
            f_dma_addr: f8(isa::DMA_ADDR),
            f_dma_rows: f8(isa::DMA_ROWS),
            f_dma_words: f8(isa::DMA_WORDS),
            f_dma_stride: f8(isa::DMA_STRIDE),
            f_dma_dram: f8(isa::DMA_DRAM_ADDR),
            f_dma_dram_stride: f8(isa::DMA_DRAM_STRIDE),
            f_reserved: f8(isa::RESERVED),
            f_g_flags: f8(isa::GEMM_FLAGS),
            f_g_m: f8(isa::GEMM_M),
            f_g_k: f8(isa::GEMM_K),
            f_g_n: f8(isa::GEMM_N),
            f_g_a_bank: f8(isa::GEMM_A_BANK),
            f_g_a_addr: f8(isa::GEMM_A_ADDR),
            f_g_a_stride: f8(isa::GEMM_A_STRIDE),
            f_g_o_bank: f8(isa::GEMM_O_BANK),
            f_g_o_addr: f8(isa::GEMM_O_ADDR),
            f_g_o_stride: f8(isa::GEMM_O_STRIDE),
            f_g_w_addr: f8(isa::GEMM_W_ADDR),
            op_load: c8(isa::Opcode::Load as u64),
            op_store: c8(isa::Opcode::Store as u64),
            op_gemm: c8(isa::Opcode::Gemm as u64),
            err_opcode: c8(error_code::BAD_OPCODE as u64),
            err_field: c8(error_code::BAD_FIELD as u64),
            err_axi: c8(error_code::AXI_ERROR as u64),
            flags_max: c8(isa::GEMM_FLAG_A_UNSIGNED),
            n_banks: Constant::new(Bits::<4>::from(cfg.banks as u64 - 1)),
            addr_max: Constant::new(Bits::<20>::from(cfg.bank_words as u64 - 1)),
            max_tokens: c16(cfg.max_tokens),
            max_width: c16(cfg.max_width),
            align_mask: Constant::new(Bits::<40>::from(cfg.word_bytes() as u64 - 1)),
            insn_beats: c8((isa::INSN_BYTES / cfg.word_bytes()).max(1) as u64),
            insn_beats32: Constant::new(Bits::<32>::from((isa::INSN_BYTES / cfg.word_bytes()).max(1) as u64)),
            sel_mask: c8((W / 256).max(1) as u64 - 1),
            fifo_depth: Constant::new(Bits::<FIFO_COUNT_BITS>::from(cfg.weight_fifo_words as u64)),
            k_round: c16(rows - 1),
            k_shift: c16(rows.trailing_zeros() as usize),
            n_round: c16(cols - 1),
            n_shift: c16(cols.trailing_zeros() as usize),
            hdr_words: c16(isa::weight_header_bytes(cols) / rows),
            all_bytes: Constant::new(!Bits::<BE>::default()),
            one64: Constant::new(1u64.into()),
            insn_bytes: Constant::new(Bits::<40>::from(isa::INSN_BYTES as u64)),
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Controller<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            pc,
            count,
            beats_left,
            busy_r,
            done_r,
            error_r,
            code_r,
            err_insn_r,
            insn_done_r,
            cycles_r,
            active_r,
            row_issue,
            dram_row,
            row_data,
            word_data,
            insn_addr,
            sp_row,
            sp_word,
            st_phase,
            g_issued,
            g_finished
        );
        self.insn_reg.clock.next = self.clock.val();

        // ---------------- decode (wires from the instruction register) ----------------
        self.opcode.next = self.insn_reg.insn.val().get_bits::<8>(self.f_opcode.val().index());
        self.d_bank.next = self.insn_reg.insn.val().get_bits::<4>(self.f_dma_bank.val().index());
        self.d_addr.next = self.insn_reg.insn.val().get_bits::<20>(self.f_dma_addr.val().index());
        self.d_rows.next = self.insn_reg.insn.val().get_bits::<16>(self.f_dma_rows.val().index());
        self.d_words.next = self.insn_reg.insn.val().get_bits::<32>(self.f_dma_words.val().index());
        self.d_stride.next = self.insn_reg.insn.val().get_bits::<20>(self.f_dma_stride.val().index());
        self.d_dram.next = self.insn_reg.insn.val().get_bits::<40>(self.f_dma_dram.val().index());
        self.d_dram_stride.next = self.insn_reg.insn.val().get_bits::<40>(self.f_dma_dram_stride.val().index());
        self.reserved.next = self.insn_reg.insn.val().get_bits::<24>(self.f_reserved.val().index());
        self.g_flags.next = self.insn_reg.insn.val().get_bits::<8>(self.f_g_flags.val().index());
        self.gm.next = self.insn_reg.insn.val().get_bits::<16>(self.f_g_m.val().index());
        self.gk.next = self.insn_reg.insn.val().get_bits::<16>(self.f_g_k.val().index());
        self.gn.next = self.insn_reg.insn.val().get_bits::<16>(self.f_g_n.val().index());
        self.ga_bank.next = self.insn_reg.insn.val().get_bits::<4>(self.f_g_a_bank.val().index());
        self.ga_addr.next = self.insn_reg.insn.val().get_bits::<20>(self.f_g_a_addr.val().index());
        self.ga_stride.next = self.insn_reg.insn.val().get_bits::<20>(self.f_g_a_stride.val().index());
        self.go_bank.next = self.insn_reg.insn.val().get_bits::<4>(self.f_g_o_bank.val().index());
        self.go_addr.next = self.insn_reg.insn.val().get_bits::<20>(self.f_g_o_addr.val().index());
        self.go_stride.next = self.insn_reg.insn.val().get_bits::<20>(self.f_g_o_stride.val().index());
        self.gw_addr.next = self.insn_reg.insn.val().get_bits::<40>(self.f_g_w_addr.val().index());
        self.kt.next = (self.gk.val() + self.k_round.val()) >> self.k_shift.val();
        self.nt.next = (self.gn.val() + self.n_round.val()) >> self.n_shift.val();
        self.per_nt.next = self.hdr_words.val() + (self.kt.val() << self.k_shift.val());
        self.w_words.next = self.nt.val() * self.per_nt.val();
        self.bad_field.next = false;
        if self.opcode.val() == self.op_gemm.val() {
            self.bad_field.next = (self.reserved.val() != 0)
                || (self.g_flags.val() > self.flags_max.val())
                || (self.gm.val() == 0)
                || (self.gm.val() > self.max_tokens.val())
                || (self.gk.val() == 0)
                || (self.gk.val() > self.max_width.val())
                || (self.gn.val() == 0)
                || (self.gn.val() > self.max_width.val())
                || (self.ga_bank.val() > self.n_banks.val())
                || (self.go_bank.val() > self.n_banks.val())
                || (self.ga_addr.val() > self.addr_max.val())
                || (self.ga_stride.val() > self.addr_max.val())
                || (self.go_addr.val() > self.addr_max.val())
                || (self.go_stride.val() > self.addr_max.val())
                || ((self.gw_addr.val() & self.align_mask.val()) != 0);
        } else {
            self.bad_field.next = (self.reserved.val() != 0)
                || (self.d_bank.val() > self.n_banks.val())
                || (self.d_addr.val() > self.addr_max.val())
                || (self.d_stride.val() > self.addr_max.val())
                || (self.d_rows.val() == 0)
                || (self.d_words.val() == 0)
                || ((self.d_dram.val() & self.align_mask.val()) != 0)
                || ((self.d_dram_stride.val() & self.align_mask.val()) != 0);
        }

        // ---------------- defaults ----------------
        self.rd_cmd_valid.next = false;
        self.rd_cmd_addr.next = self.dram_row.q.val();
        self.rd_cmd_beats.next = self.d_words.val();
        self.rd_data_ready.next = false;
        self.wr_cmd_valid.next = false;
        self.wr_cmd_addr.next = self.dram_row.q.val();
        self.wr_cmd_beats.next = self.d_words.val();
        self.wr_data.next = self.sp_rd_data.val();
        self.wr_data_valid.next = false;
        self.insn_reg.load.next = false;
        self.insn_reg.beat.next = self.rd_data.val();
        self.insn_reg.sel.next = self.pc.q.val().get_bits::<8>(0) & self.sel_mask.val();
        self.sp_rd_bank.next = self.d_bank.val();
        self.sp_rd_addr.next = self.sp_word.q.val();
        self.sp_wr_bank.next = self.d_bank.val();
        self.sp_wr_addr.next = self.sp_word.q.val();
        self.sp_wr_data.next = self.rd_data.val();
        self.sp_wr_be.next = self.all_bytes.val();
        self.sp_wr_en.next = false;
        self.wf_din.next = self.rd_data.val();
        self.wf_push.next = false;
        self.wf_reset.next = false;
        self.g_start.next = false;
        self.axi_clear.next = false;
        self.g_m.next = self.gm.val();
        self.g_k.next = self.gk.val();
        self.g_n.next = self.gn.val();
        self.g_a_addr.next = self.ga_addr.val();
        self.g_a_stride.next = self.ga_stride.val();
        self.g_a_unsigned.next = self.g_flags.val().get_bit(0);
        self.g_o_addr.next = self.go_addr.val();
        self.g_o_stride.next = self.go_stride.val();
        self.fifo_full.next = self.wf_count.val() == self.fifo_depth.val();
        if self.busy_r.q.val() {
            self.cycles_r.d.next = self.cycles_r.q.val() + self.one64.val();
        }
        if self.g_active.val() {
            self.active_r.d.next = self.active_r.q.val() + self.one64.val();
        }

        // ---------------- state machine ----------------
        if self.state.q.val() == self.st_idle.val() {
            // Idle.
            if self.start.val() {
                self.axi_clear.next = true;
                self.pc.d.next = 0.into();
                self.count.d.next = self.insn_count.val();
                self.insn_addr.d.next = self.insn_base.val();
                self.insn_done_r.d.next = 0.into();
                self.cycles_r.d.next = 0.into();
                self.active_r.d.next = 0.into();
                self.error_r.d.next = false;
                self.code_r.d.next = 0.into();
                self.err_insn_r.d.next = 0.into();
                self.done_r.d.next = false;
                self.busy_r.d.next = true;
                self.state.d.next = self.st_next.val();
                if self.insn_count.val() != 0 {
                    self.state.d.next = self.st_fetch.val();
                }
            }
        } else if self.state.q.val() == self.st_fetch.val() {
            // Fetch: one read command for the instruction's beats (aligned down to a word).
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.insn_addr.q.val() & !self.align_mask.val();
            self.rd_cmd_beats.next = self.insn_beats32.val();
            if self.rd_cmd_ready.val() {
                self.beats_left.d.next = self.insn_beats.val();
                self.state.d.next = self.st_fetch_wait.val();
            }
        } else if self.state.q.val() == self.st_fetch_wait.val() {
            self.rd_data_ready.next = true;
            self.insn_reg.load.next = self.rd_data_valid.val();
            if self.rd_data_valid.val() {
                self.beats_left.d.next = self.beats_left.q.val() - 1;
                if self.beats_left.q.val() == 1 {
                    self.state.d.next = self.st_decode.val();
                }
            }
        } else if self.state.q.val() == self.st_decode.val() {
            // Decode and check.
            self.row_issue.d.next = 0.into();
            self.row_data.d.next = 0.into();
            self.word_data.d.next = 0.into();
            self.dram_row.d.next = self.d_dram.val();
            self.sp_row.d.next = self.d_addr.val();
            self.sp_word.d.next = self.d_addr.val();
            self.st_phase.d.next = false;
            self.g_issued.d.next = false;
            self.g_finished.d.next = false;
            if self.rd_error.val() {
                // The fetch itself failed: the instruction word is not trustworthy.
                self.error_r.d.next = true;
                self.code_r.d.next = self.err_axi.val();
                self.err_insn_r.d.next = self.pc.q.val();
                self.busy_r.d.next = false;
                self.state.d.next = self.st_idle.val();
            } else if (self.opcode.val() != self.op_load.val())
                && (self.opcode.val() != self.op_store.val())
                && (self.opcode.val() != self.op_gemm.val())
            {
                self.error_r.d.next = true;
                self.code_r.d.next = self.err_opcode.val();
                self.err_insn_r.d.next = self.pc.q.val();
                self.busy_r.d.next = false;
                self.state.d.next = self.st_idle.val();
            } else if self.bad_field.val() {
                self.error_r.d.next = true;
                self.code_r.d.next = self.err_field.val();
                self.err_insn_r.d.next = self.pc.q.val();
                self.busy_r.d.next = false;
                self.state.d.next = self.st_idle.val();
            } else if self.opcode.val() == self.op_load.val() {
                self.state.d.next = self.st_load.val();
            } else if self.opcode.val() == self.op_store.val() {
                self.state.d.next = self.st_store.val();
            } else {
                self.state.d.next = self.st_gemm_start.val();
            }
        } else if self.state.q.val() == self.st_load.val() {
            // LOAD: one read command per row; every beat goes to the bank.
            if self.row_issue.q.val() != self.d_rows.val() {
                self.rd_cmd_valid.next = true;
                if self.rd_cmd_ready.val() {
                    self.row_issue.d.next = self.row_issue.q.val() + 1;
                    self.dram_row.d.next = self.dram_row.q.val() + self.d_dram_stride.val();
                }
            }
            self.rd_data_ready.next = true;
            self.sp_wr_en.next = self.rd_data_valid.val();
            if self.rd_data_valid.val() {
                self.word_data.d.next = self.word_data.q.val() + 1;
                self.sp_word.d.next = self.sp_word.q.val() + 1;
                if self.word_data.q.val() + 1 == self.d_words.val() {
                    self.word_data.d.next = 0.into();
                    self.row_data.d.next = self.row_data.q.val() + 1;
                    self.sp_row.d.next = self.sp_row.q.val() + self.d_stride.val();
                    self.sp_word.d.next = self.sp_row.q.val() + self.d_stride.val();
                }
            }
            if self.row_data.q.val() == self.d_rows.val() {
                self.state.d.next = self.st_next.val();
            }
        } else if self.state.q.val() == self.st_store.val() {
            // STORE: one write command per row; words read from the bank, one every other cycle.
            if self.row_issue.q.val() != self.d_rows.val() {
                self.wr_cmd_valid.next = true;
                if self.wr_cmd_ready.val() {
                    self.row_issue.d.next = self.row_issue.q.val() + 1;
                    self.dram_row.d.next = self.dram_row.q.val() + self.d_dram_stride.val();
                }
            }
            if self.row_data.q.val() != self.d_rows.val() {
                if !self.st_phase.q.val() {
                    self.st_phase.d.next = true;
                } else {
                    self.wr_data_valid.next = true;
                    if self.wr_data_ready.val() {
                        self.st_phase.d.next = false;
                        self.word_data.d.next = self.word_data.q.val() + 1;
                        self.sp_word.d.next = self.sp_word.q.val() + 1;
                        if self.word_data.q.val() + 1 == self.d_words.val() {
                            self.word_data.d.next = 0.into();
                            self.row_data.d.next = self.row_data.q.val() + 1;
                            self.sp_row.d.next = self.sp_row.q.val() + self.d_stride.val();
                            self.sp_word.d.next = self.sp_row.q.val() + self.d_stride.val();
                        }
                    }
                }
            } else if self.wr_idle.val() && (self.row_issue.q.val() == self.d_rows.val()) {
                self.state.d.next = self.st_next.val();
            }
        } else if self.state.q.val() == self.st_gemm_start.val() {
            // GEMM start: empty the FIFO, request the weight stream, start the engine.
            self.wf_reset.next = !self.g_issued.q.val();
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.gw_addr.val();
            self.rd_cmd_beats.next = self.w_words.val();
            self.g_issued.d.next = true;
            if self.rd_cmd_ready.val() {
                self.g_start.next = true;
                self.state.d.next = self.st_gemm.val();
            }
        } else if self.state.q.val() == self.st_gemm.val() {
            // GEMM: weight beats into the FIFO; scratchpad ports belong to the engine.
            self.rd_data_ready.next = !self.fifo_full.val();
            self.wf_push.next = self.rd_data_valid.val() && !self.fifo_full.val();
            self.sp_rd_bank.next = self.ga_bank.val();
            self.sp_rd_addr.next = self.g_a_rd_addr.val();
            self.sp_wr_bank.next = self.go_bank.val();
            self.sp_wr_addr.next = self.g_o_wr_addr.val();
            self.sp_wr_data.next = self.g_o_wr_data.val();
            self.sp_wr_be.next = self.g_o_wr_be.val();
            self.sp_wr_en.next = self.g_o_wr_en.val();
            if self.g_done.val() {
                self.g_finished.d.next = true;
            }
            if self.g_finished.q.val() && self.rd_idle.val() {
                self.state.d.next = self.st_next.val();
            }
        } else if self.state.q.val() == self.st_next.val() {
            // Next instruction (also the landing state of a START with INSN_COUNT = 0). An error
            // response during the instruction stops here, after its transfers completed, so
            // nothing is left in flight on the bus.
            if self.rd_error.val() || self.wr_error.val() {
                self.error_r.d.next = true;
                self.code_r.d.next = self.err_axi.val();
                self.err_insn_r.d.next = self.pc.q.val();
                self.busy_r.d.next = false;
                self.state.d.next = self.st_idle.val();
            } else {
                if self.busy_r.q.val() && (self.count.q.val() != 0) {
                    self.insn_done_r.d.next = self.insn_done_r.q.val() + 1;
                }
                self.pc.d.next = self.pc.q.val() + 1;
                self.insn_addr.d.next = self.insn_addr.q.val() + self.insn_bytes.val();
                self.state.d.next = self.st_fetch.val();
                if (self.pc.q.val() + 1 == self.count.q.val()) || (self.count.q.val() == 0) {
                    self.busy_r.d.next = false;
                    self.done_r.d.next = true;
                    self.state.d.next = self.st_idle.val();
                }
            }
        }
        if self.reset.val() {
            self.state.d.next = self.st_idle.val();
            self.busy_r.d.next = false;
            self.done_r.d.next = false;
            self.error_r.d.next = false;
        }
        self.busy.next = self.busy_r.q.val();
        self.done.next = self.done_r.q.val();
        self.error.next = self.error_r.q.val();
        self.error_code.next = self.code_r.q.val();
        self.error_insn.next = self.err_insn_r.q.val();
        self.insn_done.next = self.insn_done_r.q.val();
        self.cycles.next = self.cycles_r.q.val();
        self.active.next = self.active_r.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_verilog_is_lint_clean() {
        let cfg = spec::AccelConfig::small();
        let v = crate::verilog::generate(&mut Controller::<64, 8>::new(&cfg), "ctrl");
        crate::verilog::lint(&v, "ctrl").unwrap();
    }
}
