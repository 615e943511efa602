# vitaccel: the Vivado flow for a Zynq UltraScale+ board (KV260, ZCU102).
#
# Run from a project folder written by `vitaccel bitstream --board B --config C -o DIR`:
#     cd DIR && vivado -mode batch -source build.tcl
# That folder holds this file, `params.tcl` (every number: part, board, clock, register
# window, AXI widths, the IP's ports; generated from spec and the config), the generated
# Verilog (hdl/vitaccel_top.v) and the clock constraint (vitaccel.xdc). Steps:
#   1. package_ip:   the Verilog top as an IP-XACT core (ip/component.xml), its AXI4-Lite
#                    slave `s_axi`, AXI4 master `m_axi`, clock `aclk`, reset `aresetn`;
#   2. block_design: the PS (board preset), the accelerator's `s_axi` on M_AXI_HPM0_FPD, its
#                    `m_axi` on S_AXI_HP0_FPD (non-coherent; see constraints/README.md), PL clock
#                    pl_clk0 at the config's clock, `irq` (if the top has one) on pl_ps_irq0;
#   3. implement:    synthesis, implementation, reports (utilization, timing), the bitstream;
#   4. export:       out/vitaccel.bit, out/vitaccel.bit.bin (FPGA manager), out/vitaccel.xsa.
# Numbers never appear here: they come from params.tcl.

set here [file dirname [file normalize [info script]]]
source [file join $here params.tcl]

# Fail with `msg` unless `cond` holds.
proc require {cond msg} {
    if {![uplevel 1 [list expr $cond]]} {
        error "vitaccel build: $msg"
    }
}

# Package hdl/vitaccel_top.v as an IP in ip/ (IP-XACT), check its ports against params.tcl.
proc package_ip {here} {
    global vitaccel
    set ip_dir [file join $here ip]
    create_project -force vitaccel_ip [file join $here build ip_project] -part $vitaccel(part)
    add_files -norecurse [file join $here hdl vitaccel_top.v]
    add_files -fileset constrs_1 -norecurse [file join $here vitaccel.xdc]
    # The clock constraint of the IP alone (out-of-context runs); in the block design the PS
    # generates pl_clk0 and Vivado derives its constraint from the PS configuration.
    set_property USED_IN {synthesis implementation out_of_context} [get_files vitaccel.xdc]
    set_property top $vitaccel(top) [current_fileset]
    update_compile_order -fileset sources_1
    ipx::package_project -root_dir $ip_dir -vendor $vitaccel(ip_vendor) -library $vitaccel(ip_library) \
        -taxonomy /UserIP -import_files -set_current true
    set core [ipx::current_core]
    set_property name $vitaccel(ip_name) $core
    set_property version $vitaccel(ip_version) $core
    set_property display_name "vitaccel $vitaccel(array) (CONFIG_HASH $vitaccel(config_hash))" $core
    foreach port $vitaccel(ports) {
        require {[llength [ipx::get_ports $port -of_objects $core]] == 1} "the IP has no port $port"
    }
    ipx::infer_bus_interfaces xilinx.com:interface:aximm_rtl:1.0 $core
    ipx::infer_bus_interfaces xilinx.com:signal:clock_rtl:1.0 $core
    ipx::infer_bus_interfaces xilinx.com:signal:reset_rtl:1.0 $core
    foreach busif [list $vitaccel(slave) $vitaccel(master)] {
        require {[llength [ipx::get_bus_interfaces $busif -of_objects $core]] == 1} "no bus interface $busif inferred"
        ipx::associate_bus_interfaces -busif $busif -clock $vitaccel(clock_port) $core
    }
    ipx::associate_bus_interfaces -clock $vitaccel(clock_port) -reset $vitaccel(reset_port) $core
    set clk [ipx::get_bus_interfaces $vitaccel(clock_port) -of_objects $core]
    if {[llength [ipx::get_bus_parameters FREQ_HZ -of_objects $clk]] == 0} {
        ipx::add_bus_parameter FREQ_HZ $clk
    }
    set_property value $vitaccel(clock_hz) [ipx::get_bus_parameters FREQ_HZ -of_objects $clk]
    set regs [ipx::get_address_blocks -of_objects [ipx::get_memory_maps $vitaccel(slave) -of_objects $core]]
    set_property range $vitaccel(reg_window) $regs
    if {$vitaccel(irq_port) ne ""} {
        ipx::infer_bus_interface $vitaccel(irq_port) xilinx.com:signal:interrupt_rtl:1.0 $core
        set irq [ipx::get_bus_interfaces $vitaccel(irq_port) -of_objects $core]
        set_property value LEVEL_HIGH [ipx::add_bus_parameter SENSITIVITY $irq]
    }
    ipx::create_xgui_files $core
    ipx::update_checksums $core
    ipx::check_integrity $core
    ipx::save_core $core
    close_project
}

