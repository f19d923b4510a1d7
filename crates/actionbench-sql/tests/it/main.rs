//! SQL over a real project: tables registered from lock files, catalog
//! tables, error positions, shard verification.

mod session;
