//! The hierarchy a hardware engineer reasons in: the accelerator split into the groups the
//! resource report synthesizes one at a time (each group's module with its reported children
//! as black boxes, so every cell is counted in exactly one group).

/// One row of the resource report.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// Row name.
    pub name: &'static str,
    /// Instance path below the top module (`""` = the top itself), `$`-separated as Rust-HDL
    /// names the generated modules.
    pub path: &'static str,
    /// Paths of the groups inside this one (black boxes in its synthesis).
    pub children: &'static [&'static str],
}

/// The array's group path (its DSPs are "in the array"; every other DSP is outside it).
pub const ARRAY: &str = "gemm$engine$array";

/// Every group; together they cover the whole design once.
pub const GROUPS: &[Group] = &[
    Group { name: "systolic array (PEs)", path: ARRAY, children: &[] },
    Group { name: "GEMM accumulate + requant", path: "gemm$engine$accumulator", children: &[] },
    Group { name: "GEMM engine (rest)", path: "gemm", children: &[ARRAY, "gemm$engine$accumulator"] },
    Group { name: "vector engine", path: "vecu$engine", children: &[] },
    Group { name: "token selector", path: "vecu$sel", children: &[] },
    Group { name: "vector unit dispatch", path: "vecu", children: &["vecu$engine", "vecu$sel"] },
    Group { name: "controller", path: "ctrl", children: &[] },
    Group { name: "scratchpad", path: "sp", children: &[] },
    Group { name: "DMA + AXI + registers", path: "", children: &["gemm", "vecu", "ctrl", "sp"] },
];

/// The Verilog module name of an instance path below `top`.
pub fn module_name(top: &str, path: &str) -> String {
    if path.is_empty() {
        top.to_string()
    } else {
        format!("{top}${path}")
    }
}

/// Check that every group's module is in `verilog` (a design from another generator, or a
/// renamed instance, is an error naming the missing module rather than a silently empty row).
pub fn check_present(verilog: &str, top: &str) -> Result<(), String> {
    for g in GROUPS {
        let m = module_name(top, g.path);
        if !verilog.contains(&format!("module {m}(")) {
            return Err(format!("the Verilog has no module `{m}` (report group `{}`)", g.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The groups name real modules of the generated design, and each child is a group.
    #[test]
    fn groups_cover_modules_of_the_generated_design() {
        let v = hdl::top_verilog(&spec::AccelConfig::small()).unwrap();
        check_present(&v, hdl::TOP_MODULE).unwrap();
        for g in GROUPS {
            for c in g.children {
                assert!(GROUPS.iter().any(|h| h.path == *c), "{c} is a group");
                assert!(c.starts_with(g.path), "{c} is inside {}", g.path);
            }
        }
        assert!(check_present("module other();", hdl::TOP_MODULE)
            .unwrap_err()
            .contains("vitaccel_top$gemm$engine$array"));
    }
}
