//! CPython's own `threading`, `multiprocessing` and `asyncio` as concurrency
//! models, on the same work, flags and records as the Rust binaries.
//!
//! The Rust binary owns what it owns everywhere: `--cores` pinning before
//! the interpreter starts (affinity is inherited), the records, the HDR
//! histograms, the verdicts (by `record::claims`) and the guard. The Python
//! side ([`interp`] starts it: the `py/` sources, written to a temporary
//! folder, run by `--python`, standard library only, Python 3.9 or newer)
//! runs the model and times exactly the operation with
//! `time.perf_counter_ns`; it answers one JSON command per line.
//!
//! ```text
//! python cpu ─► Session::start (pins --cores) ─► Interpreter::start (hello: version, GIL, overhead)
//!            ─► per case: s.case(..) ─► py.call({"cmd": "cpu", "model": .., "sizes": ..})
//!                         ─► checksum checked against the Rust kernel ─► record (+ the interpreter's usage)
//! ```
//!
//! One module per experiment: [`cpu`] (`cpu` and `gil`), [`kitchen`],
//! [`requests`], [`stall`], [`spawn`], [`pingpong`], [`memory`]. Records of
//! an interpreter whose GIL is off (a free-threaded build) carry the binary
//! name `python-nogil`, so they form series of their own.

pub mod cpu;
pub mod interp;
pub mod kitchen;
pub mod memory;
pub mod pingpong;
pub mod reply;
pub mod requests;
pub mod spawn;
pub mod stall;

pub use interp::{Interpreter, PythonArgs};

use harness::Common;

/// `python calibrate`: the interpreter's kernel units per millisecond of one
/// core, on the first CPU of `--cores` (one number on stdout).
pub fn calibrate(common: &Common, py: &PythonArgs) -> anyhow::Result<()> {
    let cores = common.cpus.pin()?;
    // The interpreter inherits the calling thread's CPUs.
    harness::cores::pin_current_thread(cores.cpus[0])?;
    let mut interp = Interpreter::spawn(&py.python)?;
    let u = interp.calibrate()?;
    interp.finish()?;
    println!("{u:.3}");
    Ok(())
}
