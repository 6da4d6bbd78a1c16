#!/usr/bin/env python3
"""Benchmark: times `attackmap build` on the whole ../shared/site snapshot and prints wall time and peak memory.

Usage: scripts/bench.py BINARY [RUNS]   (the Makefile's `make bench` builds the release binary first)
Prints one line per run and a summary; exits 0 with a note when ../shared/site is absent.
"""
import glob
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(ROOT, "..", "shared", "site")


def measure(binary, inputs, out, extra):
    """Runs one build in a child process; returns (seconds, peak resident MiB) of that child alone."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(binary, [binary, "build", "--input", *inputs, "--out", out, *extra])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"attackmap exited with {code}")
    return seconds, usage.ru_maxrss / 1024


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not os.path.isdir(SITE):
        print(f"bench skipped: {SITE} is absent")
        return
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(SITE) for f in fs)
    print(f"input: {SITE} ({size / 1e6:.1f} MB), {os.cpu_count()} cores, {runs} runs")
    attack = sorted(glob.glob(os.path.join(SITE, "..", "attack", "*-attack-*.json")))
    cases = [
        ("table: csv + parquet", ["--format", "csv,parquet"], "< 2 s, < 300 MiB"),
        ("all formats", [], "< 1 s more than the table"),
        ("all formats + ATT&CK bundles", ["--attack-stix", *attack], "ATT&CK ids resolved"),
    ]
    for name, extra, target in cases:
        walls, peaks = [], []
        with tempfile.TemporaryDirectory() as out:
            for run in range(1, runs + 1):
                seconds, peak = measure(binary, [SITE], out, extra)
                walls.append(seconds)
                peaks.append(peak)
                print(f"  {name}, run {run}: {seconds:.3f} s wall, {peak:.0f} MiB peak RSS")
        print(
            f"{name}: median {statistics.median(walls):.3f} s (min {min(walls):.3f} s), "
            f"peak RSS max {max(peaks):.0f} MiB [target: {target}]"
        )


if __name__ == "__main__":
    main()
