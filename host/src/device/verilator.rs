//! The `verilator` backend (filled in once the `sim` crate lands).
