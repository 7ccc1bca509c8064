//! One-permutation MinHash sketches, densified by re-hashing the shingles into empty slots.
//!
//! Classic MinHash hashes every shingle `k` times (O(shingles × k)). One-permutation hashing
//! (Li, Owen & Zhang 2012) hashes each shingle once: the high bits of the hash pick one of `k`
//! slots, the low 32 bits compete for that slot's minimum. A document with fewer shingles than
//! about k·ln k leaves slots empty, and those must be filled consistently across documents.
//!
//! Copying from a filled slot (the rotation scheme, or Shrivastava's 2017 "optimal
//! densification") is cheap but correlates slots: measured here at k = 128, its RMS error is
//! about 18 % above classic MinHash on 20-shingle texts and 9 % above on 40–80 — and short
//! instructions are exactly what instruction datasets hold. So empty slots are filled as in
//! Dahlgaard, Knudsen & Thorup, "Fast Similarity Sketching" (FOCS 2017): round 2, 3, … re-hash
//! every shingle with a new seed into a random slot, where it only competes for slots that
//! were still empty when the round began; after k such rounds, round k + j hashes every shingle
//! into slot j. A value from round i always beats one from a later round, so each slot holds
//! the minimum over the document's shingles of one fixed function of (shingle, slot): every slot
//! is an exact MinHash, `P[slot equal] = Jaccard`, and slots are sampled without replacement, so
//! the variance is at most classic MinHash's at every set size. Stopping once every slot is
//! filled changes nothing, since later rounds could not win. Cost: O(shingles + k log k)
//! expected — one round for long documents, about k·ln k / shingles rounds for short ones.
//!
//! Slot values are 32-bit: half the memory of 64-bit values, and two different shingles meeting
//! in the same slot with equal values (2^-32) do not move an estimate whose standard error at
//! k = 128 is about 0.04.

use crate::error::{CoreError, Result};
use crate::hashing::mix64;
use crate::normalize::Normalize;

use super::shingle::{Shingle, ShingleScratch, long_text_char_ngram, long_without_words, word_ngrams_of_hashes};

/// Marks a slot no shingle has reached yet; real values are capped one below it.
const EMPTY_SLOT: u32 = u32::MAX;
/// Seeds of the rounds. Constants, so sketches are the same on every run and machine.
const SLOT_SEED: u64 = 0x5851_F42D_4C95_7F2D;
const ROUND_STEP: u64 = 0x9E37_79B9_7F4A_7C15;
const TARGETED_SEED: u64 = 0x2545_F491_4F6C_DD1D;
/// More slots buy little accuracy (error ~ 1/sqrt(k)) and make the band optimiser slow.
pub const MAX_NUM_PERM: usize = 1024;

/// Turns texts into sketches of `num_perm` slots. Cheap to clone, shareable across threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketcher {
    normalize: Normalize,
    shingle: Shingle,
    /// Words per word shingle.
    ngram: usize,
    /// Characters per char shingle.
    char_ngram: usize,
    num_perm: usize,
}

/// Buffers one thread reuses from text to text, so sketching allocates nothing per document.
#[derive(Debug, Default)]
pub struct SketchScratch {
    normalised: String,
    shingles: ShingleScratch,
    /// The document's shingle hashes: every round hashes them again.
    hashes: Vec<u64>,
    fill: FillState,
}

impl Sketcher {
    pub fn new(normalize: Normalize, shingle: Shingle, ngram: usize, num_perm: usize) -> Result<Self> {
        if ngram == 0 {
            return Err(CoreError::Input("ngram must be at least 1".into()));
        }
        if num_perm == 0 || num_perm > MAX_NUM_PERM {
            return Err(CoreError::Input(format!("num_perm must be between 1 and {MAX_NUM_PERM}, got {num_perm}")));
        }
        Ok(Sketcher { normalize, shingle, ngram, char_ngram: crate::defaults::CHAR_NGRAM, num_perm })
    }

    /// The same sketcher with `char_ngram` characters per char shingle.
    pub fn with_char_ngram(self, char_ngram: usize) -> Result<Self> {
        if char_ngram == 0 {
            return Err(CoreError::Input("char_ngram must be at least 1".into()));
        }
        Ok(Sketcher { char_ngram, ..self })
    }

