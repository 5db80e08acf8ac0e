//! Where the two ends of a two-party experiment (pingpong, share) run.
//!
//! Placement is part of the result: on virtual machines a wake-up across CPUs
//! costs several times more when the other CPU is idle (the hypervisor must
//! wake it) than when both ends share one CPU. So every two-party experiment
//! runs with an explicit placement, records it, and never leaves it to the
//! scheduler.

use crate::cli::PlacementChoice;
use crate::cores::CoreSet;
use crate::session::Case;

/// The CPUs of the two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Both ends on one CPU: every hand-over is a context switch on that CPU.
    SameCpu(usize),
    /// One end per CPU: every hand-over is a cross-CPU wake-up.
    CrossCpu(usize, usize),
}

impl Placement {
    /// The placements a choice asks for on this core set, and a note for each
    /// that cannot run here (cross-cpu with one CPU).
    pub fn resolve(choice: PlacementChoice, cores: &CoreSet) -> (Vec<Placement>, Vec<String>) {
        let first = cores.cpus[0];
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        if matches!(choice, PlacementChoice::SameCpu | PlacementChoice::Both) {
            out.push(Placement::SameCpu(first));
        }
        if matches!(choice, PlacementChoice::CrossCpu | PlacementChoice::Both) {
            match cores.cpus.get(1) {
                Some(&second) => out.push(Placement::CrossCpu(first, second)),
                None => skipped.push(format!(
                    "cross-cpu placement skipped: --cores {} pins one CPU ({}); use --cores 2 or more",
                    cores.workers,
                    cores.cpu_list()
                )),
            }
        }
        (out, skipped)
    }

    /// The name in records: `same-cpu` or `cross-cpu`.
    pub fn name(&self) -> &'static str {
        match self {
            Placement::SameCpu(_) => "same-cpu",
            Placement::CrossCpu(..) => "cross-cpu",
        }
    }

    /// CPU of the first end.
    pub fn a(&self) -> usize {
        match *self {
            Placement::SameCpu(c) | Placement::CrossCpu(c, _) => c,
        }
    }

    /// CPU of the second end.
    pub fn b(&self) -> usize {
        match *self {
            Placement::SameCpu(c) | Placement::CrossCpu(_, c) => c,
        }
    }

    /// Both CPUs, for the record.
    pub fn cpus(&self) -> [usize; 2] {
        [self.a(), self.b()]
    }

    /// Adds the placement to a case's parameters: `placement`, `cpu_a`, `cpu_b`.
    pub fn annotate(&self, case: Case) -> Case {
        case.param("placement", self.name())
            .param("cpu_a", self.a())
            .param("cpu_b", self.b())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_cpu_needs_two_cpus() {
        let one = CoreSet::choose(&[4, 5], Some(1), false).unwrap();
        let (p, skipped) = Placement::resolve(PlacementChoice::Both, &one);
        assert_eq!(p, [Placement::SameCpu(4)]);
        assert_eq!(skipped.len(), 1);
        let two = CoreSet::choose(&[4, 5], Some(2), false).unwrap();
        let (p, skipped) = Placement::resolve(PlacementChoice::Both, &two);
        assert_eq!(p, [Placement::SameCpu(4), Placement::CrossCpu(4, 5)]);
        assert!(skipped.is_empty());
        assert_eq!(p[1].name(), "cross-cpu");
    }
}
