//! The compiled simulation of one configuration: the generated Verilog, prepared for an
//! event-driven simulator, plus the test bench, compiled by `iverilog -g2012` into a `vvp`
//! program and cached by content.

use super::testbench::{module_ports, testbench};
use crate::device::DeviceError;
use spec::AccelConfig;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The root module of the generated Verilog.
const TOP: &str = "vitaccel_top";

/// How the generated Verilog is handed to Icarus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockFanout {
    /// As generated: every module copies its clock to its children inside its combinational
    /// `always @(*)` block (rust-hdl's style), so every clock edge re-runs every combinational
    /// block of the design.
    AsGenerated,
    /// Those copies (`child$clock = clock;`, unconditional, assigned once) hoisted into
    /// continuous assignments: the same clock tree, about 3x faster in Icarus.
    Hoisted,
}

/// What the design's memories (`reg [..] mem [0:N]`, the RAM leaves) hold at time 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RamPowerUp {
    /// X, Verilog's default: a word read before any write is X, and so is everything computed
    /// from it (even `0 * X`).
    Unknown,
    /// Zero, as FPGA block RAM without an init file and Verilator's model (`--x-initial fast`):
    /// an `initial` loop per memory. Registers keep Verilog's X until reset or first write.
    Zero,
    /// Every byte of every RAM word this value: stale contents (what block RAM holds after an
    /// earlier run), which no result may depend on.
    Pattern(u8),
}

/// A `vvp` program simulating `vitaccel_top` of one configuration inside the Icarus bench.
#[derive(Clone, Debug)]
pub struct IcarusModel {
    cfg: AccelConfig,
    vvp: PathBuf,
    /// Wall seconds `iverilog` took (0 when the program came from the cache).
    pub compile_seconds: f64,
}

impl IcarusModel {
    /// Compile `verilog` (`hdl::top_verilog(cfg)`) with the bench for `cfg`, or reuse the
    /// program cached in `cache_dir` for the same Verilog, bench, `fanout` and `rams`.
    pub fn compile(
        cfg: &AccelConfig,
        verilog: &str,
        fanout: ClockFanout,
        rams: RamPowerUp,
        cache_dir: &Path,
    ) -> Result<IcarusModel, DeviceError> {
        let backend = |msg: String| DeviceError::Backend(msg);
        let ports = module_ports(verilog, TOP).ok_or_else(|| backend(format!("no `module {TOP}(` in the Verilog")))?;
        let dut = match fanout {
            ClockFanout::AsGenerated => verilog.to_string(),
            ClockFanout::Hoisted => hoist_clock_copies(verilog),
        };
        let dut = match rams {
            RamPowerUp::Unknown => dut,
            RamPowerUp::Zero => fill_rams(&dut, 0),
            RamPowerUp::Pattern(byte) => fill_rams(&dut, byte),
        };
        let bench = testbench(cfg, &ports);
        let key = spec::fnv1a64(format!("{dut}\n{bench}").as_bytes());
        let dir = cache_dir.join(format!("icarus-{:08x}-{key:016x}", cfg.hash()));
        let vvp = dir.join("sim.vvp");
        if vvp.exists() {
            return Ok(IcarusModel { cfg: cfg.clone(), vvp, compile_seconds: 0.0 });
        }
        std::fs::create_dir_all(&dir).map_err(|e| backend(format!("{}: {e}", dir.display())))?;
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).map_err(|e| backend(format!("{}: {e}", dir.display())))
        };
        write("dut.v", &dut)?;
        write("tb.v", &bench)?;
        // Compile to a private name and rename: tests running in parallel may race here.
        let tmp = dir.join(format!("sim.vvp.{}.{:?}", std::process::id(), std::thread::current().id()));
        let t0 = Instant::now();
        let out = Command::new("iverilog")
            .args(["-g2012", "-s", "vitaccel_icarus_tb", "-o"])
            .arg(&tmp)
            .arg(dir.join("dut.v"))
            .arg(dir.join("tb.v"))
            .output()
            .map_err(|e| backend(format!("cannot run iverilog ({e}); scripts/setup.sh installs it")))?;
        if !out.status.success() {
            return Err(backend(format!("iverilog failed: {}", String::from_utf8_lossy(&out.stderr))));
        }
        let compile_seconds = t0.elapsed().as_secs_f64();
        std::fs::rename(&tmp, &vvp).map_err(|e| backend(format!("{}: {e}", vvp.display())))?;
        Ok(IcarusModel { cfg: cfg.clone(), vvp, compile_seconds })
    }

    /// The configuration it simulates.
    pub fn config(&self) -> &AccelConfig {
        &self.cfg
    }

    /// The compiled program.
    pub fn vvp(&self) -> &Path {
        &self.vvp
    }
}

