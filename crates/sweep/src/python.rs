//! The Python interpreters a sweep runs the `python` rows with: `python3` on
//! PATH, then every free-threaded interpreter on PATH (`python3.13t`,
//! `python3.14t`…), each named by its own `sys.executable` (so a pyenv shim
//! is resolved once, here, not in every run) and each once.

use std::path::Path;
use std::process::{Command, Stdio};

/// The program each candidate runs: its executable if it is Python 3.9 or
/// newer, nothing otherwise.
const PROBE: &str = "import sys; print(sys.executable if sys.version_info >= (3, 9) else '')";

/// Whether a file name is a free-threaded interpreter's (`python3.13t`).
pub fn is_free_threaded_name(name: &str) -> bool {
    name.strip_prefix("python3.")
        .and_then(|rest| rest.strip_suffix('t'))
        .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()))
}

/// The free-threaded interpreter names in the folders of `path` (a PATH
/// value), sorted, each once.
pub fn free_threaded_on(path: &str) -> Vec<String> {
    let mut names: Vec<String> = std::env::split_paths(path)
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_free_threaded_name(n))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `sys.executable` of the interpreter `cmd`, if it runs and is 3.9 or newer.
fn executable(cmd: &str) -> Option<String> {
    let out = Command::new(cmd)
        .args(["-I", "-c", PROBE])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !exe.is_empty() && Path::new(&exe).is_absolute()).then_some(exe)
}

/// The interpreters, `python3`'s first; empty where there is no `python3`.
pub fn interpreters() -> Vec<String> {
    let Some(default) = executable("python3") else {
        return Vec::new();
    };
    let mut found = vec![default];
    let path = std::env::var("PATH").unwrap_or_default();
    for name in free_threaded_on(&path) {
        if let Some(exe) = executable(&name)
            && !found.contains(&exe)
        {
            found.push(exe);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_threaded_names_end_in_t() {
        for n in ["python3.13t", "python3.14t", "python3.100t"] {
            assert!(is_free_threaded_name(n), "{n}");
        }
        for n in [
            "python3",
            "python3.13",
            "python3.t",
            "python3.13t-config",
            "python3.13td",
        ] {
            assert!(!is_free_threaded_name(n), "{n}");
        }
    }

    #[test]
    fn names_are_found_in_the_path_folders() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["python3.14t", "python3.13t", "python3.13", "other"] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        let path = dir.path().to_str().unwrap();
        assert_eq!(
            free_threaded_on(&format!("{path}:{path}:/no/such/dir")),
            ["python3.13t", "python3.14t"]
        );
    }
}
