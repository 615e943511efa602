//! The selector's token RAM: per token `1 << 31` (kept) or its package weight, written by the
//! decision ([`TokenWrite`]) and read one entry per cycle by the later steps. The address is
//! the token register, held, moved to a given token (`seek`, the column pass), to the next
//! token (`step`, compaction and gather) or back to token 0 (`restart`, the later wins); the
//! entry of `token` is on `keep`/`weight` in the cycle after. The address is assigned once per
//! evaluation.

// The interface derive generates an undocumented `join` method for each mirrored pair; every
// item written here is documented.
#![allow(missing_docs)]

use super::WEIGHT_BITS;
use crate::arith::Slice;
use crate::storage::AccLane;
use crate::widen::Extend;
use rust_hdl::prelude::*;

/// A token RAM write (the writer's side).
#[derive(LogicInterface, Default)]
#[join = "TokenWriteIn"]
pub struct TokenWrite {
    /// Write this cycle.
    pub en: Signal<Out, Bit>,
    /// The token.
    pub addr: Signal<Out, Bits<16>>,
    /// Its entry: `1 << 31` (kept) or the package weight.
    pub data: Signal<Out, Bits<32>>,
}

/// [`TokenRam`]'s side of a [`TokenWrite`].
#[derive(LogicInterface, Default)]
#[join = "TokenWrite"]
pub struct TokenWriteIn {
    /// See [`TokenWrite::en`].
    pub en: Signal<In, Bit>,
    /// See [`TokenWrite::addr`].
    pub addr: Signal<In, Bits<16>>,
    /// See [`TokenWrite::data`].
    pub data: Signal<In, Bits<32>>,
}

/// The token RAM of `depth` entries ([`super::token_ram_depth`]) and its read address.
#[derive(LogicBlock)]
pub struct TokenRam {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The decision's writes.
    pub write: TokenWriteIn,
    /// Read the entry of `seek_token` next.
    pub seek: Signal<In, Bit>,
    /// The token for `seek`.
    pub seek_token: Signal<In, Bits<16>>,
    /// Read the entry of `token + 1` next.
    pub step: Signal<In, Bit>,
    /// Read the entry of token 0 next.
    pub restart: Signal<In, Bit>,
    /// The token whose entry is on `keep` and `weight`.
    pub token: Signal<Out, Bits<16>>,
    /// The token is kept.
    pub keep: Signal<Out, Bit>,
    /// Its package weight (0 for a kept token), widened by one bit.
    pub weight: Signal<Out, Bits<22>>,

    ram: AccLane,
    token_r: DFF<Bits<16>>,
    rd_addr: Signal<Local, Bits<16>>,
    weight_slice: Slice<32, WEIGHT_BITS>,
    ext_weight: Extend<22, WEIGHT_BITS>,
    c_zero16: Constant<Bits<16>>,
}

impl TokenRam {
    /// A RAM of `depth` entries.
    pub fn new(depth: usize) -> Self {
        TokenRam {
            clock: Signal::default(),
            write: TokenWriteIn::default(),
            seek: Signal::default(),
            seek_token: Signal::default(),
            step: Signal::default(),
            restart: Signal::default(),
            token: Signal::default(),
            keep: Signal::default(),
            weight: Signal::default(),
            ram: AccLane::new(depth),
            token_r: DFF::default(),
            rd_addr: Signal::default(),
            weight_slice: Slice::new(0),
            ext_weight: Extend::new(false),
            c_zero16: Constant::new(0u64.into()),
        }
    }
}

impl Logic for TokenRam {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, token_r);
        self.ram.clock.next = self.clock.val();
        Signal::<Out, Bits<16>>::link(&mut self.token, &mut self.token_r.q);
        self.ram.wr_addr.next = self.write.addr.val();
        self.ram.wr_data.next = self.write.data.val();
        self.ram.wr_en.next = self.write.en.val();
        self.keep.next = self.ram.rd_data.val().get_bit(31);
        self.weight_slice.din.next = self.ram.rd_data.val();
        self.ext_weight.din.next = self.weight_slice.dout.val();
        self.weight.next = self.ext_weight.dout.val();
        self.rd_addr.next = self.token_r.q.val();
        if self.seek.val() {
            self.rd_addr.next = self.seek_token.val();
        }
        if self.step.val() {
            self.rd_addr.next = self.token_r.q.val() + 1;
        }
        if self.restart.val() {
            self.rd_addr.next = self.c_zero16.val();
        }
        self.token_r.d.next = self.rd_addr.val();
        self.ram.rd_addr.next = self.rd_addr.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block alone generates Verilog that `verilator -Wall` accepts; its behaviour is
    /// checked through the whole engine (`select/tests.rs`).
    #[test]
    fn token_ram_verilog_is_lint_clean() {
        let v = crate::verilog::generate(&mut TokenRam::new(16), "token_ram");
        crate::verilog::lint(&v, "token_ram").unwrap();
        let v = crate::verilog::generate(&mut TokenRam::new(256), "token_ram");
        crate::verilog::lint(&v, "token_ram").unwrap();
    }
}
