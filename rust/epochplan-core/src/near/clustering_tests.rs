//! Representative clustering (no chaining), per-row similarity and unspaced scripts, on planted
//! corpora generated here.

use hashbrown::{HashMap, HashSet};

use super::shingle::ShingleScratch;
use super::test_support::{SplitMix, document, edited};
use super::*;
use crate::audit::{AuditOptions, Auditor};
use crate::cluster_ids::NO_CLUSTER;
use crate::normalize::Normalize;

type Texts = Vec<Option<String>>;

/// Clusters through the audit (the fused sketch path users run), in batches of `batch` rows.
fn audit_clusters(texts: &Texts, options: NearOptions, batch: usize) -> NearClusters {
    let mut auditor =
        Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: Some(options) }).unwrap();
    for part in texts.chunks(batch) {
        auditor.update(&part.to_vec(), None).unwrap();
    }
    auditor.finish_near().unwrap().unwrap().clone()
}

/// The shingle set the core uses for `text` (normalised, kind resolved per document).
fn shingle_set(text: &str, options: &NearOptions) -> HashSet<u64> {
    let sketcher = Sketcher::new(options.normalize, options.shingle, options.ngram, options.num_perm)
        .unwrap()
        .with_char_ngram(options.char_ngram)
        .unwrap();
    let mut normalised = String::new();
    let mut set = HashSet::new();
    sketcher.shingle().for_each_raw(
        text,
        options.normalize,
        options.ngram,
        options.char_ngram,
        &mut ShingleScratch::default(),
        &mut normalised,
        |h| {
            set.insert(h);
        },
    );
    set
}

fn true_jaccard(a: &str, b: &str, options: &NearOptions) -> f64 {
    let (a, b) = (shingle_set(a, options), shingle_set(b, options));
    a.intersection(&b).count() as f64 / a.union(&b).count().max(1) as f64
}

/// `chains` chains of `length` documents of 200 words, each 2 words from the previous one
/// (consecutive Jaccard ≈ 0.9, ends of a chain share nothing). Rows: chain after chain.
fn chain_corpus(seed: u64, chains: usize, length: usize) -> Texts {
    let mut rng = SplitMix(seed);
    let mut texts = Vec::new();
    for _ in 0..chains {
        let mut doc = document(&mut rng, 200);
        for _ in 0..length {
            texts.push(Some(doc.join(" ")));
            doc = edited(&mut rng, &doc, 2);
        }
    }
    texts
}

fn clusters_of(near_ids: &[u64]) -> HashMap<u64, Vec<usize>> {
    let mut clusters: HashMap<u64, Vec<usize>> = HashMap::new();
    for (row, &id) in near_ids.iter().enumerate().filter(|&(_, &id)| id != NO_CLUSTER) {
        clusters.entry(id).or_default().push(row);
    }
    clusters
}

#[test]
fn chains_split_and_members_resemble_their_representative() {
    let (chains, length) = (12, 30);
    let texts = chain_corpus(3, chains, length);
    let options = NearOptions::default();
    let result = audit_clusters(&texts, options.clone(), 77);
    assert_eq!(result.clustering, Clustering::Representative);
    let clusters = clusters_of(&result.near_ids);
    for (&representative, rows) in &clusters {
        assert_eq!(representative, rows[0] as u64, "the representative is the cluster's lowest row");
        let rep_text = texts[representative as usize].as_deref().unwrap();
        for &row in rows {
            let exact = true_jaccard(rep_text, texts[row].as_deref().unwrap(), &options);
            // The estimate that admitted the member is ≥ 0.7; its standard error is ≈ 0.04.
            assert!(exact >= 0.7 - 0.12, "row {row}: true Jaccard {exact:.3} to representative {representative}");
            let estimate = result.similarity[row];
            assert!(estimate >= 0.7 || row as u64 == representative, "row {row}: similarity {estimate}");
        }
    }
    // A chain of 30 cannot be one cluster: its ends share nothing.
    for chain in 0..chains {
        let ids: HashSet<u64> = (0..length).map(|i| result.near_ids[chain * length + i]).collect();
        assert!(ids.len() >= 3, "chain {chain} in {} clusters", ids.len());
        assert!(ids.iter().all(|&id| (id as usize) / length == chain), "chain {chain} merged with another");
    }

    // Connected components chain them whole: the behaviour `components` keeps.
    let components =
        audit_clusters(&texts, NearOptions { clustering: Clustering::Components, ..NearOptions::default() }, 77);
    let whole = (0..chains).filter(|&c| clusters_of(&components.near_ids)[&((c * length) as u64)].len() == length);
    assert!(whole.count() >= chains / 2, "components should chain most chains end to end");
    // …and the per-row similarity to the root shows the drift.
    assert!(components.similarity.iter().any(|&s| s < 0.3));
}

