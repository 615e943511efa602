//! SELECT step 4: in-place compaction of the residual stream. A scan over `t = 0..L` (and
//! `t = L`, the package row, when a token was dropped) with the token RAM: a kept token whose
//! position `pos` (kept tokens before it) differs from `t` is copied word by word, both planes:
//! one word read on both ports every other cycle, its low plane written when the data arrives
//! and its high plane a cycle later (byte enables `c < n`). `finish` is high in the cycle after
//! the scan passed the last row, with `count` = `L'`.

use super::ports::ReadRequest;
use crate::bus::SpWriteClient;
use crate::storage::SP_ADDR_BITS;
use crate::widen::PackBits;
use rust_hdl::prelude::*;

const IDLE: u64 = 0;
const SCAN: u64 = 1;
const COPY: u64 = 2;

/// The compaction of an `R = BE`-lane selector with `W = 8R`-bit words.
#[derive(LogicBlock)]
pub struct Compact<const W: usize, const BE: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, nothing in flight.
    pub reset: Signal<In, Bit>,
    /// Start the scan (the token RAM is read at token 0 in this cycle).
    pub go: Signal<In, Bit>,
    /// Live tokens `L`.
    pub rows: Signal<In, Bits<16>>,
    /// Channels `n`.
    pub n: Signal<In, Bits<16>>,
    /// Words per row, `ceil(n/R)`.
    pub words: Signal<In, Bits<16>>,
    /// Word of row 0.
    pub in_addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Words between rows.
    pub in_stride: Signal<In, Bits<SP_ADDR_BITS>>,
    /// Bank of the low plane.
    pub in_lo_bank: Signal<In, Bits<4>>,
    /// Bank of the high plane.
    pub in_hi_bank: Signal<In, Bits<4>>,
    /// A token was dropped: row `L` (the package) moves too.
    pub dropped: Signal<In, Bit>,
    /// The token whose entry is on `tok_keep`.
    pub token: Signal<In, Bits<16>>,
    /// The token RAM says `token` is kept.
    pub tok_keep: Signal<In, Bit>,
    /// Read port 0 data (low plane).
    pub rd0_data: Signal<In, Bits<W>>,
    /// Read port 1 data (high plane).
    pub rd1_data: Signal<In, Bits<W>>,
    /// Reads, the same address on both ports.
    pub rd: ReadRequest,
    /// Read the entry of token `token + 1` this cycle.
    pub tok_next: Signal<Out, Bit>,
    /// Writes.
    pub wr: SpWriteClient<W, BE>,
    /// The scan is over (`count` is final).
    pub finish: Signal<Out, Bit>,
    /// Rows kept so far (`L'` with `finish`).
    pub count: Signal<Out, Bits<16>>,

    phase: DFF<Bits<2>>,
    kept_count: DFF<Bits<16>>,
    src_row: DFF<Bits<SP_ADDR_BITS>>,
    dst_row: DFF<Bits<SP_ADDR_BITS>>,
    src_word: DFF<Bits<SP_ADDR_BITS>>,
    dst_word: DFF<Bits<SP_ADDR_BITS>>,
    words_done: DFF<Bits<16>>,
    read_turn: DFF<Bit>,
    channels_left: DFF<Bits<16>>,
    // Copy pipeline: read issued (1), low plane written (2), high plane written (3).
    c1_valid: DFF<Bit>,
    c1_dst: DFF<Bits<SP_ADDR_BITS>>,
    c1_be: DFF<Bits<BE>>,
    c2_valid: DFF<Bit>,
    c2_dst: DFF<Bits<SP_ADDR_BITS>>,
    c2_be: DFF<Bits<BE>>,
    c3_valid: DFF<Bit>,
    c3_dst: DFF<Bits<SP_ADDR_BITS>>,
    c3_be: DFF<Bits<BE>>,
    hi_word: DFF<Bits<W>>,
    live_pack: PackBits<BE>,
    live_channels: Signal<Local, Bits<16>>,
    end_token: Signal<Local, Bits<16>>,
    kept: Signal<Local, Bit>,

    p_idle: Constant<Bits<2>>,
    p_scan: Constant<Bits<2>>,
    p_copy: Constant<Bits<2>>,
    byte_col: Vec<Constant<Bits<16>>>,
    c_r16: Constant<Bits<16>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    _r: usize,
}

