//! The buses between the accelerator's blocks, as Rust-HDL interface bundles
//! (`#[derive(LogicInterface)]`). Each bus comes as a pair of mirror-image bundles: the side that
//! starts transfers and the side that serves them. A parent connects two siblings' bundles with
//! `join` (one Verilog statement per wire, so no false combinational loop through a block) and
//! passes a child's bundle through its own with `link`.
//!
//! | bus | starts transfers | serves them |
//! |---|---|---|
//! | unit dispatch and completion | [`UnitDispatch`] (controller) | [`UnitPort`] (DMA, GEMM, vector) |
//! | scratchpad read | [`SpReadClient`] (units) | [`SpReadServer`] (scratchpad) |
//! | scratchpad write | [`SpWriteClient`] (units) | [`SpWriteServer`] (scratchpad) |
//! | DRAM read stream | [`ReadClient`] (fetch, DMA, GEMM; arbiter) | [`ReadServer`] (arbiter; AXI reader) |
//! | DRAM write stream | [`WriteClient`] (DMA) | [`WriteServer`] (AXI writer) |
//! | AXI4-Lite slave | host | [`AxiLiteSlave`] (registers, top) |
//! | AXI4 master, read half | [`AxiReadMaster`] (AXI reader, top) | memory |
//! | AXI4 master, write half | [`AxiWriteMaster`] (AXI writer, top) | memory |

// The interface derive generates an undocumented `join` method for each mirrored pair; every
// item written here is documented.
#![allow(missing_docs)]

use crate::storage::SP_ADDR_BITS;
use rust_hdl::prelude::*;

/// Width of one instruction word on the dispatch bus (`spec::isa::INSN_BITS`).
pub const INSN_BITS: usize = spec::isa::INSN_BITS;

/// Width of a scratchpad bank number.
pub const BANK_BITS: usize = 4;

/// An execution unit's dispatch and completion port (the unit's side).
#[derive(LogicInterface, Default)]
#[join = "UnitDispatch"]
pub struct UnitPort {
    /// The instruction being dispatched (valid with `valid`).
    pub insn: Signal<In, Bits<INSN_BITS>>,
    /// Its index in the program (for error reports).
    pub index: Signal<In, Bits<32>>,
    /// Take the instruction this cycle (only while `ready`).
    pub valid: Signal<In, Bit>,
    /// The unit can take an instruction.
    pub ready: Signal<Out, Bit>,
    /// Nothing pending or running.
    pub idle: Signal<Out, Bit>,
    /// One-cycle pulse: an instruction completed.
    pub done: Signal<Out, Bit>,
    /// One-cycle pulse: an instruction failed (instead of `done`).
    pub error: Signal<Out, Bit>,
    /// The error's code (valid with `error`).
    pub error_code: Signal<Out, Bits<8>>,
    /// The failed instruction's index (valid with `error`).
    pub error_index: Signal<Out, Bits<32>>,
}

/// The controller's side of [`UnitPort`].
#[derive(LogicInterface, Default)]
#[join = "UnitPort"]
pub struct UnitDispatch {
    /// See [`UnitPort::insn`].
    pub insn: Signal<Out, Bits<INSN_BITS>>,
    /// See [`UnitPort::index`].
    pub index: Signal<Out, Bits<32>>,
    /// See [`UnitPort::valid`].
    pub valid: Signal<Out, Bit>,
    /// See [`UnitPort::ready`].
    pub ready: Signal<In, Bit>,
    /// See [`UnitPort::idle`].
    pub idle: Signal<In, Bit>,
    /// See [`UnitPort::done`].
    pub done: Signal<In, Bit>,
    /// See [`UnitPort::error`].
    pub error: Signal<In, Bit>,
    /// See [`UnitPort::error_code`].
    pub error_code: Signal<In, Bits<8>>,
    /// See [`UnitPort::error_index`].
    pub error_index: Signal<In, Bits<32>>,
}

/// A scratchpad read port (the client's side): the word returns one cycle after `en`.
#[derive(LogicInterface, Default)]
#[join = "SpReadServer"]
pub struct SpReadClient<const W: usize> {
    /// Read this cycle.
    pub en: Signal<Out, Bit>,
    /// Bank to read.
    pub bank: Signal<Out, Bits<BANK_BITS>>,
    /// Word address in the bank.
    pub addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// The word read in the previous cycle.
    pub data: Signal<In, Bits<W>>,
}

/// The scratchpad's side of [`SpReadClient`].
#[derive(LogicInterface, Default)]
#[join = "SpReadClient"]
pub struct SpReadServer<const W: usize> {
    /// See [`SpReadClient::en`].
    pub en: Signal<In, Bit>,
    /// See [`SpReadClient::bank`].
    pub bank: Signal<In, Bits<BANK_BITS>>,
    /// See [`SpReadClient::addr`].
    pub addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// See [`SpReadClient::data`].
    pub data: Signal<Out, Bits<W>>,
}

