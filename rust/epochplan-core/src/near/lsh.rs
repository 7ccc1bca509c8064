//! LSH banding: how many bands of how many slots, and the key of each band of a sketch.
//!
//! Two documents of Jaccard similarity s share a given band with probability s^r, so they become
//! candidates with probability 1 - (1 - s^r)^b. The plan minimises the weighted area of the
//! false-positive region (candidates below the threshold) plus the false-negative region
//! (non-candidates above it), as datasketch's `_optimal_param` does — but with weights 0.1 /
//! 0.9 instead of its 0.5 / 0.5. Every candidate pair is verified by the sketch estimate, so a
//! false positive of the banding costs one sketch comparison, while a false negative is a
//! duplicate lost for good. At threshold 0.7 and 128 slots, 0.5 / 0.5 gives 14 × 9 bands, which
//! finds a pair of Jaccard 0.8 with probability 0.867 and of 0.85 with 0.975; 0.1 / 0.9 gives
//! 20 × 6, which finds them with 0.998 and 0.9999, while a pair of Jaccard 0.3 still becomes a
//! candidate only 1.5 % of the time (benchmarks/RESULTS.md has the end-to-end effect).
//! The integrals are of polynomials of degree b·r, computed with composite 16-point
//! Gauss–Legendre on panels narrow enough for that degree (error far below any difference
//! between neighbouring plans), so the choice does not hinge on a coarse quadrature.

use crate::error::{CoreError, Result};
use crate::hashing::{combine, mix64};

use super::minhash::MAX_NUM_PERM;

pub const FALSE_POSITIVE_WEIGHT: f64 = 0.1;
pub const FALSE_NEGATIVE_WEIGHT: f64 = 0.9;
const BAND_SEED: u64 = 0x6A09_E667_F3BC_C908;
const GAUSS_POINTS: usize = 16;
/// A panel spans at most this many "degrees" of the integrand (width × degree), which keeps the
/// 16-point rule's error near machine precision.
const DEGREE_PER_PANEL: f64 = 8.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LshPlan {
    pub bands: usize,
    pub rows_per_band: usize,
}

impl LshPlan {
    /// The (bands, rows) with bands × rows ≤ `num_perm` minimising the weighted false-positive
    /// plus false-negative area for `threshold`. Ties keep the first found, bands then rows
    /// ascending (datasketch's order).
    pub fn optimal(threshold: f64, num_perm: usize) -> Result<LshPlan> {
        Self::optimal_weighted(threshold, num_perm, FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT)
    }

    /// `optimal` with explicit weights (0.5 / 0.5 reproduces datasketch's choice).
    pub fn optimal_weighted(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> Result<LshPlan> {
        check_threshold(threshold)?;
        check_num_perm(num_perm)?;
        let rule = GaussLegendre::new(GAUSS_POINTS);
        let mut best = (f64::INFINITY, LshPlan { bands: 1, rows_per_band: 1 });
        for bands in 1..=num_perm {
            for rows_per_band in 1..=num_perm / bands {
                let error = weighted_error(&rule, threshold, bands, rows_per_band, fp_weight, fn_weight);
                if error < best.0 {
                    best = (error, LshPlan { bands, rows_per_band });
                }
            }
        }
        Ok(best.1)
    }

    /// A plan given explicitly (to match another tool's setting).
    pub fn new(bands: usize, rows_per_band: usize, num_perm: usize) -> Result<LshPlan> {
        check_num_perm(num_perm)?;
        if bands == 0 || rows_per_band == 0 || bands.saturating_mul(rows_per_band) > num_perm {
            return Err(CoreError::Input(format!(
                "bands ({bands}) × rows per band ({rows_per_band}) must be between 1 and \
                 num_perm ({num_perm})"
            )));
        }
        Ok(LshPlan { bands, rows_per_band })
    }

    /// One 64-bit key per band of `sketch` (slots `band·r .. (band+1)·r`): two sketches share a
    /// key exactly when they agree on the whole band (up to 2^-64 collisions, which the
    /// similarity check behind every candidate makes harmless).
    #[inline]
    pub fn band_keys(&self, sketch: &[u32], out: &mut [u64]) {
        debug_assert!(sketch.len() >= self.bands * self.rows_per_band && out.len() == self.bands);
        let bands = sketch[..self.bands * self.rows_per_band].chunks_exact(self.rows_per_band);
        for (band, (slots, key)) in bands.zip(out.iter_mut()).enumerate() {
            // Two slots per mixing step: half the work of one step per slot.
            let mut pairs = slots.chunks_exact(2);
            let mut hash = mix64(BAND_SEED ^ band as u64);
            for pair in &mut pairs {
                hash = combine(hash, pair[0] as u64 | (pair[1] as u64) << 32);
            }
            if let [last] = pairs.remainder() {
                hash = combine(hash, *last as u64 | 1 << 63);
            }
            *key = hash;
        }
    }
}

pub(crate) fn check_threshold(threshold: f64) -> Result<()> {
    if threshold.is_finite() && threshold > 0.0 && threshold < 1.0 {
        Ok(())
    } else {
        Err(CoreError::Input(format!(
            "threshold must be a Jaccard similarity strictly between 0 and 1, got {threshold}"
        )))
    }
}

fn check_num_perm(num_perm: usize) -> Result<()> {
    if num_perm == 0 || num_perm > MAX_NUM_PERM {
        return Err(CoreError::Input(format!("num_perm must be between 1 and {MAX_NUM_PERM}, got {num_perm}")));
    }
    Ok(())
}

/// P[two documents of similarity s become candidates] with `bands` bands of `rows` slots.
#[inline]
pub fn candidate_probability(similarity: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - similarity.powi(rows as i32)).powi(bands as i32)
}

