use std::path::PathBuf;

use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainer};
use tokenizers::normalizers::unicode::NFKC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{AddedToken, Tokenizer};

use super::*;

/// Texts that exercise every alternative of the byte-level regex, its whitespace look-ahead,
/// non-ASCII scripts and added tokens in all positions.
pub(crate) fn varied_texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "",
        " ",
        "   ",
        "\n",
        "\n\n\n",
        "Hello world",
        "Hello  world",
        "Hello   world  ",
        "  leading spaces and trailing\t\t",
        "tabs\tand\nnewlines\r\n\r\nand  \n  mixed",
        "It's, we're, they've, I'm, we'll, he'd, don't, it'S, 's",
        "Numbers 12345 and 3.14159, 1e-9, ١٢٣ (Arabic-Indic) and ⅷ",
        "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    println!(\"{x:?}\");\n}\n",
        "def f(a, b=2, *args, **kw):\n\treturn {'a': a, \"b\": [b] * 3}  # comment\n",
        "机器学习是人工智能的一个分支。它使用统计方法让计算机从数据中学习。",
        "東京は日本の首都です。ひらがなとカタカナ、そして漢字。",
        "Emoji 😀😃😄 👩‍👩‍👧‍👦 🇫🇷 and skin 👍🏽!",
        "non\u{a0}breaking\u{2003}em\u{3000}ideographic\u{200b}zero-width",
        "Ünïcödé àccents — “quotes” ‘single’ … ©®™",
        "Привет, мир! Γειά σου Κόσμε! שלום עולם مرحبا بالعالم",
        "<|endoftext|>",
        "before<|endoftext|>after",
        "a <|endoftext|> b",
        "<|endoftext|><|endoftext|>",
        "<|endoftext",
        "text [DAY] more [DAY]x y[DAY] [DAY]",
        "!!!???...---___***",
        "a\u{0301}e\u{0301} composed é vs decomposed",
        "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ①②③ ﬁ ligature",
        "    indented\n        deeper\n",
        " \u{a0} \n \t x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Longer documents built from the pieces above, so repeated pieces hit the cache.
    for i in 0..40 {
        let a = &texts[(i * 7) % texts.len()];
        let b = &texts[(i * 11 + 3) % texts.len()];
        texts.push(format!("{a} {b}\n{a}{b}"));
    }
    texts
}

fn training_corpus() -> Vec<String> {
    let base = varied_texts();
    (0..20).flat_map(|_| base.iter().cloned()).collect()
}

/// A small byte-level BPE trained here (so the test needs no download), saved as tokenizer.json.
pub(crate) fn byte_level_tokenizer(
    dir: &std::path::Path,
    name: &str,
    configure: impl FnOnce(&mut Tokenizer),
) -> PathBuf {
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    tokenizer.with_decoder(Some(ByteLevel::default()));
    let mut trainer = TrainerWrapper::BpeTrainer(
        BpeTrainer::builder()
            .vocab_size(600)
            .show_progress(false)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .special_tokens(vec![AddedToken::from("<|endoftext|>", true)])
            .build(),
    );
    tokenizer.train(&mut trainer, training_corpus().into_iter()).unwrap();
    tokenizer.add_tokens(vec![AddedToken::from("[DAY]", false).single_word(true).lstrip(true).rstrip(true)]).unwrap();
    configure(&mut tokenizer);
    let path = dir.join(name);
    tokenizer.save(&path, false).unwrap();
    path
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("epochplan-tokens-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_counts_match_encode(counter: &TokenCounter) {
    let texts = varied_texts();
    let column: Vec<Option<String>> = texts.iter().cloned().map(Some).collect();
    // Twice: the second pass answers from the piece cache.
    for _ in 0..2 {
        let counts = counter.count(&column).unwrap();
        for (text, count) in texts.iter().zip(&counts) {
            assert_eq!(count.unwrap(), counter.count_by_encode(text).unwrap(), "{text:?}");
        }
    }
}

#[test]
fn byte_level_shortcut_equals_encode() {
    let dir = temp_dir("bl");
    for prefix in [false, true] {
        let path = byte_level_tokenizer(&dir, &format!("bl-{prefix}.json"), |t| {
            t.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(prefix)));
        });
        let counter = TokenCounter::from_file(&path).unwrap();
        assert!(counter.byte_level_shortcut());
        assert_counts_match_encode(&counter);
        assert!(counter.count_one("a <|endoftext|> b").unwrap() >= 3);
    }
}

#[test]
fn encode_special_tokens_splits_them_like_text() {
    let dir = temp_dir("est");
    let path = byte_level_tokenizer(&dir, "est.json", |t| t.set_encode_special_tokens(true));
    let counter = TokenCounter::from_file(&path).unwrap();
    assert!(counter.byte_level_shortcut());
    assert_counts_match_encode(&counter);
}

