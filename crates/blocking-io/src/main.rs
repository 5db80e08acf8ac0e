//! `blocking-io`: not built yet; see the open issues.

fn main() -> std::process::ExitCode {
    eprintln!("error: `blocking-io` is not built yet");
    std::process::ExitCode::from(1)
}
