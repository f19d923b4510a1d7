//! Built-in stages through the engine.

mod eval;
mod ingest;
