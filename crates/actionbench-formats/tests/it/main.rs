//! Integration tests of actionbench-formats on the real fixtures in
//! the repository's `fixtures/real/`, numpy-written `.npy`/`.npz`, Python-written
//! pickles and joblib files, and generated tables.

mod ava;
mod detect;
mod h36m;
mod joblib;
mod joblib_write;
mod label_map;
mod nesting;
mod npy;
mod ntu;
mod phalp;
mod pickle;
mod pyskl;
mod scores;
mod support;
