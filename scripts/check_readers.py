#!/usr/bin/env python3
"""Reads attackmap's Parquet outputs with each reader a data engineer has: pandas, pyarrow, Polars, Spark.

For each build directory given, the numbers every reader must find are computed once, with
pyarrow.parquet.read_table on mappings.parquet: the row count, the NIST 800-53 row count, and the
NIST 800-53 controls mapped to T1562 (Impair Defenses), which must include SC-08 and CM-02. Then:

- the files: no Arrow view types (string_view …) anywhere, no partition column inside a file of the
  partitioned datasets (they live in the directory names, as Hive and Spark write them);
- pandas: mappings.parquet, each dimension table, and warehouse/mappings as a dataset;
- pyarrow.dataset with hive partitioning: a filter on `framework` skips the other partitions' files;
- Polars: scan_parquet over the dataset's files with hive partitioning;
- Spark (local mode): spark.read.parquet on the dataset, timed, and docs/warehouse.md's first DuckDB example
  run in Spark SQL gives DuckDB's answer. Skipped when no `java` is on PATH, except under CI=true;
- the docs' one-liners: every ```python block of docs/warehouse.md (--doc) starting with `# reader: NAME` runs
  with `out/` pointing at the directory, and leaves in `rows` the number of NIST 800-53 rows.

Exits 1 with every failure listed, 0 when all hold.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from checks import check, fail, ok, summary

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

FRAMEWORK = "nist_800_53"
TECHNIQUE = "T1562"
CONTROLS = {"SC-08", "CM-02"}  # NIST 800-53 controls mapped to T1562 in the fixtures and the snapshot
PARTITIONS = ("framework", "attack_version", "domain")
# Each dimension table, and a known row it holds: (column, value) pairs
DIMENSIONS = {
    "capabilities": {"framework": FRAMEWORK, "capability_id": "SC-08"},
    "capability_groups": None,  # mapping files only: may be empty
    "techniques": {"technique_id": TECHNIQUE},
    "frameworks": {"framework": FRAMEWORK},
    "gaps": None,  # with an ATT&CK catalogue only: may be empty
}
READERS = ("pandas", "pyarrow", "polars", "spark", "duckdb")
POLARS_HIVE = {"framework": pl.String, "attack_version": pl.String, "domain": pl.String}



@contextmanager
def reader(out, what):
    """A reader's checks: an exception is a failure of that reader, with its message, not a crash."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - any reader error is what this script reports
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        fail(f"{out.name}: {what} raised {type(error).__name__}: {first[:500]}")
        if os.environ.get("CHECK_READERS_TRACE"):
            traceback.print_exc()


class Expected:
    """What every reader must find in one build directory, from pyarrow.parquet.read_table."""

    def __init__(self, out):
        table = pq.read_table(out / "mappings.parquet")
        nist = table.filter(pc.equal(table["framework"], FRAMEWORK))
        t1562 = nist.filter(pc.equal(nist["attack_object_id"], TECHNIQUE))
        self.rows = table.num_rows
        self.nist_rows = nist.num_rows
        self.controls = sorted(set(t1562["capability_id"].to_pylist()) - {None})
        self.dimensions = {
            name: pq.read_table(out / "warehouse" / name / "part-0.parquet").num_rows for name in DIMENSIONS
        }
        print(
            f"  expected (pyarrow.parquet): {self.rows} rows, {self.nist_rows} {FRAMEWORK}, "
            f"{len(self.controls)} controls on {TECHNIQUE} ({', '.join(self.controls[:6])}"
            f"{' …' if len(self.controls) > 6 else ''}), dimensions {self.dimensions}"
        )
        missing = CONTROLS - set(self.controls)
        check(not missing, f"{out.name}: mappings.parquet maps {TECHNIQUE} to {sorted(CONTROLS)}", f"missing {missing}")

    def known(self, found, who):
        """`found`: the capability ids a reader sees on (nist_800_53, T1562) rows."""
        found = sorted(set(found) - {None})
        check(found == self.controls, f"{who}: {TECHNIQUE} → {len(found)} {FRAMEWORK} controls",
              f"{found[:10]} where pyarrow reads {self.controls[:10]}")