#[test]
fn similarity_per_row_is_one_for_representatives_and_exact_copies_nan_for_null() {
    let mut rng = SplitMix(8);
    let a = document(&mut rng, 150);
    let b = edited(&mut rng, &a, 1);
    let texts: Texts = vec![
        Some(a.join(" ")),
        None,
        Some(b.join(" ")),
        Some(a.join("  ").to_uppercase()), // exact copy of row 0
        Some(b.join(" ")),                 // exact copy of row 2
        Some(document(&mut rng, 150).join(" ")),
    ];
    for clustering in [Clustering::Representative, Clustering::Components] {
        let result = audit_clusters(&texts, NearOptions { clustering, ..NearOptions::default() }, 2);
        assert_eq!(result.near_ids, vec![0, NO_CLUSTER, 0, 0, 0, 5], "{clustering:?}");
        let s = &result.similarity;
        assert_eq!((s[0], s[3], s[5]), (1.0, 1.0, 1.0));
        assert!(s[1].is_nan());
        assert!(s[2] >= 0.7 && s[2] < 1.0 && s[4] == s[2], "{s:?}");
        assert_eq!(result.links.len(), 1);
        assert_eq!(result.links[0].similarity as f32, s[2]);
    }
}

/// Chinese-like text: words of 1-3 characters drawn from a skewed vocabulary of common Han
/// characters, sentences closed by "，" or "。".
fn chinese_document(rng: &mut SplitMix, vocabulary: &[String], chars: usize) -> String {
    let mut text = String::new();
    while text.chars().count() < chars {
        // Skewed: the square of a uniform index favours the start of the vocabulary.
        let u = rng.unit();
        text.push_str(&vocabulary[(u * u * vocabulary.len() as f64) as usize]);
        if rng.below(8) == 0 {
            text.push(if rng.below(3) == 0 { '。' } else { '，' });
        }
    }
    text
}

fn han_vocabulary(rng: &mut SplitMix, size: usize, common_chars: u32) -> Vec<String> {
    (0..size)
        .map(|_| {
            let len = 1 + rng.below(3) as usize;
            (0..len).map(|_| char::from_u32(0x4E00 + rng.below(common_chars as u64) as u32).unwrap()).collect()
        })
        .collect()
}

fn japanese_document(rng: &mut SplitMix, kanji: &[String], chars: usize) -> String {
    const PARTICLES: [&str; 8] = ["の", "は", "を", "に", "が", "で", "と", "も"];
    const KATAKANA: [&str; 6] = ["データ", "システム", "コンピュータ", "プログラム", "サーバー", "ネットワーク"];
    const ENDINGS: [&str; 4] = ["です。", "ます。", "でした。", "する。"];
    let mut text = String::new();
    while text.chars().count() < chars {
        let u = rng.unit();
        match rng.below(6) {
            0 => text.push_str(KATAKANA[rng.below(6) as usize]),
            _ => text.push_str(&kanji[(u * u * kanji.len() as f64) as usize]),
        }
        text.push_str(PARTICLES[rng.below(8) as usize]);
        if rng.below(6) == 0 {
            text.push_str(ENDINGS[rng.below(4) as usize]);
        }
    }
    text
}

