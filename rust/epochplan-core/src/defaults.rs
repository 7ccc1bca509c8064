//! Every default and every valid choice of the audit's options, declared once. The binding
//! exposes them (`_epochplan.DEFAULTS`, `_epochplan.CHOICES`) and uses them for its own
//! signatures; the Python API, the CLI and the configuration read them from there.

use crate::near::{Clustering, Shingle, Verify};
use crate::normalize::Normalize;

pub const NORMALIZE: Normalize = Normalize::Default;
/// Per document: char n-grams for text in scripts written without spaces, word n-grams otherwise.
pub const SHINGLE: Shingle = Shingle::Auto;
/// No chaining: every member of a near cluster is verified similar to its representative.
pub const CLUSTERING: Clustering = Clustering::Representative;
/// Sketch estimates; `Exact` reads the candidate rows twice.
pub const VERIFY: Verify = Verify::Sketch;
/// Jaccard similarity at and above which two texts are near duplicates.
pub const THRESHOLD: f64 = 0.7;
/// Words per word shingle (and characters per char shingle under an explicit `Shingle::Char`
/// when no char n is given, what it meant before `CHAR_NGRAM` existed).
pub const NGRAM: usize = 5;
/// Characters per char shingle. On the CJK corpora of benchmarks/corpus.py (near copies with
/// 2 % of characters changed among unrelated documents, threshold 0.7) n = 2, 3 and 4 all reach
/// pair F1 1.000 and 5+ lose recall; on short documents with 5 % changed, 2 keeps F1 ≥ 0.994,
/// 3 0.94, 4 0.51. 3 rather than 2: on real short utterances (chatterbot Chinese) bigrams
/// merge different sentences that share a frame ("耻辱/担心是一种常见的人类情绪", 0.71)
/// which 3-grams keep apart (benchmarks/RESULTS.md, "Char n-gram size").
pub const CHAR_NGRAM: usize = 3;
/// MinHash slots per sketch.
pub const NUM_PERM: usize = 128;
/// Share of non-null rows sharing one long opening or ending (or one near cluster) above which
/// the audit warns of a template (strictly: a share equal to it does not warn, as the `template`
/// check passes it), and the default limit of that check.
pub const TEMPLATE_SHARE: f64 = 0.5;
/// Memory for near-duplicate sketches before they spill to temp files, when the caller does not
/// size it from the machine (see [`memory_budget_for`]).
pub const MEMORY_BUDGET: u64 = 1 << 30;
/// The smallest budget a user may ask for: below it, a near audit spends its time spilling.
pub const MIN_MEMORY_BUDGET: u64 = 16 << 20;
/// The smallest budget [`memory_budget_for`] picks on a small machine.
const SMALLEST_SIZED_BUDGET: u64 = 64 << 20;
const _: () = assert!(MIN_MEMORY_BUDGET <= SMALLEST_SIZED_BUDGET, "the default must be a budget users may ask for");
/// Assumed when the machine's memory cannot be read.
const ASSUMED_PHYSICAL_MEMORY: u64 = 4 << 30;

/// The memory budget for a machine with `physical_memory` bytes (`None`: unknown): a quarter of
/// it, between 64 MiB and [`MEMORY_BUDGET`]. Keeps a 5 M-row near audit under 2 GB RSS.
pub fn memory_budget_for(physical_memory: Option<u64>) -> u64 {
    (physical_memory.unwrap_or(ASSUMED_PHYSICAL_MEMORY) / 4).clamp(SMALLEST_SIZED_BUDGET, MEMORY_BUDGET)
}

/// Valid values of each option that takes a name, by option name.
pub fn choices() -> [(&'static str, Vec<&'static str>); 4] {
    [
        ("normalize", Normalize::CHOICES.iter().map(|c| c.as_str()).collect()),
        ("shingle", Shingle::CHOICES.iter().map(|c| c.as_str()).collect()),
        ("clustering", Clustering::CHOICES.iter().map(|c| c.as_str()).collect()),
        ("verify", Verify::CHOICES.iter().map(|c| c.as_str()).collect()),
    ]
}

/// `"a" or "b"` / `"a", "b" or "c"`: the tail of an unknown-choice error message.
pub(crate) fn one_of(names: impl IntoIterator<Item = &'static str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_a_quarter_of_memory_within_bounds() {
        assert_eq!(memory_budget_for(Some(16 << 30)), 1 << 30);
        assert_eq!(memory_budget_for(Some(2 << 30)), 512 << 20);
        assert_eq!(memory_budget_for(Some(128 << 20)), 64 << 20);
        assert_eq!(memory_budget_for(None), 1 << 30);
    }

    #[test]
    fn choices_parse_and_name_themselves() {
        let [(normalize, modes), (shingle, kinds), (clustering, clusterings), (verify, verifications)] = choices();
        assert_eq!((normalize, modes.clone()), ("normalize", vec!["default", "none"]));
        assert_eq!((shingle, kinds.clone()), ("shingle", vec!["auto", "word", "char"]));
        assert_eq!((clustering, clusterings.clone()), ("clustering", vec!["representative", "components"]));
        assert_eq!((verify, verifications.clone()), ("verify", vec!["sketch", "exact"]));
        for c in clusterings {
            assert_eq!(c.parse::<Clustering>().unwrap().as_str(), c);
        }
        for v in verifications {
            assert_eq!(v.parse::<Verify>().unwrap().as_str(), v);
        }
        assert_eq!(Clustering::default(), CLUSTERING);
        assert_eq!(Verify::default(), VERIFY);
        for m in modes {
            assert_eq!(m.parse::<Normalize>().unwrap().as_str(), m);
        }
        for k in kinds {
            assert_eq!(k.parse::<Shingle>().unwrap().as_str(), k);
        }
        assert_eq!(Normalize::default(), NORMALIZE);
        assert_eq!(Shingle::default(), SHINGLE);
        assert_eq!(one_of(["a", "b", "c"]), r#""a", "b" or "c""#);
    }
}
