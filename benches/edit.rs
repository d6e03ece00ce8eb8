//! The pure edit layer, without process start or file IO: parse (which
//! checks the round trip) + `install::plan` + render, and parse +
//! `uninstall::plan` + render, on generated configs of 2 KiB to 10 MiB and
//! on the largest config of the corpus (`../shared/corpus/codex-configs`,
//! skipped when absent).
//!
//!     cargo bench --bench edit
//!     cargo bench --bench edit -- install/1M     # one case
//!
//! Throughput is reported in bytes of input, so linear scaling shows as a
//! flat MiB/s across sizes.

#[path = "support/gen_config.rs"]
mod gen_config;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ominigate_codex::codex::version::{Layout, Version};
use ominigate_codex::edit::{Files, RecordOrder, install, uninstall};
use ominigate_codex::fs::FileWrite;

fn options() -> install::Options {
    install::Options {
        layout: Layout::for_version(Version::new(0, 169, 0)),
        wire_api: "responses",
        base_url: None,
        env_key: None,
        model: None,
        default: false,
        no_default: false,
        route: install::Route::Direct,
    }
}

/// The text a change leaves (`None`: the file is gone).
fn text(change: &FileWrite) -> Option<String> {
    change
        .after
        .as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// What `ominigate-codex install` computes for `text`: the new config, the
/// profile file and the state, all in memory.
fn install(text_in: &str) -> (String, Option<String>, Option<String>) {
    let files = Files::in_memory(Some(text_in), None, None);
    let mut work = files.open().expect("config parses");
    install::plan(&mut work.docs, &options()).expect("install plans");
    let [_, record, _, config, profile, _, _] = work.changes(RecordOrder::First);
    (
        text(&config).expect("config"),
        text(&profile),
        text(&record),
    )
}

/// What `ominigate-codex uninstall` computes for an installed config.
fn uninstall(config: &str, profile: &str, state: &str) -> String {
    let files = Files::in_memory(Some(config), Some(profile), Some(state));
    let mut work = files.open().expect("config parses");
    uninstall::plan(&mut work.docs, false, &[]).expect("no shape error, not refused");
    let [_, config, _, _, _, _, _] = work.changes(RecordOrder::Last);
    text(&config).expect("config")
}

/// The largest `.toml` of the corpus beside the repository, if there is one.
fn largest_corpus_file() -> Option<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/codex-configs");
    let path = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .max_by_key(|p| p.metadata().map(|m| m.len()).unwrap_or(0))?;
    let text = std::fs::read_to_string(&path).ok()?;
    let name = path.file_stem()?.to_string_lossy().into_owned();
    Some((format!("corpus-{name}"), text))
}

fn inputs() -> Vec<(String, String)> {
    let mut inputs: Vec<(String, String)> = ["2K", "100K", "1M", "10M"]
        .iter()
        .map(|s| {
            let size = gen_config::parse_size(s).expect("valid size");
            (s.to_string(), gen_config::generate(size))
        })
        .collect();
    match largest_corpus_file() {
        Some(found) => inputs.push(found),
        None => eprintln!(
            "no ../shared/corpus/codex-configs beside the repository: corpus case skipped"
        ),
    }
    inputs
}

fn edit(c: &mut Criterion) {
    for (name, text) in inputs() {
        // Checked once, untimed: the benchmark measures a real round trip.
        let (installed, profile, state) = install(&text);
        assert!(installed.contains("[model_providers.ominigate]"), "{name}");
        let profile = profile.expect("0.169 writes a profile file");
        let state = state.expect("install keeps a record");
        assert_eq!(uninstall(&installed, &profile, &state), text, "{name}");

        // Fewer, flat samples for the large inputs keep a full run to a few
        // minutes (one 10M iteration takes about half a second).
        let mut group = c.benchmark_group("edit");
        if text.len() >= 1 << 20 {
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(if text.len() >= 8 << 20 {
                    8
                } else {
                    3
                }));
        } else if text.len() >= 64 << 10 {
            group.sample_size(40);
        }
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("install/{name}"), |b| {
            b.iter(|| install(black_box(&text)))
        });
        group.bench_function(format!("uninstall/{name}"), |b| {
            b.iter(|| uninstall(black_box(&installed), &profile, &state))
        });
        group.finish();
    }
}

criterion_group!(benches, edit);
criterion_main!(benches);
