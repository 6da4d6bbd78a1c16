//! The warehouse feed: the hive-partitioned dataset and its dimension tables as `build` writes them,
//! the change feed as `refresh` writes it day after day, and CSV made safe for spreadsheets.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use serde_json::Value;

use crate::helpers::*;

fn every_fixture() -> Vec<PathBuf> {
    vec![fixture("site"), fixture("traps"), fixture("mapping-files")]
}

fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(file).finish().unwrap()
}

/// The Parquet files under `dir`, relative to it, sorted.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

fn published_schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/warehouse.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The documented columns of a warehouse table, as Polars types.
fn documented_columns(table: &str) -> Vec<(String, DataType)> {
    let schema = published_schema();
    let table = schema["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .unwrap_or_else(|| panic!("{table} is documented"));
    table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let dtype = match c["type"].as_str().unwrap() {
                "string" => DataType::String,
                "list<string>" => DataType::List(Box::new(DataType::String)),
                "date" => DataType::Date,
                "boolean" => DataType::Boolean,
                "int64" => DataType::Int64,
                other => panic!("undocumented type {other}"),
            };
            (c["name"].as_str().unwrap().to_string(), dtype)
        })
        .collect()
}

fn columns_of(frame: &DataFrame) -> Vec<(String, DataType)> {
    frame
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().clone()))
        .collect()
}

#[test]
fn the_table_is_split_into_one_file_per_framework_attack_version_and_domain() {
    let built = build(&every_fixture());
    let table = built.table();
    let mappings = built.file("warehouse/mappings");
    let files = parquet_files(&mappings);
    let partition_columns = ["framework", "attack_version", "domain"];
    let in_files: Vec<_> = documented_columns("mappings")
        .into_iter()
        .filter(|(name, _)| !partition_columns.contains(&name.as_str()))
        .collect();
    let ids = strings(&table, "mapping_id");
    let mut rows = 0;
    for file in &files {
        let part = read_parquet(&mappings.join(file));
        assert_eq!(
            columns_of(&part),
            in_files,
            "{}: the partition columns are in the directory names only",
            file.display()
        );
        for directory in file.parent().unwrap().iter() {
            let (column, value) = directory.to_str().unwrap().split_once('=').unwrap();
            let table_values = strings(&table, column);
            for id in strings(&part, "mapping_id") {
                let row = ids.iter().position(|i| *i == id).unwrap();
                assert_eq!(
                    table_values[row].as_deref(),
                    Some(value),
                    "{} holds rows of another partition",
                    file.display()
                );
            }
        }
        rows += part.height();
    }
    assert_eq!(rows, table.height(), "every row in exactly one partition");
    let partitions: std::collections::BTreeSet<_> = strings(&table, "framework")
        .into_iter()
        .zip(strings(&table, "attack_version"))
        .zip(strings(&table, "domain"))
        .collect();
    assert_eq!(files.len(), partitions.len());
    assert!(files.contains(&PathBuf::from(
        "framework=nist_800_53/attack_version=16.1/domain=enterprise/part-0.parquet"
    )));
    let report = built.report();
    let reported: Vec<&serde_json::Value> = report["exports"]["warehouse"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["table"] == "mappings")
        .collect();
    assert_eq!(reported.len(), files.len(), "report.json lists each partition file");
    assert_eq!(
        reported
            .iter()
            .map(|f| f["rows"].as_u64().unwrap() as usize)
            .sum::<usize>(),
        rows
    );
}

