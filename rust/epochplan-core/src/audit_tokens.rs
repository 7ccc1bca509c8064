//! Token counts in the audit: every row is counted in the statistics pass (with the model's
//! tokenizer, or the labelled bytes/4 estimate without one), and the counts of the cluster
//! representatives are summed: what the model sees once per epoch after deduplication.
//!
//! Memory: no per-row storage for exact clusters (a row's count is added to the unique table
//! when the row opens a new exact cluster, the moment its digest is inserted; once the exact
//! table has spilled, such a row may turn out to be a provisional representative, so the exact
//! index holds its count and the merge hands back those of true representatives). Near clusters are
//! only known at `finish_near`, so with near detection on each row's count is kept (4 bytes a
//! row) until then and dropped once the near representatives' table is built.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{CoreError, Result};
use crate::tokens::{RowCounter, TokenCounter, TokenLengths, TokenSummary, estimate_tokens};

#[derive(Debug)]
pub struct AuditTokens {
    tokenizer: Option<Arc<TokenCounter>>,
    /// Token count of every row so far (0 for null), with near detection on, until `finish_near`.
    row_tokens: Option<Vec<u32>>,
    /// Token lengths of the exact representatives (first row of each distinct text).
    exact_unique: TokenLengths,
    /// Token lengths of the near representatives, after `finish_near`.
    near_unique: Option<TokenLengths>,
}

/// The token part of the audit summary.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenReport {
    /// True when no tokenizer was given: counts are UTF-8 bytes / 4 per row, rounded up.
    pub estimated: bool,
    pub tokenizer: Option<PathBuf>,
    /// Per-row token lengths of the non-null rows; None when every row is null.
    pub lengths: Option<TokenSummary>,
    /// `[lo, hi, rows]` power-of-two bins of the same lengths.
    pub histogram: Vec<[u64; 3]>,
    /// Tokens of the exact representatives, summed.
    pub exact_unique_tokens: u64,
    /// Tokens of the near representatives, summed; None without near detection.
    pub near_unique_tokens: Option<u64>,
    /// `(token length, samples)` of the unique samples: near representatives when near
    /// detection ran, else exact ones. Every length that occurs, ascending.
    pub unique_lengths: Vec<(u64, u64)>,
}

/// Counts the rows of one chunk, on one thread.
pub struct ChunkCounter<'a> {
    counter: Option<RowCounter<'a>>,
}

impl<'a> ChunkCounter<'a> {
    /// A counter for a chunk measured away from the auditor (see [`crate::stages`]).
    pub fn with(tokenizer: Option<&'a TokenCounter>) -> Self {
        ChunkCounter { counter: tokenizer.map(TokenCounter::row_counter) }
    }

    #[inline]
    pub fn count(&mut self, text: &str, row: u64) -> Result<u32> {
        match self.counter.as_mut() {
            Some(counter) => counter.count(text, row),
            None => Ok(estimate_tokens(text)),
        }
    }
}

impl AuditTokens {
    pub fn new(near: bool) -> Self {
        AuditTokens {
            tokenizer: None,
            row_tokens: near.then(Vec::new),
            exact_unique: TokenLengths::new(),
            near_unique: None,
        }
    }

    /// Count with `tokenizer` instead of the estimate; only before the first row.
    pub fn set_tokenizer(&mut self, tokenizer: Arc<TokenCounter>, rows_so_far: u64) -> Result<()> {
        if rows_so_far > 0 {
            return Err(CoreError::Input("a tokenizer must be set before the first batch".into()));
        }
        self.tokenizer = Some(tokenizer);
        Ok(())
    }

    pub fn tokenizer(&self) -> Option<&TokenCounter> {
        self.tokenizer.as_deref()
    }