/// `text` with `rate` of its characters replaced by other Han characters.
fn change_chars(rng: &mut SplitMix, text: &str, rate: f64) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let changes = ((chars.len() as f64 * rate).round() as usize).max(1);
    for _ in 0..changes {
        let at = rng.below(chars.len() as u64) as usize;
        chars[at] = char::from_u32(0x4E00 + 3000 + rng.below(10_000) as u32).unwrap();
    }
    chars.into_iter().collect()
}

/// Unrelated documents, and for the first `planted` of them a near copy with 2 % of the
/// characters changed, shuffled. Returns the texts and the planted (original, copy) row pairs.
fn unspaced_corpus(seed: u64, japanese: bool, docs: usize, planted: usize) -> (Texts, Vec<(usize, usize)>) {
    let mut rng = SplitMix(seed);
    let vocabulary = han_vocabulary(&mut rng, 5_000, 2_500);
    let mut items: Vec<(usize, bool, String)> = Vec::new();
    for doc in 0..docs {
        let chars = 150 + rng.below(250) as usize;
        let text = if japanese {
            japanese_document(&mut rng, &vocabulary, chars)
        } else {
            chinese_document(&mut rng, &vocabulary, chars)
        };
        if doc < planted {
            items.push((doc, true, change_chars(&mut rng, &text, 0.02)));
        }
        items.push((doc, false, text));
    }
    rng.shuffle(&mut items);
    let mut original = vec![0; docs];
    let mut copy = vec![0; planted];
    for (row, (doc, is_copy, _)) in items.iter().enumerate() {
        if *is_copy { copy[*doc] = row } else { original[*doc] = row }
    }
    let pairs = (0..planted).map(|d| (original[d], copy[d])).collect();
    (items.into_iter().map(|(_, _, text)| Some(text)).collect(), pairs)
}

#[test]
fn chinese_and_japanese_near_copies_are_found_with_default_options() {
    for japanese in [false, true] {
        let (texts, pairs) = unspaced_corpus(if japanese { 12 } else { 11 }, japanese, 1_000, 200);
        let result = audit_clusters(&texts, NearOptions::default(), 300);
        for &(original, copy) in &pairs {
            assert_eq!(
                result.near_ids[original], result.near_ids[copy],
                "japanese={japanese}: planted copy {copy} of row {original} not found"
            );
        }
        let summary = result.summary(1);
        // Nothing else merged: exactly one cluster of two per planted pair.
        assert_eq!((summary.clusters, summary.largest_cluster), (200, 2), "japanese={japanese}");

        // Word shingles take each character of these scripts as a word (whitespace alone made
        // each document one shingle, and none was found): word 5-grams find the copies too.
        let word = audit_clusters(&texts, NearOptions { shingle: Shingle::Word, ..NearOptions::default() }, 300);
        let summary = word.summary(1);
        assert!(summary.clusters >= 195 && summary.largest_cluster == 2, "japanese={japanese}: {summary:?}");
    }
}

#[test]
fn chinese_with_latin_terms_is_shingled_over_its_characters() {
    // More Latin letters than Han characters: not mostly unspaced, so word shingles, where the
    // whitespace words were a few long runs (fewer than 5: one whole-text shingle) and a copy
    // with one character changed was never found.
    let base = "请用PythonScript写一个function来parseJSONLines文件然后把结果writeToDatabase里面保存起来，\
                再用PandasDataFrame做统计并且在JupyterNotebook中画图最后导出成ExcelWorkbook给同事看";
    let texts: Texts = vec![
        Some(base.to_string()),
        Some(base.replacen("保存", "保留", 1)),
        Some("完全不同的一段话讲的是天气和DifferentTopicsAltogether没有关系的内容".to_string()),
    ];
    assert!(!crate::script::is_mostly_unspaced(base));
    let options = NearOptions::default();
    assert!(true_jaccard(texts[0].as_deref().unwrap(), texts[1].as_deref().unwrap(), &options) > 0.7);
    let result = audit_clusters(&texts, options, 2);
    assert_eq!(result.near_ids[0], result.near_ids[1]);
    assert_ne!(result.near_ids[0], result.near_ids[2]);
}

