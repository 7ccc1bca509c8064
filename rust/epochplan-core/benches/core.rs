//! Micro-benchmarks of the core's hot paths, without Python: `cargo bench -p epochplan-core`.
//!
//! Inputs are synthetic but shaped like the real thing (prose of 40-120 words; Latin text with
//! diacritics; unspaced CJK), generated from a fixed seed so runs compare. Throughput is in input
//! bytes (texts) or elements (digests), so numbers read as MB/s or M rows/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use epochplan_core::exact::ExactIndex;
use epochplan_core::hashing::text_digest;
use epochplan_core::near::{SketchScratch, Sketcher};
use epochplan_core::{Normalize, Shingle, defaults};

const DOCUMENTS: usize = 2_000;

/// SplitMix64: a fixed, dependency-free stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Documents of 40-120 words drawn from `words`, joined by `separator` with the odd double space,
/// capital or tab that normalisation has to undo.
fn documents(words: &[&str], separator: &str, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..DOCUMENTS)
        .map(|_| {
            let mut text = String::new();
            for i in 0..40 + rng.below(81) {
                if i > 0 {
                    text.push_str(match rng.below(20) {
                        0 => "  ",
                        1 if !separator.is_empty() => "\t",
                        _ => separator,
                    });
                }
                let word = words[rng.below(words.len())];
                if rng.below(10) == 0 {
                    text.push_str(&word.to_uppercase());
                } else {
                    text.push_str(word);
                }
            }
            text
        })
        .collect()
}

const ASCII_WORDS: &[&str] = &[
    "the",
    "committee",
    "met",
    "on",
    "tuesday",
    "to",
    "discuss",
    "annual",
    "budget",
    "and",
    "agreed",
    "postpone",
    "vote",
    "until",
    "next",
    "month",
    "model",
    "training",
    "data",
    "epoch",
    "of",
    "a",
    "in",
    "with",
    "for",
    "review",
];
const LATIN_WORDS: &[&str] = &[
    "élève",
    "façade",
    "über",
    "straße",
    "señor",
    "niño",
    "crème",
    "brûlée",
    "déjà",
    "vu",
    "garçon",
    "fiancé",
    "naïve",
    "coöperate",
    "Ångström",
    "Øre",
    "ﬁnance",
    "l'été",
    "où",
    "à",
    "été",
    "große",
    "Müller",
    "São",
];
const CJK_WORDS: &[&str] = &[
    "数据",
    "训练",
    "模型",
    "重复",
    "样本",
    "标签",
    "日本語",
    "の",
    "テキスト",
    "を",
    "確認",
    "する",
    "東京",
    "北京",
    "学习",
    "评估",
    "文章",
    "句子",
    "ＡＢＣ",
    "１２３",
];

fn corpora() -> [(&'static str, Vec<String>); 3] {
    [
        ("ascii", documents(ASCII_WORDS, " ", 1)),
        ("latin_diacritics", documents(LATIN_WORDS, " ", 2)),
        ("cjk", documents(CJK_WORDS, "", 3)),
    ]
}

fn bytes(texts: &[String]) -> u64 {
    texts.iter().map(|t| t.len() as u64).sum()
}

fn normalise(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalise");
    for (name, texts) in corpora() {
        group.throughput(Throughput::Bytes(bytes(&texts)));
        group.bench_function(name, |b| {
            let mut buf = String::new();
            b.iter(|| {
                for text in &texts {
                    black_box(Normalize::Default.apply(black_box(text), &mut buf).len());
                }
            })
        });
    }
    group.finish();
}

fn shingle_and_sketch(c: &mut Criterion) {
    let mut group = c.benchmark_group("shingle_sketch");
    let [(_, ascii), _, (_, cjk)] = corpora();
    let cases = [("word5_ascii", Shingle::Word, defaults::NGRAM, ascii), ("char5_cjk", Shingle::Char, 5, cjk)];
    for (name, shingle, ngram, texts) in cases {
        let sketcher = Sketcher::new(Normalize::Default, shingle, ngram, defaults::NUM_PERM).unwrap();
        group.throughput(Throughput::Bytes(bytes(&texts)));
        group.bench_function(name, |b| {
            let mut scratch = SketchScratch::default();
            let mut out = vec![0u32; defaults::NUM_PERM];
            b.iter(|| {
                for text in &texts {
                    sketcher.sketch(black_box(text), &mut scratch, &mut out);
                    black_box(&out);
                }
            })
        });
    }
    group.finish();
}

fn exact_insert(c: &mut Criterion) {
    // 200k rows, a third of them repeats of earlier rows: the mix of new clusters and hits.
    let rows = 200_000u64;
    let mut rng = Rng(4);
    let digests: Vec<u128> = (0..rows)
        .map(|row| {
            let id = if row > 0 && rng.below(3) == 0 { rng.next() % row } else { row };
            text_digest(&id.to_le_bytes())
        })
        .collect();
    let mut group = c.benchmark_group("exact");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("insert", |b| {
        b.iter_batched(
            ExactIndex::new,
            |mut index| {
                for (row, &digest) in digests.iter().enumerate() {
                    black_box(index.insert(digest, row as u64, 0));
                }
                index
            },
            BatchSize::LargeInput,
        )
    });
    let [(_, ascii), ..] = corpora();
    group.throughput(Throughput::Bytes(bytes(&ascii)));
    group.bench_function("digest_ascii", |b| {
        b.iter(|| {
            for text in &ascii {
                black_box(text_digest(black_box(text.as_bytes())));
            }
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // Shorter than criterion's defaults: the build machines are shared and the effects measured
    // here are large; pass --measurement-time for finer numbers.
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = normalise, shingle_and_sketch, exact_insert
}
criterion_main!(benches);
