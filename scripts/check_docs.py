#!/usr/bin/env python3
"""Runs the runnable blocks of README.md and docs/*.md against the sample, and checks their links.

A fenced block whose info string is exactly `sh runnable` runs; other blocks are shown only. Each
runnable block runs with `bash -euo pipefail` in a fresh temporary directory holding a copy of the
project's raw/ (and attackmap.example.toml when it exists), with the directory of --bin first on
PATH, so a block calls plain `attackmap`. Every relative link [text](path) must point at a file that
exists, and a `#anchor` at a heading of that file.

Prints `ok  <file>:<line>` or `FAIL <file>:<line>` (with the block's stderr) per block and per bad
link. Exits 1 on any failure, or when no runnable block is found; 0 otherwise. Python 3 stdlib only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNABLE = "sh runnable"
TIMEOUT = 300  # seconds per block
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
LINK = re.compile(r"(?<!!)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
INLINE_CODE = re.compile(r"(`+).*?\1")


def doc_files(root):
    """README.md and docs/*.md, in a stable order."""
    files = [root / "README.md"] if (root / "README.md").exists() else []
    return files + sorted((root / "docs").glob("*.md"))


def parse(path):
    """The fenced blocks of a Markdown file, as (info, first line number, body), and its prose lines
    (outside fences) as (line number, text)."""
    blocks, prose = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    fence = None  # (indent, marker, info, start line, body lines)
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                indent, marker, info = match.groups()
                fence = (len(indent), marker, info.strip(), number, [])
            else:
                prose.append((number, line))
            continue
        indent, marker, info, start, body = fence
        if match and match.group(2).startswith(marker) and match.group(2)[0] == marker[0] \
                and not match.group(3).strip():
            blocks.append((info, start, textwrap.dedent("\n".join(body)) + "\n"))
            fence = None
        else:
            body.append(line[indent:] if line[:indent].isspace() else line)
    if fence is not None:
        blocks.append((fence[2], fence[3], None))  # never closed
    return blocks, prose


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor a file's headings give, with GitHub's -1, -2 … for repeats."""
    seen, found = {}, set()
    _, prose = parse(path)
    for _, line in prose:
        match = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def check_links(path, root):
    """Failures for the relative links of `path` whose file (or anchor) does not exist."""
    failures = []
    _, prose = parse(path)
    for number, line in prose:
        text = INLINE_CODE.sub("", line)
        for target in LINK.findall(text) + IMAGE.findall(text):
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
                continue  # http:, https:, mailto: …
            file_part, _, anchor = target.partition("#")
            goal = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(root)}:{number}"
            if not goal.exists():
                failures.append((where, f"link {target}: {file_part} does not exist"))
            elif anchor and goal.suffix == ".md" and goal.is_file() and anchor not in anchors(goal):
                failures.append((where, f"link {target}: no heading with the anchor #{anchor} in {file_part or path.name}"))
    return failures


def sandbox(root):
    """A fresh temporary directory laid out as the project's sample: raw/, and the example config."""
    work = Path(tempfile.mkdtemp(prefix="attackmap-docs-"))
    shutil.copytree(root / "raw", work / "raw", symlinks=True)
    example = root / "attackmap.example.toml"
    if example.exists():
        shutil.copy2(example, work / example.name)
    return work


def run_block(body, binary, root):
    """Runs one block; returns (ok, stderr)."""
    work = sandbox(root)
    try:
        env = dict(os.environ)
        env["PATH"] = f"{binary.parent}{os.pathsep}{env.get('PATH', '')}"
        try:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=work, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else (expired.stderr or "")
            return False, f"timed out after {TIMEOUT} s\n{stderr}"
        if done.returncode != 0:
            return False, f"exit {done.returncode}\n{done.stderr}"
        return True, done.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, default=Path("target/debug/attackmap"),
                        help="the attackmap binary the blocks call (default target/debug/attackmap)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project directory (default: this script's parent's)")
    args = parser.parse_args()

    root = args.root.resolve()
    binary = args.bin if args.bin.is_absolute() else (Path.cwd() / args.bin)
    binary = binary.resolve()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        print(f"FAIL --bin {args.bin}: not an executable file (make bin builds it)")
        return 1
    link_dir = None
    if binary.name != "attackmap":
        # The blocks call `attackmap`: give them that name for this binary.
        link_dir = Path(tempfile.mkdtemp(prefix="attackmap-bin-"))
        (link_dir / "attackmap").symlink_to(binary)
        binary = link_dir / "attackmap"
    try:
        return check(root, binary)
    finally:
        if link_dir is not None:
            shutil.rmtree(link_dir, ignore_errors=True)


def check(root, binary):
    """Runs every runnable block and checks every link; the exit code."""
    failures = runnable = 0
    for path in doc_files(root):
        where_file = path.relative_to(root)
        blocks, _ = parse(path)
        for info, line, body in blocks:
            if info != RUNNABLE:
                continue
            runnable += 1
            if body is None:
                print(f"FAIL {where_file}:{line}\n  the block is never closed")
                failures += 1
                continue
            ok, stderr = run_block(body, binary, root)
            if ok:
                print(f"ok  {where_file}:{line}")
            else:
                failures += 1
                print(f"FAIL {where_file}:{line}")
                print(textwrap.indent(body.rstrip("\n"), "  $ "))
                print(textwrap.indent(stderr.rstrip("\n") or "(no stderr)", "  "))
        for where, message in check_links(path, root):
            failures += 1
            print(f"FAIL {where}\n  {message}")

    if runnable == 0:
        print("FAIL no ```sh runnable block in README.md or docs/*.md")
        return 1
    print(f"docs: {runnable} runnable blocks, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
