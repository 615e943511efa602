//! The container and cluster recipes, checked without Docker, Slurm or Kubernetes (none runs
//! here): the `Dockerfile` copies only files that exist and that `.dockerignore` keeps, and every
//! `vitaccel` command of the README's "Parallel and sharded runs" section uses flags its
//! subcommand's `--help` lists, with shard counts that match the array/job sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sources of every `COPY` of the build context (not `--from` another stage).
fn copy_sources(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("COPY ") else { continue };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let args: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
        assert!(args.len() >= 2, "COPY needs sources and a destination: {line}");
        out.extend(args[..args.len() - 1].iter().map(|s| s.to_string()));
    }
    out
}

#[test]
fn the_dockerfile_copies_files_that_exist_and_are_not_ignored() {
    let dockerfile = read(&root().join("Dockerfile"));
    let sources = copy_sources(&dockerfile);
    // The workspace, the CLI, the Verilog source of truth and what the runtime image carries.
    for needed in ["Cargo.toml", "Cargo.lock", "spec", "golden", "hdl", "host", "sim", "src", "configs", "fixtures"] {
        assert!(sources.iter().any(|s| s == needed), "the Dockerfile does not COPY {needed}");
    }
    let ignored: Vec<String> = read(&root().join(".dockerignore"))
        .lines()
        .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/').to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for s in &sources {
        assert!(root().join(s).exists(), "COPY {s}: no such file in the repository");
        assert!(!ignored.iter().any(|i| s == i || s.starts_with(&format!("{i}/"))), "COPY {s}: .dockerignore drops it");
    }
    // The workspace members all reach the build stage.
    let manifest = read(&root().join("Cargo.toml"));
    let members = manifest.lines().find(|l| l.starts_with("members")).expect("a workspace");
    for m in members.split('"').skip(1).step_by(2) {
        assert!(sources.iter().any(|s| s == m), "workspace member {m} is not copied");
    }
    // A compile-time include of the CLI (the Vivado Tcl) is copied too.
    assert!(sources.iter().any(|s| s == "constraints"));
    assert!(dockerfile.contains("apt-get install") && dockerfile.contains("verilator"));
    assert_eq!(dockerfile.matches("\nFROM ").count() + dockerfile.starts_with("FROM ") as usize, 2, "two stages");
}

/// The README section's code blocks as logical lines: shell continuations (`\`) and YAML folded
/// scalars (`>-`) joined.
fn recipe_lines(readme: &str) -> Vec<String> {
    let start = readme.find("## Parallel and sharded runs").expect("the README section");
    let end = readme[start + 3..].find("\n## ").map_or(readme.len(), |e| start + 3 + e);
    let mut lines = Vec::new();
    let (mut in_code, mut folded_indent, mut pending) = (false, None::<usize>, String::new());
    for line in readme[start..end].lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if let Some(fi) = folded_indent {
            if indent > fi && !line.trim().is_empty() {
                pending.push(' ');
                pending.push_str(line.trim());
                continue;
            }
            lines.push(std::mem::take(&mut pending));
            folded_indent = None;
        }
        if line.trim_end().ends_with(">-") {
            folded_indent = Some(indent);
            continue;
        }
        pending.push(' ');
        pending.push_str(line.trim().trim_end_matches('\\'));
        if !line.trim_end().ends_with('\\') {
            lines.push(std::mem::take(&mut pending));
        }
    }
    lines.push(pending);
    lines.into_iter().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

fn help(sub: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vitaccel")).args([sub, "--help"]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_readme_recipes_use_real_flags_and_consistent_shard_counts() {
    let lines = recipe_lines(&read(&root().join("README.md")));
    let mut checked = 0;
    for line in &lines {
        for sub in ["run", "merge"] {
            let Some(at) = line.find(&format!("vitaccel {sub} ")) else { continue };
            let help = help(sub);
            for flag in line[at..].split_whitespace().filter(|w| w.starts_with('-')) {
                let flag = flag.split('=').next().unwrap();
                assert!(
                    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag},")),
                    "`vitaccel {sub}` has no flag {flag}: {line}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "the recipes were found ({checked} flags in {lines:#?})");
    let all = lines.join("\n");
    // Slurm: --array=0-(N-1) and --shard "$SLURM_ARRAY_TASK_ID/N"; Kubernetes: completions N.
    let after = |key: &str| -> usize {
        let i = all.find(key).unwrap_or_else(|| panic!("no {key} in the recipes")) + key.len();
        all[i..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    assert_eq!(after("--array=0-") + 1, after("$SLURM_ARRAY_TASK_ID/"));
    assert_eq!(after("completions: "), after("$JOB_COMPLETION_INDEX/"));
    assert!(all.contains("completionMode: Indexed"));
}
