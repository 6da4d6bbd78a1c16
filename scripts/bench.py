#!/usr/bin/env python3
"""Benchmark: times `attackmap build` on the 11 mapping files and on the whole ../shared/site snapshot,
and prints wall time and peak memory against issue 12's goals.

Usage: scripts/bench.py BINARY [RUNS]   (the Makefile's `make bench` builds the release binary first)
Prints one line per run and a summary; exits 0 with a note when ../shared/site is absent.
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(ROOT, "..", "shared", "site")
FRAMEWORK_PAGES = os.path.join(ROOT, "..", "shared", "site-frameworks")


def run_measured(binary, args, good_codes=(0, 3)):
    """Runs `binary args` in a child process, its output discarded; returns (seconds, peak resident
    MiB) of that child alone. Exits when its code is not one of `good_codes`."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(binary, [binary, *args])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in good_codes:
        sys.exit(f"attackmap {' '.join(args)} exited with {code}")
    return seconds, usage.ru_maxrss / 1024


def measure(binary, inputs, out, extra):
    """Runs one build; returns (seconds, peak resident MiB)."""
    return run_measured(binary, ["build", "--input", *inputs, "--out", out, *extra])


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not os.path.isdir(SITE):
        print(f"bench skipped: {SITE} is absent")
        return
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(SITE) for f in fs)
    print(f"input: {SITE} ({size / 1e6:.1f} MB), {os.cpu_count()} cores, {runs} runs")
    # The snapshot's data/attack/ holds its ATT&CK bundles: every case reads them, as a build of the
    # site does. The targets are issue 12's goals on these 2 cores.
    mapping_files = sorted(str(p) for p in Path(SITE, "data").rglob("*_attack-*.json")
                           if "data/attack/" not in str(p))
    cases = [
        ("the 11 mapping files, all formats, ATT&CK ids resolved", [*mapping_files, os.path.join(SITE, "data", "attack")],
         [], "<= 0.25 s, <= 150 MiB (issue 23; issue 12's was 0.45 s, 200 MB)"),
        ("the snapshot, table: csv + parquet", [SITE], ["--format", "csv,parquet"], "-"),
        ("the snapshot, all formats, ATT&CK ids resolved", [SITE], [], "<= 1.0 s, <= 250 MB"),
    ]
    for name, inputs, extra, target in cases:
        walls, peaks = [], []
        with tempfile.TemporaryDirectory() as out:
            for run in range(1, runs + 1):
                seconds, peak = measure(binary, inputs, out, extra)
                walls.append(seconds)
                peaks.append(peak)
                print(f"  {name}, run {run}: {seconds:.3f} s wall, {peak:.0f} MiB peak RSS")
        print(
            f"{name}: median {statistics.median(walls):.3f} s (min {min(walls):.3f} s), "
            f"peak RSS max {max(peaks):.0f} MiB [goal: {target}]"
        )
    bench_refresh_and_fetch(binary, runs)


def bench_refresh_and_fetch(binary, runs):
    """`refresh --offline` on the whole snapshot, and `fetch` from a local server serving it."""
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "out")
        walls, peaks = [], []
        for run in range(1, runs + 1):
            start = time.perf_counter()
            child = subprocess.run(
                [binary, "refresh", "--offline", "--raw", SITE, "--out", out],
                capture_output=True,
                env={**os.environ, "CI": "true"},
            )
            walls.append(time.perf_counter() - start)
            peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
            if child.returncode not in (0, 4):
                sys.exit(f"refresh exited with {child.returncode}: {child.stderr.decode()[-2000:]}")
        print(
            f"refresh --offline (build, all formats, validate, changes, publish): median "
            f"{statistics.median(walls):.3f} s (min {min(walls):.3f} s), peak RSS {max(peaks):.0f} MiB"
        )

        # The site as served: the snapshot with the framework pages of its overlay, where the crawl
        # starts (a tree of links to both, merged).
        served = os.path.join(work, "served")
        for tree in (SITE, FRAMEWORK_PAGES):
            if os.path.isdir(tree):
                subprocess.run(["cp", "-rs", "--remove-destination", f"{os.path.abspath(tree)}/.", served], check=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0", "--directory", served],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 12345 (...)"
            port = int(line.split(" port ")[1].split()[0])
            base = f"http://127.0.0.1:{port}/"
            for label, extra in [("default politeness (4 in flight, 8 req/s)", []),
                                 ("rate limit at its maximum, 1000 req/s (4 in flight)", ["--rate-limit", "1000"])]:
                raw = tempfile.mkdtemp(dir=work)
                start = time.perf_counter()
                child = subprocess.run([binary, "fetch", "--base-url", base, "--raw", raw, *extra],
                                       capture_output=True, text=True, env={**os.environ, "CI": "true"})
                seconds = time.perf_counter() - start
                pages = sum(len([f for f in fs if not f.startswith(".")]) for _, _, fs in os.walk(raw))
                print(f"fetch from a local server, {label}: {pages} files in {seconds:.1f} s = "
                      f"{pages / seconds:.1f} files/s (exit {child.returncode})")
                start = time.perf_counter()
                subprocess.run([binary, "fetch", "--base-url", base, "--raw", raw, *extra],
                               capture_output=True, env={**os.environ, "CI": "true"})
                print(f"  again, every answer 304: {time.perf_counter() - start:.1f} s")
        finally:
            server.terminate()


if __name__ == "__main__":
    main()
