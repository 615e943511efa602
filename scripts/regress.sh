#!/usr/bin/env bash
# The heavy tier (not run by CI): long co-simulation sweeps, lint of the large array
# configurations, and the benchmarks, whose figures are printed and saved under out/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PROPTEST_CASES="${PROPTEST_CASES:-5000}"
# The backend suite (tests/backends), one suite at a time (test paths are suite::backend::test).
cargo test --release --test backends -- gemm_chains::
PROPTEST_CASES=2000 VITACCEL_COSIM_IMAGES=360 cargo test --release --test backends -- models::
PROPTEST_CASES=1000 cargo test --release --test backends -- live_tokens::
PROPTEST_CASES=2000 cargo test --release --test backends -- select_ops::
PROPTEST_CASES=500 VITACCEL_COSIM_IMAGES=360 cargo test --release --test backends -- pruning::
cargo test --release -p sim
# Icarus Verilog against Verilator (~2 s per small chain, minutes per 8x8 fixture image).
VITACCEL_ICARUS_CASES=40 VITACCEL_ICARUS_16X16_CASES=10 VITACCEL_ICARUS_IMAGES=4 \
    cargo test --release --test backends -- icarus_vs_verilator::
# Every backend suite on Icarus as well (feature icarus-suite; hours: few cases each, but the
# fixed edge shapes include a 4096-long reduction and a DeiT-Tiny MLP on 16x16).
PROPTEST_CASES=3 VITACCEL_COSIM_IMAGES=2 cargo test --release --features icarus-suite --test backends -- ::icarus::
cargo build --release
for cfg in configs/32x32.toml configs/64x32.toml; do
    out="out/verilog-$(basename "$cfg" .toml)"
    ./target/release/vitaccel verilog --config "$cfg" -o "$out"
    verilator --lint-only -Wall --top-module vitaccel_top "$out/vitaccel_top.v"
    echo "lint clean: $cfg"
done
# Hardware cost per module (Yosys; cached in target/vitaccel-report): 8x8, 16x16 and 32x32.
for cfg in configs/synth-8x8.toml configs/default-16x16.toml configs/32x32.toml; do
    ./target/release/vitaccel report --config "$cfg" --family xc7 --family xcup \
        --json "out/report/$(basename "$cfg" .toml).json"
done
# A real ULX3S (ECP5-85F) bitstream through the open flow (Yosys, nextpnr-ecp5, ecppack); report
# in out/ulx3s/reports/summary.{txt,json}. Synthesis alone took 32 min on 2 heavily shared cores
# (386 s of CPU); see constraints/README.md. (The fixture's 412 KiB memory image does not fit the
# 256 KiB board memory, so no --model here.)
scripts/ecp5-setup.sh
./target/release/vitaccel bitstream --board ulx3s --config configs/ulx3s.toml -o out/ulx3s
cargo run --release -p host --example calibrate -- small
cargo run --release -p host --example calibrate -- default
# The whole benchmark suite (JSON + PNG/SVG plots in out/bench/, results generated from them);
# `vitaccel bench report --from out/bench -o docs/RESULTS.md` refreshes the committed results.
./target/release/vitaccel bench all --out out/bench --report out/bench/RESULTS.md
# DeiT-Tiny on the 32x32 RTL against the cycle model (a third Verilator model: ~11 min to build
# on 2 shared cores, then ~26 s to simulate one image).
VITACCEL_SIM_CONFIGS=small,default,x32=configs/32x32.toml cargo build --release
./target/release/vitaccel bench model --shape deit-tiny --config configs/32x32.toml \
    --project configs/64x32.toml --json out/bench/model-32x32.json
# DeiT-Tiny on a 16x16 whose vector unit has 4 lanes folded four times (the default folds twice):
# the RTL's logits and cycles against the golden and cycle models.
VITACCEL_SIM_CONFIGS=small,default,v4=configs/16x16-lanes4.toml cargo build --release
./target/release/vitaccel bench model --shape deit-tiny --config configs/16x16-lanes4.toml \
    --project configs/default-16x16.toml --json out/bench/model-16x16-lanes4.json
