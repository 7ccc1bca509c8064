//! End-to-end tests of near clusters and leakage on planted corpora.

use hashbrown::HashSet;

use super::test_support::{SplitMix, document, edited};
use super::*;
use crate::audit::{AuditOptions, Auditor};
use crate::cluster_ids::NO_CLUSTER;
use crate::error::CoreError;
use crate::hashing::{combine, word_hash};
use crate::normalize::Normalize;

type Texts = Vec<Option<String>>;

/// Exact ids from the real exact path, then near clusters, both fed in batches of `batch` rows.
fn cluster(texts: &Texts, options: NearOptions, batch: usize) -> NearClusters {
    let mut index = NearIndex::new(options).unwrap();
    feed(&mut index, texts, batch);
    index.finish().unwrap()
}

fn feed(index: &mut NearIndex, texts: &Texts, batch: usize) {
    let mut auditor =
        Auditor::new(AuditOptions { normalize: index.options().normalize, keep_row_ids: true, near: None }).unwrap();
    for part in texts.chunks(batch) {
        let part = part.to_vec();
        auditor.update(&part, None).unwrap();
        let ids = auditor.row_ids().unwrap();
        index.update(&part, Some(&ids[ids.len() - part.len()..])).unwrap();
    }
}

fn five_grams(words: &[String]) -> HashSet<u64> {
    let hashes: Vec<u64> = words.iter().map(String::as_str).map(word_hash).collect();
    hashes.windows(5).map(|w| w[1..].iter().fold(w[0], |h, &x| combine(h, x))).collect()
}