# The PS with the accelerator: control, memory, clock, reset, interrupt.
proc block_design {here} {
    global vitaccel
    create_project -force vitaccel [file join $here build project] -part $vitaccel(part)
    set_property board_part $vitaccel(board_part) [current_project]
    if {$vitaccel(board_connections) ne ""} {
        set_property board_connections $vitaccel(board_connections) [current_project]
    }
    set_property ip_repo_paths [file join $here ip] [current_project]
    update_ip_catalog
    create_bd_design $vitaccel(bd)
    set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e $vitaccel(ps)]
    apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset "1"} $ps
    set_property -dict [list \
        CONFIG.PSU__USE__M_AXI_GP0 {1} CONFIG.PSU__MAXIGP0__DATA_WIDTH $vitaccel(hpm_data_width) \
        CONFIG.PSU__USE__M_AXI_GP1 {0} CONFIG.PSU__USE__M_AXI_GP2 {0} \
        CONFIG.PSU__USE__S_AXI_GP2 {1} CONFIG.PSU__SAXIGP2__DATA_WIDTH $vitaccel(hp_data_width) \
        CONFIG.PSU__FPGA_PL0_ENABLE {1} CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $vitaccel(clock_mhz) \
        CONFIG.PSU__USE__IRQ0 $vitaccel(use_irq) \
    ] $ps
    set acc [create_bd_cell -type ip -vlnv $vitaccel(ip_vlnv) $vitaccel(cell)]
    set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset proc_sys_reset_0]
    set clk [get_bd_pins $vitaccel(ps)/pl_clk0]
    connect_bd_net $clk [get_bd_pins $vitaccel(cell)/$vitaccel(clock_port)] [get_bd_pins proc_sys_reset_0/slowest_sync_clk]
    connect_bd_net [get_bd_pins $vitaccel(ps)/pl_resetn0] [get_bd_pins proc_sys_reset_0/ext_reset_in]
    connect_bd_net [get_bd_pins proc_sys_reset_0/peripheral_aresetn] [get_bd_pins $vitaccel(cell)/$vitaccel(reset_port)]
    # Control: PS master port -> SmartConnect -> the accelerator's AXI4-Lite slave.
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
        Clk_master $vitaccel(ps)/pl_clk0 Clk_slave $vitaccel(ps)/pl_clk0 Clk_xbar $vitaccel(ps)/pl_clk0 \
        Master /$vitaccel(ps)/$vitaccel(control_port) Slave /$vitaccel(cell)/$vitaccel(slave) \
        intc_ip {New AXI SmartConnect} master_apm {0}] [get_bd_intf_pins $vitaccel(cell)/$vitaccel(slave)]
    # Memory: the accelerator's AXI4 master -> SmartConnect (width conversion) -> PS HP port.
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
        Clk_master $vitaccel(ps)/pl_clk0 Clk_slave $vitaccel(ps)/pl_clk0 Clk_xbar $vitaccel(ps)/pl_clk0 \
        Master /$vitaccel(cell)/$vitaccel(master) Slave /$vitaccel(ps)/$vitaccel(memory_port) \
        intc_ip {New AXI SmartConnect} master_apm {0}] [get_bd_intf_pins $vitaccel(ps)/$vitaccel(memory_port)]
    if {$vitaccel(irq_port) ne ""} {
        connect_bd_net [get_bd_pins $vitaccel(cell)/$vitaccel(irq_port)] [get_bd_pins $vitaccel(ps)/pl_ps_irq0]
    }
    assign_bd_address
    set seg [get_bd_addr_segs -of_objects [get_bd_addr_spaces $vitaccel(ps)/Data] -filter "NAME =~ *$vitaccel(cell)*"]
    require {[llength $seg] == 1} "no address segment for $vitaccel(cell)"
    set_property offset $vitaccel(reg_base) $seg
    set_property range $vitaccel(reg_window) $seg
    validate_bd_design
    save_bd_design
    set bd_file [get_files $vitaccel(bd).bd]
    generate_target all $bd_file
    add_files -norecurse [make_wrapper -files $bd_file -top]
    set_property top $vitaccel(bd)_wrapper [current_fileset]
    update_compile_order -fileset sources_1
}

# Synthesis and implementation to a bitstream, with utilization and timing reports.
proc implement {here} {
    global vitaccel
    set reports [file join $here reports]
    file mkdir $reports
    launch_runs synth_1 -jobs $vitaccel(jobs)
    wait_on_run synth_1
    require {[get_property PROGRESS [get_runs synth_1]] eq "100%"} "synthesis failed (see build/project)"
    launch_runs impl_1 -to_step write_bitstream -jobs $vitaccel(jobs)
    wait_on_run impl_1
    require {[get_property PROGRESS [get_runs impl_1]] eq "100%"} "implementation failed (see build/project)"
    open_run impl_1
    report_utilization -file [file join $reports utilization.rpt]
    report_utilization -hierarchical -file [file join $reports utilization_hierarchical.rpt]
    report_timing_summary -max_paths 20 -file [file join $reports timing_summary.rpt]
    report_clocks -file [file join $reports clocks.rpt]
    set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
    if {$wns ne "" && $wns < 0} {
        puts "vitaccel build: WARNING timing not met at $vitaccel(clock_mhz) MHz (WNS $wns ns); see reports/timing_summary.rpt"
    }
}

# The files a board needs: bitstream, its FPGA-manager form, the hardware handoff.
proc export {here} {
    global vitaccel
    set out [file join $here out]
    file mkdir $out
    set bit [file join $out $vitaccel(name).bit]
    write_bitstream -force $bit
    # The FPGA manager takes the raw configuration data, byte-swapped as SMAPx32 expects.
    write_cfgmem -force -format BIN -interface SMAPx32 -disablebitswap -loadbit "up 0x0 $bit" \
        [file join $out $vitaccel(name).bit.bin]
    write_hw_platform -fixed -include_bit -force -file [file join $out $vitaccel(name).xsa]
}

package_ip $here
block_design $here
implement $here
export $here
puts "vitaccel build: done; out/ holds $vitaccel(name).bit, $vitaccel(name).bit.bin, $vitaccel(name).xsa"
