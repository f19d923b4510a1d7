//! Built-in stages through the engine.

mod ava;
mod eval;
mod ingest;
mod phalp;