fn jaccard(a: &[String], b: &[String]) -> f64 {
    let (a, b) = (five_grams(a), five_grams(b));
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

/// Planted corpus: `bases` random documents; the first quarter get a near copy (`near_edits`
/// words replaced), the second quarter a far copy (a quarter of the words replaced), the first
/// eighth an exact copy. Rows shuffled.
/// Returns the texts and, per base, the rows of (base, near copy, far copy, exact copy).
struct Planted {
    texts: Texts,
    rows: Vec<[Option<usize>; 4]>,
}

fn planted(seed: u64, bases: usize, words: usize, near_edits: usize) -> Planted {
    let mut rng = SplitMix(seed);
    let mut docs: Vec<(usize, usize, Vec<String>)> = Vec::new(); // (base, kind, words)
    for base in 0..bases {
        let doc = document(&mut rng, words);
        if base < bases / 4 {
            let copy = edited(&mut rng, &doc, near_edits);
            assert!(jaccard(&doc, &copy) > 0.8, "planted near copy too far");
            docs.push((base, 1, copy));
        } else if base < bases / 2 {
            let copy = edited(&mut rng, &doc, words / 4);
            assert!(jaccard(&doc, &copy) < 0.45, "planted far copy too near");
            docs.push((base, 2, copy));
        }
        if base < bases / 8 {
            docs.push((base, 3, doc.clone()));
        }
        docs.push((base, 0, doc));
    }
    rng.shuffle(&mut docs);
    let mut rows = vec![[None; 4]; bases];
    let texts = docs
        .into_iter()
        .enumerate()
        .map(|(row, (base, kind, words))| {
            rows[base][kind] = Some(row);
            Some(words.join(" "))
        })
        .collect();
    Planted { texts, rows }
}

fn cluster_sizes(near_ids: &[u64]) -> hashbrown::HashMap<u64, usize> {
    let mut sizes = hashbrown::HashMap::new();
    for &id in near_ids.iter().filter(|&&id| id != NO_CLUSTER) {
        *sizes.entry(id).or_insert(0) += 1;
    }
    sizes
}

#[test]
fn planted_near_copies_cluster_and_the_rest_stay_apart() {
    // 2 edits in 300 words: J ≈ 0.93, which misses every one of the 14 bands of 9 slots with
    // probability (1 - 0.93^9)^14 ≈ 2e-5 — so every pair must be found.
    let corpus = planted(1, 240, 300, 2);
    let result = cluster(&corpus.texts, NearOptions::default(), 97);
    let ids = &result.near_ids;
    let sizes = cluster_sizes(ids);
    for (base, [doc, near, far, exact]) in corpus.rows.iter().enumerate() {
        let doc = doc.unwrap();
        let mut expected_members = vec![doc];
        expected_members.extend(near.iter().chain(exact));
        let lowest = *expected_members.iter().min().unwrap() as u64;
        for &member in &expected_members {
            assert_eq!(ids[member], lowest, "base {base}: row {member} not in the cluster led by row {lowest}");
        }
        assert_eq!(sizes[&lowest], expected_members.len(), "base {base}: cluster has extra rows");
        if let Some(far) = far {
            assert_eq!(ids[*far], *far as u64, "base {base}: far copy was clustered");
        }
    }
    for link in &result.links {
        assert!(link.row < link.other && link.similarity >= 0.7);
    }
    let summary = result.summary(5);
    assert_eq!(summary.clusters as usize, 240 / 4);
    assert_eq!(summary.duplicate_rows as usize, 240 / 4 + 240 / 8);
    assert_eq!(summary.largest_cluster, 3); // base + near copy + exact copy
    assert_eq!(summary.top.len(), 5);
    assert!(summary.top.windows(2).all(|w| (w[1].count, w[0].row) < (w[0].count, w[1].row)));
}

#[test]
fn short_texts_never_collapse_but_equal_ones_match() {
    let mut texts: Texts = (0..400).map(|i| Some(format!("hello world {i}"))).collect();
    texts.push(Some("Hello   WORLD 7".into())); // row 400: same as row 7 once normalised
    texts.push(Some(String::new()));
    texts.push(Some(" ".into())); // empty once normalised: same as row 401
    texts.push(Some("a".into()));
    texts.push(Some("b".into()));
    let mut index = NearIndex::new(NearOptions::default()).unwrap();
    // No exact ids: equal short texts must still meet through their (identical) sketches.
    index.update(&texts, None).unwrap();
    let ids = index.finish().unwrap().near_ids;
    let mut expected: Vec<u64> = (0..texts.len() as u64).collect();
    expected[400] = 7;
    expected[402] = 401;
    assert_eq!(ids, expected);

    // Char shingles: texts shorter than n chars are one shingle too.
    let options = NearOptions { shingle: Shingle::Char, ngram: 8, ..NearOptions::default() };
    let mut index = NearIndex::new(options).unwrap();
    index.update(&vec![Some("abc"), Some("abd"), Some("abc"), Some("xyz")], None).unwrap();
    assert_eq!(index.finish().unwrap().near_ids, vec![0, 1, 0, 3]);
}

#[test]
fn exact_clusters_are_merged_into_near_clusters() {
    let mut rng = SplitMix(5);
    let a = document(&mut rng, 200);
    let b = edited(&mut rng, &a, 2);
    let c = document(&mut rng, 200);
    let texts: Texts = vec![
        Some(c.join(" ")),                                   // 0: unrelated
        Some(b.join(" ")),                                   // 1: near copy of a, lowest of its cluster
        None,                                                // 2
        Some(format!("  {}  ", a.join(" ").to_uppercase())), // 3: a, exact after normalising
        Some(a.join(" ")),                                   // 4: exact copy of 3
        Some(b.join("\t")),                                  // 5: exact copy of 1
    ];
    let result = cluster(&texts, NearOptions::default(), 4);
    assert_eq!(result.near_ids, vec![0, 1, NO_CLUSTER, 1, 1, 1]);
    // Exact duplicates are not sketched; the single near link joins the two representatives.
    assert_eq!(result.links.len(), 1);
    assert_eq!((result.links[0].row, result.links[0].other), (1, 3));
}

#[test]
fn same_clusters_on_any_thread_count_in_memory_or_spilled() {
    let corpus = planted(9, 1200, 60, 1);
    let mut eval: Texts = corpus.texts.iter().step_by(37).cloned().collect();
    eval.push(None);
    let run = |threads: usize, spill: bool| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let options = NearOptions { memory_budget: if spill { 0 } else { 1 << 30 }, ..NearOptions::default() };
            let mut index = NearIndex::new(options).unwrap();
            if spill {
                // Several key-range parts per band, to exercise the bounded sort.
                index.sort_limit = 16 * 300;
            }
            feed(&mut index, &corpus.texts, 500);
            assert_eq!(index.is_spilled(), spill);
            let clusters = index.finish().unwrap();
            let mut probe = index.new_probe();
            for part in eval.chunks(7) {
                probe.update(&part.to_vec()).unwrap();
            }
            (clusters, index.leakage(&probe, None).unwrap())
        })
    };
    let reference = run(1, false);
    // Pairs at J ≈ 0.85 become LSH candidates with probability ≈ 0.96 at (14, 9).
    assert!(reference.0.links.len() >= 1200 / 4 * 9 / 10);
    assert_eq!(run(4, false), reference);
    assert_eq!(run(4, true), reference);
    assert_eq!(run(1, true), reference);
}

