//! Builds one Verilator model of `vitaccel_top` per configuration and links it with the harness.
//!
//! The models live in one cache per profile, `CACHE = target/<profile>/vitaccel-sim/`, shared by
//! every build of this crate in that profile (`cargo clippy`, `cargo test`, feature variants: each
//! has its own `OUT_DIR`, and without the shared cache each would compile the same models again).
//! Cargo's lock on the build directory keeps two builds from running in it at once.
//!
//! For each entry of `VITACCEL_SIM_CONFIGS` (see `src/configs.rs`), in parallel:
//! 1. generate the Verilog with `hdl::top_verilog` into `CACHE/<name>/<name>.v`;
//! 2. write the C++ shim `CACHE/<name>/shim_<name>.cpp` (instantiates `csrc/harness.h`, which
//!    includes `CACHE/include/vitaccel_timing.h`, generated here from `spec::timing`);
//! 3. if the stamp of (Verilog, harness sources, shim, Verilator version and flags, compiler and its
//!    flags) equals `CACHE/<name>/stamp` and the library exists, stop: nothing to rebuild;
//! 4. otherwise `verilator --cc` into `CACHE/<name>/verilated`, read `V<name>_classes.mk` for the
//!    generated sources, compile them and the shim with `cc` (C++17; everything that runs per
//!    simulated cycle at `-O2` whatever the cargo profile, Verilator's run-once slow path at `-O0`
//!    as Verilator's own makefiles do) into `libvsim_<name>.a`, then write the stamp.
//!
//! The Verilator runtime (`verilated.cpp` & co.) is compiled once into `libvsim_verilated.a`, and
//! `OUT_DIR/models.rs` lists the linked models (name, CONFIG_HASH, config, vtable entry point) for
//! `src/ffi.rs`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[allow(dead_code)]
#[path = "src/configs.rs"]
mod configs;

/// Verilator options (besides `--prefix`, `--Mdir`, `--top-module` and the source).
/// Warnings do not fail the build: `hdl`'s own tests lint the Verilog with `-Wall`.
/// Single-threaded on purpose: `--threads 2` was measured 1.85x slower (DeiT-Tiny on 16x16 with
/// 8 vector lanes: 56.3 s against 30.5 s; issue 15); `vitaccel run --jobs N` uses the cores.
const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "-Wno-fatal",
    "--trace",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--output-split-cfuncs",
    "5000",
    "--output-split",
    "20000",
];

/// Defines Verilator's makefiles pass to every file (values from `--trace`, no coverage/SystemC).
const VERILATED_DEFINES: &[(&str, &str)] =
    &[("VM_COVERAGE", "0"), ("VM_SC", "0"), ("VM_TRACE", "1"), ("VM_TRACE_FST", "0"), ("VM_TRACE_VCD", "1")];

/// The harness sources every shim includes.
const HARNESS_FILES: &[&str] = &["csrc/harness.h", "csrc/vsim_abi.h"];

/// Optimization of everything that runs per simulated cycle (generated fast path, runtime, harness).
/// `-O3` was measured no faster on the fixture (issue 15: 8x8 and 16x16, within noise or slower).
const FAST_OPT: u32 = 2;

/// Optimization of Verilator's slow path (`VM_*_SLOW`: constructors, initial blocks, trace
/// declarations), which runs once per model or trace file. Verilator's own makefiles leave it
/// unoptimized too; at -O2 the default model's trace declarations alone take 36 s to compile.
const SLOW_OPT: u32 = 0;

/// Bump when this script changes how a library is made without changing any stamped input.
const RECIPE: &str = "vitaccel-sim-recipe-1";

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("\nerror: {msg}\n");
    std::process::exit(1);
}

struct Verilator {
    version: String,
    root: PathBuf,
}

