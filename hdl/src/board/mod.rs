//! Board shells: what a board needs around the accelerator so that every port has somewhere
//! to go and the host can use it. [`shell::UlxShell`] serves the Radiona ULX3S (Lattice ECP5
//! LFE5U-85F): the FTDI UART carries register and memory accesses ([`bridge`] over [`uart`]),
//! on-chip block RAM ([`memory`] over [`ram`]) stands in for DRAM, LEDs show status ([`led`]).
//! [`bus`] holds the mirror images of the accelerator's AXI bundles.

pub mod bridge;
pub mod bus;
pub mod led;
pub mod memory;
pub mod ram;
pub mod shell;
pub mod uart;

use spec::AccelConfig;

/// Module name of [`ulx3s_verilog`].
pub const ULX3S_MODULE: &str = "vitaccel_ulx3s";

/// Why a configuration cannot become a board shell.
#[derive(Debug)]
pub enum ShellError {
    /// The configuration is invalid.
    Config(spec::ConfigError),
    /// The configuration or memory size does not suit the board.
    Board(String),
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShellError::Config(e) => write!(f, "{e}"),
            ShellError::Board(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for ShellError {}

/// Verilog of the ULX3S shell (module [`ULX3S_MODULE`]) around the accelerator for `cfg`, with
/// `memory_bytes` of on-chip memory (a power of two, 16 B..8 MiB) and the UART at
/// [`shell::BAUD`].
pub fn ulx3s_verilog(cfg: &AccelConfig, memory_bytes: usize) -> Result<String, ShellError> {
    cfg.validate().map_err(ShellError::Config)?;
    if cfg.axi_data_bits() != 64 {
        return Err(ShellError::Board(format!(
            "the ULX3S shell serves a 64-bit AXI master: array_rows must be 8, not {}",
            cfg.array_rows
        )));
    }
    if !memory_bytes.is_power_of_two() || !(16..=8 << 20).contains(&memory_bytes) {
        return Err(ShellError::Board(format!("board memory of {memory_bytes} bytes: a power of two, 16 B..8 MiB")));
    }
    fn gen<const VW: usize, const VBE: usize>(cfg: &AccelConfig, memory_bytes: usize) -> String {
        let mut shell = shell::UlxShell::<VW, VBE>::new(cfg, memory_bytes, shell::clocks_per_bit());
        crate::verilog::generate(&mut shell, ULX3S_MODULE)
    }
    Ok(match cfg.vec_lanes() {
        8 => gen::<64, 8>(cfg, memory_bytes),
        4 => gen::<32, 4>(cfg, memory_bytes),
        l => unreachable!("validate() admits 4..=8 vector lanes on 8 rows, got {l}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The board configuration `configs/ulx3s.toml` (read from the file, so the test follows it).
    pub(crate) fn ulx3s_config() -> AccelConfig {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ulx3s.toml");
        AccelConfig::load(&path).expect("configs/ulx3s.toml")
    }

    #[test]
    fn ulx3s_shell_is_lint_clean() {
        let v = ulx3s_verilog(&ulx3s_config(), 1 << 12).unwrap();
        crate::verilog::lint(&v, ULX3S_MODULE).unwrap();
    }

    #[test]
    fn a_board_shell_needs_8_rows_and_a_power_of_two_memory() {
        let cfg = ulx3s_config();
        assert!(ulx3s_verilog(&cfg, 3 << 12).unwrap_err().to_string().contains("power of two"));
        let wide = AccelConfig { array_rows: 16, array_cols: 16, weight_fifo_words: 32, ..cfg };
        assert!(ulx3s_verilog(&wide, 1 << 12).unwrap_err().to_string().contains("array_rows must be 8"));
    }
}

#[cfg(test)]
mod bench;
