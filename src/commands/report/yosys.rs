//! One Yosys synthesis of one report group: the script, the run, and reading its `stat -json`
//! and `ltp` (longest topological path) output. Results are cached by the hash of everything
//! that determines them (Verilog text, group, family, script, Yosys version).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// FPGA family to synthesize for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    /// Xilinx 7-series (`synth_xilinx -family xc7`: LUT6, DSP48E1, RAMB36E1).
    Xc7,
    /// Xilinx UltraScale+ (`synth_xilinx -family xcup`: DSP48E2, RAMB36E2, CARRY8).
    Xcup,
    /// Lattice ECP5 (`synth_ecp5`: LUT4, MULT18X18D, DP16KD).
    Ecp5,
}

impl Family {
    /// The Yosys synthesis command for top module `top`, flattened below it, without I/O buffers.
    fn synth(self, top: &str) -> String {
        match self {
            Family::Xc7 | Family::Xcup => {
                let family = if self == Family::Xc7 { "xc7" } else { "xcup" };
                format!("synth_xilinx -family {family} -flatten -noiopad -noclkbuf -top {top}")
            }
            Family::Ecp5 => format!("synth_ecp5 -top {top}"),
        }
    }

    /// Name of the DSP primitive counted as "DSP".
    pub fn dsp_name(self) -> &'static str {
        match self {
            Family::Xc7 => "DSP48E1",
            Family::Xcup => "DSP48E2",
            Family::Ecp5 => "MULT18X18D",
        }
    }

    /// LUT size used for the logic-depth mapping.
    fn lut_inputs(self) -> usize {
        if self == Family::Ecp5 {
            4
        } else {
            6
        }
    }
}

/// Resources of one synthesized group.
#[derive(Serialize, Deserialize, Default, Clone, Copy, Debug, PartialEq)]
pub struct Resources {
    /// LUTs (LUT1..LUT6 on Xilinx, LUT4 on ECP5; LUTs used as distributed RAM not included).
    pub luts: u64,
    /// Flip-flops.
    pub flip_flops: u64,
    /// DSP multipliers (DSP48E1 / DSP48E2 / MULT18X18D).
    pub dsp: u64,
    /// Block RAM in 36 Kb units on Xilinx (RAMB18 = 0.5), 18 Kb DP16KD blocks on ECP5.
    pub bram: f64,
    /// Carry cells (CARRY4 / CARRY8 / CCU2C).
    pub carry: u64,
    /// Distributed-RAM and shift-register cells (RAM32M/RAM64M/SRL*, TRELLIS_DPR16X4).
    pub lutram: u64,
    /// All cells.
    pub cells: u64,
}

impl Resources {
    /// Count a `stat -json` report's cells by primitive family (other modules' cells, i.e.
    /// black-boxed children, are not counted).
    pub fn from_stat_json(json: &str) -> Result<Resources> {
        #[derive(Deserialize)]
        struct Stat {
            design: Design,
        }
        #[derive(Deserialize)]
        struct Design {
            num_cells_by_type: BTreeMap<String, u64>,
        }
        let stat: Stat = serde_json::from_str(json).context("parsing yosys `stat -json`")?;
        let mut r = Resources::default();
        for (name, &n) in &stat.design.num_cells_by_type {
            if name.contains('$') {
                continue; // a black-boxed child group, counted in its own row
            }
            r.cells += n;
            match name.as_str() {
                "LUT4" | "LUT1" | "LUT2" | "LUT3" | "LUT5" | "LUT6" => r.luts += n,
                _ if name.starts_with("FD") || name == "TRELLIS_FF" => r.flip_flops += n,
                "DSP48E1" | "DSP48E2" | "MULT18X18D" => r.dsp += n,
                "RAMB36E1" | "RAMB36E2" | "DP16KD" | "PDPW16KD" => r.bram += n as f64,
                "RAMB18E1" | "RAMB18E2" => r.bram += 0.5 * n as f64,
                "CARRY4" | "CARRY8" | "CCU2C" => r.carry += n,
                _ if name.starts_with("RAM32") || name.starts_with("RAM64") || name.starts_with("SRL") => r.lutram += n,
                "TRELLIS_DPR16X4" => r.lutram += n,
                _ => {}
            }
        }
        Ok(r)
    }

    /// Sum of two groups.
    pub fn plus(self, o: Resources) -> Resources {
        Resources {
            luts: self.luts + o.luts,
            flip_flops: self.flip_flops + o.flip_flops,
            dsp: self.dsp + o.dsp,
            bram: self.bram + o.bram,
            carry: self.carry + o.carry,
            lutram: self.lutram + o.lutram,
            cells: self.cells + o.cells,
        }
    }
}

