//! Shared helpers of the criterion benches (not built yet; see the open issues).
