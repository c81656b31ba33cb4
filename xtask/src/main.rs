//! Workspace tasks.
//!
//! `cargo xtask bindgen` regenerates the committed bindings of every `-sys`
//! crate from the project's own headers, once per target ABI;
//! `cargo xtask bindgen --check` regenerates them in memory and fails when
//! they differ from what is committed (CI runs this).
//!
//! `cargo xtask videocore-libs [--target TRIPLE] [--release]` builds the
//! software VideoCore as a C shared library (the `videocore-c` crate) and
//! lays it out under `target/videocore/<triple>/lib/` with every name that a
//! program written for a Raspberry Pi loads.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// One generated file: a header rendered for one target ABI.
struct Job {
    header: &'static str,
    /// Clang target triple whose ABI the output describes.
    clang_target: &'static str,
    output: &'static str,
    /// What the file is used for, written into its first line.
    used_on: &'static str,
    /// Item name patterns to keep (everything the header declares).
    allow: &'static [&'static str],
}

const VCSM_ALLOW: &[&str] = &["vc_sm_.*", "VC_SM_.*", "vmcs_sm_.*", "VMCS_SM_.*", "dma_buf_.*", "DMA_BUF_.*"];
const MMAL_ALLOW: &[&str] = &["MMAL_.*"];
const VCHIQ_ALLOW: &[&str] = &["vchiq_.*", "VCHIQ_.*", "VC_MMAL_.*", "mmal_.*", "MMAL_.*"];