#[test]
fn library_path_equals_encode() {
    let dir = temp_dir("lib");
    // A normaliser, and a non-byte-level pre-tokenizer: both take the library path.
    let nfkc = byte_level_tokenizer(&dir, "nfkc.json", |t| {
        t.with_normalizer(Some(NFKC)).unwrap();
    });
    let whitespace = byte_level_tokenizer(&dir, "ws.json", |t| {
        t.with_pre_tokenizer(Some(Whitespace));
    });
    for path in [nfkc, whitespace] {
        let counter = TokenCounter::from_file(&path).unwrap();
        assert!(!counter.byte_level_shortcut());
        assert_counts_match_encode(&counter);
    }
}

#[test]
fn truncation_and_padding_in_the_file_do_not_change_counts() {
    let dir = temp_dir("trunc");
    let path = byte_level_tokenizer(&dir, "trunc.json", |t| {
        t.with_truncation(Some(tokenizers::TruncationParams { max_length: 4, ..Default::default() })).unwrap();
        t.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::Fixed(64),
            ..Default::default()
        }));
    });
    let counter = TokenCounter::from_file(&path).unwrap();
    let long = "a fairly long sentence that has many more than four tokens in it";
    let plain = TokenCounter::from_file(byte_level_tokenizer(&dir, "plain.json", |_| {})).unwrap();
    assert_eq!(counter.count_one(long).unwrap(), plain.count_one(long).unwrap());
    assert!(counter.count_one(long).unwrap() > 4);
}

#[test]
fn special_tokens_of_the_post_processor_are_named_not_counted() {
    use tokenizers::processors::template::TemplateProcessing;
    let dir = temp_dir("special");
    let plain = TokenCounter::from_file(byte_level_tokenizer(&dir, "plain.json", |_| {})).unwrap();
    assert_eq!(plain.special_tokens_per_sample(), 0);
    assert!(plain.special_tokens().is_empty());
    let path = byte_level_tokenizer(&dir, "template.json", |t| {
        let eos = t.token_to_id("<|endoftext|>").unwrap();
        let template = TemplateProcessing::builder()
            .try_single("<|endoftext|> $A <|endoftext|>")
            .unwrap()
            .special_tokens(vec![("<|endoftext|>", eos)])
            .build()
            .unwrap();
        t.with_post_processor(Some(template));
    });
    let counter = TokenCounter::from_file(&path).unwrap();
    assert_eq!(counter.special_tokens_per_sample(), 2);
    assert_eq!(counter.special_tokens(), ["<|endoftext|>", "<|endoftext|>"]);
    let text = "a short text";
    assert_eq!(counter.count_one(text).unwrap(), plain.count_one(text).unwrap());
}

#[test]
fn nulls_and_row_order_survive_parallel_counting() {
    let dir = temp_dir("par");
    let counter = TokenCounter::from_file(byte_level_tokenizer(&dir, "par.json", |_| {})).unwrap();
    let texts = varied_texts();
    let column: Vec<Option<String>> =
        (0..5000).map(|i| (i % 13 != 0).then(|| texts[i % texts.len()].clone())).collect();
    let counts = counter.count(&column).unwrap();
    assert_eq!(counts.len(), column.len());
    for (row, (text, count)) in column.iter().zip(&counts).enumerate() {
        match text {
            None => assert_eq!(*count, None, "row {row}"),
            Some(text) => assert_eq!(count.unwrap(), counter.count_by_encode(text).unwrap(), "row {row}"),
        }
    }
}

#[test]
fn byte_level_split_matches_the_library_regex() {
    let library =
        tokenizers::utils::SysRegex::new(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")
            .unwrap();
    let regex = Regex::new(BYTE_LEVEL_PATTERN).unwrap();
    for text in varied_texts() {
        let mut ours = Vec::new();
        split_byte_level(&regex, &text, |piece| ours.push(piece.to_string()));
        let theirs: Vec<String> = library.find_iter(&text).map(|(start, end)| text[start..end].to_string()).collect();
        assert_eq!(ours, theirs, "{text:?}");
    }
}

#[test]
fn byte_table_is_gpt2s() {
    let table = byte_chars();
    assert_eq!(table[b'a' as usize], 'a');
    assert_eq!(table[b' ' as usize], 'Ġ');
    assert_eq!(table[b'\n' as usize], 'Ċ');
    let alphabet = ByteLevel::alphabet();
    assert!(table.iter().all(|c| alphabet.contains(c)));
    assert_eq!(table.iter().collect::<std::collections::HashSet<_>>().len(), 256);
}

#[test]
fn missing_and_invalid_files_name_the_file() {
    let dir = temp_dir("bad");
    let missing = dir.join("nope/tokenizer.json");
    let invalid = dir.join("invalid.json");
    std::fs::write(&invalid, "{\"not\": \"a tokenizer\"}").unwrap();
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00]).unwrap();
    for path in [missing, invalid, garbage] {
        let Err(CoreError::Input(message)) = TokenCounter::from_file(&path) else {
            panic!("{} loaded", path.display());
        };
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn from_bytes_counts_as_from_file_and_names_the_path_given() {
    let dir = temp_dir("bytes");
    let path = byte_level_tokenizer(&dir, "bytes.json", |_| {});
    let from_file = TokenCounter::from_file(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Nothing is read from the name: it only names the bytes (a pipe the caller read once).
    let name = dir.join("read-once/tokenizer.json");
    let from_bytes = TokenCounter::from_bytes(&bytes, &name).unwrap();
    assert_eq!(from_bytes.path(), name.as_path());
    assert_eq!(from_bytes.byte_level_shortcut(), from_file.byte_level_shortcut());
    assert_eq!(from_bytes.special_tokens(), from_file.special_tokens());
    let texts = varied_texts();
    let column: Vec<Option<String>> = texts.iter().cloned().map(Some).collect();
    assert_eq!(from_bytes.count(&column).unwrap(), from_file.count(&column).unwrap());
    let Err(CoreError::Input(message)) = TokenCounter::from_bytes(b"{\"not\": \"a tokenizer\"}", &name) else {
        panic!("invalid bytes loaded");
    };
    assert!(message.starts_with(&format!("{} is not a valid", name.display())), "{message}");
}

#[test]
fn a_name_with_a_newline_is_escaped_in_one_line_messages() {
    let dir = temp_dir("newline");
    let name = dir.join("two\nlines.json");
    for result in [TokenCounter::from_file(&name), TokenCounter::from_bytes(b"not json", &name)] {
        let Err(CoreError::Input(message)) = result else { panic!("loaded") };
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("two\\nlines.json"), "{message}");
    }
    let words = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,
        "pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
        "model":{"type":"WordLevel","vocab":{"hello":0},"unk_token":"<unk>"}}"#;
    let counter = TokenCounter::from_bytes(words.as_bytes(), &name).unwrap();
    let Err(CoreError::Input(message)) = counter.count_one("bad") else { panic!("counted an unknown word") };
    assert!(!message.contains('\n') && message.contains("two\\nlines.json"), "{message}");
}