/// A scratchpad write port (the client's side).
#[derive(LogicInterface, Default)]
#[join = "SpWriteServer"]
pub struct SpWriteClient<const W: usize, const BE: usize> {
    /// Write this cycle.
    pub en: Signal<Out, Bit>,
    /// Bank to write.
    pub bank: Signal<Out, Bits<BANK_BITS>>,
    /// Word address in the bank.
    pub addr: Signal<Out, Bits<SP_ADDR_BITS>>,
    /// The word.
    pub data: Signal<Out, Bits<W>>,
    /// Byte enables.
    pub be: Signal<Out, Bits<BE>>,
}

/// The scratchpad's side of [`SpWriteClient`].
#[derive(LogicInterface, Default)]
#[join = "SpWriteClient"]
pub struct SpWriteServer<const W: usize, const BE: usize> {
    /// See [`SpWriteClient::en`].
    pub en: Signal<In, Bit>,
    /// See [`SpWriteClient::bank`].
    pub bank: Signal<In, Bits<BANK_BITS>>,
    /// See [`SpWriteClient::addr`].
    pub addr: Signal<In, Bits<SP_ADDR_BITS>>,
    /// See [`SpWriteClient::data`].
    pub data: Signal<In, Bits<W>>,
    /// See [`SpWriteClient::be`].
    pub be: Signal<In, Bits<BE>>,
}

/// A DRAM read stream (the client's side): one command (`cmd_*`) asks for `cmd_beats` words
/// from byte address `cmd_addr`; the words come back in order on `data`.
#[derive(LogicInterface, Default)]
#[join = "ReadServer"]
pub struct ReadClient<const W: usize> {
    /// Command valid.
    pub cmd_valid: Signal<Out, Bit>,
    /// Command accepted.
    pub cmd_ready: Signal<In, Bit>,
    /// Byte address of the first word (W/8-aligned).
    pub cmd_addr: Signal<Out, Bits<40>>,
    /// Words to read (>= 1).
    pub cmd_beats: Signal<Out, Bits<32>>,
    /// A word (valid with `data_valid`).
    pub data: Signal<In, Bits<W>>,
    /// A word for this client is on `data`.
    pub data_valid: Signal<In, Bit>,
    /// The client takes it.
    pub data_ready: Signal<Out, Bit>,
}

/// The serving side of [`ReadClient`] (the arbiter towards its clients, the AXI reader).
#[derive(LogicInterface, Default)]
#[join = "ReadClient"]
pub struct ReadServer<const W: usize> {
    /// See [`ReadClient::cmd_valid`].
    pub cmd_valid: Signal<In, Bit>,
    /// See [`ReadClient::cmd_ready`].
    pub cmd_ready: Signal<Out, Bit>,
    /// See [`ReadClient::cmd_addr`].
    pub cmd_addr: Signal<In, Bits<40>>,
    /// See [`ReadClient::cmd_beats`].
    pub cmd_beats: Signal<In, Bits<32>>,
    /// See [`ReadClient::data`].
    pub data: Signal<Out, Bits<W>>,
    /// See [`ReadClient::data_valid`].
    pub data_valid: Signal<Out, Bit>,
    /// See [`ReadClient::data_ready`].
    pub data_ready: Signal<In, Bit>,
}

/// A DRAM write stream (the client's side): one command asks to write `cmd_beats` words from
/// byte address `cmd_addr`; the client then offers them in order on `data`.
#[derive(LogicInterface, Default)]
#[join = "WriteServer"]
pub struct WriteClient<const W: usize> {
    /// Command valid.
    pub cmd_valid: Signal<Out, Bit>,
    /// Command accepted.
    pub cmd_ready: Signal<In, Bit>,
    /// Byte address of the first word (W/8-aligned).
    pub cmd_addr: Signal<Out, Bits<40>>,
    /// Words to write.
    pub cmd_beats: Signal<Out, Bits<32>>,
    /// The next word.
    pub data: Signal<Out, Bits<W>>,
    /// `data` is valid.
    pub data_valid: Signal<Out, Bit>,
    /// The word is taken.
    pub data_ready: Signal<In, Bit>,
    /// No command in progress and every burst answered.
    pub idle: Signal<In, Bit>,
}

