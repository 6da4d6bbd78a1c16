//! `make bench`: the pictures of the whole snapshot — every layer's SVG heatmap, then report.html —
//! timed apart from the build they are drawn from, with the size of the largest heatmap. Run by
//! `cargo bench --bench pictures` (`cargo test` only builds it).

use std::path::Path;
use std::time::Instant;

use attackmap::changes::Changes;
use attackmap::pipeline::{Format, OutputOptions};
use attackmap::sinks::{heatmap, report_html};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("pictures benchmark: run it with `cargo bench --bench pictures` (or `make bench`)");
        return;
    }
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/site");
    if !site.is_dir() {
        println!("pictures benchmark skipped: {} is absent", site.display());
        return;
    }
    let mut build = attackmap::pipeline::build(&[site], Default::default(), None, &indicatif::ProgressBar::hidden())
        .expect("the snapshot builds");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-pictures");
    let _ = std::fs::remove_dir_all(&out);
    // The layers and the table, as the build writes them; the heatmaps are drawn again apart.
    let attack = std::mem::take(&mut build.attack);
    let options = OutputOptions {
        formats: &[Format::Navigator, Format::Parquet],
        attack: &attack,
        csv: Default::default(),
        versioning: Default::default(),
    };
    attackmap::pipeline::write_outputs(&mut build, options, &out).expect("the outputs");
    let table = build
        .written_table(&out, &[Format::Navigator, Format::Parquet])
        .expect("the table");
    let layers_dir = out.join("navigator");
    let heatmaps_dir = out.join("heatmaps-again");
    std::fs::create_dir_all(&heatmaps_dir).unwrap();
    let mut layers: Vec<(String, attackmap::sinks::navigator::Layer)> = std::fs::read_dir(&layers_dir)
        .expect("the layers")
        .map(|entry| {
            let path = entry.expect("a layer").path();
            let text = std::fs::read(&path).expect("a layer written");
            let file = path.file_name().expect("a file").to_string_lossy().into_owned();
            (file, serde_json::from_slice(&text).expect("a layer reads"))
        })
        .collect();
    layers.sort_by(|a, b| a.0.cmp(&b.0));

    let runs = 5;
    let mut heatmap_times = Vec::new();
    let mut report_times = Vec::new();
    let mut written = Vec::new();
    for _ in 0..runs {
        let clock = Instant::now();
        written = layers
            .iter()
            .map(|(file, layer)| heatmap::write(file, layer, &attack, &heatmaps_dir).expect("a heatmap"))
            .collect();
        heatmap_times.push(clock.elapsed().as_secs_f64());
        let clock = Instant::now();
        let run = report_html::RunFacts {
            command: "build",
            ..Default::default()
        };
        let changes = attackmap::refresh::compare(None, &table).unwrap_or_else(|_| Changes::default());
        let page = build.report_page(&run, &changes, &table, &attack);
        report_html::write(&page, &out).expect("report.html");
        report_times.push(clock.elapsed().as_secs_f64());
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let largest = written.iter().max_by_key(|h| h.bytes).expect("a heatmap");
    let total: usize = written.iter().map(|h| h.bytes).sum();
    println!(
        "heatmaps: {} SVGs ({:.1} MiB in all) in {:.3} s (median of {runs}); largest {} at {} KiB",
        written.len(),
        total as f64 / 1048576.0,
        median(&mut heatmap_times),
        largest.file,
        largest.bytes / 1024
    );
    let report_size = std::fs::metadata(out.join(report_html::REPORT_HTML))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "report.html: {} KiB in {:.3} s (median of {runs}; every row listed as added, the first 20 shown)",
        report_size / 1024,
        median(&mut report_times)
    );
    let _ = std::fs::remove_dir_all(&out);
}