def parquet_files(out):
    return sorted(out.rglob("*.parquet"))


def check_files(out):
    """No view types anywhere; partition columns only in the directory names."""
    views = []
    inside = []
    files = parquet_files(out)
    for path in files:
        schema = pq.read_schema(path)
        views += [f"{path.relative_to(out)}: {f.name} {f.type}" for f in schema if "view" in str(f.type)]
        keys = [part.split("=", 1)[0] for part in path.relative_to(out).parts if "=" in part]
        if any(key in schema.names for key in keys):
            inside.append(f"{path.relative_to(out)} holds {[k for k in keys if k in schema.names]}")
    check(not views, f"{out.name}: {len(files)} Parquet files, no Arrow view types",
          f"{len(views)} view-typed columns, e.g. {'; '.join(views[:3])}")
    check(not inside, f"{out.name}: partition columns only in the directory names",
          f"{len(inside)} files hold them, e.g. {inside[0] if inside else ''}")


def check_pandas(out, expected):
    with reader(out, "pandas.read_parquet(mappings.parquet)"):
        frame = pd.read_parquet(out / "mappings.parquet")
        check(len(frame) == expected.rows, f"pandas mappings.parquet: {len(frame)} rows", f"expected {expected.rows}")
        expected.known(frame.loc[(frame.framework == FRAMEWORK) & (frame.attack_object_id == TECHNIQUE),
                                 "capability_id"], "pandas mappings.parquet")
    for name, row in DIMENSIONS.items():
        with reader(out, f"pandas.read_parquet(warehouse/{name})"):
            frame = pd.read_parquet(out / "warehouse" / name / "part-0.parquet")
            rows = expected.dimensions[name]
            check(len(frame) == rows, f"pandas warehouse/{name}: {len(frame)} rows", f"expected {rows}")
            if row:
                hit = frame
                for column, value in row.items():
                    hit = hit[hit[column] == value]
                check(len(hit) > 0, f"pandas warehouse/{name}: has {row}")
    with reader(out, "pandas.read_parquet(warehouse/mappings)"):
        frame = pd.read_parquet(out / "warehouse" / "mappings")
        check(all(c in frame.columns for c in PARTITIONS) and len(frame) == expected.rows,
              f"pandas warehouse/mappings: {len(frame)} rows, partition columns {list(PARTITIONS)}",
              f"expected {expected.rows} rows, columns {list(frame.columns)}")
        expected.known(frame.loc[(frame.framework == FRAMEWORK) & (frame.attack_object_id == TECHNIQUE),
                                 "capability_id"], "pandas warehouse/mappings")
    changes = out / "warehouse" / "changes"
    if changes.is_dir():
        with reader(out, "pandas.read_parquet(warehouse/changes)"):
            frame = pd.read_parquet(changes)
            rows = ds.dataset(changes, format="parquet", partitioning="hive").count_rows()
            check("run_date" in frame.columns and len(frame) == rows,
                  f"pandas warehouse/changes: {len(frame)} rows with run_date", f"expected {rows}")


def check_pyarrow(out, expected):
    with reader(out, "pyarrow.dataset(warehouse/mappings, partitioning='hive')"):
        dataset = ds.dataset(out / "warehouse" / "mappings", format="parquet", partitioning="hive")
        types = {name: str(dataset.schema.field(name).type) for name in PARTITIONS}
        rows = dataset.count_rows()
        check(rows == expected.rows and types["attack_version"] == "string",
              f"pyarrow dataset: {rows} rows, partition types {types}", f"expected {expected.rows} rows")
        where = ds.field("framework") == FRAMEWORK
        every = len(list(dataset.get_fragments()))
        kept = len(list(dataset.get_fragments(filter=where)))
        nist = dataset.count_rows(filter=where)
        check(0 < kept < every and nist == expected.nist_rows,
              f"pyarrow dataset: framework = '{FRAMEWORK}' reads {kept} of {every} files, {nist} rows",
              f"expected fewer files than {every} and {expected.nist_rows} rows")
        table = dataset.to_table(columns=["capability_id"], filter=where & (ds.field("attack_object_id") == TECHNIQUE))
        expected.known(table["capability_id"].to_pylist(), "pyarrow dataset")


