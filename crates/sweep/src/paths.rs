//! Where things are: the repository root, the folder of the release
//! binaries, and the run folder (a fresh name for the default, a refusal for
//! an explicit `--out` that exists).
//!
//! The root is the checkout the sweep binary was built from. It is looked
//! for first above the running executable (so a checkout that was moved
//! after the build is still found when its `target/` is inside it), then at
//! `CARGO_MANIFEST_DIR/../..` as recorded at build time (which also holds
//! when `CARGO_TARGET_DIR` puts the executable outside the checkout). A
//! folder counts as the root when it holds `Cargo.toml` and
//! `crates/sweep/Cargo.toml`. With `--bin-dir` the sweep also runs where no
//! checkout is found; it then cannot build and names no git revision of its
//! own.

use std::path::{Path, PathBuf};

/// The conpar checkout, if one is found (see the module docs).
pub fn repo_root() -> Option<PathBuf> {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| is_root(d))
            .map(Path::to_path_buf)
    });
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    from_exe
        .or_else(|| is_root(&built_from).then_some(built_from))
        .map(|r| r.canonicalize().unwrap_or(r))
}

fn is_root(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("crates/sweep/Cargo.toml").is_file()
}

/// Where `cargo build --release` run in `root` puts the binaries:
/// `$CARGO_TARGET_DIR/release` (a relative one taken from `root`, as cargo
/// does when run there), else `root/target/release`. A `build.target-dir`
/// in a cargo config file is not read: set `CARGO_TARGET_DIR` or pass
/// `--bin-dir` instead.
pub fn release_dir(root: &Path, cargo_target_dir: Option<&std::ffi::OsStr>) -> PathBuf {
    match cargo_target_dir.filter(|d| !d.is_empty()) {
        Some(dir) => root.join(dir).join("release"),
        None => root.join("target").join("release"),
    }
}

/// Whether `path` is a file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The binaries of `names` that `dir` lacks (not there, or not executable).
pub fn missing_binaries<'a>(dir: &Path, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| !is_executable(&dir.join(n)))
        .collect()
}

/// The default run folder's name: `<date>-<os>-<host>` (`2026-11-23-linux-vm`).
pub fn default_name(date: &str, os: &str, host: &str) -> String {
    let host = host.split('.').next().unwrap_or(host);
    format!("{date}-{}-{host}", os.to_lowercase())
}

/// `base` if nothing is there yet, else the first of `base-2`, `base-3`, …
/// that does not exist: a second sweep on the same day gets its own folder.
pub fn fresh(base: &Path, exists: impl Fn(&Path) -> bool) -> PathBuf {
    if !exists(base) {
        return base.to_path_buf();
    }
    let name = base.file_name().unwrap_or_default().to_string_lossy();
    (2u32..)
        .map(|n| base.with_file_name(format!("{name}-{n}")))
        .find(|p| !exists(p))
        .expect("some suffix is free")
}

/// The run folder as seen from the repository root (`results/<name>`): the
/// path under `root` when it is there, else `results/<name>`, where it will
/// be once a folder written elsewhere is committed.
pub fn relative_to_root(out: &Path, root: Option<&Path>) -> String {
    if let Some(rel) = root.and_then(|r| out.strip_prefix(r).ok()) {
        return rel.display().to_string();
    }
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    format!("results/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_this_checkout() {
        let root = repo_root().expect("tests run inside the checkout");
        assert!(root.join("crates/sweep/src/paths.rs").is_file());
    }

    #[test]
    fn release_dir_honours_cargo_target_dir() {
        let root = Path::new("/repo");
        assert_eq!(release_dir(root, None), Path::new("/repo/target/release"));
        assert_eq!(
            release_dir(root, Some("/t".as_ref())),
            Path::new("/t/release")
        );
        assert_eq!(
            release_dir(root, Some("tgt".as_ref())),
            Path::new("/repo/tgt/release")
        );
        assert_eq!(
            release_dir(root, Some("".as_ref())),
            Path::new("/repo/target/release")
        );
    }

    #[test]
    fn default_names_and_fresh_suffixes() {
        assert_eq!(
            default_name("2026-11-23", "Linux", "vm.example.org"),
            "2026-11-23-linux-vm"
        );
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("2026-11-23-linux-vm");
        assert_eq!(fresh(&base, |p| p.exists()), base);
        std::fs::create_dir(&base).unwrap();
        let second = fresh(&base, |p| p.exists());
        assert_eq!(second, dir.path().join("2026-11-23-linux-vm-2"));
        std::fs::create_dir(&second).unwrap();
        assert_eq!(
            fresh(&base, |p| p.exists()),
            dir.path().join("2026-11-23-linux-vm-3")
        );
    }

    #[test]
    fn relative_paths_for_the_readme() {
        let root = Path::new("/repo");
        assert_eq!(
            relative_to_root(Path::new("/repo/results/x"), Some(root)),
            "results/x"
        );
        assert_eq!(
            relative_to_root(Path::new("/tmp/run"), Some(root)),
            "results/run"
        );
        assert_eq!(relative_to_root(Path::new("/tmp/run"), None), "results/run");
    }

    #[test]
    fn missing_binaries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("thread");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::write(dir.path().join("report"), "not executable").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            missing_binaries(dir.path(), &["thread", "report", "process"]),
            ["report", "process"]
        );
    }
}
