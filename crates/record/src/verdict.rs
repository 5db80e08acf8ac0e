//! A verdict: what one case's numbers say about one claim.

use serde::{Deserialize, Serialize};

use crate::claims::Claim;

/// A claim of the seed notes, decided by a case's own numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The claim (`"C1"`… in JSON).
    pub claim: Claim,
    /// Whether the numbers of this run bear the claim out.
    pub holds: bool,
    /// The numbers behind it, in a sentence.
    pub text: String,
}

impl Verdict {
    /// A verdict on `claim`.
    pub fn new(claim: Claim, holds: bool, text: impl Into<String>) -> Verdict {
        Verdict {
            claim,
            holds,
            text: text.into(),
        }
    }

    /// The one-line form printed on stderr: `C1 holds: …` or `C1 does not hold: …`.
    pub fn line(&self) -> String {
        let word = if self.holds { "holds" } else { "does not hold" };
        format!("{} {word}: {}", self.claim, self.text)
    }
}
