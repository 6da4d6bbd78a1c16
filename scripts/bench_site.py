#!/usr/bin/env python3
"""Benchmark: `attackmap build` on a whole rendered Mappings Explorer site, at growing numbers of pages.

Usage: scripts/bench_site.py BINARY [COPIES...]   (default copies: 1 5; 5 is the real site's shape)

A bench-only generator writes target/bench-site/<copies>/site/: the ../shared/site snapshot (ATT&CK
16.1, its ATT&CK bundles included) with the capability pages the real site has and the snapshot lacks
(one per capability of every dataset, each regenerated from its mapping file's rows for that capability
on a real capability page of the same framework, or of one with the same columns, as template), plus
copies-1 replicas of all that under older real ATT&CK versions (15.1, 14.1, …), and the framework pages
of ../shared/site-frameworks once. 5 copies hold about as many mappings as the real site (66,000+). A
replica renames every `attack-16.1` path segment and rewrites what names the ATT&CK version inside the
files (links, badges, banner, the mapping files' metadata.attack_version, attack.mitre.org links), so
it builds into datasets of its own version with the same rows as 16.1; it has no ATT&CK bundle. Each
site is generated once and reused while its stamp names the same copies count and generator version.

For each copies count, builds the site 3 times and prints files, MB, capability pages read, rows read
(report.json totals), median wall time, max peak resident memory, MB/s, rows/s and the peak per copy;
then whether peak memory grows with the number of pages. Each build is checked: every version's
datasets and counts equal 16.1's, and every capability page was read as one. Nothing generated is committed: it lives under target/. Exits 0 with a note when
../shared/site is absent.
"""
import html
import json
import os
import re
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
GENERATOR_VERSION = 3
SNAPSHOT_VERSION = "16.1"
# Real ATT&CK releases older than the snapshot's: the newest of each major first, then the rest.
REPLICA_VERSIONS = ["15.1", "14.1", "13.1", "12.1", "11.3", "10.1", "9.0", "8.2", "7.2", "6.3",
                    "16.0", "15.0", "14.0", "13.0", "12.0", "11.2", "11.1", "11.0", "10.0", "8.1", "8.0"]
RUNS = 3
# The copies whose mappings are about the real site's (66,000+ in 33 datasets), and issue 23's goal for it.
REAL_SHAPE_COPIES = 5
REAL_SHAPE_GOAL = (5.0, 500)  # seconds, MiB


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


# Capability pages. The site's framework id differs from the mapping files' for NIST only.
SITE_FRAMEWORK = {"nist_800_53": "nist"}
# Frameworks whose capability pages the snapshot lacks borrow those of one with the same columns.
TEMPLATE_OF = {"gcp": "aws", "veris": "nist"}
LABEL = {"gcp": "GCP", "veris": "VERIS"}
DOMAIN_LABEL = {"enterprise": "Enterprise", "mobile": "Mobile", "ics": "ICS"}
HOST = "https://center-for-threat-informed-defense.github.io/mappings-explorer/"
PLAIN_COLUMNS = ("mapping_type", "score_category", "score_value")


