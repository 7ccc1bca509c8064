//! Exact token counts with a model's own Hugging Face `tokenizer.json`.
//!
//! A count is `encode(text, add_special_tokens=false).len()` on the raw text, but computed without
//! building an `Encoding`: no ids, token strings or offsets. Two things make it fast:
//! - a per-thread cache from pre-tokenized piece to token count: in natural text most pieces
//!   (words with their leading space) repeat, so the model runs once per distinct piece;
//! - for GPT-2 style byte-level tokenizers (no normaliser, `ByteLevel` pre-tokenizer with its
//!   regex) the split into pieces is done here on the raw `&str` with a DFA regex instead of the
//!   library's backtracking regex over alignment-tracking `NormalizedString`s, and the byte-to-char
//!   mapping runs only on cache misses.
//!
//! Everything else goes through the library's own added-token extraction, normaliser and
//! pre-tokenizer, so any `tokenizer.json` gives the same counts as `encode`. The file's truncation
//! and padding settings are dropped on load: they would change the length `encode` reports, and
//! the planner needs the real one.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use aho_corasick::AhoCorasick;
use hashbrown::HashMap;
use rayon::prelude::*;
use regex::Regex;
use tokenizers::{
    Model, ModelWrapper, NormalizerWrapper, OffsetReferential, OffsetType, PostProcessor, PreTokenizer,
    PreTokenizerWrapper, Tokenizer,
};

use crate::column::TextColumn;
use crate::error::{CoreError, Result};
use crate::lengths::LengthDistribution;

/// The regex of `tokenizers`' `ByteLevel` pre-tokenizer without its `\s+(?!\S)` alternative, which
/// a DFA cannot express; [`split_byte_level`] restores its effect (see there).
const BYTE_LEVEL_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+";

/// Longer pieces (long runs of symbols or whitespace, unspaced text) rarely repeat: not cached.
const MAX_CACHED_PIECE_BYTES: usize = 128;
/// A thread's cache is emptied when it reaches this many pieces, bounding memory on huge
/// vocabularies of distinct pieces (about 100 bytes a piece).
const MAX_CACHED_PIECES: usize = 1 << 20;
/// Rows per parallel task: one cache lock per task, enough tasks to balance threads.
const ROWS_PER_TASK: usize = 256;

type TokResult<T> = std::result::Result<T, tokenizers::Error>;

pub struct TokenCounter {
    tokenizer: Tokenizer,
    path: PathBuf,
    splitter: Splitter,
    /// One cache per rayon worker (indexed by thread index) plus one for callers outside the pool.
    caches: Vec<Mutex<PieceCache>>,
}

/// See [`TokenCounter::row_counter`].
pub struct RowCounter<'a> {
    counter: &'a TokenCounter,
    cache: MutexGuard<'a, PieceCache>,
}

