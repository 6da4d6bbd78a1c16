#!/usr/bin/env python3
"""Checks attackmap's warehouse feed with a real engine, DuckDB.

For each build directory given: the hive-partitioned dataset has as many rows as mappings.parquet,
every table's columns have the names, order and types of schemas/warehouse.schema.json, a query
filtered on `framework` reads one partition, and every SQL block of docs/warehouse.md (--doc)
runs (and, with --expect-rows, returns rows).

With --merge-from, it also plays three nightly refreshes over copies of those mapping files (Monday;
Tuesday; Tuesday again, with more changes) and checks that Monday's table, with Tuesday's change feed
applied by docs/warehouse.md's DELETE + INSERT, is exactly Tuesday's table.

Exits 1 with every failure listed, 0 when all hold.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from checks import fail, summary

import duckdb

DUCKDB_TYPES = {
    "string": "VARCHAR",
    "list<string>": "VARCHAR[]",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "int64": "BIGINT",
}



def doc_sql(doc):
    """The doc's SQL blocks by their first line: `-- setup`, `-- example: …`, `-- merge: …`."""
    blocks = {}
    for block in re.findall(r"```sql\n(.*?)```", Path(doc).read_text(), re.S):
        first = block.splitlines()[0].strip()
        blocks[first] = block
    for needed in ("-- setup", "-- merge: apply a change feed"):
        if needed not in blocks:
            sys.exit(f"{doc}: no SQL block starting with {needed!r}")
    return blocks


def with_out(sql, out):
    """The doc's SQL, with its `out/` paths pointing at `out`."""
    return sql.replace("'out/", f"'{out}/")


def connect(out, sql):
    db = duckdb.connect()
    db.execute(with_out(sql["-- setup"], out))
    return db


