//! The stages split must not change a single number: `update` (measure + absorb in one process)
//! against measure → bytes → absorb, as a distributed engine runs them.

use std::sync::Arc;

use super::*;
use crate::audit::{AuditOptions, Auditor};
use crate::near::test_support::SplitMix;
use crate::near::{Clustering, NearOptions};
use crate::tokens::tests::{byte_level_tokenizer, temp_dir};

/// Rows with exact copies (case, spacing), near copies, nulls, empties, shared openings,
/// Unicode and text without spaces; labels that conflict on some copies.
fn corpus(rows: usize, seed: u64) -> (Vec<Option<String>>, Vec<Option<String>>) {
    let words = ["alpha", "Beta", "GAMMA", "délta", "ÉPSILON", "ﬁve", "zeta", "eta", "theta", "iota", "kappa", "東京"];
    let mut rng = SplitMix(seed);
    let mut texts: Vec<Option<String>> = Vec::new();
    let mut labels = Vec::new();
    for i in 0..rows {
        let text = match rng.below(12) {
            0 => None,
            1 => Some(String::new()),
            2 | 3 if i > 0 => texts[rng.below(i as u64) as usize].clone().map(|t| t.to_uppercase()),
            4 | 5 if i > 0 => {
                texts[rng.below(i as u64) as usize].clone().map(|t| format!("{t} {}", words[rng.below(12) as usize]))
            }
            6 => Some("東京都の天気は晴れです今日はとても暑い一日になりそうです".repeat(1 + rng.below(3) as usize)),
            _ => {
                let len = 3 + rng.below(30) as usize;
                let body: Vec<String> =
                    (0..len).map(|_| format!("{}{}", words[rng.below(12) as usize], rng.below(40))).collect();
                Some(format!("Dear customer, thank you for writing.  {}", body.join(" ")))
            }
        };
        texts.push(text);
        labels.push(["pos", "neg", "neutral"].get(rng.below(4) as usize).map(|s| s.to_string()));
    }
    (texts, labels)
}

fn near_options(shingle: Shingle, clustering: Clustering) -> NearOptions {
    NearOptions { ngram: 3, threshold: 0.5, shingle, clustering, ..NearOptions::default() }
}

/// Everything an audit reports, as text (NaN similarities compare equal that way).
fn outcome(mut a: Auditor, labels: bool) -> String {
    a.finish_near().unwrap();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        a.summary(labels),
        a.row_ids(),
        a.near_clusters(),
        a.template_candidates(2),
        a.template_signal(),
        a.conflicts(10).unwrap(),
        a.keep_flags().unwrap(),
        a.exact_index().summary(100),
    )
}

fn auditor(near: Option<NearOptions>, tokenizer: Option<&Arc<TokenCounter>>) -> Auditor {
    let mut a = Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near }).unwrap();
    if let Some(t) = tokenizer {
        a.set_tokenizer(t.clone()).unwrap();
    }
    a
}

fn local(
    texts: &[Option<String>],
    labels: Option<&[Option<String>]>,
    batch: usize,
    near: Option<NearOptions>,
    tok: Option<&Arc<TokenCounter>>,
) -> String {
    let mut a = auditor(near, tok);
    for (i, chunk) in texts.chunks(batch).enumerate() {
        let l = labels.map(|l| l[i * batch..i * batch + chunk.len()].to_vec());
        a.update(&chunk.to_vec(), l.as_ref().map(|l| l as &dyn TextColumn)).unwrap();
    }
    outcome(a, labels.is_some())
}

