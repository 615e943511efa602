//! SELECT steps 5-6: the gather of byte rows and the token count.
//!
//! Per byte row `g < g_rows` at `out_addr + g out_stride`: the row's words are read one at a
//! time (two cycles per fetch); every byte `t < L` of a kept token is written (one byte enable)
//! to byte `pos` (kept tokens before it), one byte per cycle; then, if a token was dropped,
//! byte `aux` is read (after every write of the row landed) and written to byte `pos`. A byte
//! is always read before any write can reach it (`pos <= t`), so this equals the sequential
//! read-then-write of `spec::isa`. Last, `count` little endian into bytes 0-1 of word
//! `out_addr + g_rows out_stride`; `finish` is high in the cycle of that write.

use super::ports::ReadRequest;
use crate::bus::SpWriteClient;
use crate::storage::SP_ADDR_BITS;
use crate::widen::{Extend, Pack, PackBits};
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const ROW: u64 = 1;
const FETCH: u64 = 2;
const FETCH_WAIT: u64 = 3;
const BYTE: u64 = 4;
const PACKAGE_ISSUE: u64 = 5;
const PACKAGE_WAIT: u64 = 6;
const PACKAGE_BYTE: u64 = 7;
const COUNT: u64 = 8;

/// The gather and count write of an `R = BE`-lane selector with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct Gather<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle.
    pub reset: Signal<In, Bit>,
    /// Start.
    pub go: Signal<In, Bit>,
    /// Gathered byte rows.
    pub g_rows: Signal<In, Bits<8>>,
    /// Live tokens `L` (bytes per gathered row).
    pub rows: Signal<In, Bits<16>>,
    /// Bank of the gathered rows and the count.
    pub out_bank: Signal<In, Bits<4>>,
    /// Word of gathered row 0.
    pub out_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between gathered rows.
    pub out_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// The package byte of each gathered row.
    pub aux: Signal<In, Bits<16>>,
    /// A token was dropped (the package byte is gathered too).
    pub dropped: Signal<In, Bit>,
    /// The token whose entry is on `tok_keep`.
    pub token: Signal<In, Bits<16>>,
    /// The token RAM says `token` is kept.
    pub tok_keep: Signal<In, Bit>,
    /// The new token count `L'`.
    pub count: Signal<In, Bits<16>>,
    /// Read port 0 data.
    pub rd_data: Signal<In, Bits<W>>,
    /// Reads of port 0.
    pub rd: ReadRequest,
    /// Read the entry of token 0 this cycle.
    pub tok_first: Signal<Out, Bit>,
    /// Read the entry of token `token + 1` this cycle.
    pub tok_next: Signal<Out, Bit>,
    /// Writes (in `out_bank`).
    pub wr: SpWriteClient<W, BE>,
    /// The count is written this cycle.
    pub finish: Signal<Out, Bit>,

    phase: DFF<Bits<4>>,
    row: DFF<Bits<8>>,
    row_addr: DFF<Bits<SP_ADDR_BITS>>,
    fetch_addr: DFF<Bits<SP_ADDR_BITS>>,
    src_byte: DFF<Bits<16>>,
    dst_byte: DFF<Bits<16>>,
    dst_addr: DFF<Bits<SP_ADDR_BITS>>,
    fresh_word: DFF<Bit>,
    src_word: DFF<Bits<W>>,
    ext_aux_word: Extend<SP_ADDR_BITS, 16>,
    byte_pack: Pack<W>,
    dst_pack: PackBits<BE>,
    aux_lane: Signal<Local, Bits<16>>,
    last_token: Signal<Local, Bits<16>>,
    word: Signal<Local, Bits<W>>,
    row_byte: Signal<Local, Bits<8>>,
    aux_byte: Signal<Local, Bits<8>>,
    out_byte: Signal<Local, Bits<8>>,

    p_idle: Constant<Bits<4>>,
    p_row: Constant<Bits<4>>,
    p_fetch: Constant<Bits<4>>,
    p_fetch_wait: Constant<Bits<4>>,
    p_byte: Constant<Bits<4>>,
    p_package_issue: Constant<Bits<4>>,
    p_package_wait: Constant<Bits<4>>,
    p_package_byte: Constant<Bits<4>>,
    p_count: Constant<Bits<4>>,
    byte_col: Vec<Constant<Bits<16>>>,
    c_rm1_16: Constant<Bits<16>>,
    c_lr16: Constant<Bits<16>>,
    c_zero8: Constant<Bits<8>>,
    c_zero16: Constant<Bits<16>>,
    c_count_be: Constant<Bits<BE>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> Default for Gather<W, BE> {
    fn default() -> Self {
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        let c4 = |v: u64| Constant::new(Bits::<4>::from(v));
        let count_be = Bits::<BE>::default().replace_bit(0, true).replace_bit(1, true);
        Gather {
            clock: Signal::default(),
            reset: Signal::default(),
            go: Signal::default(),
            g_rows: Signal::default(),
            rows: Signal::default(),
            out_bank: Signal::default(),
            out_addr: Signal::default(),
            out_stride: Signal::default(),
            aux: Signal::default(),
            dropped: Signal::default(),
            token: Signal::default(),
            tok_keep: Signal::default(),
            count: Signal::default(),
            rd_data: Signal::default(),
            rd: ReadRequest::default(),
            tok_first: Signal::default(),
            tok_next: Signal::default(),
            wr: SpWriteClient::default(),
            finish: Signal::default(),
            phase: DFF::default(),
            row: DFF::default(),
            row_addr: DFF::default(),
            fetch_addr: DFF::default(),
            src_byte: DFF::default(),
            dst_byte: DFF::default(),
            dst_addr: DFF::default(),
            fresh_word: DFF::default(),
            src_word: DFF::default(),
            ext_aux_word: Extend::new(false),
            byte_pack: Pack::default(),
            dst_pack: PackBits::default(),
            aux_lane: Signal::default(),
            last_token: Signal::default(),
            word: Signal::default(),
            row_byte: Signal::default(),
            aux_byte: Signal::default(),
            out_byte: Signal::default(),
            p_idle: c4(IDLE),
            p_row: c4(ROW),
            p_fetch: c4(FETCH),
            p_fetch_wait: c4(FETCH_WAIT),
            p_byte: c4(BYTE),
            p_package_issue: c4(PACKAGE_ISSUE),
            p_package_wait: c4(PACKAGE_WAIT),
            p_package_byte: c4(PACKAGE_BYTE),
            p_count: c4(COUNT),
            byte_col: (0..BE).map(|l| c16(l as u64)).collect(),
            c_rm1_16: c16(BE as u64 - 1),
            c_lr16: c16(BE.trailing_zeros() as u64),
            c_zero8: Constant::new(0u64.into()),
            c_zero16: c16(0),
            c_count_be: Constant::new(count_be),
            _r: BE,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Gather<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, phase, row, row_addr, fetch_addr, src_byte, dst_byte, dst_addr, fresh_word, src_word);
        self.ext_aux_word.din.next = self.aux.val() >> self.c_lr16.val();
        self.aux_lane.next = self.aux.val() & self.c_rm1_16.val();
        self.last_token.next = self.rows.val() - 1;

        // Byte sources: byte src_byte of the word just read (or kept), byte aux of a read word.
        self.word.next = self.src_word.q.val();
        if self.fresh_word.q.val() {
            self.word.next = self.rd_data.val();
        }
        self.row_byte.next = self.c_zero8.val();
        self.aux_byte.next = self.c_zero8.val();
        for e in 0..self._r {
            if self.src_byte.q.val() == self.byte_col[e].val() {
                self.row_byte.next = self.word.val().get_bits::<8>(8 * e);
            }
            if self.aux_lane.val() == self.byte_col[e].val() {
                self.aux_byte.next = self.rd_data.val().get_bits::<8>(8 * e);
            }
        }
        self.out_byte.next = self.row_byte.val();
        if self.phase.q.val() == self.p_package_byte.val() {
            self.out_byte.next = self.aux_byte.val();
        }
        if self.phase.q.val() == self.p_count.val() {
            self.out_byte.next = self.count.val().get_bits::<8>(0);
        }
        for l in 0..self._r {
            self.byte_pack.lanes[l].next = self.out_byte.val();
            self.dst_pack.lanes[l].next = self.dst_byte.q.val() == self.byte_col[l].val();
        }
        if self.phase.q.val() == self.p_count.val() {
            self.byte_pack.lanes[1].next = self.count.val().get_bits::<8>(8);
        }

        self.rd.en.next = false;
        self.rd.addr.next = self.fetch_addr.q.val();
        // Token RAM steps, one assignment each (a port assigned twice per evaluation re-triggers
        // the parent).
        self.tok_first.next = (self.phase.q.val() == self.p_row.val()) && (self.row.q.val() != self.g_rows.val());
        self.tok_next.next = self.phase.q.val() == self.p_byte.val();
        self.wr.en.next = false;
        self.wr.bank.next = self.out_bank.val();
        self.wr.addr.next = self.dst_addr.q.val();
        self.wr.data.next = self.byte_pack.dout.val();
        self.wr.be.next = self.dst_pack.dout.val();
        self.finish.next = false;
        if self.phase.q.val() == self.p_row.val() {
            // Next gathered row, or the count.
            if self.row.q.val() == self.g_rows.val() {
                self.phase.d.next = self.p_count.val();
            } else {
                self.phase.d.next = self.p_fetch.val();
                self.fetch_addr.d.next = self.row_addr.q.val();
                self.dst_addr.d.next = self.row_addr.q.val();
                self.dst_byte.d.next = self.c_zero16.val();
                self.src_byte.d.next = self.c_zero16.val();
            }
        } else if self.phase.q.val() == self.p_fetch.val() {
            self.rd.en.next = true;
            self.fetch_addr.d.next = self.fetch_addr.q.val() + 1;
            self.phase.d.next = self.p_fetch_wait.val();
        } else if self.phase.q.val() == self.p_fetch_wait.val() {
            self.fresh_word.d.next = true;
            self.phase.d.next = self.p_byte.val();
        } else if self.phase.q.val() == self.p_byte.val() {
            // Byte `token` of the row: a kept token's byte goes to byte dst_byte.
            self.src_word.d.next = self.word.val();
            self.fresh_word.d.next = false;
            if self.tok_keep.val() {
                self.wr.en.next = true;
                self.dst_byte.d.next = self.dst_byte.q.val() + 1;
                if self.dst_byte.q.val() == self.c_rm1_16.val() {
                    self.dst_byte.d.next = self.c_zero16.val();
                    self.dst_addr.d.next = self.dst_addr.q.val() + 1;
                }
            }
            self.src_byte.d.next = self.src_byte.q.val() + 1;
            if self.src_byte.q.val() == self.c_rm1_16.val() {
                self.src_byte.d.next = self.c_zero16.val();
            }
            if self.token.val() == self.last_token.val() {
                if self.dropped.val() {
                    self.phase.d.next = self.p_package_issue.val();
                } else {
                    self.phase.d.next = self.p_row.val();
                    self.row.d.next = self.row.q.val() + 1;
                    self.row_addr.d.next = self.row_addr.q.val() + self.out_stride.val();
                }
            } else if self.src_byte.q.val() == self.c_rm1_16.val() {
                self.phase.d.next = self.p_fetch.val();
            }
        } else if self.phase.q.val() == self.p_package_issue.val() {
            // The package byte, read after every write of the row landed.
            self.rd.en.next = true;
            self.rd.addr.next = self.row_addr.q.val() + self.ext_aux_word.dout.val();
            self.phase.d.next = self.p_package_wait.val();
        } else if self.phase.q.val() == self.p_package_wait.val() {
            self.phase.d.next = self.p_package_byte.val();
        } else if self.phase.q.val() == self.p_package_byte.val() {
            self.wr.en.next = true;
            self.phase.d.next = self.p_row.val();
            self.row.d.next = self.row.q.val() + 1;
            self.row_addr.d.next = self.row_addr.q.val() + self.out_stride.val();
        } else if self.phase.q.val() == self.p_count.val() {
            // The new count, little endian, bytes 0-1 of the word after the gathered rows.
            self.wr.en.next = true;
            self.wr.addr.next = self.row_addr.q.val();
            self.wr.be.next = self.c_count_be.val();
            self.finish.next = true;
            self.phase.d.next = self.p_idle.val();
        }
        if self.go.val() {
            self.phase.d.next = self.p_row.val();
            self.row.d.next = self.c_zero8.val();
            self.row_addr.d.next = self.out_addr.val();
        }
        if self.reset.val() {
            self.phase.d.next = self.p_idle.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn gather_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Gather::<64, 8>::default(), "gather");
        crate::verilog::lint(&v, "gather").unwrap();
        let v = crate::verilog::generate(&mut Gather::<512, 64>::default(), "gather");
        crate::verilog::lint(&v, "gather").unwrap();
    }
}