def check_dataset(out, schema, sql, expect_rows):
    print(f"warehouse in {out}")
    db = connect(out, sql)
    dataset = db.execute("SELECT count(*) FROM mappings").fetchone()[0]
    table = db.execute(f"SELECT count(*) FROM '{out}/mappings.parquet'").fetchone()[0]
    print(f"  rows: {dataset} in the dataset, {table} in mappings.parquet")
    if dataset != table:
        fail(f"{out}: the dataset has {dataset} rows, mappings.parquet {table}")

    for documented in schema["tables"]:
        name = documented["name"]
        if name == "changes":
            continue
        relation = "mappings" if name == "mappings" else f"'{out}/warehouse/{name}/part-0.parquet'"
        found = [(row[0], row[1]) for row in db.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        expected = [(c["name"], DUCKDB_TYPES[c["type"]]) for c in documented["columns"]]
        if found != expected:
            fail(f"{out}: {name} reads as {found}, documented {expected}")
        else:
            print(f"  {name}: {len(found)} columns with their documented types")

    partitions = db.execute(
        "SELECT framework, count(DISTINCT (attack_version, domain)) AS n FROM mappings GROUP BY 1 ORDER BY 2, 1"
    ).fetchall()
    files = len(list(Path(out, "warehouse", "mappings").rglob("*.parquet")))
    framework = partitions[0][0]
    if partitions[0][1] != 1:
        fail(f"{out}: no framework has a single partition")
    plan = db.execute(
        f"EXPLAIN ANALYZE SELECT mapping_id, comments FROM mappings WHERE framework = '{framework}'"
    ).fetchall()[0][1]
    read = re.search(r"Total Files Read:\s*(\d+)", plan)
    scanning = re.search(r"Scanning Files:\s*(\d+)/(\d+)", plan)
    if not read or int(read.group(1)) != 1 or not scanning or scanning.groups() != ("1", str(files)):
        fail(f"{out}: a query on framework = '{framework}' does not read one of {files} partitions:\n{plan}")
    else:
        print(f"  framework = '{framework}' reads 1 of {files} partition files")

    for first, block in sql.items():
        if not first.startswith("-- example:"):
            continue
        try:
            rows = db.execute(with_out(block, out)).fetchall()
        except duckdb.Error as error:
            fail(f"{out}: docs {first[3:]} fails: {error}")
            continue
        print(f"  docs {first[3:]}: {len(rows)} rows, first {rows[:2]}")
        if expect_rows and not rows:
            fail(f"{out}: docs {first[3:]} returns no rows")


def edit(mapping_file, change):
    document = json.loads(mapping_file.read_text())
    change(document["mapping_objects"])
    mapping_file.write_text(json.dumps(document))


def monday(objects):
    """Monday's copy lacks three of today's rows, words two differently, and has one that is gone today."""
    fake = dict(objects[0], capability_id="ZZ-99", comments="withdrawn since")
    del objects[-3:]
    for row in objects[:2]:
        row["comments"] = f"Monday's wording of {row['capability_id']}"
    objects.append(fake)


def tuesday_evening(objects):
    """A second run on Tuesday: one more row reworded, one removed."""
    objects[2]["comments"] = "reworded on Tuesday evening"
    del objects[3]


def selection_flags(sources):
    """The refresh's selection as flags naming exactly the ATT&CK versions and domains the mapping files
    hold: no default is relied on, and no domain they lack is asked for (a selector that matches no
    dataset is a usage error, exit 2)."""
    versions, domains = set(), set()
    for source in sources:
        metadata = json.loads(source.read_text())["metadata"]
        versions.add(metadata["attack_version"])
        domains.add(metadata["technology_domain"])
    return ["--attack-version", ",".join(sorted(versions)), "--domain", ",".join(sorted(domains))]


def refresh(binary, raw, out, run_date, selection):
    """One night's refresh. The replay removes rows on purpose: over the fixtures' few rows that is
    more than the default --max-removed-share, so any removal is accepted here."""
    result = subprocess.run(
        [binary, "refresh", "--offline", "--raw", str(raw), "--out", str(out), "--run-date", run_date,
         *selection, "--max-removed-share", "1"],
        capture_output=True, text=True,
    )
    if result.returncode not in (0, 3, 4):
        sys.exit(f"refresh --run-date {run_date} failed ({result.returncode}):\n{result.stderr}")


def check_merge(binary, sources, work, sql):
    print(f"change feed over {len(sources)} mapping files in {work}")
    shutil.rmtree(work, ignore_errors=True)
    out = work / "out"

    raw = work / "raw"

    def raw_with(change):
        """The one raw/ of the nightly job, holding that day's copies."""
        shutil.rmtree(raw, ignore_errors=True)
        raw.mkdir(parents=True)
        for source in sources:
            shutil.copy(source, raw / source.name)
        edit(raw / sources[0].name, change)
        return raw

    selection = selection_flags(sources)
    print(f"  selection: {' '.join(selection)}")
    refresh(binary, raw_with(monday), out, "2026-01-05", selection)
    shutil.copytree(out / "warehouse" / "mappings", work / "monday")
    refresh(binary, raw_with(lambda objects: None), out, "2026-01-06", selection)
    refresh(binary, raw_with(tuesday_evening), out, "2026-01-06", selection)

    feed_path = out / "warehouse" / "changes" / "run_date=2026-01-06" / "part-0.parquet"
    if not (out / "warehouse" / "changes" / "run_date=2026-01-05" / "part-0.parquet").exists():
        fail("Monday's change feed partition was not carried into Tuesday's out/")
    db = duckdb.connect()
    ops = dict(db.execute(f"SELECT op, count(*) FROM '{feed_path}' GROUP BY op").fetchall())
    print(f"  Tuesday's feed (two runs composed): {ops}")
    # Inserts: the rows Monday lacked. Updates: the rows Monday worded differently, and the one reworded
    # in the evening. Deletes: Monday's withdrawn row, and the one the evening removed. (Fewer when the
    # edited rows were repeats the table collapses.)
    if sorted(ops) != ["delete", "insert", "update"]:
        fail(f"Tuesday's feed has {ops}, expected inserts, updates and deletes")

    db.execute(f"""CREATE TABLE mapping_table AS
        SELECT * FROM read_parquet('{work}/monday/**/*.parquet', hive_partitioning = true)""")
    merge = sql["-- merge: apply a change feed"].replace(
        "'out/warehouse/changes/run_date=2026-01-06/part-0.parquet'", f"'{feed_path}'"
    )
    db.execute(merge)
    db.execute(f"""CREATE VIEW today AS
        SELECT * FROM read_parquet('{out}/warehouse/mappings/**/*.parquet', hive_partitioning = true)""")
    extra = db.execute("SELECT count(*) FROM (FROM mapping_table EXCEPT ALL FROM today)").fetchone()[0]
    missing = db.execute("SELECT count(*) FROM (FROM today EXCEPT ALL FROM mapping_table)").fetchone()[0]
    rows = db.execute("SELECT count(*) FROM today").fetchone()[0]
    if extra or missing:
        fail(f"Monday's table with Tuesday's feed applied differs from Tuesday's: {extra} extra, {missing} missing rows")
    else:
        print(f"  Monday's table + Tuesday's feed = Tuesday's table, all {rows} rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", nargs="+", type=Path, help="directories written by attackmap build")
    parser.add_argument("--schema", type=Path, required=True)
    parser.add_argument("--doc", type=Path, required=True, help="the Markdown file with the SQL blocks (docs/warehouse.md)")
    parser.add_argument("--expect-rows", action="store_true", help="every example of the doc must return rows")
    parser.add_argument("--bin", help="the attackmap binary, for the change feed check")
    parser.add_argument("--merge-from", type=Path, nargs="*", default=[], help="mapping files to replay")
    parser.add_argument("--work", type=Path, default=Path("target/check-warehouse"))
    args = parser.parse_args()

    schema = json.loads(args.schema.read_text())
    sql = doc_sql(args.doc)
    print(f"DuckDB {duckdb.__version__}, warehouse schema {schema['version']}")
    for out in args.outs:
        check_dataset(out.resolve(), schema, sql, args.expect_rows)
    if args.merge_from:
        check_merge(args.bin, [p.resolve() for p in args.merge_from], args.work.resolve(), sql)
    return summary("warehouse")


if __name__ == "__main__":
    sys.exit(main())
