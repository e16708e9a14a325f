//! (g) What a browser downloads to hydrate: the WASM module and its JS glue, gzipped at the
//! best level, as a compressing proxy or the server would send them.

use std::io::Write;

use anyhow::{Context, Result, ensure};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::report::{Report, Row};
use crate::target::Launch;

use super::Scale;

pub fn bundle_size(launch: &Launch, scale: Scale) -> Result<Report> {
    let pkg = launch.site_root.join("pkg");
    let mut report = Report::new("g: WASM + JS bundle, gzip");
    let (mut raw, mut gzipped) = (0u64, 0u64);
    let entries = std::fs::read_dir(&pkg)
        .with_context(|| format!("no bundle at {} (run `cargo xtask build`)", pkg.display()))?;
    for entry in entries {
        let path = entry?.path();
        let counted = path.extension().is_some_and(|ext| ext == "wasm" || ext == "js");
        if !counted {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&bytes)?;
        let compressed = gz.finish()?.len() as u64;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let sizes = format!("{} KiB, {} KiB gzip", kib(bytes.len() as u64), kib(compressed));
        report.push(Row::info(&name, sizes));
        raw += bytes.len() as u64;
        gzipped += compressed;
    }
    ensure!(raw > 0, "no .wasm or .js files in {}", pkg.display());
    report.push(Row::info("total", format!("{} KiB", kib(raw))));
    let gzip_kib = gzipped as f64 / 1024.0;
    report.push(Row::at_most("total gzip", gzip_kib, scale.target(400.0), "KiB"));
    Ok(report)
}

fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}