impl Verilator {
    fn find() -> Verilator {
        let run = |args: &[&str]| -> Option<String> {
            let out = Command::new("verilator").args(args).output().ok()?;
            out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let Some(version) = run(&["--version"]) else {
            fail(
                "`verilator` was not found on PATH; the `sim` crate compiles the generated Verilog with it.\n\
                 Install the project's tools with `scripts/setup.sh` (Debian packages verilator, yosys, iverilog), \
                 then build again.",
            )
        };
        let root = run(&["--getenv", "VERILATOR_ROOT"])
            .filter(|r| Path::new(r).join("include/verilated.h").exists())
            .unwrap_or_else(|| fail("`verilator --getenv VERILATOR_ROOT` does not name a directory with include/verilated.h; reinstall it with `scripts/setup.sh`"));
        Verilator { version, root: PathBuf::from(root) }
    }
    fn include(&self) -> PathBuf {
        self.root.join("include")
    }
}

/// Write `text` to `path` unless it already holds exactly that (keeps mtimes stable).
fn write_if_changed(path: &Path, text: &str) {
    if fs::read(path).ok().as_deref() != Some(text.as_bytes()) {
        fs::write(path, text).unwrap_or_else(|e| fail(format!("cannot write {}: {e}", path.display())));
    }
}

/// A 64-bit fingerprint of several byte strings (length-prefixed, so boundaries count).
fn stamp_of(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for p in parts {
        all.extend_from_slice(&(p.len() as u64).to_le_bytes());
        all.extend_from_slice(p);
    }
    format!("{:016x}\n", spec::fnv1a64(&all))
}

/// The compiler invocation common to every C++ file (optimized at `opt` whatever the profile:
/// cc's debug default is ~10x slower to simulate).
fn cxx_base(opt: u32) -> cc::Build {
    let mut b = cc::Build::new();
    b.cpp(true).std("c++17").opt_level(opt).debug(false).cargo_metadata(false);
    for (k, val) in VERILATED_DEFINES {
        b.define(k, *val);
    }
    b
}

/// The build for Verilator's own (generated or runtime) sources: their warnings are not ours.
fn cxx_verilated(v: &Verilator, opt: u32) -> cc::Build {
    let mut b = cxx_base(opt);
    b.include(v.include())
        .include(v.include().join("vltstd"))
        .warnings(false)
        .extra_warnings(false)
        .flag("-w")
        .flag_if_supported("-fcf-protection=none");
    b
}

/// The build for the shim and harness: all warnings, Verilator's headers as system headers.
fn cxx_harness(v: &Verilator, vdir: &Path, csrc: &Path, generated: &Path) -> cc::Build {
    let mut b = cxx_base(FAST_OPT);
    for dir in [v.include(), v.include().join("vltstd"), vdir.to_path_buf()] {
        b.flag("-isystem").flag(dir);
    }
    b.include(csrc).include(generated).warnings(true).extra_warnings(true);
    b
}

/// Every compiler setting that affects the objects, for the stamps.
fn compiler_fingerprint(b: &cc::Build) -> String {
    let tool = b.get_compiler();
    format!("{} {:?}", tool.path().display(), tool.args())
}

/// `NAME += \ a \ b` lists of a Verilator `*_classes.mk`.
fn make_list(mk: &str, var: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_list = false;
    for line in mk.lines() {
        let t = line.trim();
        if !in_list {
            if let Some(rest) = t.strip_prefix(var) {
                if rest.trim_start().starts_with("+=") || rest.trim_start().starts_with('=') {
                    in_list = t.ends_with('\\');
                }
            }
            continue;
        }
        let item = t.trim_end_matches('\\').trim();
        if !item.is_empty() {
            out.push(item.to_string());
        }
        in_list = t.ends_with('\\');
    }
    out
}

struct Built {
    name: String,
    hash: u32,
    config_json: String,
    bits: usize,
    lib_dir: PathBuf,
    log: String,
    /// Seconds of the last real build: Verilog generation, Verilator, C++ compilation.
    times: [f64; 3],
}

fn build_model(
    m: &configs::ModelSpec,
    cache: &Path,
    csrc: &Path,
    generated: &Path,
    v: &Verilator,
    harness: &[u8],
    mk_tx: &std::sync::mpsc::Sender<PathBuf>,
) -> Built {
    let t0 = Instant::now();
    let name = &m.name;
    let dir = cache.join(name);
    let vdir = dir.join("verilated");
    let lib_dir = dir.join("build");
    fs::create_dir_all(&lib_dir).unwrap_or_else(|e| fail(format!("cannot create {}: {e}", lib_dir.display())));
    let verilog =
        hdl::top_verilog(&m.config).unwrap_or_else(|e| fail(format!("cannot generate the Verilog of `{name}`: {e}")));
    let t_gen = t0.elapsed().as_secs_f64();
    let vfile = dir.join(format!("{name}.v"));
    write_if_changed(&vfile, &verilog);
    let bits = m.config.axi_data_bits();
    let prefix = format!("V{name}");
    let shim = format!(
        "// Generated by sim/build.rs for configuration `{name}` (CONFIG_HASH {:#010x}). Do not edit.\n\
         #include \"{prefix}.h\"\n#include \"harness.h\"\n\nVSIM_DEFINE_MODEL({prefix}, {bits}, vsim_{name}_vtable)\n",
        m.config.hash()
    );
    let shim_file = dir.join(format!("shim_{name}.cpp"));
    write_if_changed(&shim_file, &shim);

    let mut fast_build = cxx_verilated(v, FAST_OPT);
    fast_build.include(&vdir).out_dir(&lib_dir);
    let mut slow_build = cxx_verilated(v, SLOW_OPT);
    slow_build.include(&vdir).out_dir(lib_dir.join("slow"));
    let mut shim_build = cxx_harness(v, &vdir, csrc, generated);
    shim_build.out_dir(lib_dir.join("shim"));
    let stamp = stamp_of(&[
        RECIPE.as_bytes(),
        verilog.as_bytes(),
        harness,
        shim.as_bytes(),
        v.version.as_bytes(),
        VERILATOR_FLAGS.join(" ").as_bytes(),
        compiler_fingerprint(&fast_build).as_bytes(),
        compiler_fingerprint(&slow_build).as_bytes(),
        compiler_fingerprint(&shim_build).as_bytes(),
    ]);
    let stamp_file = dir.join("stamp");
    let lib_name = format!("vsim_{name}");
    let lib_file = lib_dir.join(format!("lib{lib_name}.a"));
    let built = Built {
        name: name.clone(),
        hash: m.config.hash(),
        config_json: serde_json::to_string(&m.config).expect("a config serializes"),
        bits,
        lib_dir: lib_dir.clone(),
        log: String::new(),
        times: [0.0; 3],
    };
    let timing_file = dir.join("timing.txt");
    let mk_path = vdir.join(format!("{prefix}_classes.mk"));
    if lib_file.exists() && mk_path.exists() && fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str())
    {
        let _ = mk_tx.send(mk_path);
        // The cached model keeps the timings of the build that produced it.
        let times = fs::read_to_string(&timing_file)
            .ok()
            .and_then(|t| {
                let v: Vec<f64> = t.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                (v.len() == 3).then(|| [v[0], v[1], v[2]])
            })
            .unwrap_or([t_gen, 0.0, 0.0]);
        return Built { log: format!("{name}: up to date (verilog {t_gen:.2} s)"), times, ..built };
    }
    let _ = fs::remove_file(&stamp_file);
    let _ = fs::remove_dir_all(&vdir);

