#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| actionbench_fuzz::npz(data));