#[test]
fn the_dimension_tables_have_their_documented_columns_and_one_row_per_key() {
    let built = build(&every_fixture());
    let table = built.table();
    for (name, key) in [
        ("capabilities", &["framework", "framework_version", "capability_id"][..]),
        (
            "capability_groups",
            &["framework", "framework_version", "capability_group"],
        ),
        ("techniques", &["attack_version", "domain", "technique_id"]),
        ("frameworks", &["framework"]),
    ] {
        let dimension = read_parquet(&built.file(&format!("warehouse/{name}/part-0.parquet")));
        assert_eq!(columns_of(&dimension), documented_columns(name), "{name}");
        let keys: std::collections::BTreeSet<Vec<Option<String>>> = (0..dimension.height())
            .map(|row| key.iter().map(|column| string_at(&dimension, column, row)).collect())
            .collect();
        assert_eq!(keys.len(), dimension.height(), "{name} has one row per key");
        assert!(dimension.height() > 0, "{name} has rows");
    }

    let capabilities = read_parquet(&built.file("warehouse/capabilities/part-0.parquet"));
    let named: std::collections::BTreeSet<_> = strings(&table, "capability_id").into_iter().flatten().collect();
    assert_eq!(
        capabilities.column("mappings").unwrap().i64().unwrap().sum(),
        Some(strings(&table, "capability_id").iter().flatten().count() as i64),
        "every row naming a capability is counted once"
    );
    assert!(capabilities.height() >= named.len());

    let techniques = read_parquet(&built.file("warehouse/techniques/part-0.parquet"));
    let cited: std::collections::BTreeSet<_> = strings(&table, "attack_object_id").into_iter().flatten().collect();
    let listed: std::collections::BTreeSet<_> = strings(&techniques, "technique_id").into_iter().flatten().collect();
    assert!(
        cited.is_subset(&listed),
        "every cited technique is in the techniques table"
    );
    let row = strings(&techniques, "technique_id")
        .iter()
        .position(|t| t.as_deref() == Some("T1059.001"))
        .expect("T1059.001 is cited by the fixtures");
    assert_eq!(
        string_at(&techniques, "parent_technique_id", row).as_deref(),
        Some("T1059")
    );
    assert_eq!(string_at(&techniques, "source", row).as_deref(), Some("mappings"));

    let frameworks = read_parquet(&built.file("warehouse/frameworks/part-0.parquet"));
    let nist = strings(&frameworks, "framework")
        .iter()
        .position(|f| f.as_deref() == Some("nist_800_53"))
        .unwrap();
    assert_eq!(string_at(&frameworks, "kind", nist).as_deref(), Some("control"));
}

#[test]
fn a_dataset_no_longer_built_leaves_no_partition_behind() {
    let built = build(&every_fixture());
    let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(["build", "--input"])
        .arg(fixture("mapping-files"))
        .arg("--out")
        .arg(built.out.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let files = parquet_files(&built.file("warehouse/mappings"));
    assert_eq!(
        files,
        [PathBuf::from(
            "framework=acme_stack/attack_version=16.1/domain=enterprise/part-0.parquet"
        )]
    );
}

#[test]
fn the_real_snapshot_gets_every_attack_technique_and_the_mobile_one_nist_cites() {
    let (Some(site), Some(enterprise), Some(mobile)) = (
        shared("site/data/nist_800_53"),
        shared("attack/enterprise-attack-16.1.json"),
        shared("attack/mobile-attack-16.1.json"),
    ) else {
        return;
    };
    let built = build_with_attack(&[site], &[enterprise, mobile]);
    built.assert_succeeded();
    let techniques = read_parquet(&built.file("warehouse/techniques/part-0.parquet"));
    let row_of = |domain: &str, id: &str| {
        (0..techniques.height()).find(|&row| {
            string_at(&techniques, "domain", row).as_deref() == Some(domain)
                && string_at(&techniques, "technique_id", row).as_deref() == Some(id)
        })
    };
    let cited = row_of("enterprise", "T1521.003").expect("the Mobile technique NIST 16.1 Enterprise cites");
    assert_eq!(
        string_at(&techniques, "source", cited).as_deref(),
        Some("mobile-attack-16.1.json")
    );
    let t1562 = row_of("enterprise", "T1562").unwrap();
    assert_eq!(
        string_at(&techniques, "technique_name", t1562).as_deref(),
        Some("Impair Defenses")
    );
    let tactics = techniques
        .column("tactics")
        .unwrap()
        .list()
        .unwrap()
        .get_as_series(t1562)
        .unwrap();
    assert_eq!(tactics.str().unwrap().get(0), Some("defense-evasion"));
    assert!(
        row_of("mobile", "T1521.003").is_some(),
        "the Mobile bundle's own techniques are listed"
    );
}

/// An offline refresh of `raw` into `out` for a given run date.
fn refresh(raw: &Path, out: &Path, run_date: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .env("CI", "true")
        .args(["refresh", "--offline", "--run-date", run_date, "--raw"])
        .arg(raw)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The ops of a change feed partition, by capability.
fn feed_ops(out: &Path, run_date: &str) -> Vec<(String, String)> {
    let feed = read_parquet(&out.join(format!("warehouse/changes/run_date={run_date}/part-0.parquet")));
    assert_eq!(columns_of(&feed), documented_columns("changes"));
    let mut ops: Vec<(String, String)> = strings(&feed, "capability_id")
        .into_iter()
        .zip(strings(&feed, "op"))
        .map(|(capability, op)| (capability.unwrap_or_default(), op.unwrap()))
        .collect();
    ops.sort();
    ops
}

#[test]
fn each_day_gets_its_net_change_feed_and_earlier_days_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, out) = (dir.path().join("raw"), dir.path().join("out"));
    std::fs::create_dir_all(&raw).unwrap();
    let source = fixture("mapping-files/acme_stack-1.0_attack-16.1-enterprise.json");
    let original: Value = serde_json::from_slice(&std::fs::read(&source).unwrap()).unwrap();
    let write_raw = |edit: &dyn Fn(&mut Vec<Value>)| {
        let mut file = original.clone();
        edit(file["mapping_objects"].as_array_mut().unwrap());
        std::fs::write(raw.join("acme.json"), serde_json::to_vec(&file).unwrap()).unwrap();
    };

    write_raw(&|_| {});
    assert_eq!(refresh(&raw, &out, "2026-01-05").status.code(), Some(0));
    let monday = feed_ops(&out, "2026-01-05");
    assert!(
        !monday.is_empty() && monday.iter().all(|(_, op)| op == "insert"),
        "{monday:?}"
    );

    // Tuesday: a new capability, later withdrawn the same day; another added for good.
    write_raw(&|objects| {
        let mut added = objects[0].clone();
        added["capability_id"] = "cap-new".into();
        objects.push(added);
    });
    assert_eq!(refresh(&raw, &out, "2026-01-06").status.code(), Some(0));
    assert_eq!(
        feed_ops(&out, "2026-01-06"),
        [("cap-new".to_string(), "insert".to_string())]
    );
    write_raw(&|objects| {
        let mut added = objects[0].clone();
        added["capability_id"] = "cap-kept".into();
        objects.push(added);
    });
    assert_eq!(refresh(&raw, &out, "2026-01-06").status.code(), Some(0));
    assert_eq!(
        feed_ops(&out, "2026-01-06"),
        [("cap-kept".to_string(), "insert".to_string())],
        "an insert and a delete on the same day cancel out"
    );
    assert_eq!(
        feed_ops(&out, "2026-01-05"),
        monday,
        "Monday's partition is carried forward"
    );

    let before = std::fs::read(out.join("warehouse/changes/run_date=2026-01-06/part-0.parquet")).unwrap();
    assert_eq!(
        refresh(&raw, &out, "2026-01-06").status.code(),
        Some(4),
        "nothing changed"
    );
    let after = std::fs::read(out.join("warehouse/changes/run_date=2026-01-06/part-0.parquet")).unwrap();
    assert_eq!(
        before, after,
        "a run that changes nothing leaves the day's feed byte-identical"
    );

    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["run_date"], "2026-01-06");
    assert_eq!(manifest["warehouse_schema_version"], published_schema()["version"]);
}

