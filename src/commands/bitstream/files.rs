//! The generated files of a Vivado project folder: `params.tcl` (every number the flow in
//! `constraints/vivado/build.tcl` uses), the clock constraint, the device-tree overlay and the
//! Kria `shell.json`. Numbers come from `spec` and the configuration only.

use super::boards::{self, Board};
use super::ports::{Dir, Port};
use host::device::board::layout;
use spec::regmap;
use spec::AccelConfig;

/// Name of the accelerator cell in the block design.
pub const CELL: &str = "vitaccel_0";
/// Name of the PS cell.
pub const PS_CELL: &str = "zynq_ultra_ps_e_0";
/// The top's clock, reset, and the prefixes of its AXI4-Lite slave and AXI4 master.
pub const CLOCK_PORT: &str = "aclk";
/// Active-low reset port.
pub const RESET_PORT: &str = "aresetn";
/// Interface (and port prefix) of the AXI4-Lite slave.
pub const SLAVE: &str = "s_axi";
/// Interface (and port prefix) of the AXI4 master.
pub const MASTER: &str = "m_axi";
/// Interrupt output the flow wires to `pl_ps_irq0` when the top has it.
pub const IRQ_PORT: &str = "irq";

/// Everything the generated files depend on.
pub struct Project<'a> {
    /// Target board.
    pub board: Board,
    /// Accelerator configuration.
    pub cfg: &'a AccelConfig,
    /// Ports of the generated top module.
    pub ports: &'a [Port],
    /// u-dma-buf size in bytes.
    pub udmabuf_bytes: u64,
    /// Parallel jobs for synthesis and implementation.
    pub jobs: usize,
}

