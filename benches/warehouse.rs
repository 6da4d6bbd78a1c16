//! `make bench`: the warehouse dataset at a hundred times the Mappings Explorer's size.
//!
//! Builds the real table from `../shared/site`, repeats it under synthetic ATT&CK versions until it
//! holds `ATTACKMAP_BENCH_ROWS` rows (default 7,000,000), then writes it as the hive-partitioned
//! Parquet dataset, and once more as one Parquet file. Prints the time of each step and the process's
//! peak resident memory after it. Run by `cargo bench --bench warehouse` (`cargo test` only builds it).

use std::path::Path;
use std::time::Instant;

use attackmap::model::{DatasetKey, GrainKey};
use attackmap::pipeline::{Format, OutputOptions};
use attackmap::sinks::warehouse;
use polars::prelude::*;
use rayon::prelude::*;

// As the binary does: the allocator is a large part of the build's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("warehouse benchmark: run it with `cargo bench --bench warehouse` (or `make bench`)");
        return;
    }
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/site");
    if !site.is_dir() {
        println!("warehouse benchmark skipped: {} is absent", site.display());
        return;
    }
    let target_rows: usize = std::env::var("ATTACKMAP_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7_000_000);
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-warehouse");
    let _ = std::fs::remove_dir_all(&work);

    let clock = Instant::now();
    let real = real_table(&site, &work.join("real"));
    step(
        &format!("real table built from the snapshot: {} rows", real.height()),
        clock,
    );

    let clock = Instant::now();
    let copies = target_rows.div_ceil(real.height());
    let synthetic = repeat_under_synthetic_versions(&real, copies).expect("the synthetic table");
    step(
        &format!(
            "synthetic table: {} rows = {copies} synthetic ATT&CK versions x {} rows (mapping ids recomputed)",
            synthetic.height(),
            real.height()
        ),
        clock,
    );

    let clock = Instant::now();
    let files = warehouse::write_mappings(&synthetic, &work).expect("the dataset is written");
    let rows: usize = files.iter().map(|f| f.rows).sum();
    step(
        &format!(
            "warehouse dataset written: {rows} rows in {} partition files, {:.0} MiB",
            files.len(),
            size_of_dir(&work) as f64 / 1048576.0
        ),
        clock,
    );

    let clock = Instant::now();
    let single = work.join("mappings.parquet");
    attackmap::sinks::parquet::write(&synthetic, &single).expect("one Parquet file");
    step(
        &format!(
            "the same rows as one Parquet file: {:.0} MiB",
            std::fs::metadata(&single).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0
        ),
        clock,
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// The table `copies` times over, each copy under ATT&CK version `synthetic-NNN` and with the
/// `mapping_id`s that version gives. The other columns share the real table's buffers.
fn repeat_under_synthetic_versions(real: &DataFrame, copies: usize) -> PolarsResult<DataFrame> {
    let text = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        Ok(real.column(name)?.str()?.iter().map(|v| v.map(String::from)).collect())
    };
    let [framework, framework_version, domain, capability_id, attack_object_id, mapping_type, score_category] = [
        "framework",
        "framework_version",
        "domain",
        "capability_id",
        "attack_object_id",
        "mapping_type",
        "score_category",
    ]
    .map(text);
    let (framework, framework_version, domain) = (framework?, framework_version?, domain?);
    let (capability_id, attack_object_id, mapping_type, score_category) =
        (capability_id?, attack_object_id?, mapping_type?, score_category?);
    let parts: Vec<DataFrame> = (0..copies)
        .into_par_iter()
        .map(|copy| -> PolarsResult<DataFrame> {
            let version = format!("synthetic-{copy:03}");
            let ids: Vec<String> = (0..real.height())
                .map(|row| {
                    GrainKey {
                        dataset: DatasetKey {
                            framework: framework[row].clone().unwrap_or_default(),
                            framework_version: framework_version[row].clone().unwrap_or_default(),
                            attack_version: version.clone(),
                            domain: domain[row].clone().unwrap_or_default(),
                        },
                        capability_id: capability_id[row].clone(),
                        attack_object_id: attack_object_id[row].clone(),
                        mapping_type: mapping_type[row].clone(),
                        score_category: score_category[row].clone(),
                    }
                    .mapping_id()
                })
                .collect();
            let mut part = real.clone();
            part.replace("mapping_id", Series::new("mapping_id".into(), ids).into())?;
            part.replace(
                "attack_version",
                Series::new("attack_version".into(), vec![version.as_str(); real.height()]).into(),
            )?;
            Ok(part)
        })
        .collect::<PolarsResult<_>>()?;
    let mut table = parts[0].clone();
    for part in &parts[1..] {
        table.vstack_mut(part)?;
    }
    Ok(table)
}

fn step(what: &str, started: Instant) {
    println!(
        "{what}: {:.2} s; peak memory so far {:.0} MiB",
        started.elapsed().as_secs_f64(),
        peak_memory_mib()
    );
}

/// The process's peak resident set (VmHWM), in MiB.
fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn size_of_dir(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => size_of_dir(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The snapshot's table, built and written as Parquet into `out`, read back.
fn real_table(site: &Path, out: &Path) -> DataFrame {
    let mut build = attackmap::pipeline::build(
        &[site.to_path_buf()],
        Default::default(),
        None,
        &indicatif::ProgressBar::hidden(),
    )
    .expect("the snapshot builds");
    let attack = std::mem::take(&mut build.attack);
    let options = OutputOptions {
        formats: &[Format::Parquet],
        attack: &attack,
        csv: Default::default(),
        versioning: Default::default(),
    };
    attackmap::pipeline::write_outputs(&mut build, options, out).expect("the table is written");
    build
        .written_table(out, &[Format::Parquet])
        .expect("the table reads back")
}
