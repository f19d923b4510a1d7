//! Integration tests of the engine through its public API, with stage kinds
//! defined here (the engine knows no concrete kind).

mod kinds;
