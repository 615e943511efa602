#!/usr/bin/env bash
# The test command (README, CI): set-up, formatting, lints, then the default (fast) test tier.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
