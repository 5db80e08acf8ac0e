//! Build script: bakes provenance into the harness so every record can say
//! which code measured it: the git revision and dirty flag, the rustc version,
//! and the versions of the runtimes in `Cargo.lock`.
//!
//! Debug builds re-run it when git's HEAD or index moves; release builds (the
//! ones sweeps measure with) also when any crate's source changes, so that the
//! dirty flag of a measuring binary is never stale.

use std::path::Path;
use std::process::Command;

/// Crates whose versions every record carries.
const TRACKED: &[&str] = &[
    "tokio",
    "smol",
    "async-std",
    "async-executor",
    "rayon",
    "nix",
    "hdrhistogram",
    "criterion",
];

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&manifest).join("../..");
    for p in [".git/HEAD", ".git/index", ".git/refs/heads", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo:rerun-if-changed={}", root.join("crates").display());
    }

    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) => (!s.is_empty()).to_string(),
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=CONPAR_GIT_REV={rev}");
    println!("cargo:rustc-env=CONPAR_GIT_DIRTY={dirty}");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CONPAR_RUSTC={version}");

    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    println!("cargo:rustc-env=CONPAR_CRATES={}", lock_versions(&lock));
}

/// `name=version` pairs, comma-separated, for the tracked crates in a lock file.
fn lock_versions(lock: &str) -> String {
    let mut found = Vec::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
            && TRACKED.contains(&n)
        {
            found.push(format!("{n}={}", v.trim_matches('"')));
        }
    }
    found.sort();
    found.dedup();
    found.join(",")
}
