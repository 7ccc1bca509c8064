//! Core results as Python values: dicts with the keys the Python layer reads, ids as bytes.

use epochplan_core::audit::{AuditSummary, LabelConflicts};
use epochplan_core::audit_tokens::TokenReport;
use epochplan_core::cluster_ids::Member;
use epochplan_core::exact::TopCluster;
use epochplan_core::lengths::LengthSummary;
use epochplan_core::near::{NearClusters, NearIndex, NearSummary};
use epochplan_core::template::{TemplateCandidate, TemplateSignal, TemplateSource};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// Ids as little-endian u64 bytes (`np.frombuffer(b, "<u8")`).
pub fn ids_to_bytes<'py>(py: Python<'py>, ids: &[u64]) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
    PyBytes::new(py, &bytes)
}

/// Flags as one byte each, 0 or 1 (`np.frombuffer(b, bool)`).
pub fn flags_to_bytes<'py>(py: Python<'py>, flags: &[bool]) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = flags.iter().map(|&f| f as u8).collect();
    PyBytes::new(py, &bytes)
}

fn lengths_to_dict<'py>(py: Python<'py>, s: &Option<LengthSummary>) -> PyResult<Option<Bound<'py, PyDict>>> {
    s.as_ref()
        .map(|s| {
            let d = PyDict::new(py);
            d.set_item("mean", s.mean)?;
            d.set_item("p50", s.p50)?;
            d.set_item("p90", s.p90)?;
            d.set_item("p99", s.p99)?;
            d.set_item("max", s.max)?;
            d.set_item("histogram", s.histogram.iter().map(|b| b.to_vec()).collect::<Vec<_>>())?;
            Ok(d)
        })
        .transpose()
}

/// An f32 similarity as the f64 of its shortest decimal form: 7/10 kept in an f32 is
/// 0.699999988079071 as an f64, which a reader of the JSON compares as below a 0.7 threshold.
fn shortest_decimal(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

/// `{row, count, preview, members: [{row, similarity}]}`; members are rows only (no text: Python
/// reads the few it shows back from the source), similarity None where the level has none.
fn top_item<'py>(
    py: Python<'py>,
    row: u64,
    count: u64,
    preview: Option<&str>,
    members: &[Member],
) -> PyResult<Bound<'py, PyDict>> {
    let item = PyDict::new(py);
    item.set_item("row", row)?;
    item.set_item("count", count)?;
    item.set_item("preview", preview)?;
    let list = PyList::empty(py);
    for member in members {
        let m = PyDict::new(py);
        m.set_item("row", member.row)?;
        m.set_item("similarity", member.similarity.map(shortest_decimal))?;
        list.append(m)?;
    }
    item.set_item("members", list)?;
    Ok(item)
}

fn size_histogram(histogram: &[[u64; 2]]) -> Vec<Vec<u64>> {
    histogram.iter().map(|b| b.to_vec()).collect()
}

pub fn summary_to_dict<'py>(py: Python<'py>, s: &AuditSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("rows", s.rows)?;
    d.set_item("null_rows", s.null_rows)?;
    d.set_item("empty_rows", s.empty_rows)?;

    let exact = PyDict::new(py);
    exact.set_item("unique", s.exact.unique)?;
    exact.set_item("duplicate_rows", s.exact.duplicate_rows)?;
    exact.set_item("clusters", s.exact.clusters)?;
    exact.set_item("largest_cluster", s.exact.largest_cluster)?;
    let top = PyList::empty(py);
    for TopCluster { row, count, preview, members } in &s.exact.top {
        let members: Vec<Member> = members.iter().map(|&row| Member { row, similarity: None }).collect();
        top.append(top_item(py, *row, *count, Some(preview), &members)?)?;
    }
    exact.set_item("top", top)?;
    exact.set_item("size_histogram", size_histogram(&s.exact.size_histogram))?;
    exact.set_item("unique_tokens", s.tokens.exact_unique_tokens)?;
    d.set_item("exact", exact)?;
    d.set_item("tokens", tokens_to_dict(py, &s.tokens)?)?;

    d.set_item("chars", lengths_to_dict(py, &s.chars)?)?;
    d.set_item("words", lengths_to_dict(py, &s.words)?)?;
    d.set_item("total_bytes", s.total_bytes)?;
    d.set_item("tokens_estimate", s.tokens_estimate)?;

    match &s.labels {
        None => d.set_item("labels", py.None())?,
        Some(l) => {
            let labels = PyDict::new(py);
            let counts = PyDict::new(py);
            for (label, count) in &l.counts {
                counts.set_item(label, count)?;
            }
            labels.set_item("counts", counts)?;
            labels.set_item("null_labels", l.null_labels)?;
            labels.set_item("entropy_normalized", l.entropy_normalized)?;
            labels.set_item("imbalance_ratio", l.imbalance_ratio)?;
            d.set_item("labels", labels)?;
        }
    }

    let diversity = PyDict::new(py);
    diversity.set_item("vocabulary", s.diversity.vocabulary)?;
    diversity.set_item("distinct_1", s.diversity.distinct_1)?;
    diversity.set_item("distinct_2", s.diversity.distinct_2)?;
    diversity.set_item("estimated", s.diversity.estimated)?;
    diversity.set_item("vocabulary_estimated", s.diversity.vocabulary_estimated)?;
    diversity.set_item("bigrams_estimated", s.diversity.bigrams_estimated)?;
    d.set_item("diversity", diversity)?;
    Ok(d)
}

