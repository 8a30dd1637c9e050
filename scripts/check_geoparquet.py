"""Open a cpts-diag geometry table as GIS tools do and check it is GeoParquet 1.1 as declared.

GeoPandas reads the `geo` metadata itself (version, primary column, WKB encoding, CRS): a file it
opens as is, with OGC:CRS84 (lon/lat WGS84) and valid-looking shapes, opens in QGIS and DuckDB too.
Usage: python3 scripts/check_geoparquet.py FILE.parquet [FILE.parquet ...]
"""
import json
import sys

import geopandas as gpd
import pyarrow.parquet as pq


def check(path: str) -> None:
    meta = json.loads(pq.ParquetFile(path).metadata.metadata[b"geo"])
    assert meta["version"].startswith("1.1"), meta["version"]
    col = meta["primary_column"]
    assert meta["columns"][col]["encoding"] == "WKB", meta["columns"][col]
    df = gpd.read_parquet(path)
    assert df.geometry.name == col
    crs = df.crs
    assert crs is not None, "no CRS"
    assert crs.to_string() in ("OGC:CRS84", "EPSG:4326") or crs.equals("OGC:CRS84"), crs.to_string()
    kinds = set(df.geom_type.unique())
    assert kinds <= {"Polygon", "MultiPolygon"}, kinds
    minx, miny, maxx, maxy = df.total_bounds
    # Metropolitan France and the DROM, lon/lat: no swapped or projected coordinates.
    assert -62 <= minx and maxx <= 56 and -22 <= miny and maxy <= 52, df.total_bounds
    codes = df["code"]
    assert codes.is_unique, "duplicate codes"
    arr = codes[codes.str.match(r"^(751\d\d|6938\d|132\d\d)$")]
    invalid = int((~df.geometry.is_valid).sum())
    try:
        import duckdb
    except ImportError:
        duckdb = None
    if duckdb is not None:
        # DuckDB (1.4 and later) recognises GeoParquet itself: the column comes back as GEOMETRY.
        kinds_duck = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
        assert kinds_duck[col].startswith("GEOMETRY"), kinds_duck[col]
        print(f"{path}: DuckDB reads {col} as {kinds_duck[col]}")
    print(f"{path}: GeoParquet {meta['version']}, {len(df)} units ({len(arr)} arrondissements), "
          f"CRS {crs.to_string()}, {sorted(kinds)}, {invalid} invalid shape(s)")
    assert len(arr) == 45, len(arr)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        check(p)