    let t1 = Instant::now();
    let status = Command::new("verilator")
        .args(VERILATOR_FLAGS)
        .arg("--prefix")
        .arg(&prefix)
        .arg("--Mdir")
        .arg(&vdir)
        .arg("--top-module")
        .arg(hdl::TOP_MODULE)
        .arg(&vfile)
        .status()
        .unwrap_or_else(|e| fail(format!("cannot run verilator: {e}")));
    if !status.success() {
        fail(format!("verilator failed on {} (configuration `{name}`): {status}", vfile.display()));
    }
    let t_verilate = t1.elapsed().as_secs_f64();
    let _ = mk_tx.send(mk_path.clone());
    let mk = fs::read_to_string(&mk_path).unwrap_or_else(|e| fail(format!("cannot read {}: {e}", mk_path.display())));
    // Largest first, so the parallel compile does not end on one big file.
    let sources = |vars: &[&str]| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> =
            vars.iter().flat_map(|var| make_list(&mk, var)).map(|c| vdir.join(format!("{c}.cpp"))).collect();
        files.sort_by_key(|f| std::cmp::Reverse(fs::metadata(f).map(|m| m.len()).unwrap_or(0)));
        files
    };
    let fast = sources(&["VM_CLASSES_FAST", "VM_SUPPORT_FAST"]);
    let slow = sources(&["VM_CLASSES_SLOW", "VM_SUPPORT_SLOW"]);
    if fast.is_empty() {
        fail(format!("no sources listed in {}", mk_path.display()));
    }

    let t2 = Instant::now();
    let compile_err = |what: &str, e: cc::Error| -> ! { fail(format!("cannot compile {what} of `{name}`: {e}")) };
    let shim_objs =
        shim_build.file(&shim_file).try_compile_intermediates().unwrap_or_else(|e| compile_err("the harness", e));
    let slow_objs =
        slow_build.files(&slow).try_compile_intermediates().unwrap_or_else(|e| compile_err("the model's slow path", e));
    fast_build
        .files(&fast)
        .objects(&slow_objs)
        .objects(&shim_objs)
        .try_compile(&lib_name)
        .unwrap_or_else(|e| compile_err("the model", e));
    let t_cxx = t2.elapsed().as_secs_f64();
    write_if_changed(&timing_file, &format!("{t_gen} {t_verilate} {t_cxx}\n"));
    write_if_changed(&stamp_file, &stamp);
    Built {
        log: format!(
            "{name}: verilog {t_gen:.2} s, verilator {t_verilate:.2} s, c++ {t_cxx:.1} s ({} files)",
            fast.len() + slow.len() + 1
        ),
        times: [t_gen, t_verilate, t_cxx],
        ..built
    }
}