#[test]
fn leakage_names_the_train_rows_of_planted_eval_copies() {
    let mut rng = SplitMix(21);
    let train_docs: Vec<Vec<String>> = (0..300).map(|_| document(&mut rng, 120)).collect();
    let mut train: Texts = train_docs.iter().map(|d| Some(d.join(" "))).collect();
    // rows 300..303: three near variants of row 10
    for _ in 0..3 {
        train.push(Some(edited(&mut rng, &train_docs[10], 1).join(" ")));
    }
    let mut index = NearIndex::new(NearOptions::default()).unwrap();
    feed(&mut index, &train, 64);
    let before = index.finish().unwrap();

    let eval: Texts = vec![
        Some(train_docs[5].join(" ")),                        // 0: exact copy of row 5
        Some(edited(&mut rng, &train_docs[6], 2).join(" ")),  // 1: near copy of row 6
        None,                                                 // 2
        Some(document(&mut rng, 120).join(" ")),              // 3: unrelated
        Some(train_docs[10].join(" ")),                       // 4: matches row 10 and its variants
        Some(edited(&mut rng, &train_docs[7], 40).join(" ")), // 5: far copy of row 7
    ];
    let mut probe = index.new_probe();
    probe.update(&eval).unwrap();
    assert_eq!(probe.rows(), 6);
    let matches = index.leakage(&probe, None).unwrap();
    let pairs: Vec<(u64, u64)> = matches.iter().map(|m| (m.eval_row, m.train_row)).collect();
    assert_eq!(pairs[..2], [(0, 5), (1, 6)]);
    assert_eq!(matches[0].similarity, 1.0);
    let row_10: Vec<u64> = pairs[2..]
        .iter()
        .map(|&(e, t)| {
            assert_eq!(e, 4, "eval row {e} should match nothing");
            t
        })
        .collect();
    assert_eq!(row_10[0], 10, "the exact copy is the best match");
    let mut variants = row_10[1..].to_vec();
    variants.sort_unstable();
    assert_eq!(variants, vec![300, 301, 302]);
    assert!(matches.iter().all(|m| m.similarity >= 0.7));

    let best = index.leakage(&probe, Some(1)).unwrap();
    let best_pairs: Vec<(u64, u64)> = best.iter().map(|m| (m.eval_row, m.train_row)).collect();
    assert_eq!(best_pairs, vec![(0, 5), (1, 6), (4, 10)]);

    // Eval rows never join the train index.
    assert_eq!(index.rows(), 303);
    assert_eq!(index.finish().unwrap(), before);
}