class Template:
    """A real capability page of the snapshot, cut around its table's header and body rows."""

    def __init__(self, page):
        text = page.read_text()
        self.framework = page.parts[-6]
        self.prefix = "/".join(page.parts[-7:-2]) + "/"  # external/<fw>/attack-16.1/domain-…/<fw>-<v>/
        self.directory = page.parts[-2]
        self.version = page.parts[-3][len(self.framework) + 1:]
        self.capability_id = html.unescape(re.search(r'<span class="highlight">(.*?)</span></h1>', text)[1])
        self.label = re.search(r'<title>(.*) ' + re.escape(html.escape(self.capability_id)), text)[1]
        self.description = re.findall(r"<li>([^<]*)</li>", text.split("<!-- End Breadcrumbs -->")[0])[-1]
        self.head, rest = text.split("  <thead>", 1)
        thead, rest = rest.split("  <tbody>", 1)
        self.headers = re.findall(r"( *<th [^\n]*data-field=(\w+)[^\n]*\n[ \t]*\n)", thead)
        self.tail = rest[rest.index("  </tbody>"):]
        # The labels the template shows for mapping types (`Mitigates` for CRI's `mitigates`).
        self.shows_empty_references = '<div class="body"><ol></ol></div>' in rest
        self.labels = {label.lower(): label for label in re.findall(r"</td><td>([^<\n]+)</td>", rest)}

    def page(self, dataset, capability_id, description, rows):
        """The capability page of `capability_id` in `dataset`, with a row per mapping row."""
        framework, version, domain = dataset
        prefix = f"external/{framework}/attack-{SNAPSHOT_VERSION}/domain-{domain}/{framework}-{version}/"
        url = HOST + prefix + html.escape(capability_id.replace(" ", "_")) + "/"
        label = LABEL.get(framework, self.label)
        old_id, new_id = html.escape(self.capability_id), html.escape(capability_id)
        head = self.head.replace(self.prefix + self.directory + "/", prefix + capability_id.replace(" ", "_") + "/")
        for old, new in [
            (self.prefix, prefix),
            (f'external/{self.framework}/">{self.label} Home<', f'external/{framework}/">{label} Home<'),
            (f"{self.label} {self.version}.", f"{label} {version}."),
            ('ATT&CK Domain</span><span class="purple">Enterprise',
             f'ATT&CK Domain</span><span class="purple">{DOMAIN_LABEL[domain]}'),
            (f'class="white">{self.label}</span><span class="purple">{self.version}',
             f'class="white">{label}</span><span class="purple">{version}'),
            (f"{self.label} {old_id} - Mappings Explorer", f"{label} {new_id} - Mappings Explorer"),
            (f'> {self.label} <span class="highlight">{old_id}</span>', f'> {label} <span class="highlight">{new_id}</span>'),
            (f"<li>{self.description}</li>", f"<li>{html.escape(description)}</li>"),
        ]:
            head = head.replace(old, new)
        head = re.sub(r"(</h1>\n)[^\n]*", lambda m: m[1] + f"          <p>{html.escape(description)}</p>", head, count=1)
        noted = any(row.get("comments") or row.get("references") for row in rows)
        headers = "".join(line for line, field in self.headers if field != "Notes" or noted)
        plain = [field for _, field in self.headers if field in PLAIN_COLUMNS]
        body = "".join(self.row(url, domain, row, plain) for row in rows)
        return f"{head}  <thead>\n    <tr>\n{headers}      </tr>\n  </thead>\n  <tbody>\n  \n{body}{self.tail}"

    def row(self, url, domain, row, plain):
        """One table row, in the site's markup: linked capability and technique cells, plain cells
        between them, and a Notes cell when the row has comments or references."""
        technique = HOST + f"attack/attack-{SNAPSHOT_VERSION}/domain-{domain}/techniques/{row['attack_object_id']}/"

        def linked(href, text):
            return f'<td>\n              <a href="\n        {href}">\n                {html.escape(text)}\n              </a>\n            </td>'

        def shown(field):
            value = row.get(field)
            if field == "mapping_type" and value is not None:
                value = self.labels.get(value.lower(), value)
            return html.escape("None" if value is None else str(value))

        middle = "".join(f"<td>{shown(field)}</td>\n          " for field in plain) or "\n          "
        out = (f"      <tr>\n        {linked(url, row['capability_id'])}"
               f"{linked(url, row['capability_description'] or 'None')}{middle}"
               f"{linked(technique, row['attack_object_id'])}{linked(technique, row.get('attack_object_name') or 'None')}")
        comments, references = (row.get("comments") or "").strip(), row.get("references") or []
        if comments or references:
            # Comments go in unescaped, as the site writes them.
            parts = f'              <div class="title">Comments</div>\n                <div class="body">{comments}</div>\n'
            if references or self.shows_empty_references:
                links = "".join(f'<li><a href="{r}" target="_blank">{r}</a></li>' for r in references)
                parts += f'              <div class="title">References</div>\n                <div class="body"><ol>{links}</ol></div>\n'
            out += ('<td>\n          <div class="info-box-open" onclick="openInfoBox(this)">\n'
                    f'            <div class="info-box-content">\n{parts}'
                    '              </div>\n          </div>\n        </td>\n        </tr>\n    \n')
        else:
            out += "</tr>\n    \n"
        return out


def capability_pages(site, dest):
    """Writes into `dest` the capability page of every capability of every mapping file of `site`
    that the snapshot lacks: its rows are the file's mapped rows of that capability, in file order."""
    templates = {}
    for page in sorted(site.glob(f"external/*/attack-{SNAPSHOT_VERSION}/domain-enterprise/*/*/index.html")):
        templates.setdefault(page.parts[-6], Template(page))
    for mapping_file in sorted(site.glob(f"data/*/attack-{SNAPSHOT_VERSION}/*/*/*.json")):
        framework_dir, domain = mapping_file.parts[-3], mapping_file.parts[-2]
        file_framework = mapping_file.parts[-5]
        framework = SITE_FRAMEWORK.get(file_framework, file_framework)
        dataset = (framework, framework_dir[len(file_framework) + 1:], domain)
        template = templates[TEMPLATE_OF.get(framework, framework)]
        by_capability = {}  # capability id → (description, mapped rows)
        for row in json.loads(mapping_file.read_text())["mapping_objects"]:
            if row.get("capability_id") is None:
                continue
            _, rows = by_capability.setdefault(row["capability_id"], (row.get("capability_description"), []))
            if row.get("attack_object_id") and row.get("status") != "non_mappable":
                rows.append(row)
        for capability_id, (description, rows) in by_capability.items():
            relative = (f"external/{framework}/attack-{SNAPSHOT_VERSION}/domain-{domain}/{framework}-{dataset[1]}/"
                        f"{capability_id.replace(' ', '_')}/index.html")
            if (site / relative).exists():
                continue
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(template.page(dataset, capability_id, description or capability_id, rows))