/// Verilator's runtime (`VM_GLOBAL_*` of any model), compiled once for every model.
fn build_runtime(cache: &Path, v: &Verilator, any_mk: &Path) -> (PathBuf, String) {
    let dir = cache.join("verilated_runtime");
    fs::create_dir_all(&dir).unwrap_or_else(|e| fail(format!("cannot create {}: {e}", dir.display())));
    let mk = fs::read_to_string(any_mk).unwrap_or_else(|e| fail(format!("cannot read {}: {e}", any_mk.display())));
    let globals: Vec<String> =
        ["VM_GLOBAL_FAST", "VM_GLOBAL_SLOW"].iter().flat_map(|var| make_list(&mk, var)).collect();
    let mut b = cxx_verilated(v, FAST_OPT);
    b.out_dir(&dir);
    let stamp = stamp_of(&[
        RECIPE.as_bytes(),
        v.version.as_bytes(),
        globals.join(" ").as_bytes(),
        compiler_fingerprint(&b).as_bytes(),
    ]);
    let stamp_file = dir.join("stamp");
    let lib = dir.join("libvsim_verilated.a");
    if lib.exists() && fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        return (dir, "verilator runtime: up to date".into());
    }
    let t = Instant::now();
    let _ = fs::remove_file(&stamp_file);
    b.files(globals.iter().map(|g| v.include().join(format!("{g}.cpp"))))
        .try_compile("vsim_verilated")
        .unwrap_or_else(|e| fail(format!("cannot compile the Verilator runtime: {e}")));
    write_if_changed(&stamp_file, &stamp);
    (dir, format!("verilator runtime: c++ {:.1} s", t.elapsed().as_secs_f64()))
}

