//! Every default and every valid choice of the audit's options, declared once. The binding
//! exposes them (`_epochplan.DEFAULTS`, `_epochplan.CHOICES`) and uses them for its own
//! signatures; the Python API, the CLI and the configuration read them from there.

use crate::near::Shingle;
use crate::normalize::Normalize;

pub const NORMALIZE: Normalize = Normalize::Default;
pub const SHINGLE: Shingle = Shingle::Word;
/// Jaccard similarity at and above which two texts are near duplicates.
pub const THRESHOLD: f64 = 0.7;
/// Words (or chars) per shingle.
pub const NGRAM: usize = 5;
/// MinHash slots per sketch.
pub const NUM_PERM: usize = 128;
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
pub fn choices() -> [(&'static str, Vec<&'static str>); 2] {
    [
        ("normalize", Normalize::CHOICES.iter().map(|c| c.as_str()).collect()),
        ("shingle", Shingle::CHOICES.iter().map(|c| c.as_str()).collect()),
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
        let [(normalize, modes), (shingle, kinds)] = choices();
        assert_eq!((normalize, modes.clone()), ("normalize", vec!["default", "none"]));
        assert_eq!((shingle, kinds.clone()), ("shingle", vec!["word", "char"]));
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