#[test]
fn exact_verification_decides_leakage_by_the_shingle_sets() {
    // Eval copies of train rows at edit distances around the threshold: under `Verify::Exact`
    // a match is kept by the exact Jaccard of the two shingle sets, never by the estimate.
    let mut rng = SplitMix(33);
    let train_docs: Vec<Vec<String>> = (0..200).map(|_| document(&mut rng, 60)).collect();
    let train: Texts = train_docs.iter().map(|d| Some(d.join(" "))).collect();
    let eval: Texts = (0..120).map(|i| Some(edited(&mut rng, &train_docs[i], 1 + i % 6).join(" "))).collect();
    let options = NearOptions { verify: Verify::Exact, ..NearOptions::default() };
    let mut index = NearIndex::new(options.clone()).unwrap();
    feed(&mut index, &train, 64);
    let rows = index.exact_rows().unwrap();
    let texts: Texts = rows.iter().map(|&r| train[r as usize].clone()).collect();
    index.add_exact_texts(&rows, &texts).unwrap();

    let mut probe = index.new_probe();
    probe.update(&eval).unwrap();
    let not_given = index.leakage(&probe, None).unwrap_err();
    assert!(matches!(not_given, CoreError::Input(_)), "{not_given:?}");
    let (eval_rows, train_rows) = index.leakage_exact_rows(&mut probe).unwrap();
    assert!(eval_rows.windows(2).all(|w| w[0] < w[1]) && train_rows.windows(2).all(|w| w[0] < w[1]));
    let pick = |texts: &Texts, rows: &[u64]| -> Texts { rows.iter().map(|&r| texts[r as usize].clone()).collect() };
    index.leakage_add_exact_texts(&mut probe, LeakSide::Eval, &eval_rows, &pick(&eval, &eval_rows)).unwrap();
    let half = train_rows.len() / 2;
    let missing = index.leakage(&probe, None).unwrap_err();
    assert!(matches!(missing, CoreError::Input(_)), "{missing:?}");
    let wrong =
        index.leakage_add_exact_texts(&mut probe, LeakSide::Train, &train_rows[1..2], &pick(&train, &train_rows[1..2]));
    assert!(matches!(wrong, Err(CoreError::Input(_))), "{wrong:?}");
    for part in [&train_rows[..half], &train_rows[half..]] {
        index.leakage_add_exact_texts(&mut probe, LeakSide::Train, part, &pick(&train, part)).unwrap();
    }
    let matches = index.leakage(&probe, None).unwrap();

    let sketcher = index.sketcher.clone();
    let set = |text: &str| {
        let mut out = Vec::new();
        sketcher.shingle_set(text, &mut SketchScratch::default(), &mut out);
        out
    };
    let exact = |e: u64, t: u64| {
        exact_jaccard(&set(eval[e as usize].as_deref().unwrap()), &set(train[t as usize].as_deref().unwrap()))
    };
    assert!(!matches.is_empty());
    for m in &matches {
        assert_eq!(m.similarity, exact(m.eval_row, m.train_row), "{m:?}");
        assert!(m.similarity >= options.threshold, "{m:?}");
    }
    // Every eval row at or above the threshold with its source is found (these pairs share far
    // more than a band), and none below it is.
    let found: HashSet<(u64, u64)> = matches.iter().map(|m| (m.eval_row, m.train_row)).collect();
    let (mut above, mut below) = (0, 0);
    for e in 0..eval.len() as u64 {
        let similar = exact(e, e) >= options.threshold;
        (above, below) = if similar { (above + 1, below) } else { (above, below + 1) };
        assert_eq!(found.contains(&(e, e)), similar, "eval row {e}: {}", exact(e, e));
    }
    assert!(above > 10 && below > 10, "{above} above, {below} below the threshold");
}

#[test]
fn bad_options_and_inputs_are_input_errors() {
    let bad = [
        NearOptions { threshold: 0.0, ..NearOptions::default() },
        NearOptions { threshold: 1.0, ..NearOptions::default() },
        NearOptions { threshold: f64::NAN, ..NearOptions::default() },
        NearOptions { num_perm: 0, ..NearOptions::default() },
        NearOptions { ngram: 0, ..NearOptions::default() },
        NearOptions { lsh: Some(LshPlan { bands: 20, rows_per_band: 10 }), ..NearOptions::default() },
        NearOptions { temp_dir: Some("/nonexistent/epochplan".into()), ..NearOptions::default() },
    ];
    for options in bad {
        assert!(matches!(NearIndex::new(options.clone()), Err(CoreError::Input(_))), "{options:?}");
    }

    let texts: Texts = vec![Some("a".into()), None, Some("a".into())];
    let invalid_ids: [&[u64]; 5] = [
        &[0, NO_CLUSTER],             // wrong length
        &[0, 1, 0],                   // null row with an id
        &[0, NO_CLUSTER, NO_CLUSTER], // non-null row without one
        &[2, NO_CLUSTER, 2],          // pointing forwards
        &[0, NO_CLUSTER, 1],          // pointing at a null row
    ];
    for ids in invalid_ids {
        let mut index = NearIndex::new(NearOptions::default()).unwrap();
        assert!(matches!(index.update(&texts, Some(ids)), Err(CoreError::Input(_))), "{ids:?}");
        // A rejected batch leaves the index as it was.
        assert_eq!(index.rows(), 0);
        index.update(&texts, Some(&[0, NO_CLUSTER, 0])).unwrap();
    }

    let index = NearIndex::new(NearOptions::default()).unwrap();
    let other = NearIndex::new(NearOptions { threshold: 0.9, ..NearOptions::default() }).unwrap();
    assert!(matches!(index.leakage(&other.new_probe(), None), Err(CoreError::Input(_))));
}