#[test]
fn same_clusters_whatever_threads_batches_or_spilling() {
    let mut texts = chain_corpus(5, 6, 20);
    let (cjk, _) = unspaced_corpus(13, false, 300, 60);
    texts.extend(cjk);
    for (i, text) in texts.iter_mut().enumerate() {
        if i % 41 == 0 {
            *text = None;
        } else if i % 17 == 0 {
            *text = texts_copy(i); // exact duplicates of an earlier row
        }
    }
    fn texts_copy(i: usize) -> Option<String> {
        Some(format!("an exact duplicate row number {} repeated to make exact clusters", i % 3))
    }
    let run = |threads: usize, batch: usize, spill: bool| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let options = NearOptions { memory_budget: if spill { 0 } else { 1 << 30 }, ..NearOptions::default() };
            let mut auditor =
                Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: Some(options) })
                    .unwrap();
            for part in texts.chunks(batch) {
                auditor.update(&part.to_vec(), None).unwrap();
            }
            assert_eq!(auditor.near_index().unwrap().is_spilled(), spill);
            auditor.finish_near().unwrap().unwrap().clone()
        })
    };
    let reference = run(1, 1_000, false);
    assert!(reference.summary(1).clusters > 60);
    for (threads, batch, spill) in [(2, 1_000, false), (4, 7, false), (1, 64, true), (3, 333, true)] {
        assert_eq!(run(threads, batch, spill), reference, "threads {threads}, batch {batch}, spill {spill}");
    }
}

#[test]
fn unspaced_text_is_counted_in_words_and_spaced_text_as_before() {
    let texts: Vec<Option<&str>> = vec![Some("我们去公园。"), Some("東京はデータの首都"), Some("hello big world")];
    let mut auditor =
        Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: None }).unwrap();
    auditor.update(&texts, None).unwrap();
    let summary = auditor.summary(false);
    // 5 Han characters; 東 京 は デ ー タ の 首 都 (every kana and kanji a word); 3 words.
    let words = summary.words.unwrap();
    assert_eq!(words.max, 9);
    assert_eq!(summary.diversity.vocabulary, 5 + 9 + 3);
    assert_eq!(summary.diversity.distinct_2, Some(1.0));
}

#[test]
fn fused_audit_sketches_equal_the_standalone_index_on_unspaced_text() {
    // The audit shingles unspaced documents by chars from its normalised text; a standalone
    // index shingles the raw text itself. Mixed corpus: CJK, Latin, mixed-script rows, nulls.
    let (mut texts, _) = unspaced_corpus(17, true, 400, 80);
    let (chinese, _) = unspaced_corpus(18, false, 300, 60);
    texts.extend(chinese);
    texts.extend(chain_corpus(19, 5, 20));
    texts.push(None);
    texts.push(Some("用 Python 写一个函数来计算列表的平均值，然后打印结果".into()));
    for shingle in [Shingle::Auto, Shingle::Word] {
        let options = NearOptions { shingle, ..NearOptions::default() };
        let mut auditor = Auditor::new(AuditOptions {
            normalize: Normalize::Default,
            keep_row_ids: true,
            near: Some(options.clone()),
        })
        .unwrap();
        let mut standalone = NearIndex::new(options).unwrap();
        for batch in texts.chunks(250) {
            let before = auditor.rows() as usize;
            auditor.update(&batch.to_vec(), None).unwrap();
            standalone.update(&batch.to_vec(), Some(&auditor.row_ids().unwrap()[before..])).unwrap();
        }
        let fused = auditor.finish_near().unwrap().unwrap().clone();
        assert_eq!(fused, standalone.finish().unwrap(), "{shingle:?}");
        assert!(shingle == Shingle::Word || fused.summary(1).clusters > 100);
    }
}

