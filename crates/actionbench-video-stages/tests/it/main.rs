//! The video stage kinds through the engine.

mod renders;
mod schemas;
mod synth;
mod video;
