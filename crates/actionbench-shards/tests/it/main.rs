//! Shard writer and reader: determinism, index checks, tensor columns.

mod interop;
mod shards;
