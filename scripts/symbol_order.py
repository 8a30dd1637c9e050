#!/usr/bin/env python3
"""Write the link order of the functions the commands run (`link/symbol-order.txt`, read by build.rs).

    CPTS_DATA_DIR=../shared/data python3 scripts/symbol_order.py target/release/cpts-diag
    python3 scripts/symbol_order.py --check target/release/cpts-diag   # how current the file is

The binary's 58 MB of code are mostly polars; a command runs 3-6 MB of it, spread over the whole
text, and the kernel maps the cached pages around each one it touches: the EPCI batch held 25 MiB
of code for 3.3 MB run. Linked side by side (lld's `--symbol-ordering-file`), the functions a
command runs take a few MB (docs/performance.md, "Code layout").

Each command below runs once under valgrind's callgrind, which lists every function executed (not
only the sampled ones, as a profiler would). The commands are taken in the order of `FIRST`, the
quickest and most run first: each adds the functions it runs that are not placed yet, those that
more commands run first. The EPCI batch's code is then one block of ~3 MB, and `diagnose` adds
its own next to it. Only symbols defined in the binary are kept (libc's are not linked in). Needs
valgrind and nm, and the published files of the data folder; under two minutes on two cores.

The file names symbols, whose hashes change with the code, polars and the toolchain; the names
with a `.llvm.<n>` suffix (functions local to a codegen unit, ~14 % of them) change whenever their
codegen unit does. A stale file costs only the layout of the functions it no longer names (lld
skips them). `--check` prints how many of the file's names a binary defines; BENCHMARKS.md says
when the file was last written.
"""
import concurrent.futures
import os
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "link", "symbol-order.txt")
TERRITORY = os.path.join(ROOT, "data", "territories", "grand-chateaudun.toml")

# (name, arguments, environment changes). {P}: the first command's output; {W}: a work folder;
# {D}: the data folder; {T}: the example territory. `build` runs first: the others read its output.
COMMANDS = [
    ("build", "build --out {P}", {}),
    ("batch-epci", "batch --level epci --processed {P} --out {W}/epci", {}),
    ("diagnose", "diagnose --territory {T} --processed {P} --out {W}/diagnose", {}),
    (
        "batch-levels",
        "batch --level commune,epci,bassin-de-vie,departement,region,territories --processed {P} --out {W}/levels",
        {},
    ),
    ("batch-raw", "batch --level epci --from-raw --population municipale --out {W}/raw", {}),
    (
        "diagnose-snapshot",
        "diagnose --territory {T} --processed {W}/none --out {W}/snapshot",
        {"CPTS_DATA_DIR": "{W}/none"},
    ),
    ("map", "map --departement 28 --processed {P} --out {W}/map", {}),
    ("coverage", "coverage --listing {D}/cpts/ars-paca_cpts_communes_2026-01.csv --processed {P} --out {W}/coverage", {}),
    ("access", "access --processed {P} --out {W}/access", {}),
    ("build-2018", "build --boundaries {D}/geo/communes-france-2018.geojson.gz --out {W}/b2018", {}),
]


# Whose functions are placed first: the quickest commands, where a page fault weighs most, and
# those a user runs most.
FIRST = [
    "batch-epci", "diagnose", "diagnose-snapshot", "batch-levels", "build", "batch-raw", "map",
    "coverage", "access", "build-2018",
]
assert sorted(FIRST) == sorted(c[0] for c in COMMANDS), "FIRST and COMMANDS name different commands"


def executed(binary, args, env, out):
    """Mangled names of the functions `binary args` runs (callgrind's `fn=` and `cfn=` lines)."""
    cmd = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--demangle=no",
        "--compress-strings=no", "--dump-line=no", "--dump-instr=no", binary, "-q", *args,
    ]
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    names = []
    with open(out) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                names.append(line.split("=", 1)[1].strip())
    return names


def defined_text_symbols(binary):
    r = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True)
    return {p[2] for p in (l.split() for l in r.stdout.splitlines()) if len(p) == 3 and p[1] in "tT"}


def check(binary):
    with open(OUT) as f:
        names = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    defined = defined_text_symbols(binary)
    found = sum(n in defined for n in names)
    share = f"{100 * found / len(names):.1f} %" if names else "the file names none"
    print(f"{OUT}: {found} of its {len(names)} functions are defined in {binary} ({share})")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        return check(os.path.abspath(sys.argv[2]))
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    data = os.path.abspath(os.environ.get("CPTS_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")))
    defined = defined_text_symbols(binary)
    if not defined:
        sys.exit(f"{binary} has no symbol table (a `--profile dist` build?): use target/release/cpts-diag")
    with tempfile.TemporaryDirectory(prefix="symbol-order-") as work:
        places = {"{P}": f"{work}/processed", "{W}": work, "{D}": data, "{T}": TERRITORY}

        def fill(s):
            for k, v in places.items():
                s = s.replace(k, v)
            return s

        def run(i):
            name, args, extra = COMMANDS[i]
            env = dict(os.environ, CPTS_DATA_DIR=data)
            env.update({k: fill(v) for k, v in extra.items()})
            # Split before filling in the paths: a path with a space stays one argument.
            argv = [fill(a) for a in shlex.split(args)]
            print(f"  {name}: {shlex.join(argv)}", flush=True)
            return executed(binary, argv, env, f"{work}/{name}.callgrind")

        # A data folder without the PACA listing or the 2018 boundaries skips their command.
        present = [i for i, c in enumerate(COMMANDS) if all(os.path.exists(fill(a)) for a in c[1].split() if "{D}" in a)]
        assert present[0] == 0, "build, which the others read, needs no optional input"
        for i in set(range(len(COMMANDS))) - set(present):
            print(f"  {COMMANDS[i][0]}: skipped, its input is not in {data}")
        runs = {COMMANDS[0][0]: run(0)}
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            runs.update(zip((COMMANDS[i][0] for i in present[1:]), pool.map(run, present[1:])))
    sets = {}
    for i, name in enumerate(FIRST):
        for n in runs.get(name, []):
            if n in defined:
                sets[n] = sets.get(n, 0) | (1 << i)
    order, placed = [], set()
    for i, name in enumerate(FIRST):
        new = {n for n in runs.get(name, []) if n in defined and n not in placed}
        order += sorted(new, key=lambda n: (-bin(sets[n]).count("1"), sets[n], n))
        placed |= new
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# Link order of the functions the commands run (lld --symbol-ordering-file, build.rs).\n")
        f.write("# Written by scripts/symbol_order.py from callgrind runs of: ")
        f.write(", ".join(n for n in FIRST if n in runs) + ".\n")
        f.write("\n".join(order) + "\n")
    print(f"{OUT}: {len(order)} functions, all defined in {binary}")


if __name__ == "__main__":
    main()
