//! Which accelerator configurations get a Verilator model.
//!
//! `build.rs` compiles one model per entry of the environment variable [`CONFIGS_ENV`]
//! (default [`DEFAULT_CONFIGS`]); this file is shared by `build.rs` (through `#[path]`) and the
//! library, so the list of presets exists once. An entry is either a preset name (see
//! [`preset`]) or `name=path` with a `.toml`/`.json` config file (relative paths are relative to
//! the workspace root), for example:
//!
//! ```text
//! VITACCEL_SIM_CONFIGS=small,default,wide=configs/wide.toml cargo test -p sim
//! ```
//!
//! A model name becomes part of C symbol names, so it is lowercase ASCII letters, digits and `_`,
//! starting with a letter.

use spec::AccelConfig;
use std::path::{Path, PathBuf};

/// Environment variable listing the configurations `build.rs` builds (comma-separated).
pub const CONFIGS_ENV: &str = "VITACCEL_SIM_CONFIGS";

/// The configurations built when [`CONFIGS_ENV`] is unset.
pub const DEFAULT_CONFIGS: &str = "small,default";

/// Names accepted by [`preset`].
pub const PRESETS: &[&str] = &["small", "default"];

/// The named preset: `small` is [`AccelConfig::small`], `default` is [`AccelConfig::default`].
pub fn preset(name: &str) -> Option<AccelConfig> {
    match name {
        "small" => Some(AccelConfig::small()),
        "default" => Some(AccelConfig::default()),
        _ => None,
    }
}

/// One entry of a configuration list.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// Model name (used in C symbols and file names).
    pub name: String,
    /// The configuration.
    pub config: AccelConfig,
    /// The config file of a `name=path` entry.
    pub file: Option<PathBuf>,
}

/// Parse a configuration list (the syntax of [`CONFIGS_ENV`]). Relative paths are resolved
/// against `root`. Every config is validated; names and CONFIG_HASHes must be unique.
pub fn parse_list(list: &str, root: &Path) -> Result<Vec<ModelSpec>, String> {
    let mut out: Vec<ModelSpec> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, cfg, file) = match entry.split_once('=') {
            Some((name, path)) => {
                let path = root.join(path.trim());
                let cfg = AccelConfig::load(&path).map_err(|e| format!("{CONFIGS_ENV} entry `{entry}`: {e}"))?;
                (name.trim().to_string(), cfg, Some(path))
            }
            None => {
                let cfg = preset(entry).ok_or_else(|| {
                    format!(
                        "{CONFIGS_ENV}: unknown preset `{entry}` (presets: {}; or give `name=path/to/config.toml`)",
                        PRESETS.join(", ")
                    )
                })?;
                (entry.to_string(), cfg, None)
            }
        };
        let valid_name = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(format!(
                "{CONFIGS_ENV}: model name `{name}` must be lowercase letters, digits and `_`, starting with a letter"
            ));
        }
        cfg.validate().map_err(|e| format!("{CONFIGS_ENV}: `{name}`: {e}"))?;
        if let Some(other) = out.iter().find(|m| m.name == name || m.config.hash() == cfg.hash()) {
            return Err(format!(
                "{CONFIGS_ENV}: `{name}` duplicates `{}` (same name or same configuration)",
                other.name
            ));
        }
        out.push(ModelSpec { name, config: cfg, file });
    }
    if out.is_empty() {
        return Err(format!("{CONFIGS_ENV} is empty: name at least one configuration"));
    }
    Ok(out)
}