/// The longest combinational path of a group: cells on it (LUTs after a `lut_inputs`-LUT
/// mapping, carry cells, DSPs, wide muxes; flip-flops excluded) and the signals it starts and
/// ends at.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
pub struct Depth {
    /// Cells on the path.
    pub levels: u64,
    /// Of those, carry-chain cells (`CARRY4`, `CARRY8`, `CCU2C`): a few tens of picoseconds
    /// each, against a LUT level's logic plus routing.
    pub carry_cells: u64,
    /// First signal on the path.
    pub from: String,
    /// Last signal on the path.
    pub to: String,
}

/// LUT-type levels (everything on the path but carry cells: LUTs, wide muxes, DSPs) a path may
/// hold at 300 MHz on UltraScale+: a 3.33 ns period, less ~0.4 ns of clock-to-out and setup,
/// at ~0.5 ns per level with its routing. Carry cells are budgeted apart
/// ([`BUDGET_CARRY_CELLS`]). A pre-placement estimate: it flags paths that cannot close, it does
/// not prove the ones within it.
pub const BUDGET_LEVELS: u64 = 6;

/// Carry cells a path may hold beside [`BUDGET_LEVELS`]: one 64-bit carry chain (16 `CARRY4` of
/// 7-series, whose cells Yosys counts; `CARRY8` halves that), ~0.05-0.1 ns a cell.
pub const BUDGET_CARRY_CELLS: u64 = 16;

impl Depth {
    /// Whether the path is within the 300 MHz budget ([`BUDGET_LEVELS`], [`BUDGET_CARRY_CELLS`]).
    pub fn within_budget(&self) -> bool {
        self.levels - self.carry_cells <= BUDGET_LEVELS && self.carry_cells <= BUDGET_CARRY_CELLS
    }

    /// Read Yosys `ltp` output: `Longest topological path in M (length=N):` and the numbered
    /// signals `  k: \name [bit]`.
    pub fn from_ltp(text: &str) -> Result<Depth> {
        let len = text
            .lines()
            .find_map(|l| l.split("(length=").nth(1)?.split(')').next()?.parse().ok())
            .context("no `Longest topological path ... (length=N)` line in ltp output")?;
        let steps: Vec<(String, Option<String>)> = text
            .lines()
            .filter_map(|l| {
                let (idx, rest) = l.trim().split_once(": ")?;
                idx.parse::<u64>().ok()?;
                let mut parts = rest.splitn(2, " (via ");
                let wire = parts.next().unwrap_or(rest).trim().trim_start_matches('\\').to_string();
                Some((wire, parts.next().map(|v| v.trim_end_matches(')').to_ascii_lowercase())))
            })
            .collect();
        let is_carry = |cell: &str| ["carry4", "carry8", "ccu2c"].iter().any(|c| cell.contains(c));
        let carry_cells = steps.iter().filter(|(_, via)| via.as_deref().is_some_and(is_carry)).count() as u64;
        let wires: Vec<String> = steps.into_iter().map(|(w, _)| w).collect();
        Ok(Depth {
            levels: len,
            carry_cells,
            from: wires.first().cloned().unwrap_or_default(),
            to: wires.last().cloned().unwrap_or_default(),
        })
    }
}

/// What one group's synthesis produced.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct GroupResult {
    /// Resources.
    pub resources: Resources,
    /// Deepest combinational path.
    pub depth: Depth,
    /// Wall time of the Yosys run (of the original run if cached).
    pub seconds: f64,
}

/// One synthesis job: `module` of the design in `verilog`, with `black_boxes` left out.
pub struct Job<'a> {
    /// The whole design.
    pub verilog: &'a str,
    /// The group's module.
    pub module: String,
    /// Child modules synthesized in their own rows.
    pub black_boxes: Vec<String>,
    /// Target family.
    pub family: Family,
}

/// Memory cells the depth measurement cuts at (block RAMs, distributed RAMs, shift registers,
/// and Yosys' own memory cells where a family leaves some unmapped).
const MEMORY_CELLS: [&str; 16] = [
    "RAMB18E1",
    "RAMB36E1",
    "RAMB18E2",
    "RAMB36E2",
    "RAM32M",
    "RAM64M",
    "RAM32M16",
    "RAM64M8",
    "RAM32X1D",
    "RAM64X1D",
    "RAM128X1D",
    "RAM256X1D",
    "DP16KD",
    "PDPW16KD",
    "TRELLIS_DPR16X4",
    "$mem_v2",
];

