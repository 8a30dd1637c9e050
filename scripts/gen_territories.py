#!/usr/bin/env python3
"""Random territories for the batch scaling benchmark (issue 9): each is a union of 1 to 4
*adjacent* EPCI, the way an ARS drafts CPTS scenarios. Two EPCI are adjacent when their communes
share a boundary vertex (the Etalab COG 2026 boundaries share exact vertices along common borders).

usage: gen_territories.py N OUT_DIR [--seed S] [--geometry geometry.parquet] [--communes communes.parquet]

Writes OUT_DIR/t00001.toml … one `epci = [...]` territory per file (the format `diagnose` and
`batch --level territories` read). Defaults read the built-in snapshot of the checkout.
"""
import argparse
import random
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import shapely

ROOT = Path(__file__).resolve().parent.parent


def epci_adjacency(geometry: Path, communes: Path):
    geo = pq.read_table(geometry, columns=["code", "geometry"]).to_pydict()
    cur = pq.read_table(communes, columns=["code", "epci"]).to_pydict()
    epci_of = {c: e for c, e in zip(cur["code"], cur["epci"]) if e is not None}
    codes, wkbs = [], []
    for c, g in zip(geo["code"], geo["geometry"]):
        if c in epci_of and g is not None:
            codes.append(epci_of[c])
            wkbs.append(g)
    shapes = shapely.from_wkb(wkbs)
    coords, index = shapely.get_coordinates(shapes, return_index=True)
    owner = np.array(codes, dtype=object)[index]
    # Vertices shared by communes of different EPCI: key each vertex by its exact coordinates.
    keys = coords.view([("x", coords.dtype), ("y", coords.dtype)]).ravel()
    order = np.argsort(keys, kind="stable")
    keys, owner = keys[order], owner[order]
    adj = defaultdict(set)
    start = 0
    n = len(keys)
    boundaries = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    for end in list(boundaries) + [n]:
        if end - start > 1:
            group = set(owner[start:end])
            if len(group) > 1:
                for e in group:
                    adj[e] |= group - {e}
        start = end
    return sorted(set(epci_of.values())), adj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--geometry", type=Path, default=ROOT / "data/snapshot/geometry.parquet")
    ap.add_argument("--communes", type=Path, default=ROOT / "data/snapshot/communes.parquet")
    a = ap.parse_args()
    epcis, adj = epci_adjacency(a.geometry, a.communes)
    rng = random.Random(a.seed)
    if a.out.exists():
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True)
    sizes = []
    for i in range(1, a.n + 1):
        want = rng.randint(1, 4)
        chosen = [rng.choice(epcis)]
        frontier = set(adj[chosen[0]])
        while len(chosen) < want and frontier:
            nxt = rng.choice(sorted(frontier))
            chosen.append(nxt)
            frontier |= adj[nxt]
            frontier -= set(chosen)
        sizes.append(len(chosen))
        quoted = ", ".join(f'"{e}"' for e in sorted(chosen))
        (a.out / f"t{i:05d}.toml").write_text(
            f'name = "Scénario {i}"\ndescription = "Union aléatoire de {len(chosen)} EPCI adjacents (banc d\'essai)"\n'
            f"epci = [{quoted}]\n",
            encoding="utf-8",
        )
    linked = sum(1 for e in epcis if adj[e])
    print(f"{a.n} territories in {a.out} ({sum(sizes)} EPCI memberships; {linked}/{len(epcis)} EPCI have a neighbour)")


if __name__ == "__main__":
    main()
