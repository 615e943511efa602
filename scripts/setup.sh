#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian/Ubuntu machine with Rust (idempotent):
# Verilator, Yosys and Icarus Verilog from Debian packages, the device-tree compiler and Tcl
# (the board flow's tests: `dtc` compiles the overlay, `tclsh` checks the Vivado Tcl), rustfmt
# and clippy from rustup.
set -euo pipefail

missing=()
# tool:package
for pair in verilator:verilator yosys:yosys iverilog:iverilog dtc:device-tree-compiler tclsh:tcl; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for comp in rustfmt clippy; do
    if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
        echo "setup: installing $comp" >&2
        rustup component add "$comp"
    fi
done
