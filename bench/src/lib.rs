//! Tollgate benchmarks: see bench/RESULTS.md.