def generate(copies, dest):
    """The snapshot with every capability page, copies-1 replicas of it under older ATT&CK versions,
    and the framework pages."""
    if copies - 1 > len(REPLICA_VERSIONS):
        sys.exit(f"at most {len(REPLICA_VERSIONS) + 1} copies: one per ATT&CK version")
    shutil.rmtree(dest, ignore_errors=True)
    write_copy(FRAMEWORK_PAGES, dest, SNAPSHOT_VERSION)
    with tempfile.TemporaryDirectory(dir=WORK) as generated:
        capability_pages(SITE, Path(generated))
        for version in [SNAPSHOT_VERSION, *REPLICA_VERSIONS[: copies - 1]]:
            write_copy(SITE, dest, version)
            write_copy(Path(generated), dest, version)


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


def check_replicas(report, site, copies):
    """Exits unless the build has the datasets of every copy's version, each with 16.1's counts and
    cross-checks of its sources (mapping ids, which name the version, left out), and read every
    capability page of `site` as one."""
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
    # external/<fw>/attack-<v>/domain-<d>/<fw>-<version>/<capability, where `/` stays a folder>/index.html
    capability_pages = sum(1 for page in site.glob("external/*/*/*/*/*/**/index.html"))
    read = report["inputs"]["by_kind"].get("capability_page", 0)
    if read != capability_pages:
        sys.exit(f"{read} capability pages read, the site has {capability_pages}")
    rejected = report["totals"]["rejected_rows"]
    if rejected % copies:
        sys.exit(f"{rejected} rejected rows: not the same number in every copy")


def bench(binary, copies):
    """Builds the site RUNS times; returns (files, MB, capability pages, rows read, median seconds,
    max peak MiB)."""
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
    check_replicas(report, site, copies)
    capability_pages = report["inputs"]["by_kind"].get("capability_page", 0)
    return (len(sizes), sum(sizes) / 1e6, capability_pages, report["totals"]["rows_read"], statistics.median(walls),
            max(peaks))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = str(Path(sys.argv[1]).resolve())
    counts = [int(c) for c in sys.argv[2:]] or [1, REAL_SHAPE_COPIES]
    if not SITE.is_dir() or not FRAMEWORK_PAGES.is_dir():
        print(f"bench-site skipped: {SITE} or {FRAMEWORK_PAGES} is absent")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"whole site: the 16.1 snapshot with every capability page + replicas under older ATT&CK versions, {os.cpu_count()} cores, "
          f"{RUNS} runs each")
    print(f"{'copies':>6} {'files':>6} {'MB':>6} {'cap.pages':>9} {'rows read':>10} {'wall s':>7} {'peak MiB':>9} "
          f"{'MB/s':>6} {'rows/s':>8} {'MiB/copy':>9}")
    peaks = {}
    for copies in counts:
        files, megabytes, capability_pages, rows, seconds, peak = bench(binary, copies)
        peaks[copies] = peak
        print(f"{copies:>6} {files:>6} {megabytes:>6.0f} {capability_pages:>9} {rows:>10} {seconds:>7.2f} {peak:>9.0f} "
              f"{megabytes / seconds:>6.0f} {rows / seconds:>8.0f} {peak / copies:>9.0f}")
        if copies == REAL_SHAPE_COPIES:
            goal_seconds, goal_mib = REAL_SHAPE_GOAL
            met = seconds <= goal_seconds and peak <= goal_mib
            print(f"{'':>6} the real site's shape: goal <= {goal_seconds:.0f} s, <= {goal_mib} MiB: "
                  f"{'met' if met else 'NOT met'} (wall is the median, on a machine doing nothing else)")
    fewest, most = min(peaks), max(peaks)
    if most > fewest:
        ratio = peaks[most] / peaks[fewest]
        print(f"{most / fewest:.0f}x the pages and the datasets: {ratio:.2f}x the peak ({peaks[fewest]:.0f} MiB with "
              f"{fewest}, {peaks[most]:.0f} MiB with {most} copies); pages are reduced to their cross-check as they "
              f"are read, so what grows is the table of mappings the outputs are written from")


if __name__ == "__main__":
    main()
