//! The board commands without a board. `vitaccel regs`, `board load` and `run --backend board`
//! run against a fake root of plain files (a file stands for /dev/uio0, one for the u-dma-buf).
//! `vitaccel bitstream`: the project folder for a board. Checked here without Vivado: the
//! device-tree overlay compiles with `dtc` (no warnings) and carries the register window, clock
//! and buffer size; the Tcl flow is complete Tcl and runs in `tclsh` with the Vivado commands
//! stubbed, touching only ports and interfaces that the generated Verilog top really has (read
//! from the written Verilog by a parser of this test, not the tool's).

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vitaccel"));
    c.current_dir(dir);
    c
}

/// `vitaccel bitstream --board <board> --config small-8x8 <extra> -o <tmp>/proj`.
fn project(board: &str, extra: &[&str]) -> (TempDir, PathBuf, String) {
    let t = tempfile::tempdir().unwrap();
    let proj = t.path().join("proj");
    let out = tool(t.path())
        .args(["bitstream", "--board", board, "--no-vivado", "--config"])
        .arg(root().join("configs/small-8x8.toml"))
        .args(extra)
        .arg("-o")
        .arg(&proj)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "stdout {stdout}\nstderr {}", String::from_utf8_lossy(&out.stderr));
    (t, proj, stdout)
}

/// The ports of `vitaccel_top` with their widths: the names between `module vitaccel_top(` and
/// `)`, widths from the `input`/`output` lines.
fn verilog_ports(proj: &Path) -> BTreeMap<String, u32> {
    let v = std::fs::read_to_string(proj.join("hdl/vitaccel_top.v")).unwrap();
    let head = v.split("module vitaccel_top(").nth(1).unwrap();
    let names: Vec<String> = head[..head.find(')').unwrap()].split(',').map(|s| s.trim().to_string()).collect();
    let mut ports = BTreeMap::new();
    for line in head.lines().take(names.len() + 10) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first().is_some_and(|w| *w == "input" || *w == "output") {
            let name = words.last().unwrap().trim_end_matches(';').to_string();
            let bits = words
                .iter()
                .find(|w| w.starts_with('['))
                .map(|r| {
                    r.trim_matches(|c| c == '[' || c == ']').split(':').next().unwrap().parse::<u32>().unwrap() + 1
                })
                .unwrap_or(1);
            ports.insert(name, bits);
        }
    }
    assert_eq!(ports.len(), names.len(), "every listed port declared");
    ports
}

fn config_clock_mhz() -> f64 {
    let text = std::fs::read_to_string(root().join("configs/small-8x8.toml")).unwrap();
    let line = text.lines().find(|l| l.starts_with("clock_mhz")).unwrap();
    line.split('=').nth(1).unwrap().trim().parse().unwrap()
}

