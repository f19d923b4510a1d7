//! Shards open in the tools researchers use: pyarrow (with the canonical
//! tensor extension types), DuckDB and Polars. The Python side
//! (`interop.py`) checks shapes and values; `scripts/test` installs the
//! packages (scripts/requirements-test.txt).

#[test]
fn shards_open_in_pyarrow_duckdb_and_polars() {
    let dir = tempfile::tempdir().unwrap();
    crate::shards::write(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/interop.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .output()
        .expect("python3 runs (scripts/test installs the packages it needs)");
    assert!(
        out.status.success(),
        "interop.py failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("interop ok"));
}
