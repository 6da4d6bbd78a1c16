#!/usr/bin/env python3
"""Proves `attackmap publish-taxii` against a real TAXII 2.1 server, OASIS's medallion (memory backend).

The script starts medallion itself on 127.0.0.1 on a free port, with a config written into a temp dir:
one user with a password, one API root whose max_content_length is small enough that the fixtures'
objects need several envelopes, one collection that can be read and written, and a page size small
enough that the manifest and the objects come in several pages. medallion runs as its own CLI does
(`medallion.load_app` then `app.run`), its WSGI app wrapped by a recorder that writes each request
(method, path, Accept, Content-Type, Content-Length, status, and the body of every error and of every
POST's status resource) to a log, so that a failure says exactly what the server answered. The server
is always stopped at the end; a server that does not come up is a failure, not a skip.

Then, in temp dirs, with the binary given by --bin:

1. night 1: `refresh --offline` over copies of the mapping files (run date 2026-01-05), then
   publish-taxii of out/stix/: every distinct object version (id + modified) posted, 0 skipped, in
   several envelopes all accepted (202); read back with taxii2-client (get_objects and get_manifest,
   every page, every version): the collection lists each object of the bundles exactly once, as bundled;
2. night 2: one capability's description reworded (every row of the first row's capability_id), refresh
   (2026-01-06), publish: only the versions that are new since night 1 posted, the rest skipped; the
   capability's id has two versions (manifest, get_object with match[version]=all, versions endpoint),
   the newest modified 2026-01-06T00:00:00.000Z and named with the new text;
3. the same again: 0 posted, the collection unchanged;
4. a wrong password: exit 1, the output says 401, nothing posted;
5. a user without a password (exit 2, naming ATTACKMAP_TAXII_PASSWORD) and a directory without any bundle
   (exit 1): neither sends a request.

Prints one line per check and the numbers posted by each publish; exits 1 with every failure listed,
0 when all hold.
"""

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from checks import check, fail, ok, summary

API_ROOT = "attackmap"
COLLECTION = "8a1f0c52-3a7e-4c2b-9d55-6f0b7e2c4a10"
USER = "publisher"
MEDIA_TYPE = "application/taxii+json;version=2.1"
PAGE_SIZE = 5  # medallion's max_page_size: the fixtures' manifest takes several pages
NIGHT_2 = "2026-01-06T00:00:00.000Z"
START_TIMEOUT = 30  # seconds for medallion to answer
PUBLISH_TIMEOUT = 300

numbers = {}  # objects posted by each publish: first, second, third


# --- the server ----------------------------------------------------------------------------------


