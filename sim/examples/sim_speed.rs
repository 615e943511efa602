//! Simulation throughput of every built model: idle cycles, a DMA-bound LOAD/STORE program, and
//! the cost of construction and tracing.
//!
//! `cargo run -p sim --release --example sim_speed` (the C++ is always optimized; the profile only
//! affects this driver).

use sim::{built_models, Sim};
use spec::isa::{BankAddr, Dma, Insn, Op, INSN_BYTES};
use spec::regmap;
use std::time::Instant;

fn main() -> Result<(), sim::SimError> {
    for m in built_models() {
        let cfg = m.config;
        let t = Instant::now();
        let mut sim = Sim::new(&cfg, 8 << 20)?;
        let t_new = t.elapsed();

        let idle = 2_000_000;
        let t = Instant::now();
        sim.step(idle);
        let idle_rate = idle as f64 / t.elapsed().as_secs_f64();

        // 16 rows x 512 words LOADed, then STOREd back elsewhere.
        let wb = cfg.word_bytes() as u64;
        let dma = Dma {
            sp: BankAddr { bank: 1, addr: 0 },
            sp_stride: 512,
            rows: 16,
            words: 512,
            dram: 0x10_0000,
            dram_stride: 512 * wb,
        };
        let insns = [Insn::new(Op::Load(dma)), Insn::new(Op::Store(Dma { dram: 0x40_0000, ..dma }))];
        for (i, insn) in insns.iter().enumerate() {
            sim.mem_mut()[i * INSN_BYTES..(i + 1) * INSN_BYTES].copy_from_slice(&insn.encode());
        }
        sim.axil_write(regmap::INSN_BASE_LO.offset, 0);
        sim.axil_write(regmap::INSN_COUNT.offset, insns.len() as u32);
        let t = Instant::now();
        let c0 = sim.cycle();
        sim.axil_write(regmap::CTRL.offset, 1);
        sim.run_until_idle(10_000_000)?;
        let busy = sim.cycle() - c0;
        let busy_rate = busy as f64 / t.elapsed().as_secs_f64();
        assert_eq!(sim.axil_read(regmap::STATUS.offset), regmap::status::DONE);

        let path = std::env::temp_dir().join(format!("vitaccel-sim-speed-{}.vcd", m.name));
        let t = Instant::now();
        sim.trace_to(&path)?;
        let t_open = t.elapsed();
        let traced = 20_000;
        let t = Instant::now();
        sim.step(traced);
        sim.stop_trace();
        let trace_rate = traced as f64 / t.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&path);

        println!(
            "{:>8} ({}x{}, {}-bit AXI): new {:.1} ms | idle {:.2} M cycles/s | LOAD+STORE {} cycles at {:.2} M cycles/s | \
             traced {:.0} k cycles/s (open {:.0} ms)",
            m.name,
            cfg.array_rows,
            cfg.array_cols,
            cfg.axi_data_bits(),
            t_new.as_secs_f64() * 1e3,
            idle_rate / 1e6,
            busy,
            busy_rate / 1e6,
            trace_rate / 1e3,
            t_open.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
