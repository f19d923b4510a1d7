//! Integration tests of actionbench-models (tiny sizes: debug Burn on CPU is slow).

mod graph;
mod lart;
mod mvit;
mod stgcn;

type Cpu = burn::backend::NdArray;