impl<const W: usize, const BE: usize> Default for Compact<W, BE> {
    fn default() -> Self {
        let c16 = |v: u64| Constant::new(Bits::<16>::from(v));
        Compact {
            clock: Signal::default(),
            reset: Signal::default(),
            go: Signal::default(),
            rows: Signal::default(),
            n: Signal::default(),
            words: Signal::default(),
            in_addr: Signal::default(),
            in_stride: Signal::default(),
            in_lo_bank: Signal::default(),
            in_hi_bank: Signal::default(),
            dropped: Signal::default(),
            token: Signal::default(),
            tok_keep: Signal::default(),
            rd0_data: Signal::default(),
            rd1_data: Signal::default(),
            rd: ReadRequest::default(),
            tok_next: Signal::default(),
            wr: SpWriteClient::default(),
            finish: Signal::default(),
            count: Signal::default(),
            phase: DFF::default(),
            kept_count: DFF::default(),
            src_row: DFF::default(),
            dst_row: DFF::default(),
            src_word: DFF::default(),
            dst_word: DFF::default(),
            words_done: DFF::default(),
            read_turn: DFF::default(),
            channels_left: DFF::default(),
            c1_valid: DFF::default(),
            c1_dst: DFF::default(),
            c1_be: DFF::default(),
            c2_valid: DFF::default(),
            c2_dst: DFF::default(),
            c2_be: DFF::default(),
            c3_valid: DFF::default(),
            c3_dst: DFF::default(),
            c3_be: DFF::default(),
            hi_word: DFF::default(),
            live_pack: PackBits::default(),
            live_channels: Signal::default(),
            end_token: Signal::default(),
            kept: Signal::default(),
            p_idle: Constant::new(IDLE.into()),
            p_scan: Constant::new(SCAN.into()),
            p_copy: Constant::new(COPY.into()),
            byte_col: (0..BE).map(|l| c16(l as u64)).collect(),
            c_r16: c16(BE as u64),
            c_zero16: c16(0),
            c_one16: c16(1),
            _r: BE,
        }
    }
}

