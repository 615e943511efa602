//! The port list of a Verilog module header (`input wire [11:0] s_axi_awaddr;`), read from the
//! generated Verilog so the Vivado flow names only ports the top really has.

/// Direction of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `input`.
    In,
    /// `output`.
    Out,
}

/// One port of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// Name.
    pub name: String,
    /// Direction.
    pub dir: Dir,
    /// Width in bits.
    pub bits: u32,
}

/// The ports of `module` in `verilog`, in declaration order, or why they cannot be read.
pub fn module_ports(verilog: &str, module: &str) -> Result<Vec<Port>, String> {
    let head = format!("module {module}(");
    let start = verilog.find(&head).ok_or_else(|| format!("no `module {module}(` in the Verilog"))?;
    let after = &verilog[start + head.len()..];
    let close = after.find(')').ok_or_else(|| format!("module {module}: unterminated port list"))?;
    let names: Vec<&str> = after[..close].split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let body_end = after.find("endmodule").unwrap_or(after.len());
    let mut ports = Vec::with_capacity(names.len());
    for decl in after[close..body_end].lines().map(str::trim) {
        let Some((dir, rest)) = decl
            .strip_prefix("input ")
            .map(|r| (Dir::In, r))
            .or_else(|| decl.strip_prefix("output ").map(|r| (Dir::Out, r)))
        else {
            continue;
        };
        let rest = rest.trim_start().trim_start_matches("wire").trim_start_matches("reg").trim();
        let (bits, name) = match rest.strip_prefix('[') {
            Some(range) => {
                let (msb_lsb, name) = range.split_once(']').ok_or_else(|| format!("bad declaration `{decl}`"))?;
                let (msb, lsb) = msb_lsb.split_once(':').ok_or_else(|| format!("bad range in `{decl}`"))?;
                let msb: u32 = msb.trim().parse().map_err(|_| format!("bad range in `{decl}`"))?;
                let lsb: u32 = lsb.trim().parse().map_err(|_| format!("bad range in `{decl}`"))?;
                (msb.abs_diff(lsb) + 1, name)
            }
            None => (1, rest),
        };
        let name = name.trim().trim_end_matches(';').trim().to_string();
        ports.push(Port { name, dir, bits });
    }
    let declared: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    if declared != names {
        return Err(format!("module {module}: port list {names:?} differs from the declarations {declared:?}"));
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "// x\nmodule m(clk,a,b);\n  input wire clk;\n  input wire [11:0] a;\n  output reg  [0:3] b;\n  wire [7:0] inner;\nendmodule // m\n";

    #[test]
    fn reads_names_directions_and_widths() {
        let p = module_ports(V, "m").unwrap();
        assert_eq!(
            p,
            vec![
                Port { name: "clk".into(), dir: Dir::In, bits: 1 },
                Port { name: "a".into(), dir: Dir::In, bits: 12 },
                Port { name: "b".into(), dir: Dir::Out, bits: 4 },
            ]
        );
    }

    #[test]
    fn a_missing_module_or_declaration_is_an_error() {
        assert!(module_ports(V, "n").unwrap_err().contains("no `module n(`"));
        let bad = V.replace("  output reg  [0:3] b;\n", "");
        assert!(module_ports(&bad, "m").unwrap_err().contains("differs"));
    }
}