/// `{estimated, tokenizer, lengths: {samples, total, mean, p50, p90, p99, max} | None,
/// histogram, unique_lengths}`; the unique sums go into the exact and near dicts.
fn tokens_to_dict<'py>(py: Python<'py>, t: &TokenReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("estimated", t.estimated)?;
    d.set_item("tokenizer", t.tokenizer.as_ref().map(|p| p.to_string_lossy().into_owned()))?;
    let lengths = t
        .lengths
        .as_ref()
        .map(|s| {
            let l = PyDict::new(py);
            l.set_item("samples", s.samples)?;
            l.set_item("total", s.total)?;
            l.set_item("mean", s.mean)?;
            l.set_item("p50", s.p50)?;
            l.set_item("p90", s.p90)?;
            l.set_item("p99", s.p99)?;
            l.set_item("max", s.max)?;
            PyResult::Ok(l)
        })
        .transpose()?;
    d.set_item("lengths", lengths)?;
    d.set_item("histogram", &t.histogram)?;
    d.set_item("unique_lengths", &t.unique_lengths)?;
    Ok(d)
}

/// The near part of the summary. `preview(row)` is the stored preview of an exact cluster; near
/// clusters without one get None and Python reads their text back from the source. `members[i]`
/// belong to `summary.top[i]`.
pub fn near_summary_to_dict<'py, 'a>(
    py: Python<'py>,
    summary: &NearSummary,
    index: &NearIndex,
    clusters: Option<&NearClusters>,
    preview: impl Fn(u64) -> Option<&'a str>,
    members: &[Vec<Member>],
    histogram: &[[u64; 2]],
) -> PyResult<Bound<'py, PyDict>> {
    let options = index.options();
    let d = PyDict::new(py);
    d.set_item("unique", summary.unique)?;
    d.set_item("duplicate_rows", summary.duplicate_rows)?;
    d.set_item("clusters", summary.clusters)?;
    d.set_item("largest_cluster", summary.largest_cluster)?;
    let top = PyList::empty(py);
    for (i, t) in summary.top.iter().enumerate() {
        let shown = members.get(i).map(Vec::as_slice).unwrap_or_default();
        top.append(top_item(py, t.row, t.count, preview(t.row), shown)?)?;
    }
    d.set_item("top", top)?;
    d.set_item("size_histogram", size_histogram(histogram))?;
    d.set_item("threshold", options.threshold)?;
    d.set_item("ngram", options.ngram)?;
    d.set_item("shingle", options.shingle.as_str())?;
    d.set_item("char_ngram", options.char_ngram)?;
    d.set_item("clustering", options.clustering.as_str())?;
    d.set_item("verify", options.verify.as_str())?;
    d.set_item("num_perm", options.num_perm)?;
    let plan = index.plan();
    d.set_item("bands", plan.bands)?;
    d.set_item("rows_per_band", plan.rows_per_band)?;
    if let Some(clusters) = clusters {
        // Cost and cap counters, for benchmarks (not part of the JSON report).
        d.set_item("checked_pairs", clusters.checked_pairs)?;
        d.set_item("capped_rows", clusters.capped_rows)?;
    }
    Ok(d)
}

/// `{exact_clusters, near_clusters, rows, examples: [{rows, labels}]}`, the shape of
/// `epochplan.result.Conflicts.to_dict()`.
pub fn conflicts_to_dict<'py>(py: Python<'py>, c: &LabelConflicts) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("exact_clusters", c.exact_clusters)?;
    d.set_item("near_clusters", c.near_clusters)?;
    d.set_item("rows", c.rows)?;
    let examples = PyList::empty(py);
    for example in &c.examples {
        let item = PyDict::new(py);
        item.set_item("rows", &example.rows)?;
        item.set_item("labels", &example.labels)?;
        examples.append(item)?;
    }
    d.set_item("examples", examples)?;
    Ok(d)
}

/// `[{side, chars, count, row}]`, most shared first.
pub fn template_candidates_to_list<'py>(py: Python<'py>, found: &[TemplateCandidate]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for candidate in found {
        let item = PyDict::new(py);
        item.set_item("side", candidate.side.as_str())?;
        item.set_item("chars", candidate.chars)?;
        item.set_item("count", candidate.count)?;
        item.set_item("row", candidate.row)?;
        out.append(item)?;
    }
    Ok(out)
}

/// `{source: "prefix"|"suffix"|"near-cluster", chars (None for a near cluster), templates (how
/// many shared texts the count adds up), count, rows, share, row}`.
pub fn template_signal_to_dict<'py>(py: Python<'py>, signal: &TemplateSignal) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("source", signal.source.as_str())?;
    let (chars, templates) = match signal.source {
        TemplateSource::Ends { chars, templates, .. } => (Some(chars), templates),
        TemplateSource::NearCluster => (None, 1),
    };
    d.set_item("chars", chars)?;
    d.set_item("templates", templates)?;
    d.set_item("count", signal.count)?;
    d.set_item("rows", signal.rows)?;
    d.set_item("share", signal.share())?;
    d.set_item("row", signal.row)?;
    Ok(d)
}
