#!/usr/bin/env bash
# The main job (README): set-up, release build, then the end-to-end demo on the trained fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release --quiet -- demo "$@"
