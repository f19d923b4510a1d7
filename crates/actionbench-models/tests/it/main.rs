//! Integration tests of actionbench-models (tiny sizes: debug Burn on CPU is slow).

mod graph;
mod lart;
mod mvit;
mod r3d;
mod stgcn;
mod ups;

type Cpu = burn::backend::NdArray;