    /// A counter for one parallel chunk (holds its thread's piece cache while it lives).
    pub fn chunk_counter(&self) -> ChunkCounter<'_> {
        ChunkCounter { counter: self.tokenizer.as_ref().map(|t| t.row_counter()) }
    }

    /// Record the next row, in row order: its token count (0 for null) and whether it opened a
    /// new exact cluster (is its representative).
    #[inline]
    pub fn record(&mut self, tokens: u32, representative: bool) {
        if representative {
            self.exact_unique.add(tokens);
        }
        if let Some(row_tokens) = self.row_tokens.as_mut() {
            row_tokens.push(tokens);
        }
    }

    /// Count the exact representatives whose counts a spilled exact table held until its merge,
    /// as `(tokens, representatives)` (see [`crate::exact::ExactIndex::settled_weights`]).
    pub fn add_settled(&mut self, settled: impl Iterator<Item = (u64, u64)>) {
        for (tokens, representatives) in settled {
            self.exact_unique.add_many(tokens, representatives);
        }
    }

    /// Reserve room for `rows` more rows (per-row counts grow by batch, not by doubling).
    pub fn reserve(&mut self, rows: usize) {
        if let Some(row_tokens) = self.row_tokens.as_mut() {
            row_tokens.reserve_exact(rows);
        }
    }

    /// Sum the near representatives (rows whose near id is themselves) and drop the per-row counts.
    pub fn finish_near(&mut self, near_ids: &[u64]) {
        let Some(row_tokens) = self.row_tokens.take() else {
            return;
        };
        let mut unique = TokenLengths::new();
        for (row, (&id, &tokens)) in near_ids.iter().zip(&row_tokens).enumerate() {
            if id == row as u64 {
                unique.add(tokens);
            }
        }
        self.near_unique = Some(unique);
    }

    pub fn report(&self, all_rows: &TokenLengths) -> TokenReport {
        let unique = self.near_unique.as_ref().unwrap_or(&self.exact_unique);
        TokenReport {
            estimated: self.tokenizer.is_none(),
            tokenizer: self.tokenizer.as_ref().map(|t| t.path().to_path_buf()),
            lengths: all_rows.summary(),
            histogram: all_rows.histogram(),
            exact_unique_tokens: self.exact_unique.total(),
            near_unique_tokens: self.near_unique.as_ref().map(TokenLengths::total),
            unique_lengths: unique.table(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::audit::{AuditOptions, Auditor};
    use crate::near::NearOptions;
    use crate::normalize::Normalize;
    use crate::tokens::tests::{byte_level_tokenizer, temp_dir, varied_texts};

    /// Rows with exact copies (case and spacing), near copies (one word changed) and nulls.
    fn corpus() -> Vec<Option<String>> {
        let base = varied_texts();
        let mut rows = Vec::new();
        for i in 0..600usize {
            let text = &base[(i * 7) % base.len()];
            rows.push(match i % 11 {
                0 => None,
                1 => Some(text.to_uppercase()),
                2 => Some(format!("{text} the committee met on tuesday to discuss the annual budget and agreed")),
                3 => Some(format!("{text} the committee met on tuesday to discuss the annual budget and agreed today")),
                _ => Some(format!("{text} {i}")),
            });
        }
        rows
    }

    fn run(
        rows: &[Option<String>],
        near: bool,
        counter: Option<Arc<TokenCounter>>,
        threads: usize,
    ) -> (Auditor, TokenReport) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let near = near.then(|| NearOptions { ngram: 2, threshold: 0.5, ..NearOptions::default() });
            let options = AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near };
            let mut auditor = Auditor::new(options).unwrap();
            if let Some(counter) = counter {
                auditor.set_tokenizer(counter).unwrap();
            }
            for batch in rows.chunks(97) {
                auditor.update(&batch.to_vec(), None).unwrap();
            }
            auditor.finish_near().unwrap();
            let report = auditor.summary(false).tokens;
            (auditor, report)
        })
    }

    /// Sum and length table of `count(row)` over the rows that represent their cluster.
    fn over_representatives(ids: &[u64], count: impl Fn(usize) -> u64) -> (u64, Vec<(u64, u64)>) {
        let mut table: HashMap<u64, u64> = HashMap::new();
        let mut total = 0;
        for (row, &id) in ids.iter().enumerate() {
            if id == row as u64 {
                total += count(row);
                *table.entry(count(row)).or_default() += 1;
            }
        }
        let mut table: Vec<(u64, u64)> = table.into_iter().collect();
        table.sort_unstable();
        (total, table)
    }

    #[test]
    fn unique_tokens_sum_the_representatives_encode_counts() {
        let dir = temp_dir("audit");
        let counter = Arc::new(TokenCounter::from_file(byte_level_tokenizer(&dir, "audit.json", |_| {})).unwrap());
        let rows = corpus();
        let encode = |row: usize| rows[row].as_ref().map_or(0, |t| counter.count_by_encode(t).unwrap() as u64);

        let (auditor, report) = run(&rows, true, Some(counter.clone()), 3);
        assert!(!report.estimated);
        assert_eq!(report.tokenizer.as_deref(), Some(counter.path()));
        let all: Vec<u64> = (0..rows.len()).filter(|&r| rows[r].is_some()).map(encode).collect();
        let lengths = report.lengths.clone().unwrap();
        assert_eq!((lengths.samples, lengths.total), (all.len() as u64, all.iter().sum()));
        assert_eq!(lengths.max, *all.iter().max().unwrap());
        assert_eq!(report.histogram.iter().map(|b| b[2]).sum::<u64>(), all.len() as u64);

        let (exact_total, _) = over_representatives(auditor.row_ids().unwrap(), encode);
        let (near_total, near_table) = over_representatives(auditor.near_ids().unwrap(), encode);
        assert_eq!(report.exact_unique_tokens, exact_total);
        assert_eq!(report.near_unique_tokens, Some(near_total));
        assert!(near_total < exact_total, "the corpus has near copies");
        assert_eq!(report.unique_lengths, near_table);
        // Same answer on one thread.
        assert_eq!(run(&rows, true, Some(counter.clone()), 1).1, report);

        // Exact only: the table is the exact representatives'.
        let (auditor, exact_only) = run(&rows, false, Some(counter.clone()), 2);
        let (total, table) = over_representatives(auditor.row_ids().unwrap(), encode);
        assert_eq!((exact_only.exact_unique_tokens, exact_only.near_unique_tokens), (total, None));
        assert_eq!(exact_only.unique_lengths, table);
    }

    #[test]
    fn without_a_tokenizer_the_estimate_is_bytes_over_four_per_row() {
        let rows = corpus();
        let (auditor, report) = run(&rows, false, None, 2);
        assert!(report.estimated && report.tokenizer.is_none());
        let estimate = |row: usize| rows[row].as_ref().map_or(0, |t| t.len().div_ceil(4) as u64);
        let (total, table) = over_representatives(auditor.row_ids().unwrap(), estimate);
        assert_eq!((report.exact_unique_tokens, report.unique_lengths), (total, table));
        let all: u64 = (0..rows.len()).map(estimate).sum();
        assert_eq!(report.lengths.unwrap().total, all);
    }

    #[test]
    fn tokenizer_only_before_the_first_batch() {
        let dir = temp_dir("late");
        let counter = Arc::new(TokenCounter::from_file(byte_level_tokenizer(&dir, "late.json", |_| {})).unwrap());
        let mut auditor =
            Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: None }).unwrap();
        auditor.update(&vec![Some("a")], None).unwrap();
        assert!(matches!(auditor.set_tokenizer(counter), Err(CoreError::Input(_))));
    }
}
