//! Integration tests of actionbench-train (tiny models: debug Burn on CPU is slow).

mod losses;
mod multitask;
mod schedule;
mod stages;
mod synthetic;
mod train_loop;

type Cpu = burn::backend::NdArray;
type Train = burn::backend::Autodiff<Cpu>;
