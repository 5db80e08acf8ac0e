//! A verdict: what one case's numbers say about one claim — *holds*, *does
//! not hold*, or *inconclusive* with the measured reason — and the
//! interference a case suffered, which a verdict weighs.

use serde::{Deserialize, Serialize};

use crate::claims::Claim;

/// What the numbers say about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// The numbers bear the claim out.
    #[serde(rename = "holds")]
    Holds,
    /// The numbers contradict it, and nothing measured explains that away.
    #[serde(rename = "does not hold")]
    DoesNotHold,
    /// The run could not show it either way; the verdict's `reason` says
    /// which measured number made it so.
    #[serde(rename = "inconclusive")]
    Inconclusive,
}

impl Outcome {
    /// `holds`, `does not hold`, `inconclusive`.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::DoesNotHold => "does not hold",
            Outcome::Inconclusive => "inconclusive",
        }
    }

    /// Holds or does not hold, as a comparison came out.
    pub fn of(holds: bool) -> Outcome {
        if holds {
            Outcome::Holds
        } else {
            Outcome::DoesNotHold
        }
    }
}

/// A claim of the seed notes, decided by a case's own numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The claim (`"C1"`… in JSON).
    pub claim: Claim,
    /// What the numbers say.
    pub outcome: Outcome,
    /// The numbers behind it, in a sentence chosen by the outcome.
    pub text: String,
    /// Why it is inconclusive, with the number that made it so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The models whose cases it compared (the baseline first, where there
    /// is one): their interference is weighed before the outcome is final.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compared: Vec<String>,
}

impl Verdict {
    /// A verdict on `claim`: holds or does not hold.
    pub fn new(claim: Claim, holds: bool, text: impl Into<String>) -> Verdict {
        Verdict {
            claim,
            outcome: Outcome::of(holds),
            text: text.into(),
            reason: None,
            compared: Vec::new(),
        }
    }

    /// An inconclusive verdict on `claim`, with its measured reason.
    pub fn inconclusive(
        claim: Claim,
        text: impl Into<String>,
        reason: impl Into<String>,
    ) -> Verdict {
        Verdict {
            claim,
            outcome: Outcome::Inconclusive,
            text: text.into(),
            reason: Some(reason.into()),
            compared: Vec::new(),
        }
    }

    /// The same verdict, naming the models whose cases it compared.
    pub fn comparing<S: AsRef<str>>(mut self, models: impl IntoIterator<Item = S>) -> Verdict {
        self.compared = models.into_iter().map(|m| m.as_ref().to_string()).collect();
        self
    }

    /// Whether it holds.
    pub fn holds(&self) -> bool {
        self.outcome == Outcome::Holds
    }

    /// The one-line form printed on stderr: `C1 holds: …`, `C1 does not
    /// hold: …`, `C1 inconclusive (reason): …`.
    pub fn line(&self) -> String {
        match &self.reason {
            Some(r) if self.outcome == Outcome::Inconclusive => {
                format!("{} inconclusive ({r}): {}", self.claim, self.text)
            }
            _ => format!("{} {}: {}", self.claim, self.outcome.word(), self.text),
        }
    }
}

/// What else ran on a case's CPUs while it ran, from the kernel's own
/// accounting (`/proc/stat`, `/proc/pressure/cpu`, `/proc/self/task/*/schedstat`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interference {
    /// CPU time other programs used on the case's CPUs, as a share of
    /// their capacity over the case (0: the CPUs were the case's alone;
    /// 0.5: others took half of them).
    pub others_cpu_fraction: f64,
    /// Time the hypervisor gave the case's CPUs to other machines (steal),
    /// as a share of their capacity.
    pub steal_fraction: f64,
    /// Share of the case's wall time during which some task of the machine
    /// waited for a CPU (`/proc/pressure/cpu` "some"), where the kernel has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pressure_fraction: Option<f64>,
    /// Time this process's threads that lived through the case waited
    /// runnable for a CPU, nanoseconds, where the kernel keeps schedstats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_delay_ns: Option<u64>,
    /// The window these shares are of, nanoseconds.
    pub window_ns: u64,
}

impl Interference {
    /// The share of the case's CPU capacity that was not the case's to use:
    /// other programs' CPU time and steal.
    pub fn taken_fraction(&self) -> f64 {
        (self.others_cpu_fraction + self.steal_fraction).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_and_write_their_words() {
        for o in [Outcome::Holds, Outcome::DoesNotHold, Outcome::Inconclusive] {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.word()));
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
        }
    }

    #[test]
    fn lines_say_the_outcome_and_the_reason() {
        let v = Verdict::new(Claim::C1, true, "numbers");
        assert_eq!(v.line(), "C1 holds: numbers");
        let v = Verdict::inconclusive(Claim::C9, "numbers", "the threads never met");
        assert_eq!(v.line(), "C9 inconclusive (the threads never met): numbers");
    }
}
