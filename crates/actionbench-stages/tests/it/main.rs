//! Built-in stages through the engine.

mod ava;
mod eval;
mod ingest;
mod partitions;
mod phalp;