/// Area of the false-positive region: ∫₀ᵗ P[candidate | s] ds.
pub fn false_positive_area(threshold: f64, bands: usize, rows: usize) -> f64 {
    let rule = GaussLegendre::new(GAUSS_POINTS);
    rule.integrate(|s| candidate_probability(s, bands, rows), 0.0, threshold, bands * rows)
}

/// Area of the false-negative region: ∫ₜ¹ P[not candidate | s] ds.
pub fn false_negative_area(threshold: f64, bands: usize, rows: usize) -> f64 {
    let rule = GaussLegendre::new(GAUSS_POINTS);
    rule.integrate(|s| 1.0 - candidate_probability(s, bands, rows), threshold, 1.0, bands * rows)
}

fn weighted_error(
    rule: &GaussLegendre,
    threshold: f64,
    bands: usize,
    rows: usize,
    fp_weight: f64,
    fn_weight: f64,
) -> f64 {
    let degree = bands * rows;
    // (1 - s^r)^b directly rather than 1 - P: no cancellation where P is near 1.
    let false_positive = rule.integrate(|s| candidate_probability(s, bands, rows), 0.0, threshold, degree);
    let false_negative = rule.integrate(|s| (1.0 - s.powi(rows as i32)).powi(bands as i32), threshold, 1.0, degree);
    fp_weight * false_positive + fn_weight * false_negative
}

/// Gauss–Legendre nodes and weights on [-1, 1].
struct GaussLegendre {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl GaussLegendre {
    /// Newton's method on the Legendre polynomial from Chebyshev starting points (the classic
    /// `gauleg`): computed rather than tabulated, so there are no constants to mistype.
    fn new(points: usize) -> Self {
        let n = points;
        let mut nodes = vec![0.0; n];
        let mut weights = vec![0.0; n];
        for i in 0..n.div_ceil(2) {
            let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut derivative = 0.0;
            for _ in 0..100 {
                let (mut p1, mut p2) = (1.0, 0.0);
                for j in 0..n {
                    let p3 = p2;
                    p2 = p1;
                    p1 = ((2 * j + 1) as f64 * z * p2 - j as f64 * p3) / (j + 1) as f64;
                }
                derivative = n as f64 * (z * p1 - p2) / (z * z - 1.0);
                let previous = z;
                z = previous - p1 / derivative;
                if (z - previous).abs() < 1e-15 {
                    break;
                }
            }
            let weight = 2.0 / ((1.0 - z * z) * derivative * derivative);
            nodes[i] = -z;
            nodes[n - 1 - i] = z;
            weights[i] = weight;
            weights[n - 1 - i] = weight;
        }
        GaussLegendre { nodes, weights }
    }