class Recorder:
    """WSGI middleware: one JSON line per request, with what the server answered."""

    def __init__(self, app, log):
        self.app = app
        self.log = log

    def write(self, entry):
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    def __call__(self, environ, start_response):
        entry = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING", ""),
            "accept": environ.get("HTTP_ACCEPT"),
            "content_type": environ.get("CONTENT_TYPE"),
            "content_length": environ.get("CONTENT_LENGTH"),
            "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING"),
            "user": None,
        }
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if authorization.startswith("Basic "):
            try:
                entry["user"] = base64.b64decode(authorization[6:]).decode().split(":", 1)[0]
            except ValueError:
                entry["user"] = "(undecodable)"
        answered = {}

        def recording_start_response(status, headers, exc_info=None):
            answered["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        try:
            body = b"".join(self.app(environ, recording_start_response))
        except Exception as error:
            entry.update(status=500, body=root_cause(error))
            self.write(entry)
            raise
        entry["status"] = answered.get("status")
        if entry["status"] is None or entry["status"] >= 400:
            entry["body"] = body.decode("utf-8", "replace")[:4000]
        elif entry["method"] == "POST":  # the status resource: its counts and the objects it refused
            status = json.loads(body)
            entry["body"] = {k: status.get(k) for k in ("status", "success_count", "failure_count", "failures")}
        self.write(entry)
        return [body]


def root_cause(error):
    """An exception and those it was raised while handling, innermost first, each with where it was raised:
    medallion's own 500 handler fails (IndexError), hiding the error behind it."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} `{frames[-1].line}`" if frames else ""
        chain.append(f"{type(error).__name__}: {error}{where}")
        error = getattr(error, "original_exception", None) or error.__cause__ or error.__context__
    return " <- ".join(reversed(chain))


def serve(config, port, log):
    """medallion's CLI (medallion.scripts.run), with the recorder around its app."""
    from medallion import load_app

    app = load_app(config)
    app.wsgi_app = Recorder(app.wsgi_app, log)
    app.run(host="127.0.0.1", port=port)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(work, base, password, max_content_length):
    data = {
        "/discovery": {
            "title": "attackmap check-taxii",
            "description": "medallion for scripts/check_taxii.py",
            "default": f"{base}/{API_ROOT}/",
            "api_roots": [f"{base}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "attackmap mappings",
                "description": "ATT&CK mappings published by attackmap",
                "versions": [MEDIA_TYPE],
                "max_content_length": max_content_length,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "ATT&CK mappings",
                    "description": "read and written by check-taxii",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (work / "data.json").write_text(json.dumps(data, indent=2))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(work / "data.json"),
        },
        "users": {USER: password},
        "taxii": {"max_page_size": PAGE_SIZE},
    }
    (work / "medallion.json").write_text(json.dumps(config, indent=2))
    return work / "medallion.json"


class Server:
    """medallion in a child process: started, waited for (bounded), always stopped."""

    def __init__(self, work, password, max_content_length):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_root = f"{self.base}/{API_ROOT}/"
        self.password = password
        self.requests = work / "requests.jsonl"
        self.output = work / "medallion.log"
        self.config = write_config(work, self.base, password, max_content_length)
        self.process = None

    def __enter__(self):
        with open(self.output, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(self.config), "--port", str(self.port),
                 "--requests", str(self.requests)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        return self

    def wait_ready(self):
        """True once GET /taxii2/ answers 200, within START_TIMEOUT seconds."""
        token = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.base}/taxii2/", headers={"Accept": MEDIA_TYPE, "Authorization": f"Basic {token}"}
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        return False

    def log_tail(self, lines=20):
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def mark(self):
        """Where the request log stands: requests() since then are one step's."""
        return len(self.entries())

    def entries(self):
        if not self.requests.exists():
            return []
        return [json.loads(line) for line in self.requests.read_text().splitlines() if line.strip()]

    def since(self, mark):
        return self.entries()[mark:]

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return False


# --- attackmap -------------------------------------------------------------------------------------


def run(command, env=None, timeout=PUBLISH_TIMEOUT):
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def refresh(binary, raw, out, run_date):
    code, output = run([binary, "refresh", "--offline", "--raw", str(raw), "--out", str(out),
                        "--run-date", run_date], timeout=600)
    check(code == 0, f"refresh --run-date {run_date} exits 0", f"exit {code}:\n{output[-3000:]}")
    return code == 0


def publish(binary, server, out, password, what):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTACKMAP_TAXII_")}
    env.update(ATTACKMAP_TAXII_USER=USER, ATTACKMAP_TAXII_PASSWORD=password,
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    mark = server.mark()
    code, output = run([binary, "publish-taxii", "--api-root", server.api_root, "--collection", COLLECTION,
                        str(out / "stix")], env=env)
    requests = server.since(mark)
    posted = re.search(r"posted (\d+)", output)
    skipped = re.search(r"skipped (\d+)", output)
    posted = int(posted.group(1)) if posted else None
    skipped = int(skipped.group(1)) if skipped else None
    summary = [line for line in output.splitlines() if "posted" in line]
    print(f"  {what}: exit {code}, {summary[-1].strip() if summary else 'no line with posted N'}; "
          f"{describe(requests)}")
    return code, output, posted, skipped, requests


def describe(requests):
    counts = Counter(f"{r['method']} {r['path'].rstrip('/').rsplit('/', 1)[-1] or '/'} {r['status']}"
                     for r in requests)
    return "server saw " + (", ".join(f"{n}x {k}" for k, n in sorted(counts.items())) or "no request")


def errors(requests):
    """The requests the server refused, with what it answered."""
    return [f"{r['method']} {r['path']}{'?' + r['query'] if r['query'] else ''} -> {r['status']} "
            f"(Accept {r['accept']!r}, Content-Type {r['content_type']!r}, Content-Length "
            f"{r['content_length']!r}): {r.get('body', '').strip()[:1000]}"
            for r in requests if r["status"] is None or r["status"] >= 400]


def rejected(requests):
    """Objects a 202 status resource lists as failures."""
    found = []
    for r in requests:
        if r["method"] == "POST" and r["status"] == 202:
            status = r["body"]
            found += [f"{f.get('id')} {f.get('version')}: {f.get('message')}" for f in status.get("failures") or []]
    return found


def check_publish(result, what, expect_posted, expect_skipped):
    code, output, posted, skipped, requests = result
    check(code == 0, f"{what}: publish-taxii exits 0", f"exit {code}:\n{output[-3000:]}")
    check(posted == expect_posted and skipped == expect_skipped,
          f"{what}: posted {posted}, skipped {skipped}", f"expected posted {expect_posted}, skipped {expect_skipped}")
    refused = errors(requests)
    check(not refused, f"{what}: the server refused no request", "\n    ".join(refused))
    failed = rejected(requests)
    check(not failed, f"{what}: the server rejected no object", "\n    ".join(failed))
    posts = [r for r in requests if r["method"] == "POST"]
    media = {(r["accept"], r["content_type"]) for r in posts}
    if posts:
        check(media == {(MEDIA_TYPE, MEDIA_TYPE)} or all(
            (a or "").replace(" ", "") == MEDIA_TYPE and (c or "").replace(" ", "") == MEDIA_TYPE for a, c in media),
            f"{what}: envelopes sent as {MEDIA_TYPE}", f"(Accept, Content-Type) sent: {sorted(media, key=str)}")
    return posts


# --- the bundles and the collection ---------------------------------------------------------------


def version_of(obj):
    return obj["id"], obj.get("modified", obj.get("created"))


def bundled(out):
    """Every distinct object version of out/stix/*.json: {(id, version): object}."""
    objects = {}
    for path in sorted((out / "stix").glob("*.json")):
        for obj in json.loads(path.read_text())["objects"]:
            objects.setdefault(version_of(obj), obj)
    return objects


def compact_size(obj):
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def read_collection(server, password, types):
    """The collection's objects of these types and its whole manifest, through taxii2-client, every page."""
    from taxii2client.v21 import ApiRoot, as_pages

    root = ApiRoot(server.api_root, user=USER, password=password)
    collection = next(c for c in root.collections if c.id == COLLECTION)
    objects, manifest, pages = [], [], Counter()
    for envelope in as_pages(collection.get_objects, per_request=PAGE_SIZE, version="all", type=sorted(types)):
        objects += envelope.get("objects", [])
        pages["objects"] += 1
    for envelope in as_pages(collection.get_manifest, per_request=PAGE_SIZE, version="all"):
        manifest += envelope.get("objects", [])
        pages["manifest"] += 1
    return root, collection, objects, manifest, pages


def check_collection(server, password, expected, what):
    """The collection lists each expected object version exactly once, with the bundles' content.

    medallion 3.0.0's memory backend takes an object's own `version` property (an extension-definition
    has one: STIX requires it) for the TAXII version of the object: any Get Objects whose result holds
    such an object answers 500 (`time data '1.0.0' does not match format`). Objects of those types are
    read back through the manifest only; every other type through get_objects, filtered by type."""
    unreadable = sorted({o["type"] for o in expected.values() if "version" in o})
    readable = {k: o for k, o in expected.items() if o["type"] not in unreadable}
    root, collection, objects, manifest, pages = read_collection(
        server, password, {o["type"] for o in readable.values()})
    listed = Counter(version_of(o) for o in objects)
    manifested = Counter((m["id"], m["version"]) for m in manifest)
    print(f"  {what}: get_objects gives {len(objects)} objects ({pages['objects']} pages), get_manifest "
          f"{len(manifest)} records ({pages['manifest']} pages)"
          + (f"; {', '.join(unreadable)} through the manifest only (medallion cannot serve an object with a "
             "`version` property)" if unreadable else ""))
    twice = sorted(k for k, n in listed.items() if n > 1)
    missing = sorted(set(readable) - set(listed))
    extra = sorted(set(listed) - set(readable))
    check(not twice and not missing and not extra,
          f"{what}: get_objects lists each of the {len(readable)} object versions of those types exactly once",
          f"twice {twice[:5]}, missing {missing[:5]}, not bundled {extra[:5]}")
    twice = sorted(k for k, n in manifested.items() if n > 1)
    missing = sorted(set(expected) - set(manifested))
    extra = sorted(set(manifested) - set(expected))
    check(not twice and not missing and not extra,
          f"{what}: get_manifest lists each of the {len(expected)} object versions exactly once",
          f"twice {twice[:5]}, missing {missing[:5]}, not bundled {extra[:5]}")
    differ = sorted(version_of(o)[0] for o in objects
                    if version_of(o) in readable and o != readable[version_of(o)])
    check(not differ, f"{what}: every object read back is the bundled object", f"differ: {differ[:5]}")
    return root, collection


def reword(mapping_file, text):
    """Every row of the first row's capability gets a new description: (capability_id, old text)."""
    document = json.loads(mapping_file.read_text())
    rows = document["mapping_objects"]
    capability = rows[0]["capability_id"]
    old = rows[0]["capability_description"]
    for row in rows:
        if row["capability_id"] == capability:
            row["capability_description"] = text
    mapping_file.write_text(json.dumps(document))
    return capability, old


def capability_object(objects, capability):
    for (id_, _), obj in objects.items():
        refs = obj.get("external_references") or []
        if obj["type"] in ("course-of-action", "vulnerability", "attack-pattern") and any(
            r.get("external_id") == capability for r in refs
        ):
            yield id_


# --- the scenario ----------------------------------------------------------------------------------


def scenario(binary, sources, work):
    raw, out = work / "raw", work / "out"
    raw.mkdir(parents=True)
    for source in sources:
        shutil.copy(source, raw / source.name)

    code, output = run([binary, "publish-taxii", "--help"])
    check(code == 0 and "--password" not in output and "--user" not in output,
          "publish-taxii has no credential flag (basic auth from the environment only)", output[-1000:])

    print("night 1: refresh 2026-01-05, publish")
    if not refresh(binary, raw, out, "2026-01-05"):
        return
    night1 = bundled(out)
    sizes = [compact_size(o) for o in night1.values()]
    # Small enough that the bundles need several envelopes, large enough for any one object.
    max_content_length = max(sum(sizes) // 4, 2 * max(sizes) + 512)
    print(f"  {len(night1)} distinct object versions in {out / 'stix'}, {sum(sizes)} bytes; "
          f"largest {max(sizes)}; max_content_length {max_content_length}")

    password = secrets.token_urlsafe(16)
    server_dir = work / "medallion"
    server_dir.mkdir()
    with Server(server_dir, password, max_content_length) as server:
        from medallion.version import __version__ as medallion_version
        from taxii2client.version import __version__ as client_version

        up = server.wait_ready()
        check(up, f"medallion {medallion_version} answers on {server.base} (memory backend)",
              (f"it exited ({server.process.returncode})" if server.process.poll() is not None
               else f"not within {START_TIMEOUT}s") + f"; its output:\n{server.log_tail()}")
        if not up:
            return
        print(f"  taxii2-client {client_version}; API root {server.api_root}, collection {COLLECTION}, "
              f"page size {PAGE_SIZE}")

        result = publish(binary, server, out, password, "publish 1")
        numbers["first"] = result[2]
        posts = check_publish(result, "publish 1", len(night1), 0)
        check(len(posts) >= 2 and all(r["status"] == 202 for r in posts),
              f"publish 1: {len(posts)} envelopes, each accepted (202), each within max_content_length",
              "; ".join(f"{r['status']} Content-Length {r['content_length']}" for r in posts))
        largest = max((int(r["content_length"] or 0) for r in posts), default=0)
        check(largest <= max_content_length, f"publish 1: largest envelope {largest} bytes <= {max_content_length}")
        check_collection(server, password, night1, "after publish 1")

        print("night 2: one capability reworded, refresh 2026-01-06, publish")
        text = "Reworded on 2026-01-06 by check-taxii"
        capability, old = reword(raw / sources[0].name, text)
        print(f"  {capability}: {old!r} -> {text!r}")
        if not refresh(binary, raw, out, "2026-01-06"):
            return
        night2 = bundled(out)
        new = sorted(set(night2) - set(night1))
        gone = sorted(set(night1) - set(night2))
        print(f"  {len(night2)} object versions; new since night 1: {new}; no longer bundled: {gone}")
        ids = sorted(set(capability_object(night2, capability)))
        changed = [v for v in new if v[0] in ids and v[1] == NIGHT_2]
        if not check(len(ids) == 1 and len(changed) == 1,
                     f"the bundles give {capability} a new version modified {NIGHT_2}",
                     f"capability ids {ids}, new versions {new}"):
            return
        capability_id = ids[0]

        result = publish(binary, server, out, password, "publish 2")
        numbers["second"] = result[2]
        check_publish(result, "publish 2", len(new), len(night2) - len(new))
        both = dict(night1)
        both.update(night2)
        _, collection = check_collection(server, password, both, "after publish 2")

        manifest = [m for page in _pages(collection.get_manifest, id=capability_id, version="all")
                    for m in page.get("objects", [])]
        expected = sorted(v for i, v in both if i == capability_id)
        versions = sorted(m["version"] for m in manifest)
        check(versions == expected, f"the manifest lists the 2 versions of {capability_id}: {expected}",
              f"found {versions}")
        envelope = collection.get_object(capability_id, version="all")
        found = sorted(envelope.get("objects", []), key=lambda o: o["modified"])
        check([o["modified"] for o in found] == expected,
              f"get_object {capability_id} match[version]=all returns both versions",
              f"returned {[o['modified'] for o in found]}")
        listed = collection.object_versions(capability_id).get("versions", [])
        check(sorted(listed) == expected, f"the versions endpoint lists both versions of {capability_id}",
              f"found {listed}")
        newest = [o for o in found if o["modified"] == NIGHT_2]
        check(len(newest) == 1 and text in (newest[0].get("name"), newest[0].get("description")),
              f"the newest version ({NIGHT_2}) has the new text", json.dumps(found)[:1500])
        older = [o for o in found if o["modified"] != NIGHT_2]
        check(len(older) == 1 and text not in (older[0].get("name"), older[0].get("description")),
              f"the older version ({expected[0]}) keeps the old text", json.dumps(found)[:1500])

        print("night 3: nothing changed, publish again")
        result = publish(binary, server, out, password, "publish 3")
        numbers["third"] = result[2]
        posts = check_publish(result, "publish 3", 0, len(night2))
        print(f"  publish 3 sent {len(posts)} POST requests")
        check_collection(server, password, both, "after publish 3")

        print("a wrong password")
        result = publish(binary, server, out, password + "-wrong", "publish 4")
        code, output, _, _, requests = result
        check(code == 1, "wrong password: publish-taxii exits 1", f"exit {code}:\n{output[-2000:]}")
        check("401" in output, "wrong password: the output says 401", output[-2000:])
        check(requests and all(r["status"] == 401 for r in requests),
              "wrong password: the server answered 401 to every request, accepted nothing",
              "; ".join(f"{r['method']} {r['path']} {r['status']}" for r in requests) or "no request")
        check_collection(server, password, both, "after the wrong password")

        print("a user without a password; a directory without any bundle")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATTACKMAP_TAXII_")}
        env.update(ATTACKMAP_TAXII_USER=USER, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        mark = server.mark()
        command = [binary, "publish-taxii", "--api-root", server.api_root, "--collection", COLLECTION]
        code, output = run(command + [str(out / "stix")], env=env)
        check(code == 2 and "ATTACKMAP_TAXII_PASSWORD is not" in output,
              "a user without a password: exit 2, the output names ATTACKMAP_TAXII_PASSWORD", f"exit {code}:\n{output}")
        empty = work / "no-bundles"
        empty.mkdir()
        env.update(ATTACKMAP_TAXII_PASSWORD=password)
        code, output = run(command + [str(empty)], env=env)
        check(code == 1 and "no STIX bundle" in output, "a directory without any bundle: exit 1",
              f"exit {code}:\n{output}")
        check(not server.since(mark), "neither sent a request", describe(server.since(mark)))


def _pages(func, **filters):
    from taxii2client.v21 import as_pages

    return as_pages(func, per_request=PAGE_SIZE, **filters)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", help="the attackmap binary")
    parser.add_argument("--mapping-files", type=Path, nargs="+",
                        default=sorted(Path("tests/fixtures/mapping-files").glob("*.json")))
    parser.add_argument("--keep", type=Path, help="work in this directory (emptied first) and leave it")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requests", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.requests)
        return 0
    if not args.bin:
        parser.error("--bin is required")
    binary = str(Path(args.bin).resolve())
    sources = [p.resolve() for p in args.mapping_files]
    if not sources:
        sys.exit("no mapping files to publish")

    print(f"publish-taxii against medallion, over {len(sources)} mapping file(s)")
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        work = args.keep.resolve()
        _guarded(binary, sources, work)
    else:
        with tempfile.TemporaryDirectory(prefix="check-taxii-") as tmp:
            _guarded(binary, sources, Path(tmp))
    print("objects posted: first publish {}, second {}, third {}".format(
        *(numbers[k] if numbers.get(k) is not None else "-" for k in ("first", "second", "third"))))
    return summary("TAXII")


def _guarded(binary, sources, work):
    try:
        scenario(binary, sources, work)
    except Exception as error:  # noqa: BLE001 - an unexpected error is a failure, listed with the rest
        traceback.print_exc()
        fail(f"the scenario stopped: {type(error).__name__}: {error}")


if __name__ == "__main__":
    sys.exit(main())
