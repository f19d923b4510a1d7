//! Procedural humans, actions, scenes and a rasteriser: the embedded default dataset, written in the real formats.