#[test]
fn normalisation_mode_is_respected() {
    let texts: Texts = vec![Some("Hello World".into()), Some("hello world".into())];
    let mut index = NearIndex::new(NearOptions { normalize: Normalize::None, ..NearOptions::default() }).unwrap();
    index.update(&texts, None).unwrap();
    assert_eq!(index.finish().unwrap().near_ids, vec![0, 1]);
    let mut index = NearIndex::new(NearOptions::default()).unwrap();
    index.update(&texts, None).unwrap();
    assert_eq!(index.finish().unwrap().near_ids, vec![0, 0]);
}

/// The memory bar: 5 M rows of ~200 words through the exact and near paths with peak
/// RSS under 2 GB. Texts are generated batch by batch, as a streamed file would arrive.
/// `cargo test -p epochplan-core --release -- --ignored five_million --nocapture` (minutes).
#[test]
#[ignore]
#[cfg(target_os = "linux")]
fn five_million_rows_stay_under_two_gigabytes() {
    use rayon::prelude::*;
    let rows = 5_000_000u64;
    let batch = 65_536u64;
    let vocabulary: Vec<String> = (0..20_000).map(|i| format!("w{i}")).collect();
    // Rows 10k+1 and 10k+2 (k >= 1) copy an earlier base row 10j, exactly and with 3 words
    // edited (J ≈ 0.86); every other row is a base of its own.
    let is_copy = |row: u64| row > 10 && matches!(row % 10, 1 | 2);
    let base_words = |seed: u64| -> Vec<&str> {
        // Scrambled seed: neighbouring seeds must not give overlapping streams.
        let mut rng = SplitMix(crate::hashing::mix64(seed));
        (0..200).map(|_| vocabulary[rng.below(20_000) as usize].as_str()).collect()
    };
    let text = |row: u64| -> String {
        let mut rng = SplitMix(crate::hashing::mix64(row ^ 0xABCD));
        if !is_copy(row) {
            return base_words(row).join(" ");
        }
        let mut words = base_words(10 * rng.below(row / 10));
        if row % 10 == 2 {
            for _ in 0..3 {
                words[rng.below(200) as usize] = "edit";
            }
        }
        words.join(" ")
    };
    let bases = (0..rows).filter(|&r| !is_copy(r)).count() as u64;
    let mut auditor =
        Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: None }).unwrap();
    let mut index = NearIndex::new(NearOptions::default()).unwrap();
    let started = std::time::Instant::now();
    for first in (0..rows).step_by(batch as usize) {
        let texts: Texts = (first..(first + batch).min(rows)).into_par_iter().map(|r| Some(text(r))).collect();
        auditor.update(&texts, None).unwrap();
        let ids = auditor.row_ids().unwrap();
        index.update(&texts, Some(&ids[ids.len() - texts.len()..])).unwrap();
    }
    let streamed = started.elapsed();
    let clusters = index.finish().unwrap();
    let summary = clusters.summary(1);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!(
        "{rows} rows: streamed in {streamed:?}, finished in {:?}; near unique {} clusters {}; \
         spilled {}; peak RSS {} MiB",
        started.elapsed() - streamed,
        summary.unique,
        summary.clusters,
        index.is_spilled(),
        peak_kib / 1024
    );
    assert!(index.is_spilled());
    // Near copies at J ≈ 0.86 become candidates with probability ≈ 0.985 at (14, 9).
    assert!(summary.unique >= bases && summary.unique < bases + rows / 10 * 3 / 100, "{summary:?}");
    assert!(peak_kib < 2 * 1024 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn leakage_of_templated_rows_is_every_bucket_sharing_pair_at_the_threshold() {
    // Train and eval rows built on one template: nearly every eval row shares buckets with
    // nearly every train row (the pairs grow as their product; they are gathered per eval row,
    // never all held). The matches are every (eval row, train representative) pair that
    // shares a band key and whose sketches reach the threshold: checked against all pairs.
    let mut rng = SplitMix(5);
    let template = document(&mut rng, 150);
    let templated = |rng: &mut SplitMix| {
        let edits = 1 + rng.below(4) as usize;
        Some(edited(rng, &template, edits).join(" "))
    };
    let mut train: Texts = (0..400).map(|_| templated(&mut rng)).collect();
    train.extend((0..200).map(|_| Some(document(&mut rng, 60).join(" "))));
    train.push(train[3].clone()); // an exact copy: only its representative (row 3) is named
    let mut eval: Texts = (0..90).map(|_| templated(&mut rng)).collect();
    eval.push(None);
    eval.extend((0..30).map(|_| Some(document(&mut rng, 60).join(" "))));
    eval.push(train[450].clone());

    let options = NearOptions::default();
    let sketcher = Sketcher::new(options.normalize, options.shingle, options.ngram, options.num_perm).unwrap();
    let plan = NearIndex::new(options.clone()).unwrap().plan();
    let keyed = |text: &Option<String>| {
        text.as_deref().map(|t| {
            let sketch = sketcher.sketch_text(t);
            let mut keys = vec![0; plan.bands];
            plan.band_keys(&sketch, &mut keys);
            (sketch, keys)
        })
    };
    let mut expected = Vec::new();
    for (e, eval_text) in eval.iter().enumerate() {
        let Some((eval_sketch, eval_keys)) = keyed(eval_text) else { continue };
        for (t, train_text) in train.iter().enumerate().take(600) {
            let (train_sketch, train_keys) = keyed(train_text).unwrap();
            let estimate = similarity(&eval_sketch, &train_sketch);
            if eval_keys.iter().zip(&train_keys).any(|(a, b)| a == b) && estimate >= options.threshold {
                expected.push((e as u64, t as u64, estimate));
            }
        }
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(a.1.cmp(&b.1)));
    let matched_rows = expected.iter().map(|m| m.0).collect::<std::collections::BTreeSet<_>>();
    assert!(
        expected.len() > 90 * 100 && matched_rows.len() >= 90,
        "{} pairs, {} rows",
        expected.len(),
        matched_rows.len()
    );

    for spill in [false, true] {
        let mut index =
            NearIndex::new(NearOptions { memory_budget: if spill { 0 } else { 1 << 30 }, ..options.clone() }).unwrap();
        if spill {
            index.sort_limit = 16 * 20; // several key-range parts per band, eval side included
        }
        feed(&mut index, &train, 128);
        let mut probe = index.new_probe();
        for part in eval.chunks(16) {
            probe.update(&part.to_vec()).unwrap();
        }
        let got: Vec<(u64, u64, f64)> =
            index.leakage(&probe, None).unwrap().iter().map(|m| (m.eval_row, m.train_row, m.similarity)).collect();
        assert_eq!(got, expected, "spilled: {spill}");
        let best: Vec<(u64, u64)> =
            index.leakage(&probe, Some(2)).unwrap().iter().map(|m| (m.eval_row, m.train_row)).collect();
        let mut taken = std::collections::HashMap::new();
        let first_two: Vec<(u64, u64)> = expected
            .iter()
            .filter(|m| {
                let n = taken.entry(m.0).or_insert(0);
                *n += 1;
                *n <= 2
            })
            .map(|m| (m.0, m.1))
            .collect();
        assert_eq!(best, first_two, "spilled: {spill}");
    }
}
