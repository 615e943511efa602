//! VCD waveforms on request.

mod common;

use common::configs;
use sim::{Sim, SimError};
use spec::regmap;

#[test]
fn vcd_is_written_when_tracing() {
    for (name, cfg) in configs() {
        let dir = std::env::temp_dir().join(format!("vitaccel-sim-trace-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.vcd"), dir.join("b.vcd"));
        let mut sim = Sim::new(&cfg, 4096).unwrap();
        sim.step(10); // not traced
        sim.trace_to(&a).unwrap();
        sim.axil_write(regmap::SCRATCH.offset, 0x5a5a_5a5a);
        sim.step(50);
        sim.stop_trace();
        sim.step(10); // not traced
        let text = std::fs::read_to_string(&a).unwrap();
        assert!(text.contains("$enddefinitions") && text.contains(" aclk "), "{name}: a VCD with aclk");
        assert!(text.contains("m_axi_araddr") && text.contains("s_axi_wdata"), "{name}: the top's ports");
        let stamps = text.lines().filter(|l| l.starts_with('#')).count();
        assert!((100..=140).contains(&stamps), "{name}: two time stamps per traced cycle, got {stamps}");

        // A second file, finished when the simulator is dropped.
        sim.trace_to(&b).unwrap();
        sim.step(5);
        drop(sim);
        let text = std::fs::read_to_string(&b).unwrap();
        assert!(text.contains(" aclk ") && text.lines().filter(|l| l.starts_with('#')).count() >= 10, "{name}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn unwritable_trace_path_is_an_error() {
    let mut sim = Sim::new(&spec::AccelConfig::small(), 64).unwrap();
    let bad = std::path::Path::new("/nonexistent-vitaccel-dir/x.vcd");
    assert!(matches!(sim.trace_to(bad), Err(SimError::Trace { path }) if path == bad));
    sim.step(10);
    assert_eq!(sim.axil_read(regmap::CONFIG_HASH.offset), spec::AccelConfig::small().hash());
}