#[test]
fn a_bad_run_date_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = refresh(&fixture("mapping-files"), &dir.path().join("out"), "2026-02-30");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn excel_safe_csv_neutralises_formulas_and_the_default_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("mapping-files/acme_stack-1.0_attack-16.1-enterprise.json");
    let mut file: Value = serde_json::from_slice(&std::fs::read(&source).unwrap()).unwrap();
    file["mapping_objects"][0]["comments"] = "=HYPERLINK(\"https://evil.example\",\"click\")".into();
    let mut bullet = file["mapping_objects"][0].clone();
    bullet["capability_id"] = "cap-bullet".into();
    bullet["comments"] = "- a bullet the source wrote".into();
    file["mapping_objects"].as_array_mut().unwrap().push(bullet);
    let input = dir.path().join("acme.json");
    std::fs::write(&input, serde_json::to_vec(&file).unwrap()).unwrap();

    let run = |extra: &[&str]| -> Vec<u8> {
        let out = dir.path().join(format!("out{}", extra.len()));
        let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .args(["build", "--format", "csv", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::read(out.join("mappings.csv")).unwrap()
    };
    let plain = String::from_utf8(run(&[])).unwrap();
    assert!(plain.contains("\"=HYPERLINK(\"\"https://evil.example\"\",\"\"click\"\")"));
    assert!(plain.contains(",- a bullet the source wrote,"));
    assert!(!plain.starts_with('\u{feff}'));

    let safe = String::from_utf8(run(&["--csv-excel-safe"])).unwrap();
    assert!(safe.starts_with('\u{feff}'), "a byte order mark for Excel");
    assert!(safe.contains("\"'=HYPERLINK("));
    assert!(safe.contains(",'- a bullet the source wrote,"));
    assert_eq!(plain.lines().count(), safe.lines().count());
}
