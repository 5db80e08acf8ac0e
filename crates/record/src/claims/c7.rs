//! C7 — processes are heavier than threads, threads than coroutines.
//!
//! The `process` binary decides it from one run ([`spawn`]: creating and
//! reaping a process against a thread's spawn and join; [`memory`]: an idle
//! process against an idle thread); `report` decides it across the binaries
//! ([`across`]: the cheapest of each kind of unit, for creation and memory).

use super::{Claim, Judged, Measured, Part, all_parts, ordered};
use crate::Verdict;
use crate::fmt::{fmt_bytes, fmt_ns};

/// Unit kinds from heaviest to lightest, as C7 claims.
pub const HEAVY_TO_LIGHT: &[&str] = &["process", "thread", "coroutine"];

/// Creating (and reaping) a process costs more than a thread: the cheapest
/// of `process_p50` (`(model, median ns)`, in the order to list them) against
/// the thread's median `thread_ns`, with every ratio. `None` without a
/// process model.
pub fn spawn(process_p50: &[(&str, u64)], thread_ns: u64) -> Option<Verdict> {
    let &(cheapest, cheapest_ns) = process_p50.iter().min_by_key(|(_, ns)| *ns)?;
    let thread = thread_ns.max(1) as f64;
    let ratios: Vec<String> = process_p50
        .iter()
        .map(|&(m, ns)| format!("{m} {:.1} µs ({:.1}×)", ns as f64 / 1e3, ns as f64 / thread))
        .collect();
    Some(
        Verdict::new(
            Claim::C7,
            cheapest_ns as f64 > thread,
            format!(
                "creating and reaping a process cost {:.1}× a thread's spawn + join at best ({cheapest}); \
                 medians: {} vs thread-spawn {:.1} µs",
                cheapest_ns as f64 / thread,
                ratios.join(", "),
                thread / 1e3
            ),
        )
        .comparing([cheapest, "thread-spawn"]),
    )
}

/// Memory per idle unit, bytes: slopes over the number of live units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitMemory {
    /// Proportional set size (user memory, shared pages divided among sharers).
    pub pss: f64,
    /// Resident set size, as `top` shows it.
    pub rss: f64,
    /// The kernel's page tables.
    pub page_tables: f64,
    /// The kernel's stack for the task.
    pub kernel_stack: f64,
}

impl UnitMemory {
    /// User memory (PSS) and the kernel's page tables and stack.
    pub fn total(&self) -> f64 {
        self.pss + self.page_tables + self.kernel_stack
    }
}

/// An idle process costs more memory than an idle thread.
pub fn memory(process: &UnitMemory, thread: &UnitMemory) -> Verdict {
    let kib = |b: f64| b / 1024.0;
    let ratio = process.total() / thread.total().max(1.0);
    let v = Verdict::new(
        Claim::C7,
        process.total() > thread.total(),
        format!(
            "an idle process cost {:.1} KiB ({:.1} KiB PSS + {:.1} KiB page tables + {:.1} KiB kernel stack; \
             {:.0} KiB RSS as top shows it), an idle thread {:.1} KiB ({:.1} KiB PSS + {:.1} KiB kernel stack): \
             {ratio:.1}×",
            kib(process.total()),
            kib(process.pss),
            kib(process.page_tables),
            kib(process.kernel_stack),
            kib(process.rss),
            kib(thread.total()),
            kib(thread.pss),
            kib(thread.kernel_stack),
        ),
    );
    // Bytes are not time: other programs cannot change them, so the cases
    // compared are not weighed for interference.
    v
}

/// Across binaries: the cheapest spawn (merged p50, ns) and the smallest
/// memory per unit (bytes) of each kind of unit, `(kind, Some((value,
/// label)))`; holds when both fall strictly from process to thread to
/// coroutine (mixed when one does). `None` with fewer than two kinds in both.
pub fn across(spawn: &[Measured<'_>], memory: &[Measured<'_>]) -> Option<Judged> {
    let parts: Vec<Part> = [
        ordered("spawn p50", HEAVY_TO_LIGHT, spawn, fmt_ns),
        ordered("memory per unit", HEAVY_TO_LIGHT, memory, fmt_bytes),
    ]
    .into_iter()
    .flatten()
    .collect();
    all_parts(
        parts,
        "computed by report: the cheapest spawn model (merged p50) and the smallest memory per unit of each kind \
         of unit (records' `unit`, else their binary); holds when both fall strictly from process to thread to \
         coroutine (mixed when one does)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Status;

    #[test]
    fn spawn_states_every_ratio() {
        let p = [("fork-exit", 60_000u64), ("posix-spawn", 300_000)];
        let v = spawn(&p, 20_000).unwrap();
        assert!(v.holds(), "{}", v.text);
        assert!(
            v.text.contains("3.0×") && v.text.contains("fork-exit"),
            "{}",
            v.text
        );
        assert!(!spawn(&p, 100_000).unwrap().holds());
        assert!(spawn(&[], 1).is_none());
    }

    #[test]
    fn memory_adds_the_kernel_parts() {
        let process = UnitMemory {
            pss: 100.0,
            rss: 5000.0,
            page_tables: 50.0,
            kernel_stack: 16384.0,
        };
        let thread = UnitMemory {
            pss: 10.0,
            ..process
        };
        assert!(memory(&process, &thread).holds());
        assert!(!memory(&thread, &process).holds());
    }

    #[test]
    fn across_needs_both_orders() {
        let m = |k, v: f64| {
            (
                k,
                Some(crate::claims::Point {
                    value: v,
                    label: "m".into(),
                    taken: 0.0,
                }),
            )
        };
        let spawn = [m("process", 100.0), m("thread", 10.0), m("coroutine", 1.0)];
        let memory = [m("process", 100.0), m("thread", 10.0), m("coroutine", 1.0)];
        assert_eq!(across(&spawn, &memory).unwrap().status, Status::Holds);
        let upside = [m("process", 1.0), m("thread", 10.0)];
        assert_eq!(across(&spawn, &upside).unwrap().status, Status::DoesNotHold);
        assert!(across(&[m("thread", 1.0)], &[]).is_none());
    }
}