/// `verilog` with every clock copy to a child (`child$clock = clock;`, a statement at the top
/// level of an `always @(*)` block, the only assignment of a `reg` of that module) turned into
/// `assign child$clock = clock;` on a `wire`. Nothing else changes.
pub fn hoist_clock_copies(verilog: &str) -> String {
    let mut out = String::with_capacity(verilog.len() + verilog.len() / 16);
    let mut rest = verilog;
    while let Some(start) = rest.find("\nmodule ") {
        out.push_str(&rest[..start + 1]);
        let body = &rest[start + 1..];
        // Through the end of the `endmodule` line.
        let end =
            body.find("\nendmodule").map_or(body.len(), |e| body[e + 1..].find('\n').map_or(body.len(), |n| e + n + 2));
        out.push_str(&hoist_in_module(&body[..end]));
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// `verilog` with an `initial` loop writing `byte` to every byte of every word of every memory
/// declared as `reg [..] mem [0:N];` (the RAM leaves).
pub fn fill_rams(verilog: &str, byte: u8) -> String {
    let mut out = String::with_capacity(verilog.len());
    for (k, line) in verilog.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        let t = line.trim();
        let last =
            t.strip_prefix("reg [").and_then(|r| r.split_once("] mem [0:")).and_then(|(_, r)| r.strip_suffix("];"));
        if let Some(last) = last.filter(|l| l.chars().all(|c| c.is_ascii_digit())) {
            out.push_str(&format!(
                "    integer ram_zero_{k};\n    initial for (ram_zero_{k} = 0; ram_zero_{k} <= {last}; \
                 ram_zero_{k} = ram_zero_{k} + 1) mem[ram_zero_{k}] = {{(1024/8){{8'h{byte:02x}}}}};\n"
            ));
        }
    }
    out
}

/// [`hoist_clock_copies`] for one module's text.
fn hoist_in_module(module: &str) -> String {
    // Top-level statements of `always @(*) begin ... end` blocks are indented by 8 spaces.
    let copy = |line: &str| -> Option<(String, String)> {
        let stmt = line.strip_prefix("        ")?;
        let (lhs, rhs) = stmt.strip_suffix(';')?.split_once(" = ")?;
        let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        (lhs.ends_with("$clock") && ident(lhs) && ident(rhs)).then(|| (lhs.to_string(), rhs.to_string()))
    };
    let assigned_once = |name: &str| module.matches(&format!(" {name} =")).count() == 1;
    let declared_reg = |name: &str| module.contains(&format!("\n    reg  {name};\n"));
    let mut lines = Vec::new();
    let mut hoisted = Vec::new();
    let mut in_block = false;
    for line in module.lines() {
        if line == "    always @(*) begin" {
            in_block = true;
        } else if in_block && line == "    end" {
            in_block = false;
        }
        match copy(line) {
            Some((lhs, rhs)) if in_block && assigned_once(&lhs) && declared_reg(&lhs) => {
                hoisted.push((lhs, rhs));
            }
            _ => lines.push(line.to_string()),
        }
    }
    let mut text = lines.join("\n") + "\n";
    for (lhs, _) in &hoisted {
        text = text.replace(&format!("\n    reg  {lhs};\n"), &format!("\n    wire  {lhs};\n"));
    }
    let assigns: String = hoisted.iter().map(|(l, r)| format!("    assign {l} = {r};\n")).collect();
    match text.rfind("endmodule") {
        Some(at) => format!("{}{assigns}{}", &text[..at], &text[at..]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "module m(clock,d,q);\n    input wire  clock;\n    \n    // Stub signals\n    reg  c$clock;\n    reg  c$d;\n    reg  e$clock;\n    \n    always @(*) begin\n        c$clock = clock;\n        c$d = d;\n        e$clock = clock;\n        if (d) begin\n            e$clock = d;\n        end\n    end\nendmodule // m\n";

    #[test]
    fn clock_copies_become_continuous_assignments_and_nothing_else_changes() {
        let v = hoist_clock_copies(&format!("// header\n{MODULE}"));
        assert!(v.starts_with("// header\nmodule m(clock,d,q);\n"), "{v}");
        assert!(v.contains("    wire  c$clock;\n"), "{v}");
        assert!(v.contains("    assign c$clock = clock;\nendmodule // m\n"), "{v}");
        assert!(!v.contains("        c$clock = clock;"), "{v}");
        // Assigned twice: left alone.
        assert!(v.contains("    reg  e$clock;\n") && v.contains("        e$clock = clock;\n"), "{v}");
        assert!(v.contains("        c$d = d;\n"), "{v}");
    }

    #[test]
    fn every_memory_gets_a_zero_loop() {
        let v = fill_rams("module m;\n    reg [63:0] mem [0:15];\n    reg [7:0] other;\nendmodule\n", 0);
        assert!(v.contains("    reg [63:0] mem [0:15];\n    integer ram_zero_1;\n"), "{v}");
        assert!(
            v.contains("ram_zero_1 <= 15; ram_zero_1 = ram_zero_1 + 1) mem[ram_zero_1] = {(1024/8){8'h00}};\n    reg [7:0] other;"),
            "{v}"
        );
        assert_eq!(v.matches("initial").count(), 1, "{v}");
    }

    #[test]
    fn ports_are_read_from_the_declarations() {
        let v = "module top(a,b,c);\n    input wire  [11:0] a;\n    output reg  b;\n    output wire  [63:0] c;\nendmodule\n";
        let p = module_ports(v, "top").unwrap();
        let got: Vec<(bool, usize, &str)> = p.iter().map(|p| (p.input, p.bits, p.name.as_str())).collect();
        assert_eq!(got, [(true, 12, "a"), (false, 1, "b"), (false, 64, "c")]);
    }
}