def check_polars(out, expected):
    with reader(out, "polars.read_parquet(mappings.parquet)"):
        rows = pl.read_parquet(out / "mappings.parquet").height
        check(rows == expected.rows, f"polars mappings.parquet: {rows} rows", f"expected {expected.rows}")
    with reader(out, "polars.scan_parquet(warehouse/mappings/**/*.parquet, hive_partitioning=True)"):
        scan = pl.scan_parquet(f"{out}/warehouse/mappings/**/*.parquet", hive_partitioning=True,
                               hive_schema=POLARS_HIVE)
        schema = scan.collect_schema()
        rows = scan.select(pl.len()).collect().item()
        check(rows == expected.rows and all(schema.get(c) == pl.String for c in PARTITIONS),
              f"polars scan_parquet: {rows} rows, partition columns {list(PARTITIONS)} as String",
              f"expected {expected.rows} rows, schema {dict(schema)}")
        found = (scan.filter((pl.col("framework") == FRAMEWORK) & (pl.col("attack_object_id") == TECHNIQUE))
                 .select("capability_id").collect()["capability_id"].to_list())
        expected.known(found, "polars scan_parquet")


class Spark:
    """One local Spark session for every directory: 2 cores, a small driver, no UI, errors only."""

    LOG4J = (
        "rootLogger.level = error\n"
        "rootLogger.appenderRef.stderr.ref = console\n"
        # a logger of its own at the root's level: else Spark announces a shell log level (WARN)
        "logger.apache.name = org.apache\n"
        "logger.apache.level = error\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = spark %p %c{1}: %m%n\n"
    )

    def __init__(self):
        self.session = None
        self.skipped = None
        self.scratch = None
        self.reads = 0
        java = shutil.which("java")
        if not java:
            self.skipped = "no `java` on PATH"
            if os.environ.get("CI") == "true":
                fail(f"spark: {self.skipped}, and CI=true: Spark must run (`make check-readers` installs Java)")
            else:
                print(f"spark: skipped, {self.skipped} (`make check-readers` installs default-jre-headless)")
            return
        self.scratch = Path(tempfile.mkdtemp(prefix="check-readers-spark-"))
        (self.scratch / "log4j2.properties").write_text(self.LOG4J)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        started = time.monotonic()
        try:
            self.session = self.start()
        except Exception as error:  # noqa: BLE001 - a JVM that cannot run Spark (Java < 17 …) is a failure
            self.skipped = f"Spark did not start: {type(error).__name__}: {str(error).strip()[:300]}"
            fail(f"spark: {self.skipped} (java: {java})")
            return
        self.session.sparkContext.setLogLevel("ERROR")
        print(f"spark: {self.session.version} local[2], java {java}, started in {time.monotonic() - started:.1f} s")

    def start(self):
        from pyspark.sql import SparkSession

        return (
            SparkSession.builder.master("local[2]")
            .appName("attackmap-check-readers")
            .config("spark.driver.memory", "1g")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            .config("spark.driver.extraJavaOptions",
                    f"-Dlog4j2.configurationFile=file:{self.scratch / 'log4j2.properties'}")
            .config("spark.local.dir", str(self.scratch))
            .getOrCreate()
        )

    def stop(self):
        if self.session is not None:
            self.session.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def doc_sql(doc):
    """The doc's SQL blocks by their first line, as scripts/check_warehouse.py reads them."""
    blocks = {}
    for block in re.findall(r"```sql\n(.*?)```", doc.read_text(), re.S):
        blocks[block.splitlines()[0].strip()] = block
    return blocks


def with_out(text, out):
    """Doc text with its `out/` paths pointing at `out`."""
    return text.replace("'out/", f"'{out}/").replace('"out/', f'"{out}/')