    pub fn char_ngram(&self) -> usize {
        self.char_ngram
    }

    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    pub fn ngram(&self) -> usize {
        self.ngram
    }

    pub fn shingle(&self) -> Shingle {
        self.shingle
    }

    pub fn normalize(&self) -> Normalize {
        self.normalize
    }

    /// Writes the sketch of `text` (raw; normalised here) into `out`, which must hold exactly
    /// `num_perm` slots.
    pub fn sketch(&self, text: &str, scratch: &mut SketchScratch, out: &mut [u32]) {
        assert_eq!(out.len(), self.num_perm, "sketch buffer has the wrong number of slots");
        let SketchScratch { normalised, shingles, hashes, fill } = scratch;
        hashes.clear();
        let (word_n, char_n) = (self.ngram, self.char_ngram);
        self.shingle.for_each_raw(text, self.normalize, word_n, char_n, shingles, normalised, |h| hashes.push(h));
        sketch_into(hashes, out, fill);
    }

    /// Sketch of a text whose words the caller has already hashed: `word_hashes` holds
    /// `word_hash` of every word of `normalised_text` (normalised with this sketcher's mode) as
    /// [`crate::script::for_each_shingle_word`] splits it, in order, and `unspaced` says whether
    /// [`crate::script::is_mostly_unspaced`] holds for it. Equal to [`Sketcher::sketch`] of the
    /// raw text. Not for char shingles; under `Auto`, an unspaced document, and a long one of
    /// fewer words than `ngram` ([`super::shingle::long_without_words`], with longer char
    /// n-grams), is shingled by chars from `normalised_text` and `word_hashes` is only counted.
    pub fn sketch_word_hashes(
        &self,
        word_hashes: &[u64],
        normalised_text: &[u8],
        unspaced: bool,
        scratch: &mut SketchScratch,
        out: &mut [u32],
    ) {
        assert_ne!(self.shingle, Shingle::Char, "sketch_word_hashes needs word shingles");
        assert_eq!(out.len(), self.num_perm, "sketch buffer has the wrong number of slots");
        let SketchScratch { hashes, fill, shingles, .. } = scratch;
        hashes.clear();
        let char_n = match self.shingle == Shingle::Auto {
            true if unspaced => Some(self.char_ngram),
            true if long_without_words(word_hashes.len(), self.ngram, normalised_text) => {
                Some(long_text_char_ngram(self.char_ngram))
            }
            _ => None,
        };
        let chars = char_n.and_then(|n| Some((std::str::from_utf8(normalised_text).ok()?, n)));
        match chars {
            Some((text, n)) => Shingle::Char.for_each(text, n, shingles, |h| hashes.push(h)),
            None => word_ngrams_of_hashes(word_hashes, normalised_text, self.ngram, |h| hashes.push(h)),
        }
        sketch_into(hashes, out, fill);
    }

    /// The distinct shingle hashes of `text` (raw; normalised here), sorted, into `out`: the set
    /// whose Jaccard similarity [`Sketcher::sketch`] estimates.
    pub fn shingle_set(&self, text: &str, scratch: &mut SketchScratch, out: &mut Vec<u64>) {
        let SketchScratch { normalised, shingles, .. } = scratch;
        out.clear();
        let (word_n, char_n) = (self.ngram, self.char_ngram);
        self.shingle.for_each_raw(text, self.normalize, word_n, char_n, shingles, normalised, |h| out.push(h));
        out.sort_unstable();
        out.dedup();
    }

    /// Sketch of `text` in a new vector (convenience for one-off queries and tests).
    pub fn sketch_text(&self, text: &str) -> Vec<u32> {
        let mut out = vec![0; self.num_perm];
        self.sketch(text, &mut SketchScratch::default(), &mut out);
        out
    }
}

/// Sketch of a set given as its element hashes (already uniform 64-bit values). A sketch of the
/// empty set is all-empty and, by convention, equal to every other empty-set sketch.
pub fn sketch_hashes(hashes: impl IntoIterator<Item = u64>, out: &mut [u32]) {
    let hashes: Vec<u64> = hashes.into_iter().collect();
    sketch_into(&hashes, out, &mut FillState::default());
}