/// Bumped when the script changes meaning (invalidates the cache).
const SCRIPT_VERSION: u32 = 5;

impl Job<'_> {
    /// The Yosys script: synthesize to just before flip-flop mapping, measure the deepest path
    /// after a plain LUT mapping (flip-flops are still generic cells there, so `ltp -noff` cuts
    /// at them; DSP blocks and RAMs are removed, so paths end at their ports like at the
    /// registers they absorbed; carry cells count one level each), then finish the synthesis
    /// and count cells.
    fn script(&self) -> String {
        let bb: String = self.black_boxes.iter().map(|m| format!("blackbox {m}\n")).collect();
        // Black-boxed children would count as one combinational cell each on a path; their
        // instances are left out of the path search, so paths end and start at their ports.
        // Multiplier blocks are left out too: synthesis has absorbed the registers around them
        // (input, M and P registers), so a path through one would chain pipeline stages. So
        // are RAMs: `ltp` sees a RAM cell as combinational, so a path would run from a write's
        // data through the RAM into its read data, across the clock edge of the write. (A
        // distributed RAM's asynchronous read, address to data, is one LUT level that is then
        // not counted.) They stay in the netlist, so the logic that feeds them is measured.
        let cut: String = self
            .black_boxes
            .iter()
            .map(String::as_str)
            .chain(["DSP48E1", "DSP48E2", "MULT18X18D", "$mul"])
            .chain(MEMORY_CELLS)
            .map(|m| format!(" t:{m} %d"))
            .collect();
        let synth = self.family.synth(&self.module);
        format!(
            "read_verilog design.v\n{bb}hierarchy -top {m}\n{synth} -run begin:map_ffs\ndesign -save pre\n\
             abc -lut {k}\nopt_clean\ntee -q -o ltp.txt ltp -noff *{cut}\ndesign -load pre\n{synth} -run map_ffs:\n\
             tee -q -o stat.json stat -json\n",
            m = self.module,
            k = self.family.lut_inputs(),
        )
    }

    /// Cache key: everything the result depends on.
    fn key(&self, yosys_version: &str) -> String {
        let text = format!("{SCRIPT_VERSION}\n{yosys_version}\n{}\n{}", self.script(), self.verilog);
        format!("{:016x}", spec::fnv1a64(text.as_bytes()))
    }

    /// Run (or fetch from `cache_dir`) this job; returns the result and whether it was cached.
    pub fn run(&self, yosys: &str, yosys_version: &str, cache_dir: &Path) -> Result<(GroupResult, bool)> {
        let cached = cache_dir.join(format!("{}.json", self.key(yosys_version)));
        if let Ok(text) = std::fs::read_to_string(&cached) {
            if let Ok(r) = serde_json::from_str(&text) {
                return Ok((r, true));
            }
        }
        let dir = scratch(&self.module);
        std::fs::write(dir.join("design.v"), self.verilog)?;
        std::fs::write(dir.join("script.ys"), self.script())?;
        let t = Instant::now();
        let out = Command::new(yosys)
            .current_dir(&dir)
            .args(["-q", "-l", "yosys.log", "script.ys"])
            .output()
            .with_context(|| format!("running `{yosys}` (scripts/setup.sh installs yosys)"))?;
        let seconds = t.elapsed().as_secs_f64();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        if !out.status.success() {
            let log = read("yosys.log");
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            anyhow::bail!(
                "yosys failed on {} (script in {}):\n{}\n{}",
                self.module,
                dir.display(),
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let r = GroupResult {
            resources: Resources::from_stat_json(&read("stat.json"))?,
            depth: Depth::from_ltp(&read("ltp.txt"))?,
            seconds,
        };
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(cache_dir)?;
        std::fs::write(&cached, serde_json::to_string_pretty(&r)?)?;
        Ok((r, false))
    }
}

/// A fresh scratch directory for one run.
fn scratch(module: &str) -> PathBuf {
    let name: String = module.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let dir = std::env::temp_dir().join(format!("vitaccel-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// `yosys -V` of the given binary.
pub fn version(yosys: &str) -> Result<String> {
    let out = Command::new(yosys)
        .arg("-V")
        .output()
        .with_context(|| format!("running `{yosys} -V` (scripts/setup.sh installs yosys)"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `stat -json` report as Yosys writes it (counts invented for the test).
    const STAT: &str = r#"{
       "creator": "Yosys 0.23",
       "modules": { "\\top": { "num_cells": 1 } },
       "design": {
          "num_wires": 10, "num_cells": 138,
          "num_cells_by_type": { "CARRY4": 7, "DSP48E1": 2, "FDRE": 40, "FDSE": 3, "LUT2": 20,
            "LUT6": 11, "RAMB18E1": 1, "RAMB36E1": 4, "MUXF7": 9, "RAM64M": 5, "SRL16E": 2,
            "vitaccel_top$gemm": 1 }
       }
    }"#;

    #[test]
    fn stat_json_counts_cells_by_primitive_family_without_black_boxes() {
        let r = Resources::from_stat_json(STAT).unwrap();
        assert_eq!((r.luts, r.flip_flops, r.dsp, r.carry, r.lutram), (31, 43, 2, 7, 7));
        assert_eq!(r.bram, 4.5);
        assert_eq!(r.cells, 7 + 2 + 40 + 3 + 20 + 11 + 1 + 4 + 9 + 5 + 2);
        assert!(Resources::from_stat_json(r#"{"modules": {}}"#).is_err());
    }

    #[test]
    fn ltp_output_gives_length_and_end_points() {
        let text = "\n6. Executing LTP pass (find longest path).\n\n\
                    Longest topological path in m (length=4):\n    0: \\a.q [3]\n    1: $abc$12$n4\n    2: \\b.d [0] (via $abc$7$lut)\n    \
                    3: $alu$9.CO [3] (via $alu$9.genblk1.slice[0].genblk1.carry4)\n";
        let d = Depth::from_ltp(text).unwrap();
        assert_eq!(d, Depth { levels: 4, carry_cells: 1, from: "a.q [3]".into(), to: "$alu$9.CO [3]".into() });
        assert!(d.within_budget());
        let deep = Depth { levels: 30, carry_cells: 17, ..d.clone() };
        assert!(!deep.within_budget(), "17 carry cells are more than one 64-bit chain");
        assert!(!Depth { levels: 7, carry_cells: 0, ..d }.within_budget(), "7 LUT levels");
        assert!(Depth::from_ltp("nothing").is_err());
    }

    /// A chain of adds into a RAM's write data and another from its read data to a register
    /// (`write` and `read` name which chains exist). Each add depends on the previous sum.
    fn ram_between_chains(write: bool, read: bool) -> String {
        let chain = |x: &str, on: bool| {
            if on {
                format!("((((({x} ^ k1) + k2) ^ k3) + k4) ^ k5) + k6")
            } else {
                x.to_string()
            }
        };
        format!(
            "module m(input clk, input [5:0] wa, input [5:0] ra, input [31:0] a, input [31:0] k1, input [31:0] k2,\n\
             input [31:0] k3, input [31:0] k4, input [31:0] k5, input [31:0] k6, output reg [31:0] q);\n\
             reg [31:0] mem [0:63];\n\
             always @(posedge clk) mem[wa] <= {w};\n\
             wire [31:0] rd = mem[ra];\n\
             always @(posedge clk) q <= {r};\n\
             endmodule\n",
            w = chain("a", write),
            r = chain("rd", read),
        )
    }

    /// The depth is measured up to and from a RAM, not through it: with a chain on both sides
    /// of a distributed RAM the deepest path is the deeper of the two chains alone (without the
    /// cut, `ltp` reports the chains end to end through the RAM cell).
    #[test]
    fn depth_stops_at_memories() {
        let Ok(v) = version("yosys") else {
            panic!("yosys is not installed (scripts/setup.sh installs it)");
        };
        let cache = std::env::temp_dir().join(format!("vitaccel-depth-cache-{}", std::process::id()));
        let depth = |write: bool, read: bool| {
            let verilog = ram_between_chains(write, read);
            let job = Job { verilog: &verilog, module: "m".into(), black_boxes: vec![], family: Family::Xc7 };
            let (r, _) = job.run("yosys", &v, &cache).unwrap();
            assert!(r.resources.lutram > 0, "the memory is a distributed RAM: {:?}", r.resources);
            r.depth.levels
        };
        let (both, write, read) = (depth(true, true), depth(true, false), depth(false, true));
        assert!(write > 2 && read > 2, "each chain is several levels deep: {write}, {read}");
        assert_eq!(both, write.max(read), "write chain {write}, read chain {read}");
        let _ = std::fs::remove_dir_all(&cache);
    }
}
