//! `make bench`: the pictures of the whole snapshot — every layer's SVG heatmap, then report.html —
//! timed apart from the build they are drawn from, with the size of the largest heatmap. Run by
//! `cargo bench --bench pictures` (`cargo test` only builds it).

use std::path::Path;
use std::time::Instant;

use attackmap::changes::Changes;
use attackmap::sinks::{heatmap, navigator, report_html};

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
    let (layers_dir, heatmaps_dir) = (out.join("navigator"), out.join("heatmaps"));
    std::fs::create_dir_all(&layers_dir).unwrap();
    std::fs::create_dir_all(&heatmaps_dir).unwrap();
    let no_heatmap = |_: &str, _: &serde_json::Value| Ok(());
    let layers: Vec<(String, serde_json::Value)> = navigator::write_all(&build.rows, &[], &layers_dir, &no_heatmap)
        .expect("the layers")
        .into_iter()
        .map(|(layer, ())| {
            let text = std::fs::read(layers_dir.join(&layer.file)).expect("a layer written");
            (layer.file, serde_json::from_slice(&text).expect("a layer reads"))
        })
        .collect();
    // The table and report.html's charts, as `write_outputs` makes them once the rows are written.
    let attack = std::mem::take(&mut build.attack);
    build.rows_to_frame(&attack).expect("the table");

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
        let changes = attackmap::refresh::compare(None, &build.frame).unwrap_or_else(|_| Changes::default());
        let page = build.report_page(&run, &changes, &attack);
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
