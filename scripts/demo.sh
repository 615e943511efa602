#!/usr/bin/env bash
# The main job (README): set-up, release build, then the trained fixture end to end: float vs
# integer accuracy and token survival (golden), then the whole model on the RTL in Verilator with
# its token selectors on chip (every image's kept tokens and logits checked bit for bit against the
# golden model), then the same without pruning.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release --quiet -- demo "$@"
cargo run --release --quiet -- run --backend verilator \
    --model fixtures/digits/model.safetensors --calib fixtures/digits/calib.safetensors \
    --images fixtures/digits/test.safetensors --json out/demo/rtl.json
cargo run --release --quiet -- run --backend verilator --no-prune \
    --model fixtures/digits/model.safetensors --calib fixtures/digits/calib.safetensors \
    --images fixtures/digits/test.safetensors --json out/demo/rtl-no-prune.json