def check_spark(out, expected, spark, sql):
    if spark.session is None:
        print(f"  skip spark: {spark.skipped}")
        return
    session = spark.session
    with reader(out, "spark.read.parquet(warehouse/mappings)"):
        started = time.monotonic()
        frame = session.read.parquet(f"{out}/warehouse/mappings")
        rows = frame.count()
        took = time.monotonic() - started
        warm = "warm JVM" if spark.reads else "first read of this JVM"
        spark.reads += 1
        types = dict(frame.dtypes)
        check(rows == expected.rows and all(types.get(c) == "string" for c in PARTITIONS),
              f"spark read.parquet(warehouse/mappings): {rows} rows in {took:.1f} s (read + count, {warm}), "
              f"partition columns {list(PARTITIONS)} as string",
              f"expected {expected.rows} rows, types {types}")
        nist = frame.where(f"framework = '{FRAMEWORK}'")
        check(nist.count() == expected.nist_rows, f"spark framework = '{FRAMEWORK}': {nist.count()} rows",
              f"expected {expected.nist_rows}")
        found = [r.capability_id for r in
                 nist.where(f"attack_object_id = '{TECHNIQUE}'").select("capability_id").distinct().collect()]
        expected.known(found, "spark")

    name, query = next(((first, block) for first, block in sql.items() if first.startswith("-- example:")),
                       (None, None))
    if query is None:
        fail("docs: no SQL block starting with `-- example:` to run in Spark")
        return
    with reader(out, f"spark docs {name[3:]}"):
        db = duckdb.connect()
        db.execute(with_out(sql["-- setup"], out))
        duck = [tuple(row) for row in db.execute(with_out(query, out)).fetchall()]
        session.read.parquet(f"{out}/warehouse/mappings").createOrReplaceTempView("mappings")
        for table in ("techniques", "frameworks"):
            session.read.parquet(f"{out}/warehouse/{table}/part-0.parquet").createOrReplaceTempView(table)
        ours = [tuple(row) for row in session.sql(query.strip().rstrip(";")).collect()]
        check(ours == duck, f"spark docs {name[3:]}: {len(ours)} rows as in DuckDB, first {ours[:1]}",
              f"Spark {ours[:3]}, DuckDB {duck[:3]}")


def doc_python(doc):
    """The doc's one-liners: ```python blocks whose first line is `# reader: NAME`."""
    blocks = {}
    for block in re.findall(r"```python\n(.*?)```", doc.read_text(), re.S):
        first = re.match(r"#\s*reader:\s*(\S+)", block)
        if first:
            blocks[first.group(1).lower()] = block
    return blocks


def check_doc(out, expected, blocks, spark):
    for name in READERS:
        if name not in blocks:
            fail(f"docs: no ```python block starting with `# reader: {name}`")
            continue
        if name == "spark" and spark.session is None:
            print(f"  skip docs reader: spark ({spark.skipped})")
            continue
        with reader(out, f"docs reader: {name}"):
            scope = {}
            exec(compile(with_out(blocks[name], out), f"docs/warehouse.md ({name})", "exec"), scope)
            rows = scope.get("rows")
            check(rows == expected.nist_rows, f"docs reader: {name} counts {rows} {FRAMEWORK} rows",
                  f"expected {expected.nist_rows}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", nargs="+", type=Path, help="directories written by attackmap build")
    parser.add_argument("--doc", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "warehouse.md",
                        help="the Markdown file with the reader and SQL blocks (default docs/warehouse.md)")
    args = parser.parse_args()

    print(f"pandas {pd.__version__}, pyarrow {pa.__version__}, polars {pl.__version__}, duckdb {duckdb.__version__}")
    sql = doc_sql(args.doc)
    blocks = doc_python(args.doc)
    spark = Spark()
    try:
        for out in args.outs:
            out = out.resolve()
            print(f"readers on {out}")
            try:
                expected = Expected(out)
            except Exception as error:  # noqa: BLE001 - without the expected numbers nothing else can be checked
                fail(f"{out.name}: pyarrow.parquet cannot read mappings.parquet and the dimension tables: "
                     f"{type(error).__name__}: {error}")
                continue
            check_files(out)
            check_pandas(out, expected)
            check_pyarrow(out, expected)
            check_polars(out, expected)
            check_spark(out, expected, spark, sql)
            check_doc(out, expected, blocks, spark)
    finally:
        spark.stop()
    return summary("reader")


if __name__ == "__main__":
    sys.exit(main())
