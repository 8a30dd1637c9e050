#!/usr/bin/env python3
"""Read every output Parquet of cpts-diag with pyarrow and DuckDB and check its column names and
types against docs/schema.md and against the column docs the file carries in its metadata
(key `cpts_diag.columns`). CSV twins of batch tables must have the same header. Partitioned batch
folders must read back, with hive partitioning, as the whole table.

usage: scripts/check_outputs.py [--schema docs/schema.md] PATH...   (files or folders)
Ends with a line "N passed, N failed"; exits 1 if anything failed.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

ARROW = {"string": "string", "large_string": "string", "string_view": "string", "double": "float64",
         "int64": "int64", "int32": "int32", "uint32": "uint32", "bool": "bool",
         "binary": "binary", "large_binary": "binary", "binary_view": "binary"}
DUCK = {"VARCHAR": "string", "DOUBLE": "float64", "BIGINT": "int64", "INTEGER": "int32",
        "UINTEGER": "uint32", "BOOLEAN": "bool",
        "BLOB": "binary", "GEOMETRY": "binary", "STRUCT": "struct"}


def arrow_kind(t):
    """The documented type of an Arrow type (a struct, such as the geometry's bbox, whatever its fields)."""
    t = str(t)
    return "struct" if t.startswith("struct<") else ARROW.get(t, t)


def read_schema_md(path):
    """{section id: [(column, type)]} from the tables of docs/schema.md."""
    tables, current = {}, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## (\S+)\s*$", line)
        if m:
            current = tables.setdefault(m.group(1), [])
            continue
        m = re.match(r"^\| `([^`]+)` \| (\w+) \|", line)
        if m and current is not None:
            current.append((m.group(1), m.group(2)))
    return tables


def section_of(path):
    p = path.as_posix()
    m = re.search(r"batch/([a-z-]+)/[^/]+=[^/]+/part-\d+\.parquet$", p)
    if m:
        return f"batch/{m.group(1)}/partitioned"
    m = re.search(r"batch/([a-z-]+)\.parquet$", p)
    if m:
        return f"batch/{m.group(1)}"
    if re.search(r"access/communes\.parquet$", p):
        return "access"
    if path.name == "scenarios.parquet":
        return "scenarios"
    if path.name in ("communes.parquet", "indicators.parquet", "geometry.parquet"):
        return path.stem
    return None


class Checker:
    def __init__(self, docs):
        self.docs, self.passed, self.failed = docs, 0, 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}")

    def parquet(self, path):
        sec = section_of(path)
        if sec is None:
            print(f"note: {path} is not a documented output, not checked")
            return
        self.check(sec in self.docs, f"{path}: no section `{sec}` in the schema doc")
        expected = self.docs.get(sec, [])
        f = pq.ParquetFile(path)
        arrow = [(fld.name, arrow_kind(fld.type)) for fld in f.schema_arrow]
        self.check(arrow == expected, f"{path}: pyarrow schema {arrow} != documented {expected}")
        meta = f.metadata.metadata or {}
        cols = json.loads(meta.get(b"cpts_diag.columns", b"[]"))
        self.check([(c["name"], c["dtype"]) for c in cols] == expected, f"{path}: cpts_diag.columns != documented")
        self.check(b"cpts_diag.provenance" in meta, f"{path}: no cpts_diag.provenance metadata")
        duck = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)").fetchall()
        # DuckDB reads a GeoParquet geometry column as GEOMETRY('<crs>'): the WKB bytes we declare.
        duck = [(r[0], DUCK.get(r[1].split("(")[0], r[1])) for r in duck]
        self.check(duck == expected, f"{path}: DuckDB schema {duck} != documented {expected}")
        n_arrow = f.metadata.num_rows
        n_duck = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
        self.check(n_arrow == n_duck and n_arrow > 0, f"{path}: {n_arrow} rows (pyarrow) vs {n_duck} (DuckDB)")
        csv = path.with_suffix(".csv")
        if sec.startswith("batch/") and not sec.endswith("/partitioned"):
            self.check(csv.is_file(), f"{csv}: missing")
            if csv.is_file():
                header = csv.open(encoding="utf-8").readline().rstrip("\n").split(",")
                self.check(header == [c for c, _ in expected], f"{csv}: header differs from the documented columns")

    def partitioned(self, folder):
        """A Hive-style folder `<level>/region=XX/part-0.parquet` reads back as `<level>.parquet`."""
        whole = folder.parent / f"{folder.name}.parquet"
        glob = f"{folder.as_posix()}/*/*.parquet"
        rel = duckdb.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true, hive_types = {{'region': VARCHAR}})")
        got = [(c, DUCK.get(t, t)) for c, t in zip(rel.columns, map(str, rel.types))]
        expected = self.docs.get(f"batch/{folder.name}", [])
        self.check(sorted(got) == sorted(expected), f"{folder}: hive read {got} != documented {expected}")
        if whole.is_file():
            key = expected[0][0]
            diff = duckdb.sql(
                f"SELECT count(*) FROM ((SELECT {key}, region, population FROM read_parquet('{glob}', hive_partitioning = true, "
                f"hive_types = {{'region': VARCHAR}}) EXCEPT ALL SELECT {key}, region, population FROM read_parquet('{whole}')) "
                f"UNION ALL (SELECT {key}, region, population FROM read_parquet('{whole}') EXCEPT ALL SELECT {key}, region, population "
                f"FROM read_parquet('{glob}', hive_partitioning = true, hive_types = {{'region': VARCHAR}})))").fetchall()[0][0]
            self.check(diff == 0, f"{folder}: {diff} rows differ from {whole}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", default="docs/schema.md")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    c = Checker(read_schema_md(a.schema))
    files, folders = [], set()
    for p in map(Path, a.paths):
        found = sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
        c.check(bool(found), f"{p}: no Parquet file")
        files += found
    for f in files:
        c.parquet(f)
        if section_of(f) and section_of(f).endswith("/partitioned"):
            folders.add(f.parent.parent)
    for folder in sorted(folders):
        c.partitioned(folder)
    print(f"checked {len(files)} Parquet files, {len(folders)} partitioned tables")
    print(f"{c.passed} passed, {c.failed} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