#[test]
fn token_lengths_quantiles_are_nearest_rank() {
    let mut lengths = TokenLengths::new();
    lengths.extend(&[Some(5), None, Some(1), Some(3), Some(100_000), Some(3)]);
    let s = lengths.summary().unwrap();
    assert_eq!((s.samples, s.total, s.max), (5, 100_012, 100_000));
    // Sorted: 1 3 3 5 100000; numpy inverted_cdf: p50 -> rank ceil(2.5) = 3 -> 3.
    assert_eq!((s.p50, s.p90, s.p99), (3, 100_000, 100_000));
    assert!((s.mean - 100_012.0 / 5.0).abs() < 1e-9);
    assert_eq!(lengths.table(), vec![(1, 1), (3, 2), (5, 1), (100_000, 1)]);
    assert!(TokenLengths::new().summary().is_none());
}

#[test]
fn token_lengths_merge_equals_one_pass() {
    let values: Vec<u32> = (0..2000u32).map(|i| (i * 7919) % 3001 + if i % 97 == 0 { 70_000 } else { 0 }).collect();
    let mut whole = TokenLengths::new();
    values.iter().for_each(|&v| whole.add(v));
    let mut merged = TokenLengths::new();
    for chunk in values.chunks(333) {
        let mut part = TokenLengths::new();
        chunk.iter().for_each(|&v| part.add(v));
        merged.merge(&part);
    }
    assert_eq!(merged.summary(), whole.summary());
    assert_eq!(merged.table(), whole.table());
    let mut sorted = values.clone();
    sorted.sort();
    for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        assert_eq!(merged.quantile(q), Some(sorted[rank - 1] as u64), "q={q}");
    }
}

#[test]
fn truncation_matches_brute_force() {
    let values: Vec<u32> = (0..500u32).map(|i| (i * 37) % 900).collect();
    let mut lengths = TokenLengths::new();
    values.iter().for_each(|&v| lengths.add(v));
    for (seq_len, overhead) in [(0, 0), (128, 0), (512, 7), (899, 0), (899, 1), (5000, 3)] {
        let brute = values.iter().map(|&v| v as u64 + overhead).filter(|&v| v > seq_len);
        let samples = brute.clone().count() as u64;
        let tokens = brute.map(|v| v - seq_len).sum();
        assert_eq!(lengths.truncation(seq_len, overhead), Truncation { samples, tokens }, "{seq_len} {overhead}");
    }
}

#[test]
fn byte_level_split_matches_the_library_regex_on_random_text() {
    // Characters at the edges of the pattern's classes: ASCII and Unicode whitespace (and the
    // zero-width space, which is not whitespace), contraction letters, digits of other scripts,
    // combining marks, symbols, emoji, CJK.
    let palette: Vec<char> =
        " \t\n\r\u{a0}\u{2003}\u{3000}\u{200b}\u{85}'sStlvremdxZ1٣Ⅻ!-_\u{301}😀東ひ".chars().collect();
    let library =
        tokenizers::utils::SysRegex::new(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")
            .unwrap();
    let regex = Regex::new(BYTE_LEVEL_PATTERN).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len).map(|_| palette[(next() % palette.len() as u64) as usize]).collect();
        let mut ours = Vec::new();
        split_byte_level(&regex, &text, |piece| ours.push(piece.to_string()));
        let theirs: Vec<String> = library.find_iter(&text).map(|(start, end)| text[start..end].to_string()).collect();
        assert_eq!(ours, theirs, "{text:?}");
    }
}