/// Exact verification through the audit: the candidate rows' texts handed back in `batch`es.
fn audit_clusters_exact(texts: &Texts, options: NearOptions, batch: usize) -> NearClusters {
    let options = NearOptions { verify: Verify::Exact, ..options };
    let mut auditor =
        Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: Some(options) }).unwrap();
    for part in texts.chunks(batch) {
        auditor.update(&part.to_vec(), None).unwrap();
    }
    let rows = auditor.near_exact_rows().unwrap().unwrap();
    for part in rows.chunks(batch) {
        let part_texts: Texts = part.iter().map(|&r| texts[r as usize].clone()).collect();
        auditor.near_add_exact_texts(part, &part_texts).unwrap();
    }
    auditor.finish_near().unwrap().unwrap().clone()
}

#[test]
fn exact_verification_links_by_true_jaccard_and_splits_chains_alike() {
    let texts = chain_corpus(5, 6, 20);
    let options = NearOptions::default();
    for clustering in [Clustering::Representative, Clustering::Components] {
        let options = NearOptions { clustering, ..options.clone() };
        let result = audit_clusters_exact(&texts, options.clone(), 33);
        for (row, &id) in result.near_ids.iter().enumerate() {
            let exact = true_jaccard(texts[id as usize].as_deref().unwrap(), texts[row].as_deref().unwrap(), &options);
            assert!(
                (result.similarity[row] as f64 - exact).abs() < 1e-6,
                "row {row}: {} vs {exact}",
                result.similarity[row]
            );
        }
        for link in &result.links {
            let exact = true_jaccard(
                texts[link.row as usize].as_deref().unwrap(),
                texts[link.other as usize].as_deref().unwrap(),
                &options,
            );
            assert!(exact >= 0.7 && (link.similarity - exact).abs() < 1e-12, "{link:?} vs {exact}");
        }
        if clustering == Clustering::Representative {
            assert!(result.similarity.iter().all(|&s| s >= 0.7), "every member verified against its representative");
        }
        // Batches of the second read do not matter.
        assert_eq!(result, audit_clusters_exact(&texts, options, 1000));
    }
}

#[test]
fn exact_verification_refuses_missing_or_misordered_texts() {
    let texts = chain_corpus(7, 2, 10);
    let options = NearOptions { verify: Verify::Exact, ..NearOptions::default() };
    let mut index = NearIndex::new(options).unwrap();
    index.update(&texts, None).unwrap();
    // Not asked for yet, or asked for but not all given.
    assert!(matches!(index.finish(), Err(crate::CoreError::Input(m)) if m.contains("exact_rows")));
    let rows = index.exact_rows().unwrap();
    assert!(rows.len() >= 4 && rows.windows(2).all(|w| w[0] < w[1]), "{rows:?}");
    let first: Texts = vec![texts[rows[0] as usize].clone()];
    assert!(
        matches!(index.add_exact_texts(&rows[1..2], &first), Err(crate::CoreError::Input(m)) if m.contains("asked for"))
    );
    index.add_exact_texts(&rows[..1], &first).unwrap();
    assert!(matches!(index.finish(), Err(crate::CoreError::Input(m)) if m.contains("were not given back")));
    let rest: Texts = rows[1..].iter().map(|&r| texts[r as usize].clone()).collect();
    index.add_exact_texts(&rows[1..], &rest).unwrap();
    let too_many: Texts = vec![Some("x".into())];
    assert!(index.add_exact_texts(&[0], &too_many).is_err());
    assert!(index.finish().is_ok());
    // A sketch-verified index has nothing to ask for.
    assert!(NearIndex::new(NearOptions::default()).unwrap().exact_rows().is_err());
}