    /// ∫ₐᵇ f for a smooth `f` that behaves like a polynomial of degree `degree`.
    fn integrate(&self, f: impl Fn(f64) -> f64, from: f64, to: f64, degree: usize) -> f64 {
        let panels = ((to - from) * degree as f64 / DEGREE_PER_PANEL).ceil().max(1.0) as usize;
        let width = (to - from) / panels as f64;
        let mut total = 0.0;
        for panel in 0..panels {
            let half = width / 2.0;
            let middle = from + width * panel as f64 + half;
            let sum: f64 = self.nodes.iter().zip(&self.weights).map(|(x, w)| w * f(middle + half * x)).sum();
            total += sum * half;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exhaustive search with a plain midpoint rule on a fine grid: slow and obviously right.
    fn brute_force(threshold: f64, num_perm: usize, steps: usize, weights: (f64, f64)) -> (usize, usize) {
        let midpoint = |f: &dyn Fn(f64) -> f64, a: f64, b: f64| {
            let h = (b - a) / steps as f64;
            (0..steps).map(|i| f(a + (i as f64 + 0.5) * h)).sum::<f64>() * h
        };
        let mut best = (f64::INFINITY, (0, 0));
        for b in 1..=num_perm {
            for r in 1..=num_perm / b {
                let p = |s: f64| candidate_probability(s, b, r);
                let error =
                    weights.0 * midpoint(&p, 0.0, threshold) + weights.1 * midpoint(&|s| 1.0 - p(s), threshold, 1.0);
                if error < best.0 {
                    best = (error, (b, r));
                }
            }
        }
        best.1
    }

    fn plan(threshold: f64, num_perm: usize) -> (usize, usize) {
        let p = LshPlan::optimal(threshold, num_perm).unwrap();
        (p.bands, p.rows_per_band)
    }

    fn datasketch_plan(threshold: f64, num_perm: usize) -> (usize, usize) {
        let p = LshPlan::optimal_weighted(threshold, num_perm, 0.5, 0.5).unwrap();
        (p.bands, p.rows_per_band)
    }

    #[test]
    fn default_weights_favour_recall() {
        assert_eq!(plan(0.7, 128), (20, 6));
        assert_eq!(plan(0.8, 128), (14, 9));
        let p = LshPlan::optimal(0.7, 128).unwrap();
        assert!(candidate_probability(0.8, p.bands, p.rows_per_band) > 0.997);
        assert!(candidate_probability(0.3, p.bands, p.rows_per_band) < 0.02);
    }

    #[test]
    fn optimiser_matches_brute_force() {
        for num_perm in [16, 64, 128] {
            for threshold in [0.3, 0.5, 0.7, 0.8, 0.9] {
                for weights in [(0.5, 0.5), (FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT)] {
                    let p = LshPlan::optimal_weighted(threshold, num_perm, weights.0, weights.1).unwrap();
                    assert_eq!(
                        (p.bands, p.rows_per_band),
                        brute_force(threshold, num_perm, 4000, weights),
                        "threshold {threshold}, num_perm {num_perm}, weights {weights:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn optimiser_matches_datasketch() {
        // datasketch 2.0 `_optimal_param(t, k, 0.5, 0.5)` (scipy quad integration).
        let expected = [
            (16, [(0.5, (5, 3)), (0.7, (3, 5)), (0.9, (1, 15))]),
            (64, [(0.5, (14, 4)), (0.7, (8, 8)), (0.9, (3, 21))]),
            (128, [(0.5, (25, 5)), (0.7, (14, 9)), (0.9, (5, 25))]),
            (256, [(0.5, (42, 6)), (0.7, (25, 10)), (0.9, (9, 28))]),
        ];
        for (num_perm, cases) in expected {
            for (threshold, bands_rows) in cases {
                assert_eq!(
                    datasketch_plan(threshold, num_perm),
                    bands_rows,
                    "threshold {threshold}, num_perm {num_perm}"
                );
            }
        }
    }

    #[test]
    fn areas_are_exact_for_simple_cases() {
        // b = r = 1: P = s, so the areas are t²/2 and (1 - t)²/2.
        assert!((false_positive_area(0.7, 1, 1) - 0.245).abs() < 1e-14);
        assert!((false_negative_area(0.7, 1, 1) - 0.045).abs() < 1e-14);
        // b = 1, r = 100: ∫₀ᵗ s^100 = t^101 / 101.
        let t: f64 = 0.9;
        assert!((false_positive_area(t, 1, 100) - t.powi(101) / 101.0).abs() < 1e-15);
    }

    #[test]
    fn bad_parameters_are_input_errors() {
        for t in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(matches!(LshPlan::optimal(t, 128), Err(CoreError::Input(_))), "threshold {t}");
        }
        assert!(matches!(LshPlan::optimal(0.7, 0), Err(CoreError::Input(_))));
        assert!(matches!(LshPlan::new(10, 13, 128), Err(CoreError::Input(_))));
        assert!(matches!(LshPlan::new(0, 1, 128), Err(CoreError::Input(_))));
        assert_eq!(LshPlan::new(16, 8, 128).unwrap(), LshPlan { bands: 16, rows_per_band: 8 });
    }

    #[test]
    fn band_keys_follow_band_contents() {
        let plan = LshPlan::new(3, 3, 10).unwrap();
        let a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let mut b = a;
        b[4] = 99; // band 1 differs
        b[9] = 42; // slot outside every band: no effect
        let (mut ka, mut kb) = ([0; 3], [0; 3]);
        plan.band_keys(&a, &mut ka);
        plan.band_keys(&b, &mut kb);
        assert_eq!((ka[0] == kb[0], ka[1] == kb[1], ka[2] == kb[2]), (true, false, true));
        // Equal contents in different bands give different keys.
        let same = [5u32; 9];
        let mut keys = [0; 3];
        plan.band_keys(&same, &mut keys);
        assert!(keys[0] != keys[1] && keys[1] != keys[2]);
    }
}
