#!/usr/bin/env python3
"""Several commands, run in turn (A B C A B C …) so that all see the same machine.

    python3 scripts/bench_interleaved.py RUNS 'label=command …' 'label=command …' …

`{}` in a command is replaced by its label (so that each writes its own outputs). Prints, per
command: median and smallest wall time (ms, from a monotonic clock: /usr/bin/time rounds to
10 ms, too coarse for 0.07 s commands), median CPU (user + sys) and the median and largest peak
RSS, each read from that process's own rusage (os.wait4). Standard output and error are dropped;
a failing command stops the run with its error.

`BENCH_GAP=SECONDS` sleeps that long before each run: a command run once after an idle moment,
as a user runs it. On these VMs the kernel reports free 2 MiB blocks to the host, which takes
them back, so a run right after another reuses warm memory that a run after a pause does not
(BENCHMARKS.md, thirteenth round).
"""
import os
import shlex
import statistics
import subprocess
import sys
import time


def run(argv):
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{shlex.join(argv)} failed ({p.returncode}):\n{err.decode(errors='replace')}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def main():
    runs = int(sys.argv[1])
    cmds = []
    for spec in sys.argv[2:]:
        label, _, cmd = spec.partition("=")
        cmds.append((label, shlex.split(cmd.replace("{}", label))))
    res = {label: [] for label, _ in cmds}
    gap = float(os.environ.get("BENCH_GAP", "0"))
    for _ in range(runs):
        for label, argv in cmds:
            time.sleep(gap)
            res[label].append(run(argv))
    gap_note = f", {gap:g} s before each" if gap else ""
    print(f"| command | wall median (ms) | wall min (ms) | CPU median (ms) | RSS median / max (MiB) |  ({runs} runs, interleaved{gap_note})")
    print("|---|---|---|---|---|")
    for label, _ in cmds:
        v = res[label]
        print(
            f"| {label} | {statistics.median(x[0] for x in v) * 1000:.1f} | {min(x[0] for x in v) * 1000:.1f} "
            f"| {statistics.median(x[1] for x in v) * 1000:.0f} "
            f"| {statistics.median(x[2] for x in v):.0f} / {max(x[2] for x in v):.0f} |"
        )


if __name__ == "__main__":
    main()