/// Long rows of fewer than 5 whitespace words (base64, DNA, hex, minified JSON, emoji), each
/// planted with a copy that has `edits` characters substituted, plus `unrelated` DNA rows and
/// short rows. Returns the texts and the planted (original, copy) pairs.
fn long_wordless_corpus(seed: u64, edits: usize) -> (Texts, Vec<(usize, usize)>) {
    let mut rng = SplitMix(seed);
    let base64: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').chain(['+', '/']).collect();
    let emoji: Vec<char> = (0x1F600..0x1F650).filter_map(char::from_u32).collect();
    let random = |alphabet: &[char], len: usize, rng: &mut SplitMix| -> Vec<char> {
        (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect()
    };
    let (dna, hex): (Vec<char>, Vec<char>) = ("ACGT".chars().collect(), "0123456789abcdef".chars().collect());
    let (mut texts, mut pairs) = (Texts::new(), Vec::new());
    for copy in 0..3 {
        let mut json = String::from("[");
        for i in 0..40 {
            let (id, score) = (rng.below(1_000_000), rng.below(1000));
            json += &format!("{{\"id\":{id},\"name\":\"user{i}_{copy}\",\"active\":true,\"score\":0.{score}}},");
        }
        let originals = [
            random(&base64, 3000, &mut rng),
            random(&dna, 3000, &mut rng),
            random(&hex, 2000, &mut rng),
            json.chars().collect(),
            random(&emoji, 1200, &mut rng),
            // 3 words, one of them long: fewer words than a word 5-gram.
            "data: image/png;base64,".chars().chain(random(&base64, 1100, &mut rng)).chain(" end".chars()).collect(),
        ];
        for original in originals {
            let mut edited = original.clone();
            for _ in 0..edits {
                let at = rng.below(edited.len() as u64) as usize;
                edited[at] = if edited[at] == 'Q' { 'R' } else { 'Q' };
            }
            pairs.push((texts.len(), texts.len() + 1));
            texts.push(Some(original.into_iter().collect()));
            texts.push(Some(edited.into_iter().collect()));
        }
    }
    // Unrelated DNA: char 3-grams (all 64 occur in each) made every such row a near copy of
    // every other; short rows stay one whole-text shingle each.
    texts.extend((0..6).map(|_| Some(random(&dna, 3000, &mut rng).into_iter().collect())));
    texts.extend(["How are you?", "How are you!", "how are you ?", "x".repeat(99).as_str()].map(|t| Some(t.into())));
    (texts, pairs)
}

#[test]
fn long_texts_of_few_words_are_found_near_by_their_characters() {
    let (texts, pairs) = long_wordless_corpus(23, 3);
    let check = |result: &NearClusters, what: &str| {
        for &(original, copy) in &pairs {
            assert_eq!(result.near_ids[original], result.near_ids[copy], "{what}: copy {copy} of {original} not found");
        }
        // Nothing else merged: one cluster of two per planted pair, every other row alone.
        let summary = result.summary(1);
        assert_eq!((summary.clusters, summary.largest_cluster), (pairs.len() as u64, 2), "{what}");
    };
    let options = NearOptions::default();
    check(&audit_clusters(&texts, options.clone(), 7), "auto, sketch");
    check(&audit_clusters_exact(&texts, options.clone(), 5), "auto, exact");
    let (original, copy) = pairs[0];
    assert!(true_jaccard(texts[original].as_deref().unwrap(), texts[copy].as_deref().unwrap(), &options) > 0.95);
    // The audit shingles from its normalised text and word hashes, a standalone index the raw
    // text: the same sketches, whatever the normalisation.
    for normalize in [Normalize::Default, Normalize::None] {
        let options = NearOptions { normalize, ..NearOptions::default() };
        let mut auditor =
            Auditor::new(AuditOptions { normalize, keep_row_ids: true, near: Some(options.clone()) }).unwrap();
        let mut standalone = NearIndex::new(options).unwrap();
        for batch in texts.chunks(9) {
            let before = auditor.rows() as usize;
            auditor.update(&batch.to_vec(), None).unwrap();
            standalone.update(&batch.to_vec(), Some(&auditor.row_ids().unwrap()[before..])).unwrap();
        }
        let fused = auditor.finish_near().unwrap().unwrap().clone();
        assert_eq!(fused, standalone.finish().unwrap(), "{normalize:?}");
        check(&fused, "auto, standalone");
    }
    // Explicit word shingles keep one whole-text shingle per such row.
    let word = audit_clusters(&texts, NearOptions { shingle: Shingle::Word, ..NearOptions::default() }, 7);
    assert_eq!(word.summary(1).clusters, 0);
}