fn dtc(args: &[&str], input: &Path, output: &Path) -> (bool, String) {
    let out = std::process::Command::new("dtc")
        .args(args)
        .arg("-o")
        .arg(output)
        .arg(input)
        .output()
        .expect("dtc installed (scripts/setup.sh)");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn overlay_compiles_with_dtc_and_carries_window_clock_and_buffer() {
    let (t, proj, stdout) = project("kv260", &["--udmabuf-mib", "16"]);
    assert!(stdout.contains("vivado -mode batch"), "{stdout}");
    let dtso = proj.join("vitaccel.dtso");
    let dtbo = t.path().join("check.dtbo");
    let (ok, warnings) = dtc(&["-@", "-I", "dts", "-O", "dtb"], &dtso, &dtbo);
    assert!(ok && warnings.is_empty(), "dtc: {warnings}");
    assert!(proj.join("vitaccel.dtbo").is_file(), "the tool compiled the overlay too");
    let back = t.path().join("back.dts");
    assert!(dtc(&["-I", "dtb", "-O", "dts"], &dtbo, &back).0);
    let dts = std::fs::read_to_string(back).unwrap();
    let window = 1u64 << verilog_ports(&proj)["s_axi_awaddr"];
    let clock_hz = (config_clock_mhz() * 1e6) as u64;
    for needle in [
        "firmware-name = \"vitaccel.bit.bin\"".to_string(),
        "compatible = \"generic-uio\"".to_string(),
        format!("reg = <0x00 0xa0000000 0x00 {window:#x}>"),
        format!("assigned-clock-rates = <{clock_hz:#x}>"),
        "compatible = \"ikwzm,u-dma-buf\"".to_string(),
        format!("size = <{:#x}>", 16u64 << 20),
        "target = <0xffffffff>".to_string(),
    ] {
        assert!(dts.contains(&needle), "missing `{needle}` in\n{dts}");
    }
    assert!(dts.contains("__fixups__") && dts.contains("fpga_full") && dts.contains("amba"));
}

/// Runs build.tcl in tclsh with every Vivado command stubbed: `ipx::get_ports` answers only
/// for ports of the Verilog top, and every pin or interface of the accelerator cell that the
/// flow touches is printed.
const STUB: &str = r#"
set ports [split [string trim [read [open [lindex $argv 1]]]] "\n"]
foreach f {build.tcl params.tcl} {
    set text [read [open [file join [lindex $argv 0] $f]]]
    if {![info complete $text]} { puts "INCOMPLETE $f"; exit 2 }
}
namespace eval ipx {}
proc ipx::get_ports {name args} { global ports; if {[lsearch -exact $ports $name] >= 0} { return $name }; return {} }
proc ipx::get_bus_interfaces {name args} { return $name }
proc get_bd_addr_segs {args} { return SEG_vitaccel_0_reg0 }
proc get_property {name args} { if {$name eq "PROGRESS"} { return "100%" }; return {} }
proc get_bd_pins {pin} { puts "PIN $pin"; return $pin }
proc get_bd_intf_pins {pin} { puts "INTF $pin"; return $pin }
proc apply_bd_automation {args} {
    foreach word [join $args] { if {[string match /vitaccel_0/* $word]} { puts "INTF [string range $word 1 end]" } }
    puts "CALL apply_bd_automation"
}
proc unknown {args} { puts "CALL [lindex $args 0]"; return {} }
source [file join [lindex $argv 0] build.tcl]
puts "SOURCED"
"#;

fn run_stubbed(proj: &Path, ports: &[String]) -> (bool, String) {
    let list = proj.join("ports.txt");
    std::fs::write(&list, ports.join("\n")).unwrap();
    let stub = proj.join("stub.tcl");
    std::fs::write(&stub, STUB).unwrap();
    let out = std::process::Command::new("tclsh")
        .arg(&stub)
        .arg(proj)
        .arg(&list)
        .output()
        .expect("tclsh installed (scripts/setup.sh)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn tcl_flow_is_complete_and_touches_only_ports_of_the_verilog_top() {
    let (_t, proj, _) = project("kv260", &["--udmabuf-mib", "16"]);
    let ports = verilog_ports(&proj);
    let names: Vec<String> = ports.keys().cloned().collect();
    let (ok, log) = run_stubbed(&proj, &names);
    assert!(ok && log.contains("SOURCED"), "{log}");
    for step in [
        "ipx::package_project",
        "create_bd_design",
        "launch_runs",
        "report_utilization",
        "report_timing_summary",
        "write_cfgmem",
        "write_hw_platform",
    ] {
        assert!(log.contains(&format!("CALL {step}")), "the flow never calls {step}:\n{log}");
    }
    let mut touched = 0;
    for line in log.lines() {
        let (kind, pin) = line.split_once(' ').unwrap_or(("", ""));
        let Some(name) = pin.strip_prefix("vitaccel_0/") else { continue };
        touched += 1;
        match kind {
            "PIN" => assert!(ports.contains_key(name), "build.tcl connects pin {name}, not a port of the top"),
            "INTF" => assert!(
                ports.keys().filter(|p| p.starts_with(&format!("{name}_"))).count() >= 10,
                "build.tcl uses interface {name}, but the top has no {name}_* ports"
            ),
            _ => {}
        }
    }
    for used in ["PIN vitaccel_0/aclk", "PIN vitaccel_0/aresetn", "INTF vitaccel_0/s_axi", "INTF vitaccel_0/m_axi"] {
        assert!(log.contains(used), "the flow never connects {used}:\n{log}");
    }
    assert!(touched >= 4);
    // A port the top does not have makes the flow stop at packaging.
    let without_clock: Vec<String> = names.iter().filter(|p| *p != "aclk").cloned().collect();
    let (ok, log) = run_stubbed(&proj, &without_clock);
    assert!(!ok && log.contains("the IP has no port aclk"), "{log}");
}

#[test]
fn params_come_from_the_board_and_the_config() {
    let (_t, proj, _) = project("zcu102", &["--udmabuf-mib", "8"]);
    let params = std::fs::read_to_string(proj.join("params.tcl")).unwrap();
    assert!(params.contains("set vitaccel(part) {xczu9eg-ffvb1156-2-e}"), "{params}");
    assert!(params.contains(&format!("set vitaccel(clock_mhz) {{{}}}", config_clock_mhz())), "{params}");
    assert!(params.contains("set vitaccel(reg_window) {0x1000}"));
    assert!(params.contains("set vitaccel(irq_port) {irq}"), "the top's interrupt goes to the PS: {params}");
    assert!(!proj.join("shell.json").exists(), "shell.json is for Kria apps only");
    let xdc = std::fs::read_to_string(proj.join("vitaccel.xdc")).unwrap();
    let period = 1000.0 / config_clock_mhz();
    assert!(xdc.contains(&format!("create_clock -period {period:.3} -name aclk [get_ports aclk]")), "{xdc}");
    let (_t, kria, _) = project("kv260", &["--udmabuf-mib", "8"]);
    let shell: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(kria.join("shell.json")).unwrap()).unwrap();
    assert_eq!(shell["shell_type"], "XRT_FLAT");
}

#[test]
fn buffer_is_sized_from_the_model() {
    let fx = root().join("fixtures/digits");
    let (_t, proj, _) = project(
        "kv260",
        &[
            "--model",
            fx.join("model.safetensors").to_str().unwrap(),
            "--calib",
            fx.join("calib.safetensors").to_str().unwrap(),
        ],
    );
    let dtso = std::fs::read_to_string(proj.join("vitaccel.dtso")).unwrap();
    let size_line = dtso.lines().find(|l| l.trim_start().starts_with("size = <")).unwrap();
    let size = u64::from_str_radix(size_line.split("0x").nth(1).unwrap().trim_end_matches(">;"), 16).unwrap();
    // The compiled fixture program: its image plus a copy of its instructions must fit.
    let cfg = spec::AccelConfig::load(&root().join("configs/small-8x8.toml")).unwrap();
    let fm = match host::load_model(&fx.join("model.safetensors"), Some(&cfg)).unwrap() {
        host::ModelFile::Float(fm) => fm,
        _ => panic!("the fixture is a float model"),
    };
    let calib = host::Dataset::load(&fx.join("calib.safetensors")).unwrap();
    let cal = golden::Calibration::collect(&fm, &calib.images, |_| ());
    let (int, _) = golden::quantize(&fm, &cal).unwrap();
    let opts = host::model_compile::ModelOptions { prune: true, ..Default::default() };
    let prog = host::model_compile::compile_model(&int, &cfg, opts).unwrap().program;
    let need = prog.dram_bytes + 64 * prog.insns.len() as u64;
    assert!(size >= need && size < need + (1 << 20) + 4096 && size % (1 << 20) == 0, "size {size:#x}, need {need:#x}");
}

#[test]
fn without_a_size_it_says_what_is_missing() {
    let t = tempfile::tempdir().unwrap();
    let out = tool(t.path()).args(["bitstream", "--board", "kv260", "-o", "p"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --model"));
}

/// A fake board root: UIO device `vitaccel` (a 4 KiB file), a 1 MiB u-dma-buf, a programmed PL.
fn fake_board(hash: u32, status: u32) -> TempDir {
    let t = tempfile::tempdir().unwrap();
    let put = |rel: &str, bytes: &[u8]| {
        let p = t.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    put("sys/class/uio/uio0/name", b"vitaccel\n");
    put("sys/class/uio/uio0/maps/map0/addr", b"0xa0000000\n");
    put("sys/class/uio/uio0/maps/map0/size", b"0x1000\n");
    let mut regs = vec![0u8; 4096];
    regs[0x30..0x34].copy_from_slice(&hash.to_ne_bytes());
    regs[0x04..0x08].copy_from_slice(&status.to_ne_bytes());
    put("dev/uio0", &regs);
    put("sys/class/u-dma-buf/udmabuf0/phys_addr", b"0x70000000\n");
    put("sys/class/u-dma-buf/udmabuf0/size", b"1048576\n");
    put("dev/udmabuf0", &vec![0u8; 1 << 20]);
    put("sys/class/fpga_manager/fpga0/state", b"operating\n");
    t
}

fn small_hash() -> u32 {
    spec::AccelConfig::load(&root().join("configs/small-8x8.toml")).unwrap().hash()
}

#[test]
fn regs_dumps_every_register_by_name_and_compares_the_hash() {
    let board = fake_board(small_hash(), 1);
    let out = tool(board.path())
        .args(["regs", "--sysfs-root"])
        .arg(board.path())
        .arg("--config")
        .arg(root().join("configs/small-8x8.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for name in ["CTRL", "STATUS", "ERROR_CODE", "INSN_DONE", "CYCLES_LO", "LIVE_TOKENS"] {
        assert!(stdout.contains(&format!("  {name}")), "{stdout}");
    }
    assert!(stdout.contains("STATUS       = 0x00000001  (BUSY)"), "{stdout}");
    assert!(stdout.contains(&format!("CONFIG_HASH {:#010x} matches", small_hash())), "{stdout}");
    // Another config: the hash differs. Root from the environment this time.
    let out = tool(board.path())
        .args(["regs", "--config"])
        .arg(root().join("configs/default-16x16.toml"))
        .env("VITACCEL_SYSFS_ROOT", board.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("DIFFERS FROM"));
    let empty = tempfile::tempdir().unwrap();
    let out = tool(empty.path()).args(["regs", "--sysfs-root"]).arg(empty.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no UIO devices"));
}

#[test]
fn run_on_the_board_times_out_with_a_dump_and_a_held_device_is_busy() {
    let board = fake_board(small_hash(), 1);
    let run = |dir: &Path| {
        tool(dir)
            .args(["run", "--backend", "board", "--chain", "4,16,8", "--timeout-s", "1", "--config"])
            .arg(root().join("configs/small-8x8.toml"))
            .arg("--sysfs-root")
            .arg(dir)
            .output()
            .unwrap()
    };
    let out = run(board.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("device timeout after 1s") && stderr.contains("(BUSY)") && stderr.contains("INSN_BASE_LO"),
        "{stderr}"
    );
    let cfg = spec::AccelConfig::load(&root().join("configs/small-8x8.toml")).unwrap();
    let layout = host::device::board::layout::Layout::new(board.path());
    let held = host::device::board::BoardDevice::open(&layout, &cfg, Default::default()).unwrap();
    let out = run(board.path());
    assert!(String::from_utf8_lossy(&out.stderr).contains("device busy"));
    drop(held);
}

#[test]
fn board_load_names_what_is_missing_then_loads() {
    let board = fake_board(0, 0);
    std::fs::create_dir_all(board.path().join("sys/kernel/config/device-tree/overlays")).unwrap();
    let proj = board.path().join("proj");
    let load = || {
        tool(board.path()).args(["board", "load"]).arg(&proj).arg("--sysfs-root").arg(board.path()).output().unwrap()
    };
    let out = load();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("missing") && stderr.contains("vitaccel.bit.bin") && stderr.contains("vitaccel.dtbo"),
        "{stderr}"
    );
    std::fs::create_dir_all(proj.join("out")).unwrap();
    std::fs::write(proj.join("out/vitaccel.bit.bin"), b"bits").unwrap();
    std::fs::write(proj.join("vitaccel.dtbo"), b"overlay").unwrap();
    let out = load();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(board.path().join("lib/firmware/vitaccel.bit.bin")).unwrap(), b"bits");
    let path = board.path().join("sys/kernel/config/device-tree/overlays/vitaccel/path");
    assert_eq!(std::fs::read_to_string(path).unwrap(), "vitaccel.dtbo");
}