/// Jaccard similarity of two sets given as sorted, distinct hashes (two empty sets: 1.0).
pub fn exact_jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - shared;
    if union == 0 { 1.0 } else { shared as f64 / union as f64 }
}

/// Estimated Jaccard similarity of the two sets: the fraction of slots that agree.
#[inline]
pub fn similarity(a: &[u32], b: &[u32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len().max(1) as f64
}

#[inline]
fn fast_range(hash: u64, n: usize) -> usize {
    // Lemire's multiply-shift: uses the high bits, leaving the low bits free for the value.
    ((hash as u128 * n as u128) >> 64) as usize
}

#[inline]
fn slot_value(hash: u64) -> u32 {
    (hash as u32).min(EMPTY_SLOT - 1)
}

/// Slots closed to later rounds, and those filled during the current one (reused buffers).
#[derive(Debug, Default)]
struct FillState {
    /// Bit per slot: filled by an earlier round, so this round's values cannot win it.
    closed: Vec<u64>,
    filled_this_round: Vec<u32>,
    /// The document's distinct shingle hashes, for the rounds after the first.
    distinct: Vec<u64>,
}

impl FillState {
    #[inline]
    fn is_closed(&self, slot: usize) -> bool {
        self.closed[slot / 64] & (1 << (slot % 64)) != 0
    }

    #[inline]
    fn close(&mut self, slot: usize) {
        self.closed[slot / 64] |= 1 << (slot % 64);
    }
}

fn sketch_into(hashes: &[u64], slots: &mut [u32], fill: &mut FillState) {
    let k = slots.len();
    slots.fill(EMPTY_SLOT);
    if hashes.is_empty() {
        return;
    }
    // Round 1: one-permutation hashing. No slot is closed yet, so no checks.
    for &h in hashes {
        let hash = mix64(h ^ SLOT_SEED);
        let slot = &mut slots[fast_range(hash, k)];
        *slot = (*slot).min(slot_value(hash));
    }
    fill.closed.clear();
    fill.closed.resize(k.div_ceil(64), 0);
    let mut empty = k;
    for (slot, &value) in slots.iter().enumerate() {
        if value != EMPTY_SLOT {
            fill.close(slot);
            empty -= 1;
        }
    }
    if empty == 0 {
        return;
    }
    // A text of few distinct shingles repeated (`aaaa…`, one word over and over) paid every
    // occurrence in each of up to 2k rounds (10x the time per byte): there the later rounds go
    // over each distinct shingle once (a slot's minimum over repeats is the same). Round 1
    // filled a slot per distinct shingle at most, so 8 occurrences a filled slot means repeats;
    // a text of distinct shingles that still left a slot empty is short, and not sorted.
    if hashes.len() <= 8 * (k - empty) {
        fill_rounds(hashes, slots, fill, empty);
        return;
    }
    let mut distinct = std::mem::take(&mut fill.distinct);
    distinct.clear();
    distinct.extend_from_slice(hashes);
    distinct.sort_unstable();
    distinct.dedup();
    fill_rounds(&distinct, slots, fill, empty);
    fill.distinct = distinct;
}

/// Rounds 2..=2k of [`sketch_into`] for the slots round 1 left `empty`.
fn fill_rounds(hashes: &[u64], slots: &mut [u32], fill: &mut FillState, mut empty: usize) {
    let k = slots.len();
    // Rounds 2..=k: random slots again, competing only for slots empty at the round's start.
    // Per round O(shingles), so tiny documents do not pay O(k) per round.
    let mut round = 1;
    while empty > 0 && round < k as u64 {
        let seed = SLOT_SEED.wrapping_add(round.wrapping_mul(ROUND_STEP));
        fill.filled_this_round.clear();
        for &h in hashes {
            let hash = mix64(h ^ seed);
            let slot = fast_range(hash, k);
            if !fill.is_closed(slot) {
                if slots[slot] == EMPTY_SLOT {
                    fill.filled_this_round.push(slot as u32);
                }
                slots[slot] = slots[slot].min(slot_value(hash));
            }
        }
        empty -= fill.filled_this_round.len();
        for i in 0..fill.filled_this_round.len() {
            fill.close(fill.filled_this_round[i] as usize);
        }
        round += 1;
    }
    if empty == 0 {
        return;
    }
    // Rounds k+1..=2k: round k + j sends every shingle to slot j, so every slot gets filled.
    for (slot, value) in slots.iter_mut().enumerate() {
        if *value == EMPTY_SLOT {
            let seed = TARGETED_SEED.wrapping_add((slot as u64).wrapping_mul(ROUND_STEP));
            *value = hashes.iter().map(|&h| slot_value(mix64(h ^ seed))).min().unwrap_or(EMPTY_SLOT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::near::test_support::{SplitMix, set_pair};

    /// Classic k-permutation MinHash, the accuracy baseline: k independent hash functions.
    fn classic_minhash(set: &[u64], k: usize) -> Vec<u64> {
        (0..k as u64).map(|seed| set.iter().map(|&x| mix64(x ^ mix64(seed))).min().unwrap_or(u64::MAX)).collect()
    }

    fn classic_similarity(a: &[u64], b: &[u64]) -> f64 {
        a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
    }

    fn oph(set: &[u64], k: usize) -> Vec<u32> {
        let mut out = vec![0; k];
        sketch_hashes(set.iter().copied(), &mut out);
        out
    }

    /// (rms error one-permutation, rms error classic, worst error in standard errors)
    fn errors(k: usize, sizes: &[usize], trials: usize, seed: u64) -> (f64, f64, f64) {
        let mut rng = SplitMix(seed);
        let (mut sq_oph, mut sq_classic, mut worst, mut n) = (0.0, 0.0, 0.0f64, 0.0);
        for trial in 0..trials {
            let union = sizes[trial % sizes.len()];
            let jaccard = 0.05 + 0.9 * rng.unit();
            let (a, b, exact) = set_pair(&mut rng, union, jaccard);
            let estimate = similarity(&oph(&a, k), &oph(&b, k));
            let classic = classic_similarity(&classic_minhash(&a, k), &classic_minhash(&b, k));
            let standard_error = (exact * (1.0 - exact) / k as f64).sqrt().max(1.0 / k as f64);
            worst = worst.max((estimate - exact).abs() / standard_error);
            sq_oph += (estimate - exact).powi(2);
            sq_classic += (classic - exact).powi(2);
            n += 1.0;
        }
        ((sq_oph / n).sqrt(), (sq_classic / n).sqrt(), worst)
    }

    #[test]
    fn estimate_within_standard_errors_of_exact_jaccard() {
        // Short and document-sized sets (a 200-word text has about 200 five-grams) and slot
        // counts from 64 to 256.
        for k in [64, 128, 256] {
            let (rms, _, worst) = errors(k, &[10, 40, 150, 200, 400], 300, k as u64);
            assert!(worst < 4.5, "k={k}: an estimate was {worst:.2} standard errors off");
            let bound = (0.25 / k as f64).sqrt();
            assert!(rms < bound, "k={k}: rms {rms:.4} above the worst-case standard error {bound:.4}");
        }
    }

    #[test]
    fn rms_error_no_worse_than_classic_minhash() {
        for (sizes, label) in
            [(&[200usize, 300, 500][..], "document-sized"), (&[40, 80][..], "small"), (&[5, 20][..], "tiny")]
        {
            let (oph_rms, classic_rms, _) = errors(128, sizes, 600, 7);
            // Printed for benchmarks/RESULTS.md (`cargo test ... rms_error -- --nocapture`).
            eprintln!("{label} sets, 128 slots: rms error {oph_rms:.4} (ours) vs {classic_rms:.4} (classic MinHash)");
            // Classic MinHash's slots are independent; ours share out the shingles without
            // replacement, which measures 20–30 % lower rms at every size here — so no slack.
            assert!(oph_rms <= classic_rms, "{label}: one-permutation rms {oph_rms:.4} vs classic {classic_rms:.4}");
        }
    }

    #[test]
    fn identical_sets_match_and_disjoint_sets_do_not() {
        let mut rng = SplitMix(3);
        let a: Vec<u64> = (0..300).map(|_| rng.next()).collect();
        let b: Vec<u64> = (0..300).map(|_| rng.next()).collect();
        assert_eq!(similarity(&oph(&a, 128), &oph(&a, 128)), 1.0);
        assert!(similarity(&oph(&a, 128), &oph(&b, 128)) < 0.05);
        // A single shingle fills every slot; two different single shingles share none.
        assert_eq!(similarity(&oph(&[1], 128), &oph(&[2], 128)), 0.0);
        assert_eq!(similarity(&oph(&[1], 128), &oph(&[1], 128)), 1.0);
    }

    #[test]
    fn sketches_are_pinned() {
        // Changing the seeds or the scheme changes every stored cluster: do it on purpose only.
        let sketcher = Sketcher::new(Normalize::Default, Shingle::Word, 2, 8).unwrap();
        let got = sketcher.sketch_text("The quick brown fox jumps over the lazy dog");
        assert_eq!(got, [2729846538, 999451700, 1292286285, 2387583515, 2950754825, 1831543201, 110452771, 2711188648]);
        assert_eq!(got, sketcher.sketch_text("the  QUICK brown fox jumps over the lazy dog"));
        let normalised = "the quick brown fox jumps over the lazy dog";
        let word_hashes: Vec<u64> = normalised.split(' ').map(crate::hashing::word_hash).collect();
        let mut word_hash_path = vec![0; 8];
        sketcher.sketch_word_hashes(
            &word_hashes,
            normalised.as_bytes(),
            false,
            &mut SketchScratch::default(),
            &mut word_hash_path,
        );
        assert_eq!(got, word_hash_path);
    }

    #[test]
    fn repeated_shingles_sketch_as_their_set() {
        // The fill-in rounds run over the distinct hashes; a sketch must not change for it.
        // A classic reference: each round's values over the multiset, as before that change.
        fn over_every_occurrence(hashes: &[u64], k: usize) -> Vec<u32> {
            let mut slots = vec![EMPTY_SLOT; k];
            let mut fill = FillState::default();
            fill.closed.resize(k.div_ceil(64), 0);
            for &h in hashes {
                let hash = mix64(h ^ SLOT_SEED);
                let slot = &mut slots[fast_range(hash, k)];
                *slot = (*slot).min(slot_value(hash));
            }
            let empty = slots.iter().filter(|&&v| v == EMPTY_SLOT).count();
            for (slot, &v) in slots.clone().iter().enumerate() {
                if v != EMPTY_SLOT {
                    fill.close(slot);
                }
            }
            if empty > 0 {
                fill_rounds(hashes, &mut slots, &mut fill, empty);
            }
            slots
        }
        let mut rng = SplitMix(7);
        for (distinct, times) in [1usize, 2, 5, 40, 300, 2_000].into_iter().flat_map(|d| [(d, 3), (d, 20)]) {
            let set: Vec<u64> = (0..distinct).map(|_| rng.next()).collect();
            // 20 times: past 8 occurrences a filled slot, the rounds run over the distinct hashes.
            let repeated: Vec<u64> = (0..distinct * times).map(|i| set[(i * 31 + i / 3) % distinct]).collect();
            for k in [16, 128, 256] {
                let mut got = vec![0; k];
                sketch_hashes(repeated.iter().copied(), &mut got);
                let mut of_set = vec![0; k];
                sketch_hashes(set.iter().copied(), &mut of_set);
                assert_eq!(got, of_set, "{distinct} distinct x {times}, k {k}");
                assert_eq!(got, over_every_occurrence(&repeated, k), "{distinct} distinct x {times}, k {k}");
            }
        }
    }

    #[test]
    fn bad_options_are_input_errors() {
        assert!(matches!(Sketcher::new(Normalize::Default, Shingle::Word, 0, 128), Err(CoreError::Input(_))));
        assert!(matches!(Sketcher::new(Normalize::Default, Shingle::Word, 5, 0), Err(CoreError::Input(_))));
        assert!(matches!(
            Sketcher::new(Normalize::Default, Shingle::Char, 5, MAX_NUM_PERM + 1),
            Err(CoreError::Input(_))
        ));
    }
}