/// The AXI writer's side of [`WriteClient`].
#[derive(LogicInterface, Default)]
#[join = "WriteClient"]
pub struct WriteServer<const W: usize> {
    /// See [`WriteClient::cmd_valid`].
    pub cmd_valid: Signal<In, Bit>,
    /// See [`WriteClient::cmd_ready`].
    pub cmd_ready: Signal<Out, Bit>,
    /// See [`WriteClient::cmd_addr`].
    pub cmd_addr: Signal<In, Bits<40>>,
    /// See [`WriteClient::cmd_beats`].
    pub cmd_beats: Signal<In, Bits<32>>,
    /// See [`WriteClient::data`].
    pub data: Signal<In, Bits<W>>,
    /// See [`WriteClient::data_valid`].
    pub data_valid: Signal<In, Bit>,
    /// See [`WriteClient::data_ready`].
    pub data_ready: Signal<Out, Bit>,
    /// See [`WriteClient::idle`].
    pub idle: Signal<Out, Bit>,
}

/// An AXI4-Lite slave port (32-bit data, 12-bit addresses), signal names as AXI spells them.
#[derive(LogicInterface, Default)]
pub struct AxiLiteSlave {
    /// AW address.
    pub awaddr: Signal<In, Bits<12>>,
    /// AW valid.
    pub awvalid: Signal<In, Bit>,
    /// AW ready.
    pub awready: Signal<Out, Bit>,
    /// W data.
    pub wdata: Signal<In, Bits<32>>,
    /// W byte strobes.
    pub wstrb: Signal<In, Bits<4>>,
    /// W valid.
    pub wvalid: Signal<In, Bit>,
    /// W ready.
    pub wready: Signal<Out, Bit>,
    /// B response.
    pub bresp: Signal<Out, Bits<2>>,
    /// B valid.
    pub bvalid: Signal<Out, Bit>,
    /// B ready.
    pub bready: Signal<In, Bit>,
    /// AR address.
    pub araddr: Signal<In, Bits<12>>,
    /// AR valid.
    pub arvalid: Signal<In, Bit>,
    /// AR ready.
    pub arready: Signal<Out, Bit>,
    /// R data.
    pub rdata: Signal<Out, Bits<32>>,
    /// R response.
    pub rresp: Signal<Out, Bits<2>>,
    /// R valid.
    pub rvalid: Signal<Out, Bit>,
    /// R ready.
    pub rready: Signal<In, Bit>,
}

/// The read half (AR and R channels) of an AXI4 master port with `W`-bit data.
#[derive(LogicInterface, Default)]
pub struct AxiReadMaster<const W: usize> {
    /// AR address.
    pub araddr: Signal<Out, Bits<40>>,
    /// AR burst length - 1.
    pub arlen: Signal<Out, Bits<8>>,
    /// AR beat size, log2(W/8).
    pub arsize: Signal<Out, Bits<3>>,
    /// AR burst type.
    pub arburst: Signal<Out, Bits<2>>,
    /// AR cache attributes.
    pub arcache: Signal<Out, Bits<4>>,
    /// AR protection.
    pub arprot: Signal<Out, Bits<3>>,
    /// AR valid.
    pub arvalid: Signal<Out, Bit>,
    /// AR ready.
    pub arready: Signal<In, Bit>,
    /// R data.
    pub rdata: Signal<In, Bits<W>>,
    /// R response.
    pub rresp: Signal<In, Bits<2>>,
    /// R last beat of a burst.
    pub rlast: Signal<In, Bit>,
    /// R valid.
    pub rvalid: Signal<In, Bit>,
    /// R ready.
    pub rready: Signal<Out, Bit>,
}

/// The write half (AW, W and B channels) of an AXI4 master port with `W`-bit data and `S`
/// strobes.
#[derive(LogicInterface, Default)]
pub struct AxiWriteMaster<const W: usize, const S: usize> {
    /// AW address.
    pub awaddr: Signal<Out, Bits<40>>,
    /// AW burst length - 1.
    pub awlen: Signal<Out, Bits<8>>,
    /// AW beat size, log2(W/8).
    pub awsize: Signal<Out, Bits<3>>,
    /// AW burst type.
    pub awburst: Signal<Out, Bits<2>>,
    /// AW cache attributes.
    pub awcache: Signal<Out, Bits<4>>,
    /// AW protection.
    pub awprot: Signal<Out, Bits<3>>,
    /// AW valid.
    pub awvalid: Signal<Out, Bit>,
    /// AW ready.
    pub awready: Signal<In, Bit>,
    /// W data.
    pub wdata: Signal<Out, Bits<W>>,
    /// W strobes.
    pub wstrb: Signal<Out, Bits<S>>,
    /// W last beat of a burst.
    pub wlast: Signal<Out, Bit>,
    /// W valid.
    pub wvalid: Signal<Out, Bit>,
    /// W ready.
    pub wready: Signal<In, Bit>,
    /// B response.
    pub bresp: Signal<In, Bits<2>>,
    /// B valid.
    pub bvalid: Signal<In, Bit>,
    /// B ready.
    pub bready: Signal<Out, Bit>,
}
