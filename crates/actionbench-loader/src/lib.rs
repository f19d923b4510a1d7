//! Arrow-batched, deterministic, resumable data loading from shards into Burn tensors.