impl RowCounter<'_> {
    /// Token count of `text`; `row` only names the row in an error.
    pub fn count(&mut self, text: &str, row: u64) -> Result<u32> {
        self.counter.count_text(text, &mut self.cache).map_err(|e| self.counter.row_error(row, e))
    }
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The labelled estimate used when no tokenizer is given: UTF-8 bytes / 4, rounded up (so a
/// non-empty text has at least one token). Per row, so the estimate has quantiles too.
pub fn estimate_tokens(text: &str) -> u32 {
    text.len().div_ceil(4).min(u32::MAX as usize) as u32
}

enum Splitter {
    /// The library's added-token extraction, normaliser and pre-tokenizer.
    Library,
    /// GPT-2 style: no normaliser, `ByteLevel { use_regex: true }` pre-tokenizer.
    ByteLevel {
        add_prefix_space: bool,
        regex: Regex,
        /// Matches any added token's content; a text without a match is one split, so the
        /// library's added-token extraction can be skipped. None when there are no added tokens.
        added_tokens: Option<AhoCorasick>,
        byte_chars: Box<[char; 256]>,
    },
}

#[derive(Default)]
struct PieceCache {
    counts: HashMap<Box<str>, u32>,
}

impl TokenCounter {
    /// Load a `tokenizer.json`. Errors name the file in one line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            CoreError::Input(format!(
                "cannot read tokenizer file {}: {e} (give the path of the model's tokenizer.json)",
                shown(path)
            ))
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Load a `tokenizer.json` from its bytes, which the caller read once (and may hash: the
    /// same bytes, though the file is a pipe or changes on disk). `path` names it in errors, in
    /// one line, and in the report; nothing is read from it.
    pub fn from_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        // The library panics on some invalid files (a `Precompiled` normaliser whose charsmap
        // does not parse) where it returns an error on others: both are the file's fault.
        let loaded = quiet_catch(|| Tokenizer::from_bytes(bytes).map_err(|e| e.to_string())).and_then(|r| r);
        let mut tokenizer = loaded.map_err(|e| {
            CoreError::Input(format!(
                "{} is not a valid Hugging Face tokenizer.json ({}); save one with the model's tokenizer.save_pretrained()",
                shown(path),
                first_line(&e)
            ))
        })?;
        tokenizer.with_truncation(None).map_err(|e| CoreError::Internal(format!("cannot disable truncation: {e}")))?;
        tokenizer.with_padding(None);
        // BPE dropout (a training-time regulariser) skips merges at random: counts would change
        // from run to run. Counting takes the model's deterministic segmentation.
        if let ModelWrapper::BPE(bpe) = tokenizer.get_model()
            && bpe.dropout.is_some()
        {
            let mut deterministic = bpe.clone();
            deterministic.dropout = None;
            tokenizer.with_model(ModelWrapper::BPE(deterministic));
        }
        let splitter = Splitter::for_tokenizer(&tokenizer)?;
        let caches = (0..=rayon::current_num_threads()).map(|_| Mutex::default()).collect();
        Ok(TokenCounter { tokenizer, path: path.to_path_buf(), splitter, caches })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tokens the file's post-processor adds to one sequence when `encode` is called with
    /// `add_special_tokens=true` (`[CLS]`/`[SEP]`, BOS/EOS): Python's
    /// `num_special_tokens_to_add(False)`. Counts leave them out; 0 without a post-processor.
    pub fn special_tokens_per_sample(&self) -> u32 {
        self.tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(false) as u32)
    }

    /// The tokens the post-processor adds to one sequence, in order (`["[CLS]", "[SEP]"]`): what
    /// it makes of an empty encoding. Empty without a post-processor, or if it fails there.
    pub fn special_tokens(&self) -> Vec<String> {
        if self.special_tokens_per_sample() == 0 {
            return Vec::new();
        }
        self.tokenizer
            .post_process(tokenizers::Encoding::default(), None, true)
            .map(|encoding| encoding.get_tokens().to_vec())
            .unwrap_or_default()
    }

    /// Whether the GPT-2 byte-level shortcut is in use (else the library's pre-tokenizer).
    pub fn byte_level_shortcut(&self) -> bool {
        matches!(self.splitter, Splitter::ByteLevel { .. })
    }

    /// Token count of every row, in row order (None for a null row), counted in parallel.
    pub fn count(&self, texts: &dyn TextColumn) -> Result<Vec<Option<u32>>> {
        let rows = texts.len();
        let tasks: Vec<Result<Vec<Option<u32>>>> = (0..rows.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|task| {
                let mut cache = self.thread_cache();
                let range = task * ROWS_PER_TASK..rows.min((task + 1) * ROWS_PER_TASK);
                range
                    .map(|row| {
                        texts
                            .get(row)
                            .map(|text| self.count_text(text, &mut cache).map_err(|e| self.row_error(row as u64, e)))
                            .transpose()
                    })
                    .collect()
            })
            .collect();
        let mut counts = Vec::with_capacity(rows);
        for task in tasks {
            counts.extend(task?);
        }
        Ok(counts)
    }

    /// A counter for a run of rows on this thread: holds the thread's piece cache until dropped,
    /// so a chunk of rows takes the lock once. Do not start rayon work while holding one.
    pub fn row_counter(&self) -> RowCounter<'_> {
        RowCounter { counter: self, cache: self.thread_cache() }
    }

    /// Token count of one text.
    pub fn count_one(&self, text: &str) -> Result<u32> {
        self.count_text(text, &mut self.thread_cache()).map_err(|e| self.row_error(0, e))
    }

    /// The reference: the library's full `encode(text, add_special_tokens=false)`.
    pub fn count_by_encode(&self, text: &str) -> Result<u32> {
        let encoding = self.tokenizer.encode(text, false).map_err(|e| self.row_error(0, e))?;
        Ok(encoding.len() as u32)
    }

    fn row_error(&self, row: u64, e: tokenizers::Error) -> CoreError {
        CoreError::Input(format!(
            "tokenizer {} cannot tokenize row {row}: {}",
            shown(&self.path),
            first_line(&e.to_string())
        ))
    }

    fn thread_cache(&self) -> MutexGuard<'_, PieceCache> {
        let workers = self.caches.len() - 1;
        let slot = rayon::current_thread_index().map_or(workers, |i| i % workers);
        // A panic while holding the lock leaves valid (count, piece) entries: keep using them.
        self.caches[slot].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn count_text(&self, text: &str, cache: &mut PieceCache) -> TokResult<u32> {
        match &self.splitter {
            Splitter::Library => self.count_with_library(text, cache),
            Splitter::ByteLevel { added_tokens, .. } => {
                if added_tokens.as_ref().is_some_and(|ac| ac.is_match(text)) {
                    // Added tokens in the text: the library decides where they split (lstrip,
                    // rstrip, single_word, special-token encoding all apply).
                    let pretokenized =
                        self.tokenizer.get_added_vocabulary().extract_and_normalize(None::<&NormalizerWrapper>, text);
                    let mut total = 0;
                    for (piece, _, tokens) in pretokenized.get_splits(OffsetReferential::Normalized, OffsetType::None) {
                        total += match tokens {
                            Some(tokens) => tokens.len() as u32,
                            None => self.count_byte_level_split(piece, cache)?,
                        };
                    }
                    Ok(total)
                } else {
                    self.count_byte_level_split(text, cache)
                }
            }
        }
    }

    fn count_with_library(&self, text: &str, cache: &mut PieceCache) -> TokResult<u32> {
        let tokenizer = &self.tokenizer;
        let mut pretokenized = tokenizer.get_added_vocabulary().extract_and_normalize(tokenizer.get_normalizer(), text);
        if let Some(pre_tokenizer) = tokenizer.get_pre_tokenizer() {
            pre_tokenizer.pre_tokenize(&mut pretokenized)?;
        }
        let model = tokenizer.get_model();
        let mut total = 0;
        for (piece, _, tokens) in pretokenized.get_splits(OffsetReferential::Normalized, OffsetType::None) {
            total += match tokens {
                Some(tokens) => tokens.len() as u32,
                None => self.cached(cache, piece, |piece| Ok(model.tokenize(piece)?.len()))?,
            };
        }
        Ok(total)
    }

    /// One split of the byte-level path (text between added tokens), as `ByteLevel` would
    /// pre-tokenize it: optional prefix space, regex pieces, each piece byte-mapped for the model.
    fn count_byte_level_split(&self, split: &str, cache: &mut PieceCache) -> TokResult<u32> {
        let Splitter::ByteLevel { add_prefix_space, regex, byte_chars, .. } = &self.splitter else {
            unreachable!("byte-level split counted without a byte-level splitter")
        };
        // The library drops empty splits before its pre-tokenizer sees them.
        if split.is_empty() {
            return Ok(0);
        }
        let prefixed;
        let split = if *add_prefix_space && !split.starts_with(' ') {
            prefixed = format!(" {split}");
            prefixed.as_str()
        } else {
            split
        };
        let model = self.tokenizer.get_model();
        let mut total = 0;
        let mut mapped = String::new();
        let mut error = None;
        split_byte_level(regex, split, |piece| {
            if error.is_some() {
                return;
            }
            let count = self.cached(cache, piece, |piece| {
                mapped.clear();
                mapped.extend(piece.bytes().map(|b| byte_chars[b as usize]));
                Ok(model.tokenize(&mapped)?.len())
            });
            match count {
                Ok(count) => total += count,
                Err(e) => error = Some(e),
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    fn cached(
        &self,
        cache: &mut PieceCache,
        piece: &str,
        tokenize: impl FnOnce(&str) -> TokResult<usize>,
    ) -> TokResult<u32> {
        // A piece's count is a function of the piece alone (BPE dropout is off: `from_file`).
        if piece.len() > MAX_CACHED_PIECE_BYTES {
            return Ok(tokenize(piece)? as u32);
        }
        if let Some(&count) = cache.counts.get(piece) {
            return Ok(count);
        }
        let count = tokenize(piece)? as u32;
        if cache.counts.len() >= MAX_CACHED_PIECES {
            cache.counts.clear();
        }
        cache.counts.insert(piece.into(), count);
        Ok(count)
    }
}

impl Splitter {
    fn for_tokenizer(tokenizer: &Tokenizer) -> Result<Self> {
        let (None, Some(PreTokenizerWrapper::ByteLevel(byte_level))) =
            (tokenizer.get_normalizer(), tokenizer.get_pre_tokenizer())
        else {
            return Ok(Splitter::Library);
        };
        if !byte_level.use_regex {
            return Ok(Splitter::Library);
        }
        let regex = Regex::new(BYTE_LEVEL_PATTERN)
            .map_err(|e| CoreError::Internal(format!("byte-level pattern does not compile: {e}")))?;
        let contents: Vec<String> = tokenizer
            .get_added_tokens_decoder()
            .into_values()
            .map(|token| token.content)
            .filter(|content| !content.is_empty())
            .collect();
        let added_tokens = if contents.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::new(&contents)
                    .map_err(|e| CoreError::Internal(format!("added-token matcher does not build: {e}")))?,
            )
        };
        Ok(Splitter::ByteLevel {
            add_prefix_space: byte_level.add_prefix_space,
            regex,
            added_tokens,
            byte_chars: Box::new(byte_chars()),
        })
    }
}

/// Call `piece` for each piece `ByteLevel`'s regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` splits `text` into
/// (`Isolated`: matches and the text between them, in order).
///
/// The DFA pattern lacks `\s+(?!\S)`. Where both apply to a whitespace run, the backtracking
/// original matches the run minus its last character when a non-space follows it and the run has
/// at least two characters (so the last one can start the next piece, e.g. " word"); otherwise the
/// whole run, as `\s+` does. A match is such a run exactly when its last character is whitespace:
/// every other alternative ends in a letter, digit or symbol.
fn split_byte_level(regex: &Regex, text: &str, mut piece: impl FnMut(&str)) {
    let mut pos = 0;
    while pos < text.len() {
        let Some(found) = regex.find_at(text, pos) else {
            piece(&text[pos..]);
            return;
        };
        if found.start() > pos {
            piece(&text[pos..found.start()]);
        }
        let matched = found.as_str();
        let mut end = found.end();
        if end < text.len() {
            let mut chars = matched.chars();
            if let Some(last) = chars.next_back()
                && last.is_whitespace()
                && chars.next().is_some()
            {
                end -= last.len_utf8();
            }
        }
        piece(&text[found.start()..end]);
        pos = end;
    }
}

/// GPT-2's byte-to-unicode table (`bytes_to_unicode` in its `encoder.py`), the one `ByteLevel`
/// maps bytes with.
fn byte_chars() -> [char; 256] {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    let mut table = ['\0'; 256];
    let mut next_unprintable = 256u32;
    for b in 0..=255u8 {
        table[b as usize] = if printable(b) {
            b as char
        } else {
            let c = char::from_u32(next_unprintable).expect("256..512 are valid chars");
            next_unprintable += 1;
            c
        };
    }
    table
}

/// `work()`, or its panic's message when it panics, without the panic hook printing it (and a
/// backtrace) on stderr: a panic there is an answer, not a bug. Only this thread's panics are
/// kept quiet, while `work` runs; every other panic still reaches the hook that was installed.
fn quiet_catch<T>(work: impl FnOnce() -> T) -> std::result::Result<T, String> {
    use std::cell::Cell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    thread_local!(static QUIET: Cell<bool> = const { Cell::new(false) });
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(work));
    QUIET.with(|quiet| quiet.set(false));
    outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the library panicked")
            .to_string()
    })
}

