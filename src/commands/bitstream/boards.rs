//! The boards `vitaccel bitstream` targets: Zynq UltraScale+ boards through the Vivado flow
//! (and the PS ports it uses on them), and the ULX3S through the open ECP5 flow.

/// A target board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Board {
    /// Kria KV260 Vision AI Starter Kit (K26 SOM): loaded with `xmutil` (dfx-mgr).
    Kv260,
    /// ZCU102 evaluation board (XCZU9EG): loaded through the FPGA manager.
    Zcu102,
    /// Radiona ULX3S with a Lattice ECP5 LFE5U-85F: the open flow (Yosys, nextpnr, ecppack).
    Ulx3s,
}

/// The flow that builds a board's bitstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Vivado project folder (`constraints/vivado/`), run where Vivado is installed.
    Vivado,
    /// Yosys `synth_ecp5`, `nextpnr-ecp5`, `ecppack` (`constraints/ecp5/`), run here.
    Ecp5,
}

/// What the Vivado flow needs to know about a board (names as in Vivado's board store).
#[derive(Clone, Copy, Debug)]
pub struct BoardFacts {
    /// Device part.
    pub part: &'static str,
    /// Board part (board store).
    pub board_part: &'static str,
    /// Board connections (the KV260's SOM on its carrier), or empty.
    pub board_connections: &'static str,
    /// Boots a Kria image: the bitstream loads as an `xmutil` app (needs `shell.json`).
    pub kria: bool,
}

/// PS master port of the accelerator's AXI4-Lite slave.
pub const CONTROL_PORT: &str = "M_AXI_HPM0_FPD";
/// PS slave port of the accelerator's AXI4 master: high performance, not cache coherent.
pub const MEMORY_PORT: &str = "S_AXI_HP0_FPD";
/// Data width of both PS ports: 128 bits, the reset width of their AXI FIFO interfaces, so a
/// bitstream loaded under Linux needs no `xlnx,afi-fpga` width setting; SmartConnects convert
/// to the accelerator's widths.
pub const PS_PORT_BITS: u32 = 128;
/// GIC shared peripheral interrupt of `pl_ps_irq0[0]` (interrupt ID 121 = SPI 89).
pub const PL_PS_IRQ0_SPI: u32 = 89;
/// Common clock framework index of PL0_REF (`pl_clk0`) on `zynqmp_clk`.
pub const PL0_REF_CLK: u32 = 71;

impl Board {
    /// The flow that builds it.
    pub fn flow(self) -> Flow {
        match self {
            Board::Kv260 | Board::Zcu102 => Flow::Vivado,
            Board::Ulx3s => Flow::Ecp5,
        }
    }

    /// Its Vivado facts (boards of [`Flow::Vivado`]; `None` for the others).
    pub fn vivado_facts(self) -> Option<BoardFacts> {
        Some(match self {
            Board::Kv260 => BoardFacts {
                part: "xck26-sfvc784-2LV-c",
                board_part: "xilinx.com:kv260_som:part0:1.4",
                board_connections: "som240_1_connector xilinx.com:kv260_carrier:som240_1_connector:1.3",
                kria: true,
            },
            Board::Zcu102 => BoardFacts {
                part: "xczu9eg-ffvb1156-2-e",
                board_part: "xilinx.com:zcu102:part0:3.4",
                board_connections: "",
                kria: false,
            },
            Board::Ulx3s => return None,
        })
    }

    /// Its Vivado facts; panics for a board of another flow (callers dispatch on [`Board::flow`]).
    pub fn facts(self) -> BoardFacts {
        self.vivado_facts().unwrap_or_else(|| panic!("{} is not a Vivado board", self.name()))
    }

    /// Lower-case name (`kv260`).
    pub fn name(self) -> &'static str {
        match self {
            Board::Kv260 => "kv260",
            Board::Zcu102 => "zcu102",
            Board::Ulx3s => "ulx3s",
        }
    }
}
