//! The video stage kinds through the engine.

mod renders;
mod synth;
mod video;