impl Project<'_> {
    /// The top has an interrupt output.
    pub fn has_irq(&self) -> bool {
        self.ports.iter().any(|p| p.name == IRQ_PORT && p.dir == Dir::Out && p.bits == 1)
    }

    /// Check the top's ports against what the flow connects: clock, reset, both AXI
    /// interfaces, and an AXI4-Lite address exactly as wide as the register window.
    pub fn check_ports(&self) -> Result<(), String> {
        let find = |name: &str| self.ports.iter().find(|p| p.name == name);
        for (name, dir) in [(CLOCK_PORT, Dir::In), (RESET_PORT, Dir::In)] {
            match find(name) {
                Some(p) if p.dir == dir && p.bits == 1 => {}
                _ => return Err(format!("the top has no 1-bit {dir:?} port `{name}`")),
            }
        }
        for channel in [
            "awaddr", "awvalid", "awready", "wdata", "wvalid", "wready", "bvalid", "bready", "araddr", "arvalid",
            "arready", "rdata", "rvalid", "rready",
        ] {
            for bus in [SLAVE, MASTER] {
                if find(&format!("{bus}_{channel}")).is_none() {
                    return Err(format!("the top has no port `{bus}_{channel}` (AXI interface `{bus}`)"));
                }
            }
        }
        let addr = find(&format!("{SLAVE}_awaddr")).expect("checked").bits;
        if addr != regmap::ADDR_BITS {
            return Err(format!(
                "{SLAVE}_awaddr is {addr} bits, the register map has {} address bits",
                regmap::ADDR_BITS
            ));
        }
        Ok(())
    }

    /// `params.tcl`: the variables `build.tcl` reads.
    pub fn params_tcl(&self) -> String {
        let f = self.board.facts();
        let clock_mhz = self.cfg.clock_mhz;
        let ports: Vec<&str> = self.ports.iter().map(|p| p.name.as_str()).collect();
        let vars: Vec<(&str, String)> = vec![
            ("name", layout::APP_NAME.into()),
            ("top", hdl::TOP_MODULE.into()),
            ("board", self.board.name().into()),
            ("part", f.part.into()),
            ("board_part", f.board_part.into()),
            ("board_connections", f.board_connections.into()),
            ("array", format!("{}x{}", self.cfg.array_rows, self.cfg.array_cols)),
            ("config_hash", format!("{:#010x}", self.cfg.hash())),
            ("ip_vendor", "vitaccel.org".into()),
            ("ip_library", "user".into()),
            ("ip_name", hdl::TOP_MODULE.into()),
            ("ip_version", "1.0".into()),
            ("ip_vlnv", format!("vitaccel.org:user:{}:1.0", hdl::TOP_MODULE)),
            ("bd", "vitaccel_bd".into()),
            ("ps", PS_CELL.into()),
            ("cell", CELL.into()),
            ("clock_port", CLOCK_PORT.into()),
            ("reset_port", RESET_PORT.into()),
            ("slave", SLAVE.into()),
            ("master", MASTER.into()),
            ("irq_port", if self.has_irq() { IRQ_PORT.into() } else { String::new() }),
            ("use_irq", (self.has_irq() as u8).to_string()),
            ("ports", ports.join(" ")),
            ("clock_mhz", format!("{clock_mhz}")),
            ("clock_hz", format!("{}", (clock_mhz * 1e6).round() as u64)),
            ("control_port", boards::CONTROL_PORT.into()),
            ("memory_port", boards::MEMORY_PORT.into()),
            ("hpm_data_width", boards::PS_PORT_BITS.to_string()),
            ("hp_data_width", boards::PS_PORT_BITS.to_string()),
            ("reg_base", format!("{:#x}", layout::REG_BASE)),
            ("reg_window", format!("{:#x}", regmap::WINDOW_BYTES)),
            ("jobs", self.jobs.to_string()),
        ];
        let mut s = format!(
            "# Generated by `vitaccel bitstream --board {}` from spec and the accelerator config. Do not edit.\n",
            self.board.name()
        );
        for (k, v) in vars {
            s += &format!("set vitaccel({k}) {{{v}}}\n");
        }
        s
    }

    /// `vitaccel.xdc`: the accelerator clock at the config's frequency.
    pub fn xdc(&self) -> String {
        format!(
            "# Generated by `vitaccel bitstream`. Do not edit.\n\
             # The accelerator clock at clock_mhz = {mhz} of the config. In the block design pl_clk0\n\
             # drives it and Vivado derives the same period from the PS configuration.\n\
             create_clock -period {period:.3} -name {CLOCK_PORT} [get_ports {CLOCK_PORT}]\n",
            mhz = self.cfg.clock_mhz,
            period = 1000.0 / self.cfg.clock_mhz,
        )
    }

    /// `vitaccel.dtso`: the overlay that programs the PL (fpga-region `firmware-name`), sets
    /// pl_clk0, and creates the UIO register device (with its interrupt when the top has one)
    /// and the u-dma-buf.
    pub fn dtso(&self) -> String {
        let hz = (self.cfg.clock_mhz * 1e6).round() as u64;
        let irq = if self.has_irq() {
            format!(
                "\t\t\t\tinterrupt-parent = <&gic>;\n\t\t\t\tinterrupts = <0 {} 4>; /* pl_ps_irq0[0], level high */\n",
                boards::PL_PS_IRQ0_SPI
            )
        } else {
            "\t\t\t\t/* no interrupt: the top has no `irq` output; the driver polls STATUS */\n".into()
        };
        let (base, window, size) = (layout::REG_BASE, regmap::WINDOW_BYTES, self.udmabuf_bytes);
        format!(
            "// Generated by `vitaccel bitstream --board {board}` for a {r}x{c} array, CONFIG_HASH {hash:#010x}.\n\
             // Do not edit. Compile: dtc -@ -I dts -O dtb -o {app}.dtbo {app}.dtso\n\
             /dts-v1/;\n/plugin/;\n\n\
             / {{\n\
             \tfragment0 {{\n\t\ttarget = <&fpga_full>;\n\t\t__overlay__ {{\n\
             \t\t\tfirmware-name = \"{app}.bit.bin\";\n\t\t}};\n\t}};\n\n\
             \tfragment1 {{\n\t\ttarget = <&amba>;\n\t\t__overlay__ {{\n\
             \t\t\t#address-cells = <2>;\n\t\t\t#size-cells = <2>;\n\n\
             \t\t\t/* pl_clk0 at clock_mhz = {mhz} */\n\
             \t\t\t{app}_clk: {app}_clk {{\n\
             \t\t\t\tcompatible = \"xlnx,fclk\";\n\
             \t\t\t\tclocks = <&zynqmp_clk {pl0}>;\n\
             \t\t\t\tclock-output-names = \"{app}_clk\";\n\
             \t\t\t\t#clock-cells = <0>;\n\
             \t\t\t\tassigned-clocks = <&zynqmp_clk {pl0}>;\n\
             \t\t\t\tassigned-clock-rates = <{hz}>;\n\t\t\t}};\n\n\
             \t\t\t/* the register window ({window} bytes) as /dev/uioN named \"{uio}\" */\n\
             \t\t\t{uio}@{base:x} {{\n\
             \t\t\t\tcompatible = \"generic-uio\";\n\
             \t\t\t\treg = <{base_hi:#x} {base_lo:#x} 0x0 {window:#x}>;\n\
             \t\t\t\tclocks = <&{app}_clk>;\n\
             {irq}\t\t\t}};\n\t\t}};\n\t}};\n\n\
             \tfragment2 {{\n\t\ttarget-path = \"/\";\n\t\t__overlay__ {{\n\
             \t\t\t/* the program's DRAM: {size} bytes, physically contiguous */\n\
             \t\t\t{dmabuf} {{\n\
             \t\t\t\tcompatible = \"ikwzm,u-dma-buf\";\n\
             \t\t\t\tdevice-name = \"{dmabuf}\";\n\
             \t\t\t\tsize = <{size:#x}>;\n\
             \t\t\t\tdma-mask = <{dma_bits}>;\n\t\t\t}};\n\t\t}};\n\t}};\n}};\n",
            board = self.board.name(),
            r = self.cfg.array_rows,
            c = self.cfg.array_cols,
            hash = self.cfg.hash(),
            app = layout::APP_NAME,
            mhz = self.cfg.clock_mhz,
            pl0 = boards::PL0_REF_CLK,
            uio = layout::UIO_NAME,
            base_hi = base >> 32,
            base_lo = base & 0xffff_ffff,
            dmabuf = layout::UDMABUF_NAME,
            dma_bits = spec::isa::DMA_DRAM_ADDR.width,
        )
    }

    /// `shell.json` of a Kria app: a flat shell (the whole PL, one slot).
    pub fn shell_json(&self) -> String {
        "{\n    \"shell_type\" : \"XRT_FLAT\",\n    \"num_slots\": \"1\"\n}\n".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, dir: Dir, bits: u32) -> Port {
        Port { name: name.into(), dir, bits }
    }

    /// A top with an `irq` output: params enable pl_ps_irq0, the overlay declares SPI 89, and
    /// `dtc` compiles it without warnings.
    #[test]
    fn an_irq_output_reaches_params_and_overlay() {
        let cfg = AccelConfig::small();
        let ports = vec![port(CLOCK_PORT, Dir::In, 1), port(RESET_PORT, Dir::In, 1), port(IRQ_PORT, Dir::Out, 1)];
        let p = Project { board: Board::Kv260, cfg: &cfg, ports: &ports, udmabuf_bytes: 1 << 20, jobs: 2 };
        assert!(p.has_irq());
        let params = p.params_tcl();
        assert!(params.contains("set vitaccel(irq_port) {irq}") && params.contains("set vitaccel(use_irq) {1}"));
        let dtso = p.dtso();
        assert!(dtso.contains("interrupts = <0 89 4>;"), "{dtso}");
        let dir = std::env::temp_dir().join(format!("vitaccel-irq-overlay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("o.dtso"), &dtso).unwrap();
        let out = std::process::Command::new("dtc")
            .args(["-@", "-I", "dts", "-O", "dtb", "-o"])
            .arg(dir.join("o.dtbo"))
            .arg(dir.join("o.dtso"))
            .output()
            .expect("dtc installed (scripts/setup.sh)");
        std::fs::remove_dir_all(&dir).ok();
        assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        // Without the port: no interrupt property, IRQ0 off.
        let no_irq = &ports[..2];
        let p = Project { ports: no_irq, ..p };
        assert!(!p.dtso().contains("interrupts =") && p.params_tcl().contains("set vitaccel(use_irq) {0}"));
    }

    #[test]
    fn a_top_without_the_axi_ports_is_refused() {
        let cfg = AccelConfig::small();
        let ports = vec![port(CLOCK_PORT, Dir::In, 1), port(RESET_PORT, Dir::In, 1)];
        let p = Project { board: Board::Zcu102, cfg: &cfg, ports: &ports, udmabuf_bytes: 1 << 20, jobs: 2 };
        assert!(p.check_ports().unwrap_err().contains("s_axi_awaddr"));
        let ports = vec![port(CLOCK_PORT, Dir::Out, 1)];
        let p = Project { ports: &ports, ..p };
        assert!(p.check_ports().unwrap_err().contains("aclk"));
    }
}
