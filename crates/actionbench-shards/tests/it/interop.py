"""Reads actionbench shards with pyarrow, DuckDB and Polars and checks that
tensor columns come back with the right shapes and values.

Run by crates/actionbench-shards/tests/it/interop.rs on shards it wrote:
2500 rows, `joints` a variable-shape tensor [t, 3] with t = i % 7 + 1 and
values (i * 100 + k) * 0.5, `center` a fixed-shape tensor [2] = [i, -i].
"""

import glob
import sys

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

shard_dir = sys.argv[1]
files = sorted(glob.glob(f"{shard_dir}/*.parquet"))
assert len(files) == 3, files


def expected_joints(i):
    t = i % 7 + 1
    return np.array([(i * 100 + k) * 0.5 for k in range(t * 3)], dtype=np.float32).reshape(t, 3)


# pyarrow: canonical extension types, values, shapes.
table = pa.concat_tables([pq.read_table(f) for f in files])
assert table.num_rows == 2500
center = table.column("center").combine_chunks()
assert isinstance(center.type, pa.FixedShapeTensorType), center.type
assert center.type.shape == [2], center.type.shape
arr = center.to_numpy_ndarray()
assert arr.shape == (2500, 2) and arr[5].tolist() == [5.0, -5.0], arr[5]
joints_field = table.schema.field("joints")
ext_name = getattr(joints_field.type, "extension_name", None) or (joints_field.metadata or {}).get(
    b"ARROW:extension:name", b""
).decode()
assert ext_name == "arrow.variable_shape_tensor", ext_name
joints = table.column("joints").combine_chunks()
storage = joints.storage if isinstance(joints, pa.ExtensionArray) else joints
for i in (0, 5, 2499):
    row = storage[i].as_py()
    got = np.array(row["data"], dtype=np.float32).reshape(row["shape"])
    assert np.array_equal(got, expected_joints(i)), (i, got)

# DuckDB: SQL over the same files.
con = duckdb.connect()
n, lo, hi = con.execute(
    f"SELECT count(*), min(num_frames), max(num_frames) FROM read_parquet('{shard_dir}/*.parquet')"
).fetchone()
assert (n, lo, hi) == (2500, 1, 7), (n, lo, hi)
shape, first, count = con.execute(
    f"SELECT joints.shape, joints.data[1], len(joints.data) FROM read_parquet('{shard_dir}/*.parquet') "
    "WHERE sample_id = 'S00005'"
).fetchone()
assert list(shape) == [6, 3] and first == 250.0 and count == 18, (shape, first, count)

# Polars.
df = pl.read_parquet(f"{shard_dir}/*.parquet")
assert df.height == 2500
row = df.filter(pl.col("sample_id") == "S00005")
joints = row["joints"].to_list()[0]
assert list(joints["shape"]) == [6, 3], joints["shape"]
assert np.array_equal(np.array(joints["data"], dtype=np.float32).reshape(6, 3), expected_joints(5))
assert row["center"].to_list()[0] == [5.0, -5.0] or list(row["center"].to_list()[0]) == [5.0, -5.0]
print("interop ok: pyarrow", pa.__version__, "duckdb", duckdb.__version__, "polars", pl.__version__)