impl<const W: usize, const BE: usize> Logic for Compact<W, BE> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            phase,
            kept_count,
            src_row,
            dst_row,
            src_word,
            dst_word,
            words_done,
            read_turn,
            channels_left,
            c1_valid,
            c1_dst,
            c1_be,
            c2_valid,
            c2_dst,
            c2_be,
            c3_valid,
            c3_dst,
            c3_be,
            hi_word
        );
        Signal::<Out, Bits<16>>::link(&mut self.count, &mut self.kept_count.q);
        self.end_token.next = self.rows.val();
        if self.dropped.val() {
            self.end_token.next = self.rows.val() + 1;
        }
        self.kept.next = self.tok_keep.val();
        if self.token.val() == self.rows.val() {
            self.kept.next = self.dropped.val();
        }
        self.live_channels.next = self.channels_left.q.val();
        if self.phase.q.val() == self.p_scan.val() {
            self.live_channels.next = self.n.val();
        }
        for l in 0..self._r {
            self.live_pack.lanes[l].next = self.live_channels.val() > self.byte_col[l].val();
        }

        // The copies: the low plane when the data arrives, the high plane a cycle later.
        self.c1_valid.d.next = false;
        self.c2_valid.d.next = self.c1_valid.q.val();
        self.c2_dst.d.next = self.c1_dst.q.val();
        self.c2_be.d.next = self.c1_be.q.val();
        self.c3_valid.d.next = self.c2_valid.q.val();
        self.c3_dst.d.next = self.c2_dst.q.val();
        self.c3_be.d.next = self.c2_be.q.val();
        self.hi_word.d.next = self.rd1_data.val();
        self.wr.en.next = false;
        self.wr.bank.next = self.in_lo_bank.val();
        self.wr.addr.next = self.c2_dst.q.val();
        self.wr.data.next = self.rd0_data.val();
        self.wr.be.next = self.c2_be.q.val();
        if self.c2_valid.q.val() {
            self.wr.en.next = true;
        }
        if self.c3_valid.q.val() {
            self.wr.en.next = true;
            self.wr.bank.next = self.in_hi_bank.val();
            self.wr.addr.next = self.c3_dst.q.val();
            self.wr.data.next = self.hi_word.q.val();
            self.wr.be.next = self.c3_be.q.val();
        }

        self.rd.en.next = false;
        self.rd.addr.next = self.src_word.q.val();
        // One assignment: a port assigned twice per evaluation re-triggers the parent.
        self.tok_next.next = (self.phase.q.val() == self.p_scan.val()) && (self.token.val() != self.end_token.val());
        self.finish.next = false;
        if self.phase.q.val() == self.p_scan.val() {
            // Token `token` (the token RAM holds its entry now).
            if self.token.val() == self.end_token.val() {
                self.finish.next = true;
                self.phase.d.next = self.p_idle.val();
            } else {
                self.src_row.d.next = self.src_row.q.val() + self.in_stride.val();
                if self.kept.val() {
                    self.kept_count.d.next = self.kept_count.q.val() + 1;
                    self.dst_row.d.next = self.dst_row.q.val() + self.in_stride.val();
                    if self.kept_count.q.val() != self.token.val() {
                        self.rd.en.next = true;
                        self.rd.addr.next = self.src_row.q.val();
                        self.c1_valid.d.next = true;
                        self.c1_dst.d.next = self.dst_row.q.val();
                        self.c1_be.d.next = self.live_pack.dout.val();
                        self.src_word.d.next = self.src_row.q.val() + 1;
                        self.dst_word.d.next = self.dst_row.q.val() + 1;
                        self.channels_left.d.next = self.n.val() - self.c_r16.val();
                        self.words_done.d.next = self.c_one16.val();
                        self.read_turn.d.next = false;
                        self.phase.d.next = self.p_copy.val();
                    }
                }
            }
        } else if self.phase.q.val() == self.p_copy.val() {
            // A word every other cycle (its two writes take the write port twice).
            if !self.read_turn.q.val() {
                if self.words_done.q.val() == self.words.val() {
                    self.phase.d.next = self.p_scan.val();
                } else {
                    self.read_turn.d.next = true;
                }
            } else {
                self.rd.en.next = true;
                self.c1_valid.d.next = true;
                self.c1_dst.d.next = self.dst_word.q.val();
                self.c1_be.d.next = self.live_pack.dout.val();
                self.src_word.d.next = self.src_word.q.val() + 1;
                self.dst_word.d.next = self.dst_word.q.val() + 1;
                self.words_done.d.next = self.words_done.q.val() + 1;
                self.channels_left.d.next = self.channels_left.q.val() - self.c_r16.val();
                self.read_turn.d.next = false;
            }
        }
        if self.go.val() {
            self.phase.d.next = self.p_scan.val();
            self.kept_count.d.next = self.c_zero16.val();
            self.src_row.d.next = self.in_addr.val();
            self.dst_row.d.next = self.in_addr.val();
        }
        if self.reset.val() {
            self.phase.d.next = self.p_idle.val();
            self.c1_valid.d.next = false;
            self.c2_valid.d.next = false;
            self.c3_valid.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone (R = 8 and R = 64) generates Verilog that `verilator -Wall` accepts;
    /// its behaviour is checked through the whole engine (`select/tests.rs`).
    #[test]
    fn compact_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut Compact::<64, 8>::default(), "compact");
        crate::verilog::lint(&v, "compact").unwrap();
        let v = crate::verilog::generate(&mut Compact::<512, 64>::default(), "compact");
        crate::verilog::lint(&v, "compact").unwrap();
    }
}
