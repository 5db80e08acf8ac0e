//! Reads conpar records and writes the comparison tables, plots and verdicts
