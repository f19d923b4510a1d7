//! Integration tests of actionbench-formats on the real fixtures in
//! `shared/fixtures/real/`, numpy-written `.npy` files and generated tables.

mod ava;
mod label_map;
mod npy;
mod scores;
mod support;
