#!/usr/bin/env python3
"""Benchmark: how `build` and the nightly diff (`refresh --offline`) grow with the data.

Usage: scripts/bench_scale.py BINARY [SCALES]   (default scales: 1 10 100)

For each scale N, a bench-only generator writes N copies of the snapshot's 11 mapping files into
target/bench-scale/N/raw/ (copy 0 as published, under ATT&CK 16.1 with the snapshot's three ATT&CK
bundles; copy i under a synthetic ATT&CK version 900.i, its techniques unresolved), then:
  - build: the whole raw/ into every format;
  - first night: `refresh --offline` into an empty out/ (every row added);
  - next night: 1 % of the rows edited (their comments), `refresh --offline` again: the diff and the
    change feed of a night.
Prints wall time, peak resident memory and rows per second of each. Nothing generated is committed:
it lives under target/. Exits 0 with a note when ../shared/site is absent.
"""
import json
import os
import shutil
import sys
from pathlib import Path

from bench import run_measured

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT.parent / "shared" / "site"
WORK = ROOT / "target" / "bench-scale"


def mapping_files():
    return sorted(p for p in (SITE / "data").rglob("*_attack-*.json") if "data/attack/" not in str(p))


def generate(scale, out):
    """N copies of the mapping files; returns the number of mapping objects written."""
    if out.exists():
        shutil.rmtree(out)
    (out / "data" / "attack").mkdir(parents=True)
    for bundle in (SITE / "data" / "attack").glob("*.json"):
        shutil.copy(bundle, out / "data" / "attack" / bundle.name)
    rows = 0
    for path in mapping_files():
        document = json.loads(path.read_text())
        for copy in range(scale):
            version = "16.1" if copy == 0 else f"900.{copy}"
            document["metadata"]["attack_version"] = version
            name = path.name.replace("attack-16.1", f"attack-{version}")
            target = out / "data" / path.parent.relative_to(SITE / "data") / f"copy-{copy}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(document))
            rows += len(document["mapping_objects"])
    return rows


def edit_one_percent(raw):
    """Edits the comments of 1 % of the mapping objects, spread over every file."""
    edited = 0
    for path in sorted(raw.rglob("*_attack-*.json")):
        document = json.loads(path.read_text())
        objects = document["mapping_objects"]
        for n in range(0, len(objects), 100):
            objects[n]["comments"] = f"edited by the benchmark {n}"
            edited += 1
        path.write_text(json.dumps(document))
    return edited


def measure(binary, args):
    """Runs attackmap quietly with `args` (exit 4, nothing changed, is a good night too)."""
    return run_measured(binary, ["--quiet", *args], good_codes=(0, 3, 4))


def report(what, scale, rows, seconds, peak):
    print(f"  {scale:>4}x {what:<34} {rows:>9} rows  {seconds:7.2f} s  {rows / seconds:>10,.0f} rows/s  {peak:6.0f} MiB peak")


def main():
    binary = str(Path(sys.argv[1]).resolve())
    scales = [int(s) for s in sys.argv[2:]] or [1, 10, 100]
    if not SITE.is_dir():
        print(f"bench-scale skipped: {SITE} is absent")
        return
    print(f"scaling: N copies of the snapshot's {len(mapping_files())} mapping files, {os.cpu_count()} cores"
          " [goal at 100x (issue 23): a build <= 1 GiB, a night <= 1.5 GiB]")
    for scale in scales:
        work = WORK / str(scale)
        raw = work / "raw"
        rows = generate(scale, raw)
        size = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
        print(f"scale {scale}x: {rows} source rows, {size / 1e6:.0f} MB of input")
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        report("build, every format", scale, rows, *measure(binary, ["build", "--input", str(raw), "--out", str(out)]))
        nightly = ["refresh", "--offline", "--raw", str(raw), "--out", str(work / "published"),
                   "--attack-version", "all", "--domain", "all", "--max-removed-share", "1"]
        shutil.rmtree(work / "published", ignore_errors=True)
        # Two nights, two run dates: the second night's change feed is a partition of its own (a
        # second run on the same day would compose its feed with the first's).
        report("first night (every row added)", scale, rows,
               *measure(binary, [*nightly, "--run-date", "2026-01-01"]))
        edited = edit_one_percent(raw)
        seconds, peak = measure(binary, [*nightly, "--run-date", "2026-01-02"])
        report(f"next night ({edited} rows edited)", scale, rows, seconds, peak)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
