#!/usr/bin/env python3
"""Independent check of attackmap's STIX bundles and Navigator layers with the reference clients.

Usage: check_outputs.py OUT_DIR [OUT_DIR...]

For every OUT_DIR/stix/*.json (a STIX 2.1 bundle):
  - stix2-validator (version 2.1, non-strict) must report no error, and no warning except
      {103} uuid-check           attackmap's ids are UUIDv5 (deterministic), the spec prefers v4;
                                 allowed only when the id really is a version-5 UUID;
      {202} relationship-types   only for the custom relationship words in ALLOWED_CUSTOM_RELATIONSHIPS;
    checks 302 (extref-hashes) and 401 (extensions-use) are disabled, see DISABLED_CHECKS, and
    103 is enabled explicitly, see ENABLED_CHECKS;
  - every *_ref / *_refs value, at any depth, must be the id of an object of the same bundle,
    and no id may occur twice.
For every OUT_DIR/navigator/*.json (one layer, a JSON object):
  - mitreattack-python's Layer().from_file() must load it without raising and without printing
    anything or emitting a warning;
  - Layer.to_dict() must keep the same techniques and the same score for each of them.

Prints one line per file and closes with "N passed, M failed"; exits 1 when a file failed or when
no file was found at all.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

try:
    from mitreattack.navlayers import Layer
    from stix2validator import ValidationOptions, validate_file
except ImportError as exc:  # run outside the checker's virtualenv
    sys.exit(f"check_outputs.py: {exc}; install scripts/requirements-check.txt (make check-outputs does)")

# Non-standard relationship_type words attackmap writes on purpose (the profile: security-stack
# "detect" capabilities `detects` ATT&CK techniques, the word ATT&CK itself uses).
ALLOWED_CUSTOM_RELATIONSHIPS = {"detects"}

# SHOULD-checks that cannot pass by design, for our objects and for ATT&CK's own alike:
#   302 extref-hashes   external references with a url SHOULD have hashes (web pages have none);
#   401 extensions-use  custom properties SHOULD be extension definitions: ours are, but ATT&CK's
#                       own objects, included unchanged, carry MITRE's x_mitre_* properties.
DISABLED_CHECKS = ["extref-hashes", "extensions-use"]
# With any check disabled, stix2-validator 3.3.x builds its SHOULD list by hand and leaves out 103
# uuid-check; enable it again so that our ids are seen to be UUIDv5. Disabling 401 makes the
# validator run 101 custom-prefix (x_<source>_<name>) instead, which MITRE's x_mitre_* names pass.
ENABLED_CHECKS = ["uuid-check"]

# stix2-validator 3.3.x warning texts (v21/shoulds.py), as "<object id>: {code} message".
UUID_WARNING = re.compile(r"\{103\} Given ID value (?P<id>\S+) is not a valid UUIDv4 ID\.$")
RELATIONSHIP_WARNINGS = (
    # relationship type unknown for the source type
    re.compile(r"\{202\} '(?P<rel>[^']+)' is permitted, but not a suggested relationship type for '[^']+' objects\.$"),
    # source type has no suggested relationships
    re.compile(r"\{202\} '[^']+' is permitted, but not a suggested relationship source object for the '(?P<rel>[^']+)' relationship\.$"),
    # target type not suggested for this source and relationship
    re.compile(
        r"\{202\} '[^']+' is permitted, but not a suggested relationship target object for '[^']+' objects "
        r"with the '(?P<rel>[^']+)' relationship\.$"
    ),
)


def allowed_warning(message: str) -> bool:
    """True when a stix2-validator warning is one attackmap expects."""
    m = UUID_WARNING.search(message)
    if m:
        try:
            return uuid.UUID(m.group("id").split("--", 1)[1]).version == 5
        except (IndexError, ValueError):
            return False
    for pattern in RELATIONSHIP_WARNINGS:
        m = pattern.search(message)
        if m:
            return m.group("rel") in ALLOWED_CUSTOM_RELATIONSHIPS
    return False


def walk_refs(value, path: str):
    """Yield (path, ref) for every *_ref / *_refs value at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}"
            if key.endswith("_ref"):
                yield here, item
            elif key.endswith("_refs"):
                if isinstance(item, list):
                    for i, ref in enumerate(item):
                        yield f"{here}[{i}]", ref
                else:
                    yield here, item
            else:
                yield from walk_refs(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_refs(item, f"{path}[{i}]")


def check_stix(path: Path) -> tuple[list[str], str]:
    """Return (problems, summary) for one bundle."""
    problems: list[str] = []
    options = ValidationOptions(
        version="2.1", strict=False, disabled=list(DISABLED_CHECKS), enabled=list(ENABLED_CHECKS)
    )
    result = validate_file(str(path), options)
    if result.fatal:
        problems.append(f"validator: fatal: {getattr(result.fatal, 'error', result.fatal)}")
    allowed = 0
    for obj in result.object_results:
        for err in obj.errors:
            problems.append(f"validator error: {err}")
        for warning in obj.warnings:
            if allowed_warning(str(warning)):
                allowed += 1
            else:
                problems.append(f"validator warning: {warning}")
    if not result.is_valid and not problems:
        problems.append("validator: not valid")

    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return problems + [f"cannot read JSON: {exc}"], ""
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        return problems + ["not a bundle with an objects list"], ""
    ids: set[str] = set()
    for obj in objects:
        oid = obj.get("id") if isinstance(obj, dict) else None
        if oid in ids:
            problems.append(f"duplicate id {oid}")
        ids.add(oid)
    refs = 0
    for i, obj in enumerate(objects):
        label = obj.get("id", f"objects[{i}]") if isinstance(obj, dict) else f"objects[{i}]"
        for where, ref in walk_refs(obj, ""):
            refs += 1
            if not isinstance(ref, str) or ref not in ids:
                problems.append(f"dangling reference {label}{where} = {ref!r}")
    return problems, f"{len(objects)} objects, {refs} references, {allowed} expected warnings"


@contextlib.contextmanager
def captured_output():
    """Capture everything written to stdout/stderr (Python objects and file descriptors 1 and 2)
    and every warnings.warn(); yields a list that receives (text, warning messages) on exit."""
    out: list = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as sink, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        buffer = io.StringIO()
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                yield out
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            text = buffer.getvalue() + sink.read().decode("utf-8", "replace")
            out.extend([text, [f"{w.category.__name__}: {w.message}" for w in caught]])


def technique_scores(techniques) -> dict:
    """(techniqueID, tactic) -> score (None when unscored)."""
    return {(t.get("techniqueID"), t.get("tactic")): t.get("score") for t in techniques or []}


def check_layer(path: Path) -> tuple[list[str], str]:
    """Return (problems, summary) for one layer."""
    problems: list[str] = []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"cannot read JSON: {exc}"], ""
    if not isinstance(data, dict):
        return ["top level is not a JSON object (attackmap writes one layer per file)"], ""
    techniques = data.get("techniques") or []
    for t in techniques:
        score = t.get("score")
        if "score" in t and (isinstance(score, bool) or not isinstance(score, (int, float))):
            problems.append(f"{t.get('techniqueID')}: score {score!r} is not a JSON number")

    loaded = None
    with captured_output() as captured:
        try:
            layer = Layer()
            layer.from_file(str(path))
            loaded = layer.to_dict()
        except Exception as exc:  # noqa: BLE001 - any exception is a failed load
            problems.append(f"mitreattack-python raised {type(exc).__name__}: {exc}")
    text, caught = captured
    if text.strip():
        problems.append("mitreattack-python printed: " + text.strip().replace("\n", "\n      "))
    problems.extend(f"mitreattack-python warned: {w}" for w in caught)
    if not isinstance(loaded, dict):
        if not problems:
            problems.append("mitreattack-python loaded nothing")
        return problems, ""

    expected = technique_scores(techniques)
    got = technique_scores(loaded.get("techniques"))
    if len(techniques) != len(loaded.get("techniques") or []):
        problems.append(f"{len(techniques)} technique entries in the file, {len(loaded.get('techniques') or [])} loaded")
    want_ids = {k[0] for k in expected}
    got_ids = {k[0] for k in got}
    if want_ids != got_ids:
        problems.append(
            f"techniqueIDs differ: lost {sorted(want_ids - got_ids, key=str)}, gained {sorted(got_ids - want_ids, key=str)}"
        )
    for key, score in expected.items():
        if key in got and (got[key] != score or isinstance(got[key], bool) != isinstance(score, bool)):
            tid, tactic = key
            where = f"{tid}" + (f" ({tactic})" if tactic else "")
            problems.append(f"{where}: score {score!r} in the file, {got[key]!r} after loading")
    return problems, f"{len(techniques)} techniques"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or any(a in ("-h", "--help") for a in argv[1:]):
        print(__doc__.strip())
        return 2
    files: list[tuple[str, Path]] = []
    for out_dir in argv[1:]:
        root = Path(out_dir)
        files += [("stix", p) for p in sorted((root / "stix").glob("*.json"))]
        files += [("navigator", p) for p in sorted((root / "navigator").glob("*.json"))]
    if not files:
        print(f"no outputs found under {', '.join(argv[1:])} (looked for stix/*.json and navigator/*.json)")
        return 1

    passed = failed = 0
    for kind, path in files:
        try:
            problems, summary = check_stix(path) if kind == "stix" else check_layer(path)
        except Exception as exc:  # noqa: BLE001 - a crash on one file is that file's failure
            problems, summary = [f"checker crashed: {type(exc).__name__}: {exc}"], ""
        if problems:
            failed += 1
            print(f"FAIL {path}")
            for problem in problems:
                print(f"    {problem}")
        else:
            passed += 1
            print(f"ok   {path} ({summary})")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
