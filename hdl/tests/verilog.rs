//! The generated Verilog: lint-clean under `verilator --lint-only -Wall`, its array synthesizable by Yosys,
//! and unchanged unless the change is acknowledged (snapshot fingerprints), together with the
//! generated documentation of the ISA and register map.

use spec::AccelConfig;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The systolic array maps onto exactly one DSP48E1 per PE pair when packed (two int8 MACs per
/// DSP) and one per PE when not, read from Yosys `stat -json`. A cheap check (a 4x4 array alone,
/// seconds); per-module figures of the whole design are the heavy tier's `vitaccel report`.
#[test]
fn array_synthesizes_to_one_dsp_per_pe_pair_when_packed() {
    let (rows, cols) = (4, 4);
    for packed in [true, false] {
        let v = hdl::verilog::generate(&mut hdl::array::SystolicArray::new(rows, cols, packed), "array4x4");
        let dir = std::env::temp_dir().join(format!("vitaccel-yosys-{}-{packed}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("array.v"), v).unwrap();
        let out = Command::new("yosys")
            .current_dir(&dir)
            .args([
                "-q",
                "-p",
                "read_verilog array.v; synth_xilinx -family xc7 -top array4x4 -flatten; tee -q -o stat.json stat -json",
            ])
            .output()
            .expect("yosys must be installed (scripts/setup.sh installs it)");
        let stat = std::fs::read_to_string(dir.join("stat.json")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success(), "yosys failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_str(&stat).unwrap_or_else(|e| panic!("stat -json: {e}\n{stat}"));
        let dsp = json["design"]["num_cells_by_type"]["DSP48E1"].as_u64().unwrap_or(0) as usize;
        let want = if packed { rows * cols / 2 } else { rows * cols };
        assert_eq!(dsp, want, "DSP48E1 of a {rows}x{cols} array (packed: {packed})\n{stat}");
    }
}

/// Fingerprints of the generated Verilog. Set `UPDATE_SNAPSHOTS=1` to accept an intended change.
#[test]
fn verilog_matches_snapshot() {
    let path = root().join("hdl/tests/snapshots/verilog.txt");
    let mut now = String::new();
    for (name, cfg) in [("small", AccelConfig::small()), ("default", AccelConfig::default())] {
        let v = hdl::top_verilog(&cfg).unwrap();
        now += &format!("{name} {:016x} {}\n", spec::fnv1a64(v.as_bytes()), v.len());
    }
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(before, now, "generated Verilog changed; if intended, rerun with UPDATE_SNAPSHOTS=1");
}

/// The committed ISA and register-map documents are exactly what `spec` generates.
#[test]
fn generated_docs_are_up_to_date() {
    let cfg = AccelConfig::default();
    for (file, text) in [("docs/ISA.md", spec::isa::to_markdown()), ("docs/REGMAP.md", spec::regmap::to_markdown(&cfg))]
    {
        let path = root().join(file);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            "{file} is stale: rerun with UPDATE_SNAPSHOTS=1"
        );
    }
}

/// The ports of the root module of `verilog` as (direction, name, width), in declaration order.
fn root_ports(verilog: &str) -> Vec<(String, String, usize)> {
    let start = verilog.find(&format!("module {}(", hdl::TOP_MODULE)).expect("root module");
    let end = start + verilog[start..].find("endmodule").expect("end of root module");
    let decl = regex::Regex::new(r"^\s*(input|output)\s+(?:wire|reg)?\s*(?:\[(\d+):0\])?\s*([A-Za-z_][A-Za-z0-9_$]*);")
        .expect("valid regex");
    verilog[start..end]
        .lines()
        .filter_map(|l| decl.captures(l))
        .map(|c| {
            let width = c.get(2).map_or(1, |m| m.as_str().parse::<usize>().unwrap() + 1);
            (c[1].to_string(), c[3].to_string(), width)
        })
        .collect()
}

/// The top's ports are the AXI4-Lite slave and AXI4 master with Vivado's names, which the IP
/// packager and `sim/csrc/harness.h` rely on; the widths follow the array height `R`
/// (`8R`-bit data, `R` strobes), then the level interrupt `irq`. Written out here from the AXI
/// specification, not from the code.
#[test]
fn top_ports_keep_their_axi_names_and_widths() {
    for cfg in [AccelConfig::small(), AccelConfig::default()] {
        let data = 8 * cfg.array_rows;
        let strobes = cfg.array_rows;
        let expected: Vec<(&str, &str, usize)> = vec![
            ("input", "aclk", 1),
            ("input", "aresetn", 1),
            ("input", "s_axi_awaddr", 12),
            ("input", "s_axi_awvalid", 1),
            ("output", "s_axi_awready", 1),
            ("input", "s_axi_wdata", 32),
            ("input", "s_axi_wstrb", 4),
            ("input", "s_axi_wvalid", 1),
            ("output", "s_axi_wready", 1),
            ("output", "s_axi_bresp", 2),
            ("output", "s_axi_bvalid", 1),
            ("input", "s_axi_bready", 1),
            ("input", "s_axi_araddr", 12),
            ("input", "s_axi_arvalid", 1),
            ("output", "s_axi_arready", 1),
            ("output", "s_axi_rdata", 32),
            ("output", "s_axi_rresp", 2),
            ("output", "s_axi_rvalid", 1),
            ("input", "s_axi_rready", 1),
            ("output", "m_axi_araddr", 40),
            ("output", "m_axi_arlen", 8),
            ("output", "m_axi_arsize", 3),
            ("output", "m_axi_arburst", 2),
            ("output", "m_axi_arcache", 4),
            ("output", "m_axi_arprot", 3),
            ("output", "m_axi_arvalid", 1),
            ("input", "m_axi_arready", 1),
            ("input", "m_axi_rdata", data),
            ("input", "m_axi_rresp", 2),
            ("input", "m_axi_rlast", 1),
            ("input", "m_axi_rvalid", 1),
            ("output", "m_axi_rready", 1),
            ("output", "m_axi_awaddr", 40),
            ("output", "m_axi_awlen", 8),
            ("output", "m_axi_awsize", 3),
            ("output", "m_axi_awburst", 2),
            ("output", "m_axi_awcache", 4),
            ("output", "m_axi_awprot", 3),
            ("output", "m_axi_awvalid", 1),
            ("input", "m_axi_awready", 1),
            ("output", "m_axi_wdata", data),
            ("output", "m_axi_wstrb", strobes),
            ("output", "m_axi_wlast", 1),
            ("output", "m_axi_wvalid", 1),
            ("input", "m_axi_wready", 1),
            ("input", "m_axi_bresp", 2),
            ("input", "m_axi_bvalid", 1),
            ("output", "m_axi_bready", 1),
            ("output", "irq", 1),
        ];
        let expected: Vec<(String, String, usize)> =
            expected.into_iter().map(|(d, n, w)| (d.to_string(), n.to_string(), w)).collect();
        let ports = root_ports(&hdl::top_verilog(&cfg).unwrap());
        assert_eq!(ports, expected, "{}x{}", cfg.array_rows, cfg.array_cols);
    }
}