/// Measured "elsewhere": standalone options, no row numbers, through bytes; a fresh thread
/// pool of another size, as on another machine.
fn staged(
    texts: &[Option<String>],
    labels: Option<&[Option<String>]>,
    batch: usize,
    near: Option<NearOptions>,
    tok: Option<&Arc<TokenCounter>>,
) -> String {
    let mut a = auditor(near.clone(), tok);
    let options = MeasureOptions::standalone(Normalize::Default, near.as_ref()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for (i, chunk) in texts.chunks(batch).enumerate() {
        let bytes = pool.install(|| measure_batch(&options, tok.map(|t| &**t), &chunk.to_vec(), 0).unwrap().to_bytes());
        let measure = BatchMeasure::from_bytes(&bytes).unwrap();
        assert_eq!(measure.rows(), chunk.len());
        let l = labels.map(|l| l[i * batch..i * batch + chunk.len()].to_vec());
        a.absorb(measure, l.as_ref().map(|l| l as &dyn TextColumn)).unwrap();
    }
    outcome(a, labels.is_some())
}

#[test]
fn absorb_of_shipped_measures_equals_update() {
    let (texts, labels) = corpus(3_000, 7);
    let dir = temp_dir("stages");
    let tok = Arc::new(TokenCounter::from_file(byte_level_tokenizer(&dir, "stages.json", |_| {})).unwrap());
    let nears = [
        None,
        Some(near_options(Shingle::Auto, Clustering::Representative)),
        Some(near_options(Shingle::Word, Clustering::Components)),
        Some(near_options(Shingle::Char, Clustering::Representative)),
    ];
    for near in nears {
        for tokenizer in [None, Some(&tok)] {
            let reference = local(&texts, Some(&labels), 1_000, near.clone(), tokenizer);
            assert!(reference.contains("exact_clusters"), "conflicts must be reported");
            for batch in [1_000, 257, 3_000] {
                let got = staged(&texts, Some(&labels), batch, near.clone(), tokenizer);
                assert_eq!(got, reference, "near {near:?}, tokenizer {}, batch {batch}", tokenizer.is_some());
            }
            assert_eq!(
                local(&texts, None, 311, near.clone(), tokenizer),
                staged(&texts, None, 1_000, near.clone(), tokenizer)
            );
        }
    }
    // `update` counts the words of a row an earlier batch had without hashing them again (a
    // measure shipped from elsewhere never does): the comparisons above covered that shortcut.
    let mut a = auditor(None, None);
    texts.chunks(1_000).for_each(|chunk| a.update(&chunk.to_vec(), None).unwrap());
    assert!(a.stats.repeated_rows > 10, "{} rows counted as repeats", a.stats.repeated_rows);
}

#[test]
fn estimated_distinct_counts_are_the_same_whatever_the_partials_mode() {
    // Past a million distinct word pairs the global counters estimate: the local engine then
    // measures with estimating partials, a remote one with exact partials. Same registers,
    // same numbers.
    let mut rng = SplitMix(3);
    let texts: Vec<Option<String>> = (0..24_000)
        .map(|_| Some((0..60).map(|_| format!("w{}", rng.below(50_000))).collect::<Vec<_>>().join(" ")))
        .collect();
    let reference = local(&texts, None, 4_000, None, None);
    assert!(reference.contains("estimated: true"), "the corpus must push the counters past the exact limit");
    assert_eq!(staged(&texts, None, 4_000, None, None), reference);
}

#[test]
fn mismatched_or_corrupt_measures_are_refused() {
    let (texts, _) = corpus(200, 1);
    let options = MeasureOptions::standalone(Normalize::Default, None).unwrap();
    let bytes = measure_batch(&options, None, &texts, 0).unwrap().to_bytes();
    // Measured without near sketches, absorbed by a near audit.
    let mut near = auditor(Some(near_options(Shingle::Auto, Clustering::Representative)), None);
    let err = near.absorb(BatchMeasure::from_bytes(&bytes).unwrap(), None).unwrap_err();
    assert!(matches!(err, CoreError::Input(_)), "{err:?}");
    for cut in [0, 5, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(BatchMeasure::from_bytes(&bytes[..cut]), Err(CoreError::Input(_))), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(BatchMeasure::from_bytes(&longer).is_err());
    let mut exact = auditor(None, None);
    exact.absorb(BatchMeasure::from_bytes(&bytes).unwrap(), None).unwrap();
    assert_eq!(exact.rows(), 200);
}

#[test]
fn shuffled_band_buckets_cluster_as_finish_does() {
    use crate::near::buckets::{BandEntry, SharedBuckets, entries_from_bytes, shared_buckets};
    let (texts, _) = corpus(4_000, 11);
    // A budget so small the exact table spills: some sketched members turn out to be
    // duplicates at the merge and must leave the external buckets as they leave `finish`'s.
    let tiny = 64 << 10;
    let nears = [
        near_options(Shingle::Auto, Clustering::Representative),
        near_options(Shingle::Word, Clustering::Components),
        near_options(Shingle::Char, Clustering::Representative),
        NearOptions { memory_budget: tiny, ..near_options(Shingle::Auto, Clustering::Representative) },
        NearOptions { memory_budget: tiny, ..near_options(Shingle::Word, Clustering::Components) },
    ];
    for near in nears {
        let reference = local(&texts, None, 700, Some(near.clone()), None);
        let options = MeasureOptions::standalone(Normalize::Default, Some(&near)).unwrap();
        for partitions in [1u32, 3, 8] {
            let mut a = auditor(Some(near.clone()), None);
            let mut parts: Vec<Vec<BandEntry>> = vec![Vec::new(); partitions as usize];
            for chunk in texts.chunks(700) {
                let first_row = a.rows();
                let bytes = measure_batch(&options, None, &chunk.to_vec(), 0).unwrap().to_bytes();
                a.absorb(BatchMeasure::from_bytes(&bytes).unwrap(), None).unwrap();
                let (first_member, keep) = a.batch_members(first_row).unwrap();
                let measure = BatchMeasure::from_bytes(&bytes).unwrap();
                for (p, part) in measure.band_partitions(&keep, first_member, partitions).unwrap().iter().enumerate() {
                    entries_from_bytes(part, &mut parts[p]).unwrap();
                }
            }
            // Partitions reduced in another order, entries reversed: bucket numbers differ from
            // the local run's; the clusters must not.
            let buckets: Vec<SharedBuckets> = parts
                .into_iter()
                .rev()
                .map(|mut entries| {
                    entries.reverse();
                    SharedBuckets::from_bytes(&shared_buckets(entries).to_bytes()).unwrap()
                })
                .collect();
            assert!(buckets.iter().map(SharedBuckets::len).sum::<usize>() > 100, "too few shared buckets to test");
            a.finish_near_with_buckets(&buckets).unwrap();
            assert_eq!(a.exact_index().is_spilled(), near.memory_budget == tiny);
            assert_eq!(outcome(a, false), reference, "{near:?}, {partitions} partitions");
        }
    }
    // Buckets naming members the index does not have are refused.
    let mut a = auditor(Some(nears_first()), None);
    a.update(&texts[..10].to_vec(), None).unwrap();
    let bogus =
        shared_buckets(vec![BandEntry { band: 0, key: 1, member: 0 }, BandEntry { band: 0, key: 1, member: 999 }]);
    assert!(matches!(a.finish_near_with_buckets(&[bogus]), Err(CoreError::Input(_))));
}

fn nears_first() -> NearOptions {
    near_options(Shingle::Auto, Clustering::Representative)
}
