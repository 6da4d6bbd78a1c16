#!/usr/bin/env python3
"""Benchmark: `attackmap build` on a whole rendered Mappings Explorer site, at growing numbers of pages.

Usage: scripts/bench_site.py BINARY [COPIES...]   (default copies: 1 2 4 8)

A bench-only generator writes target/bench-site/<copies>/site/: the ../shared/site snapshot (ATT&CK
16.1, its ATT&CK bundles included) plus copies-1 replicas of its pages and mapping files under older
real ATT&CK versions (15.1, 14.1, …), and the framework pages of ../shared/site-frameworks once. A
replica renames every `attack-16.1` path segment and rewrites what names the ATT&CK version inside the
files (links, badges, banner, the mapping files' metadata.attack_version, attack.mitre.org links), so
it builds into datasets of its own version with the same rows as 16.1; it has no ATT&CK bundle. Each
site is generated once and reused while its stamp names the same copies count and generator version.

For each copies count, builds the site 3 times and prints files, MB, rows read (report.json totals),
median wall time, max peak resident memory, MB/s, rows/s and the peak per copy; then whether peak
memory grows with the number of pages. Each build is checked: every version's datasets and counts
equal 16.1's. Nothing generated is committed: it lives under target/. Exits 0 with a note when
../shared/site is absent.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import run_measured

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT.parent / "shared" / "site"
FRAMEWORK_PAGES = ROOT.parent / "shared" / "site-frameworks"
WORK = ROOT / "target" / "bench-site"
GENERATOR_VERSION = 2
SNAPSHOT_VERSION = "16.1"
# Real ATT&CK releases older than the snapshot's: the newest of each major first, then the rest.
REPLICA_VERSIONS = ["15.1", "14.1", "13.1", "12.1", "11.3", "10.1", "9.0", "8.2", "7.2", "6.3",
                    "16.0", "15.0", "14.0", "13.0", "12.0", "11.2", "11.1", "11.0", "10.0", "8.1", "8.0"]
RUNS = 3


def version_rewrites(version):
    """The byte strings that name the snapshot's ATT&CK version, and their replica's text."""
    major = version.split(".")[0]
    return [
        (b"attack-16.1", f"attack-{version}".encode()),  # paths in links, file names
        (b'ATT&CK Version</span><span class="purple">16.1</span>',  # badges of pages and sections
         f'ATT&CK Version</span><span class="purple">{version}</span>'.encode()),
        (b"You're currently viewing ATT&CK Version 16.1", f"You're currently viewing ATT&CK Version {version}".encode()),
        (b'"attack_version": "16.1"', f'"attack_version": "{version}"'.encode()),  # mapping files' metadata
        (b"attack.mitre.org/versions/v16/", f"attack.mitre.org/versions/v{major}/".encode()),
    ]


def write_copy(source, dest, version):
    """Writes the files of `source` into `dest` as published under ATT&CK `version`, in new files and
    folders (writable, whatever the modes of ../shared). A replica rewrites every name of 16.1 and
    leaves out the ATT&CK bundles: the site keeps those of 16.1 only."""
    replica = version != SNAPSHOT_VERSION
    rewrites = version_rewrites(version) if replica else []
    for path in source.rglob("*"):
        relative = path.relative_to(source).as_posix()
        if not path.is_file() or (replica and relative.startswith("data/attack/")):
            continue
        content = path.read_bytes()
        for old, new in rewrites:
            content = content.replace(old, new)
        target = dest / relative.replace(f"attack-{SNAPSHOT_VERSION}", f"attack-{version}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def generate(copies, dest):
    """The snapshot, copies-1 replicas under older ATT&CK versions, and the framework pages."""
    if copies - 1 > len(REPLICA_VERSIONS):
        sys.exit(f"at most {len(REPLICA_VERSIONS) + 1} copies: one per ATT&CK version")
    shutil.rmtree(dest, ignore_errors=True)
    write_copy(FRAMEWORK_PAGES, dest, SNAPSHOT_VERSION)
    for version in [SNAPSHOT_VERSION, *REPLICA_VERSIONS[: copies - 1]]:
        write_copy(SITE, dest, version)


def site_for(copies):
    """The generated site of `copies` copies, generated unless its stamp says it is current."""
    work = WORK / str(copies)
    stamp = work / "stamp"
    expected = f"copies={copies} generator={GENERATOR_VERSION}\n"
    if not (stamp.exists() and stamp.read_text() == expected):
        stamp.unlink(missing_ok=True)
        generate(copies, work / "site")
        stamp.write_text(expected)
    return work / "site"


def check_replicas(report, copies):
    """Exits unless the build has the datasets of every copy's version, each with 16.1's counts and
    cross-checks of its sources (mapping ids, which name the version, left out)."""
    versions = [SNAPSHOT_VERSION, *REPLICA_VERSIONS[: copies - 1]]
    by_version = {}
    for dataset in report["datasets"]:
        name = dataset["dataset"].replace(f"_attack-{dataset['attack_version']}-", "_attack-*-")
        counts = {field: n for field, n in dataset["counts"].items() if isinstance(n, int)}
        by_version.setdefault(dataset["attack_version"], {})[name] = (counts, dataset["source"])
    if sorted(by_version) != sorted(versions):
        sys.exit(f"datasets of ATT&CK {sorted(by_version)}, expected {sorted(versions)}")
    expected = by_version[SNAPSHOT_VERSION]
    for version in versions[1:]:
        found = by_version[version]
        differing = sorted(name for name in expected.keys() | found.keys() if found.get(name) != expected.get(name))
        if differing:
            sys.exit(f"ATT&CK {version}: these datasets differ from 16.1's: {', '.join(differing)}")
    rejected = report["totals"]["rejected_rows"]
    if rejected % copies:
        sys.exit(f"{rejected} rejected rows: not the same number in every copy")


def bench(binary, copies):
    """Builds the site RUNS times; returns (files, MB, rows read, median seconds, max peak MiB)."""
    site = site_for(copies)
    sizes = [p.stat().st_size for p in site.rglob("*") if p.is_file()]
    walls, peaks = [], []
    # attackmap leaves a lock file beside its output (out.lock): both live in the temporary folder.
    with tempfile.TemporaryDirectory(dir=WORK) as work:
        out = Path(work) / "out"
        for _ in range(RUNS):
            seconds, peak = run_measured(binary, ["build", "--input", str(site), "--out", str(out), "-q"])
            walls.append(seconds)
            peaks.append(peak)
        report = json.loads((out / "report.json").read_text())
    check_replicas(report, copies)
    return len(sizes), sum(sizes) / 1e6, report["totals"]["rows_read"], statistics.median(walls), max(peaks)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = str(Path(sys.argv[1]).resolve())
    counts = [int(c) for c in sys.argv[2:]] or [1, 2, 4, 8]
    if not SITE.is_dir() or not FRAMEWORK_PAGES.is_dir():
        print(f"bench-site skipped: {SITE} or {FRAMEWORK_PAGES} is absent")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"whole site: the 16.1 snapshot + replicas under older ATT&CK versions, {os.cpu_count()} cores, "
          f"{RUNS} runs each")
    print(f"{'copies':>6} {'files':>6} {'MB':>6} {'rows read':>10} {'wall s':>7} {'peak MiB':>9} "
          f"{'MB/s':>6} {'rows/s':>8} {'MiB/copy':>9}")
    peaks = {}
    for copies in counts:
        files, megabytes, rows, seconds, peak = bench(binary, copies)
        peaks[copies] = peak
        print(f"{copies:>6} {files:>6} {megabytes:>6.0f} {rows:>10} {seconds:>7.2f} {peak:>9.0f} "
              f"{megabytes / seconds:>6.0f} {rows / seconds:>8.0f} {peak / copies:>9.0f}")
    fewest, most = min(peaks), max(peaks)
    if most > fewest:
        ratio = peaks[most] / peaks[fewest]
        print(f"{most / fewest:.0f}x the pages and the datasets: {ratio:.2f}x the peak ({peaks[fewest]:.0f} MiB with "
              f"{fewest}, {peaks[most]:.0f} MiB with {most} copies); pages are reduced to their cross-check as they "
              f"are read, so what grows is the table of mappings the outputs are written from")


if __name__ == "__main__":
    main()