/// A path as a one-line message names it: as it is, or quoted with its control characters
/// escaped (`"a\nb"`) when it holds any (a newline in a name would split the message).
fn shown(path: &Path) -> String {
    let name = path.display().to_string();
    if name.chars().any(char::is_control) { format!("{name:?}") } else { name }
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// Exact distribution of per-sample token counts: a count per length, so quantiles are exact and
/// the planner can count truncation at any sequence length. Mergeable across batches and workers.
#[derive(Debug, Clone, Default)]
pub struct TokenLengths {
    lengths: LengthDistribution,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenSummary {
    pub samples: u64,
    pub total: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// What a sequence length cuts off: samples longer than it and the tokens beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    pub samples: u64,
    pub tokens: u64,
}

impl TokenLengths {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, tokens: u32) {
        self.lengths.add(tokens as u64);
    }

    /// `samples` samples of `tokens` tokens each (a row of a length table).
    pub fn add_many(&mut self, tokens: u64, samples: u64) {
        self.lengths.add_many(tokens, samples);
    }

    /// The distribution of a `[(length, samples)]` table, as [`TokenLengths::table`] writes it.
    pub fn from_table(table: &[(u64, u64)]) -> Self {
        let mut lengths = TokenLengths::new();
        for &(length, samples) in table {
            lengths.add_many(length, samples);
        }
        lengths
    }

    /// Add per-row counts; null rows (None) are not samples.
    pub fn extend(&mut self, counts: &[Option<u32>]) {
        for &tokens in counts.iter().flatten() {
            self.add(tokens);
        }
    }

    pub fn merge(&mut self, other: &TokenLengths) {
        self.lengths.merge(&other.lengths);
    }

    pub fn samples(&self) -> u64 {
        self.lengths.count()
    }

    pub fn total(&self) -> u64 {
        self.lengths.sum() as u64
    }

    /// Nearest-rank quantile (numpy `inverted_cdf`).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        self.lengths.quantile(q)
    }

    pub fn summary(&self) -> Option<TokenSummary> {
        let s = self.lengths.summary()?;
        Some(TokenSummary {
            samples: self.samples(),
            total: self.total(),
            mean: s.mean,
            p50: s.p50,
            p90: s.p90,
            p99: s.p99,
            max: s.max,
        })
    }

    /// (token length, samples) for every length that occurs, ascending.
    pub fn table(&self) -> Vec<(u64, u64)> {
        self.lengths.iter().collect()
    }

    /// `[lo, hi, samples]` in power-of-two bins (see [`LengthDistribution::histogram`]).
    pub fn histogram(&self) -> Vec<[u64; 3]> {
        self.lengths.histogram()
    }

    /// First-fit-decreasing packing of every sample (plus `overhead` tokens) into `seq_len`-token
    /// sequences; see [`crate::packing`].
    pub fn packing(&self, seq_len: u64, overhead: u64) -> Result<crate::packing::Packing> {
        crate::packing::first_fit_decreasing(self.lengths.iter().map(|(length, n)| (length + overhead, n)), seq_len)
    }

    /// Samples longer than `seq_len` once `overhead` tokens (chat template, special tokens) are
    /// added to each, and the tokens cut off them.
    pub fn truncation(&self, seq_len: u64, overhead: u64) -> Truncation {
        let mut cut = Truncation { samples: 0, tokens: 0 };
        for (length, samples) in self.lengths.iter() {
            let length = length + overhead;
            if length > seq_len {
                cut.samples += samples;
                cut.tokens += (length - seq_len) * samples;
            }
        }
        cut
    }
}

impl TokenLengths {
    pub(crate) fn write(&self, w: &mut crate::wire::Writer) {
        self.lengths.write(w);
    }

    pub(crate) fn read(r: &mut crate::wire::Reader<'_>) -> Result<Self> {
        Ok(TokenLengths { lengths: LengthDistribution::read(r)? })
    }
}

#[cfg(test)]
pub(crate) mod tests;
