//! OS threads as a concurrency model: the experiments of the `thread` binary.
//!
//! Every module is one experiment: a `run` function that the binary calls
//! with the shared flags, and the primitives it times, public so that
//! `cargo bench` measures exactly the same operations.

pub mod cpu;
pub mod gil;
pub mod kitchen;
pub mod memory;
pub mod pingpong;
pub mod race;
pub mod requests;
pub mod share;
pub mod spawn;
pub mod workers;

use harness::Common;

/// `thread calibrate`: prints the kernel's units per millisecond on the
/// first CPU of `--cores`, for sweeps to pass as `--units-per-ms`.
pub fn calibrate(common: &Common) -> anyhow::Result<()> {
    let cores = common.cpus.pin()?;
    harness::cores::pin_current_thread(cores.cpus[0])?;
    println!("{:.3}", harness::calibrate::units_per_ms());
    Ok(())
}