const JOBS: &[Job] = &[
    Job {
        header: "vcsm-sys/include/vcsm_abi.h",
        clang_target: "armv7-unknown-linux-gnueabihf",
        output: "vcsm-sys/src/bindings/arm.rs",
        used_on: "32-bit ARM (armv7/armhf, the Raspberry Pi OS 32-bit ABI)",
        allow: VCSM_ALLOW,
    },
    Job {
        header: "vcsm-sys/include/vcsm_abi.h",
        clang_target: "aarch64-unknown-linux-gnu",
        output: "vcsm-sys/src/bindings/lp64.rs",
        used_on: "64-bit targets (aarch64, x86_64: LP64)",
        allow: VCSM_ALLOW,
    },
    Job {
        header: "mmal-sys/include/mmal_abi.h",
        clang_target: "armv7-unknown-linux-gnueabihf",
        output: "mmal-sys/src/bindings/arm.rs",
        used_on: "32-bit ARM (armv7/armhf: the only ABI libmmal exists for)",
        allow: MMAL_ALLOW,
    },
    Job {
        header: "mmal-sys/include/mmal_abi.h",
        clang_target: "aarch64-unknown-linux-gnu",
        output: "mmal-sys/src/bindings/lp64.rs",
        used_on: "64-bit targets (aarch64, x86_64: LP64; the software VideoCore only)",
        allow: MMAL_ALLOW,
    },
    Job {
        header: "vchiq-sys/include/vchiq_abi.h",
        clang_target: "armv7-unknown-linux-gnueabihf",
        output: "vchiq-sys/src/bindings/arm.rs",
        used_on: "32-bit ARM (armv7/armhf: the ILP32 ioctl forms)",
        allow: VCHIQ_ALLOW,
    },
    Job {
        header: "vchiq-sys/include/vchiq_abi.h",
        clang_target: "aarch64-unknown-linux-gnu",
        output: "vchiq-sys/src/bindings/lp64.rs",
        used_on: "64-bit targets (aarch64, x86_64: LP64)",
        allow: VCHIQ_ALLOW,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["bindgen"] => run(false),
        ["bindgen", "--check"] => run(true),
        ["videocore-libs", rest @ ..] => match LibsOptions::parse(rest) {
            Some(options) => videocore_libs(&options),
            None => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: cargo xtask bindgen [--check]");
    eprintln!("       cargo xtask videocore-libs [--target TRIPLE] [--release]");
    ExitCode::from(2)
}

/// The names a program loads, each a link to the one library file: libmmal
/// split (Buster's /opt/vc/lib) and whole, libvcos, libbcm_host.
const LIBRARY_NAMES: &[&str] =
    &["mmal_core", "mmal_util", "mmal_vc_client", "mmal_components", "mmal", "vcos", "bcm_host", "vcsm"];

/// What `cargo build` names the `videocore-c` library.
const BUILT_LIBRARY: &str = "libvideocore.so";

struct LibsOptions {
    target: Option<String>,
    release: bool,
}

impl LibsOptions {
    fn parse(args: &[&str]) -> Option<LibsOptions> {
        let mut options = LibsOptions { target: None, release: false };
        let mut args = args.iter();
        while let Some(&arg) = args.next() {
            match arg {
                "--target" => options.target = Some((*args.next()?).to_owned()),
                "--release" => options.release = true,
                _ => return None,
            }
        }
        Some(options)
    }
}

fn host_triple() -> Result<String, String> {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .map_err(|e| format!("running rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| "rustc -vV did not name the host".to_owned())
}

fn videocore_libs(options: &LibsOptions) -> ExitCode {
    match build_videocore_libs(options) {
        Ok(dir) => {
            println!("{}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build_videocore_libs(options: &LibsOptions) -> Result<PathBuf, String> {
    let root = workspace_root();
    // Absolute (a relative CARGO_TARGET_DIR is the caller's): programs are
    // pointed at the result from other folders.
    let cwd = std::env::current_dir().map_err(|e| format!("the current folder: {e}"))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| cwd.join(d));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(&root).env("CARGO_TARGET_DIR", &target_dir).args(["build", "--quiet", "-p", "videocore-c"]);
    if options.release {
        build.arg("--release");
    }
    if let Some(target) = &options.target {
        build.args(["--target", target]);
    }
    let status = build.status().map_err(|e| format!("running cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p videocore-c failed ({status})"));
    }

    let triple = match &options.target {
        Some(t) => t.clone(),
        None => host_triple()?,
    };
    let mut built = target_dir.clone();
    if let Some(t) = &options.target {
        built.push(t);
    }
    built.push(if options.release { "release" } else { "debug" });
    built.push(BUILT_LIBRARY);
    let lib = target_dir.join("videocore").join(&triple).join("lib");
    std::fs::create_dir_all(&lib).map_err(|e| format!("creating {}: {e}", lib.display()))?;
    // Copied, not linked: the layout stays valid while cargo rebuilds.
    // Written beside and renamed, so a program that has the library open
    // keeps its mapping.
    let staged = lib.join(format!("{BUILT_LIBRARY}.new"));
    std::fs::copy(&built, &staged).map_err(|e| format!("copying {}: {e}", built.display()))?;
    std::fs::rename(&staged, lib.join(BUILT_LIBRARY)).map_err(|e| format!("installing {BUILT_LIBRARY}: {e}"))?;
    for name in LIBRARY_NAMES {
        for file in [format!("lib{name}.so"), format!("lib{name}.so.0")] {
            let link = lib.join(&file);
            match std::fs::remove_file(&link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("removing {}: {e}", link.display())),
            }
            std::os::unix::fs::symlink(BUILT_LIBRARY, &link).map_err(|e| format!("linking {}: {e}", link.display()))?;
        }
    }
    Ok(lib)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn run(check: bool) -> ExitCode {
    let root = workspace_root();
    let mut stale = Vec::new();
    for job in JOBS {
        let text = match generate(&root, job) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: generating {}: {e}", job.output);
                eprintln!("hint: bindgen needs libclang (Debian: apt-get install libclang-dev)");
                return ExitCode::FAILURE;
            }
        };
        let path = root.join(job.output);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if check {
            stale.push(job.output);
        } else if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("wrote {}", job.output);
        }
    }
    if !stale.is_empty() {
        eprintln!("error: committed bindings differ from the headers: {}", stale.join(", "));
        eprintln!("hint: run `cargo xtask bindgen` and commit the result");
        return ExitCode::FAILURE;
    }
    if check {
        println!("bindings are up to date ({} files)", JOBS.len());
    }
    ExitCode::SUCCESS
}

fn generate(root: &Path, job: &Job) -> Result<String, String> {
    let header = root.join(job.header);
    let mut builder = bindgen::Builder::default()
        .header(header.to_str().ok_or("header path is not UTF-8")?)
        .clang_arg(format!("--target={}", job.clang_target))
        .clang_arg("-nostdinc")
        .use_core()
        .layout_tests(true)
        .derive_default(true)
        .derive_debug(true)
        .derive_copy(true)
        .derive_eq(true)
        .derive_hash(true)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .generate_comments(false)
        .disable_header_comment()
        // prettyplease, not rustfmt: the output must not depend on the
        // rustfmt installed or on the workspace's rustfmt.toml.
        .formatter(bindgen::Formatter::Prettyplease);
    for pattern in job.allow {
        builder = builder.allowlist_item(pattern);
    }
    let bindings = builder.generate().map_err(|e| e.to_string())?;
    let body = bindings.to_string();
    Ok(format!(
        "// Generated by `cargo xtask bindgen` from {} for {}.\n// Do not edit: change the header and regenerate.\n\n{}",
        job.header, job.used_on, body
    ))
}
