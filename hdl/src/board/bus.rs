//! The mirror images of the accelerator's AXI port bundles (`crate::bus`), for the board shell
//! that drives its control slave and serves its memory master.

// The interface derive generates an undocumented `join` method for each mirrored pair; every
// item written here is documented.
#![allow(missing_docs)]

use crate::bus::{AxiLiteSlave, AxiReadMaster, AxiWriteMaster};
use rust_hdl::prelude::*;

/// An AXI4-Lite master port (mirror of [`AxiLiteSlave`]).
#[derive(LogicInterface, Default)]
#[join = "AxiLiteSlave"]
pub struct AxiLiteMaster {
    /// AW address.
    pub awaddr: Signal<Out, Bits<12>>,
    /// AW valid.
    pub awvalid: Signal<Out, Bit>,
    /// AW ready.
    pub awready: Signal<In, Bit>,
    /// W data.
    pub wdata: Signal<Out, Bits<32>>,
    /// W byte strobes.
    pub wstrb: Signal<Out, Bits<4>>,
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
    /// AR address.
    pub araddr: Signal<Out, Bits<12>>,
    /// AR valid.
    pub arvalid: Signal<Out, Bit>,
    /// AR ready.
    pub arready: Signal<In, Bit>,
    /// R data.
    pub rdata: Signal<In, Bits<32>>,
    /// R response.
    pub rresp: Signal<In, Bits<2>>,
    /// R valid.
    pub rvalid: Signal<In, Bit>,
    /// R ready.
    pub rready: Signal<Out, Bit>,
}

/// The read half of an AXI4 slave port with `W`-bit data (mirror of [`AxiReadMaster`]).
#[derive(LogicInterface, Default)]
#[join = "AxiReadMaster"]
pub struct AxiReadSlave<const W: usize> {
    /// AR address.
    pub araddr: Signal<In, Bits<40>>,
    /// AR burst length - 1.
    pub arlen: Signal<In, Bits<8>>,
    /// AR beat size.
    pub arsize: Signal<In, Bits<3>>,
    /// AR burst type.
    pub arburst: Signal<In, Bits<2>>,
    /// AR cache attributes.
    pub arcache: Signal<In, Bits<4>>,
    /// AR protection.
    pub arprot: Signal<In, Bits<3>>,
    /// AR valid.
    pub arvalid: Signal<In, Bit>,
    /// AR ready.
    pub arready: Signal<Out, Bit>,
    /// R data.
    pub rdata: Signal<Out, Bits<W>>,
    /// R response.
    pub rresp: Signal<Out, Bits<2>>,
    /// R last beat of a burst.
    pub rlast: Signal<Out, Bit>,
    /// R valid.
    pub rvalid: Signal<Out, Bit>,
    /// R ready.
    pub rready: Signal<In, Bit>,
}

/// The write half of an AXI4 slave port (mirror of [`AxiWriteMaster`]).
#[derive(LogicInterface, Default)]
#[join = "AxiWriteMaster"]
pub struct AxiWriteSlave<const W: usize, const S: usize> {
    /// AW address.
    pub awaddr: Signal<In, Bits<40>>,
    /// AW burst length - 1.
    pub awlen: Signal<In, Bits<8>>,
    /// AW beat size.
    pub awsize: Signal<In, Bits<3>>,
    /// AW burst type.
    pub awburst: Signal<In, Bits<2>>,
    /// AW cache attributes.
    pub awcache: Signal<In, Bits<4>>,
    /// AW protection.
    pub awprot: Signal<In, Bits<3>>,
    /// AW valid.
    pub awvalid: Signal<In, Bit>,
    /// AW ready.
    pub awready: Signal<Out, Bit>,
    /// W data.
    pub wdata: Signal<In, Bits<W>>,
    /// W strobes.
    pub wstrb: Signal<In, Bits<S>>,
    /// W last beat of a burst.
    pub wlast: Signal<In, Bit>,
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
}
