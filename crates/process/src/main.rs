//! `process`: not built yet; see the open issues.

fn main() -> std::process::ExitCode {
    eprintln!("error: `process` is not built yet");
    std::process::ExitCode::from(1)
}