/// The model cache of this profile: `target/<profile>/vitaccel-sim` for the usual
/// `OUT_DIR = target/<profile>/build/sim-<hash>/out`, else `OUT_DIR` itself.
fn model_cache(out: &Path) -> PathBuf {
    match out.ancestors().nth(3) {
        Some(profile) if out.ancestors().nth(2).and_then(Path::file_name) == Some("build".as_ref()) => {
            profile.join("vitaccel-sim")
        }
        _ => out.to_path_buf(),
    }
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let cache = model_cache(&out);
    let root = manifest.parent().expect("sim/ sits in the workspace").to_path_buf();
    let csrc = manifest.join("csrc");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/configs.rs");
    for f in HARNESS_FILES {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed={}", configs::CONFIGS_ENV);

    let list = env::var(configs::CONFIGS_ENV).unwrap_or_else(|_| configs::DEFAULT_CONFIGS.to_string());
    let models = configs::parse_list(&list, &root).unwrap_or_else(|e| fail(e));
    for m in &models {
        if let Some(f) = &m.file {
            println!("cargo:rerun-if-changed={}", f.display());
        }
    }
    let v = Verilator::find();
    // A Verilator upgrade changes these files: rerun (the stamps then decide what to rebuild).
    let exe = env::var_os("PATH").and_then(|p| env::split_paths(&p).map(|d| d.join("verilator")).find(|f| f.is_file()));
    for f in exe.into_iter().chain([v.include().join("verilated.h")]) {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let mut harness = Vec::new();
    for f in HARNESS_FILES {
        harness.extend(fs::read(manifest.join(f)).unwrap_or_else(|e| fail(format!("cannot read {f}: {e}"))));
    }
    // The harness's timing constants, from spec (stamped with the harness sources).
    let generated = cache.join("include");
    fs::create_dir_all(&generated).unwrap_or_else(|e| fail(format!("cannot create {}: {e}", generated.display())));
    let timing_h = spec::timing::c_header();
    write_if_changed(&generated.join("vitaccel_timing.h"), &timing_h);
    harness.extend(timing_h.as_bytes());

    // Every model in its own thread (cc's jobserver bounds the compiler processes); the runtime
    // starts as soon as the first model has a `*_classes.mk` naming its sources.
    let t = Instant::now();
    let (mk_tx, mk_rx) = std::sync::mpsc::channel::<PathBuf>();
    let (built, (rt_dir, rt_log)) = std::thread::scope(|s| {
        let handles: Vec<_> = models
            .iter()
            .map(|m| {
                let mk_tx = mk_tx.clone();
                let (cache, csrc, generated, v, harness) = (&cache, &csrc, &generated, &v, &harness);
                s.spawn(move || build_model(m, cache, csrc, generated, v, harness, &mk_tx))
            })
            .collect();
        drop(mk_tx);
        let (cache, v) = (&cache, &v);
        let runtime = s.spawn(move || {
            let mk = mk_rx.recv().unwrap_or_else(|_| fail("no model was verilated"));
            build_runtime(cache, v, &mk)
        });
        fn join_err<T>(_: Box<dyn std::any::Any + Send>) -> T {
            fail("a build thread panicked (see above)")
        }
        let built: Vec<Built> = handles.into_iter().map(|h| h.join().unwrap_or_else(join_err)).collect();
        (built, runtime.join().unwrap_or_else(join_err))
    });
    for b in &built {
        println!("vitaccel-sim: {}", b.log);
    }
    println!("vitaccel-sim: {rt_log}");
    println!("vitaccel-sim: total {:.1} s", t.elapsed().as_secs_f64());

    // The model table for src/ffi.rs.
    let mut rs = String::from("// Generated by sim/build.rs. Do not edit.\n\nextern \"C\" {\n");
    for b in &built {
        writeln!(rs, "    fn vsim_{}_vtable() -> *const Vtable;", b.name).unwrap();
    }
    rs += "}\n\n/// Every model linked into this crate.\npub(crate) static MODELS: &[Model] = &[\n";
    for b in &built {
        writeln!(
            rs,
            "    Model {{ name: {:?}, hash: {:#010x}, data_bits: {}, config_json: {:?}, build_seconds: [{:?}, {:?}, {:?}], vtable: vsim_{}_vtable }},",
            b.name, b.hash, b.bits, b.config_json, b.times[0], b.times[1], b.times[2], b.name
        )
        .unwrap();
    }
    rs += "];\n";
    write_if_changed(&out.join("models.rs"), &rs);

    for b in &built {
        println!("cargo:rustc-link-search=native={}", b.lib_dir.display());
        println!("cargo:rustc-link-lib=static=vsim_{}", b.name);
    }
    println!("cargo:rustc-link-search=native={}", rt_dir.display());
    println!("cargo:rustc-link-lib=static=vsim_verilated");
    println!("cargo:rustc-link-lib=dylib=stdc++");
}
