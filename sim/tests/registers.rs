//! The AXI4-Lite register block of the real RTL, on every built configuration.

mod common;

use common::configs;
use sim::{Sim, SimError};
use spec::regmap::{self, status};
use spec::AccelConfig;

#[test]
fn identity_registers_scratch_and_idle_status() {
    for (name, cfg) in configs() {
        let mut sim = Sim::new(&cfg, 4096).unwrap();
        assert_eq!(sim.model_name(), name);
        assert_eq!(sim.axil_read(regmap::CONFIG_HASH.offset), cfg.hash(), "{name}");
        assert_eq!(sim.axil_read(regmap::HW_INFO.offset), regmap::hw_info(&cfg), "{name}");
        assert_eq!(sim.axil_read(regmap::STATUS.offset), 0, "{name}: idle, not done, no error after reset");
        assert_eq!(sim.axil_read(regmap::ERROR_CODE.offset), 0, "{name}");
        assert_eq!(sim.axil_read(regmap::SCRATCH.offset), 0, "{name}: RW registers clear on reset");
        for v in [0xdead_beef, 0, u32::MAX, 0x1234_5678, 1 << 31, 1] {
            sim.axil_write(regmap::SCRATCH.offset, v);
            assert_eq!(sim.axil_read(regmap::SCRATCH.offset), v, "{name}");
        }
        // INSN_BASE_HI holds the address bits 39:32 only.
        sim.axil_write(regmap::INSN_BASE_HI.offset, 0xffff_ffff);
        assert_eq!(sim.axil_read(regmap::INSN_BASE_HI.offset), 0xff, "{name}");
        sim.axil_write(regmap::INSN_COUNT.offset, 77);
        assert_eq!(sim.axil_read(regmap::INSN_COUNT.offset), 77, "{name}");
        // Reset clears them again.
        sim.reset();
        assert_eq!(sim.axil_read(regmap::SCRATCH.offset), 0, "{name}");
        assert_eq!(sim.axil_read(regmap::INSN_COUNT.offset), 0, "{name}");
        assert_eq!(sim.protocol_violations(), None);
    }
}

#[test]
fn start_with_no_instructions_finishes_at_once() {
    for (name, cfg) in configs() {
        let mut sim = Sim::new(&cfg, 4096).unwrap();
        sim.axil_write(regmap::INSN_COUNT.offset, 0);
        sim.axil_write(regmap::CTRL.offset, 1);
        let cycles = sim.run_until_idle(10_000).unwrap();
        assert!(cycles < 100, "{name}: {cycles}");
        assert_eq!(sim.axil_read(regmap::STATUS.offset), status::DONE, "{name}");
        assert_eq!(sim.axil_read(regmap::INSN_DONE.offset), 0, "{name}");
        assert_eq!(sim.mem_stats(), sim::MemStats::default(), "{name}: no DRAM traffic");
    }
}

#[test]
fn cycles_advance_only_when_simulating() {
    let mut sim = Sim::new(&AccelConfig::small(), 0).unwrap();
    let c0 = sim.cycle();
    assert!(c0 > 0, "new() resets and reads CONFIG_HASH");
    assert_eq!(sim.cycle(), c0);
    sim.step(1234);
    assert_eq!(sim.cycle(), c0 + 1234);
    sim.step(0);
    assert_eq!(sim.cycle(), c0 + 1234);
    let c1 = sim.cycle();
    sim.axil_read(regmap::STATUS.offset);
    assert!((2..20).contains(&(sim.cycle() - c1)), "an AXI4-Lite read takes a few cycles");
}

#[test]
fn unknown_configuration_names_the_built_ones() {
    let cfg = AccelConfig { max_tokens: 31, ..AccelConfig::small() };
    let err = Sim::new(&cfg, 16).unwrap_err();
    assert!(matches!(err, SimError::NoModel { hash, .. } if hash == cfg.hash()), "{err:?}");
    let msg = err.to_string();
    for (name, c) in configs() {
        assert!(msg.contains(name) && msg.contains(&format!("{:#010x}", c.hash())), "{msg}");
    }
    assert!(msg.contains(sim::configs::CONFIGS_ENV), "{msg}");
    let built: Vec<_> = sim::built_models().into_iter().map(|m| (m.name, m.config)).collect();
    for (name, c) in configs() {
        assert!(built.contains(&(name, c)), "{name} is built by default");
    }
}

#[test]
fn sim_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Sim>();
    let mut sim = Sim::new(&AccelConfig::small(), 64).unwrap();
    sim.mem_mut()[3] = 7;
    let sim = std::thread::spawn(move || {
        sim.axil_write(regmap::SCRATCH.offset, 42);
        sim
    })
    .join()
    .unwrap();
    let mut sim = sim;
    assert_eq!(sim.axil_read(regmap::SCRATCH.offset), 42);
    assert_eq!(sim.mem()[3], 7);
}
