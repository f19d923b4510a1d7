//! Integration tests of the generator: determinism, every writer read back
//! by our readers, the real Python tools, split rules, and the baseline.

mod baseline;
mod determinism;
mod python;
mod readback;
mod scenes;
mod support;
