//! Fixed-width records of integers, in memory until spilled, then in an unnamed temporary file.
//!
//! Files are read and written with positional I/O (no shared cursor), so any number of threads
//! can read records while nothing is appended. Bytes on disk are little-endian on every machine.
//! The file is unlinked as soon as it is created (Unix), so a crash leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CoreError, Result};

/// Words are written in runs of this many bytes at most, bounding the conversion buffer.
const IO_CHUNK_BYTES: usize = 1 << 20;

pub(crate) trait Word: Copy + Default + Send + Sync + 'static {
    const BYTES: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

impl Word for u32 {
    const BYTES: usize = 4;
    #[inline]
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn get(bytes: &[u8]) -> Self {
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }
}

impl Word for u64 {
    const BYTES: usize = 8;
    #[inline]
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn get(bytes: &[u8]) -> Self {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[..8]);
        u64::from_le_bytes(word)
    }
}

/// Buffers for reading one record back from disk; one per thread.
#[derive(Debug, Default)]
pub(crate) struct RecordBuf<W> {
    words: Vec<W>,
    bytes: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Column<W: Word> {
    /// Words per record.
    width: usize,
    records: usize,
    memory: Vec<W>,
    file: Option<TempFile>,
    encode_buf: Vec<u8>,
}

impl<W: Word> Column<W> {
    pub fn new(width: usize) -> Self {
        Column { width, records: 0, memory: Vec::new(), file: None, encode_buf: Vec::new() }
    }

    pub fn is_spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Heap bytes held (capacity, not length: that is what the process pays for).
    pub fn resident_bytes(&self) -> usize {
        self.memory.capacity() * W::BYTES + self.encode_buf.capacity()
    }

    /// Appends whole records.
    pub fn append(&mut self, words: &[W]) -> Result<()> {
        debug_assert_eq!(words.len() % self.width, 0);
        match &self.file {
            None => self.memory.extend_from_slice(words),
            Some(file) => {
                let offset = (self.records * self.width * W::BYTES) as u64;
                write_words(file, offset, words, &mut self.encode_buf)?;
            }
        }
        self.records += words.len() / self.width;
        Ok(())
    }

    /// Moves the records to a new temporary file in `dir`; later appends go there too.
    pub fn spill(&mut self, dir: &Path) -> Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let file =
            TempFile::create(dir).map_err(|e| spill_error(format!("creating a spill file in {}", dir.display()), e))?;
        write_words(&file, 0, &self.memory, &mut self.encode_buf)?;
        self.memory = Vec::new();
        self.encode_buf = Vec::new();
        self.file = Some(file);
        Ok(())
    }

    /// Calls `visit(first_record, words)` on consecutive runs of up to `run_records` records.
    pub fn scan(&self, run_records: usize, mut visit: impl FnMut(usize, &[W])) -> Result<()> {
        let run_words = run_records.max(1) * self.width;
        match &self.file {
            None => {
                for (run, words) in self.memory.chunks(run_words).enumerate() {
                    visit(run * run_records.max(1), words);
                }
            }
            Some(file) => {
                let mut buf = RecordBuf::default();
                let total_words = self.records * self.width;
                let mut first_word = 0;
                while first_word < total_words {
                    let words = run_words.min(total_words - first_word);
                    read_words(file, first_word, words, &mut buf)?;
                    visit(first_word / self.width, &buf.words);
                    first_word += words;
                }
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.records
    }

    /// Records `first .. first + count` (clamped to the end), appended to `out`.
    pub fn read_records(&self, first: usize, count: usize, buf: &mut RecordBuf<W>, out: &mut Vec<W>) -> Result<()> {
        let count = count.min(self.records.saturating_sub(first));
        let (first_word, words) = (first * self.width, count * self.width);
        match &self.file {
            None => out.extend_from_slice(&self.memory[first_word..first_word + words]),
            Some(file) => {
                read_words(file, first_word, words, buf)?;
                out.extend_from_slice(&buf.words);
            }
        }
        Ok(())
    }

    /// Record `index`; read into `buf` when it lives on disk.
    #[inline]
    pub fn record<'a>(&'a self, index: usize, buf: &'a mut RecordBuf<W>) -> Result<&'a [W]> {
        debug_assert!(index < self.records);
        let first_word = index * self.width;
        match &self.file {
            None => Ok(&self.memory[first_word..first_word + self.width]),
            Some(file) => {
                read_words(file, first_word, self.width, buf)?;
                Ok(&buf.words)
            }
        }
    }
}

fn write_words<W: Word>(file: &TempFile, offset: u64, words: &[W], encode_buf: &mut Vec<u8>) -> Result<()> {
    let mut offset = offset;
    for run in words.chunks((IO_CHUNK_BYTES / W::BYTES).max(1)) {
        encode_buf.clear();
        for &w in run {
            w.put(encode_buf);
        }
        write_all_at(file.file(), encode_buf, offset)
            .map_err(|e| spill_error(format!("writing {}", file.describe()), e))?;
        offset += encode_buf.len() as u64;
    }
    Ok(())
}

fn read_words<W: Word>(file: &TempFile, first_word: usize, words: usize, buf: &mut RecordBuf<W>) -> Result<()> {
    buf.bytes.resize(words * W::BYTES, 0);
    read_exact_at(file.file(), &mut buf.bytes, (first_word * W::BYTES) as u64)
        .map_err(|e| spill_error(format!("reading {}", file.describe()), e))?;
    buf.words.clear();
    buf.words.extend(buf.bytes.chunks_exact(W::BYTES).map(W::get));
    Ok(())
}

fn spill_error(context: String, source: io::Error) -> CoreError {
    // Not a bug of ours but of the environment (full disk, unwritable directory): say how to fix it.
    CoreError::Io {
        context: format!("spill file: {context}"),
        source,
        help: Some("point the temp directory at a disk with free space or raise the memory budget"),
    }
}

/// A temporary file that is gone once dropped (on Unix: as soon as it is created).
#[derive(Debug)]
struct TempFile {
    file: Option<File>,
    /// The directory it lives in, for error messages (the file itself has no name on Unix).
    dir: PathBuf,
    /// Where the OS cannot unlink an open file, the path to remove on drop.
    path: Option<PathBuf>,
}

impl TempFile {
    fn create(dir: &Path) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        loop {
            let name = format!(
                "epochplan-near-{}-{}-{nanos}.tmp",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = dir.join(name);
            match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => {
                    let keep_path = if cfg!(unix) {
                        std::fs::remove_file(&path)?;
                        None
                    } else {
                        Some(path)
                    };
                    return Ok(TempFile { file: Some(file), dir: dir.to_path_buf(), path: keep_path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn describe(&self) -> String {
        format!("a spill file in {}", self.dir.display())
    }

    fn file(&self) -> &File {
        self.file.as_ref().expect("temp file is open until dropped")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, offset)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => {
                buf = &buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn read_exact_at(_: &File, _: &mut [u8], _: u64) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "spilling needs positional file I/O"))
}

#[cfg(not(any(unix, windows)))]
fn write_all_at(_: &File, _: &[u8], _: u64) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "spilling needs positional file I/O"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents<W: Word>(column: &Column<W>, run: usize) -> Vec<W> {
        let mut out = Vec::new();
        let mut next = 0;
        column
            .scan(run, |first, words| {
                assert_eq!(first, next);
                next += words.len() / column.width;
                out.extend_from_slice(words);
            })
            .unwrap();
        out
    }

    #[test]
    fn same_records_in_memory_and_on_disk() {
        let mut column = Column::<u32>::new(3);
        column.append(&[1, 2, 3, 4, 5, 6]).unwrap();
        column.spill(&std::env::temp_dir()).unwrap();
        assert!(column.is_spilled());
        column.append(&[7, 8, u32::MAX]).unwrap();
        assert_eq!(column.records, 3);
        assert_eq!(contents(&column, 2), vec![1, 2, 3, 4, 5, 6, 7, 8, u32::MAX]);
        let mut buf = RecordBuf::default();
        assert_eq!(column.record(1, &mut buf).unwrap(), &[4, 5, 6]);
        assert_eq!(column.record(2, &mut buf).unwrap(), &[7, 8, u32::MAX]);

        let mut keys = Column::<u64>::new(1);
        keys.append(&[u64::MAX, 0, 42]).unwrap();
        assert_eq!(contents(&keys, 2), vec![u64::MAX, 0, 42]);
        keys.spill(&std::env::temp_dir()).unwrap();
        assert_eq!(contents(&keys, 2), vec![u64::MAX, 0, 42]);
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let mut column = Column::<u32>::new(1);
        let err = column.spill(Path::new("/nonexistent/epochplan/dir")).unwrap_err();
        assert!(matches!(err, CoreError::Io { .. }), "{err:?}");
        let message = err.to_string();
        if cfg!(unix) {
            assert_eq!(err.os_error(), Some(2), "{err:?}"); // ENOENT
            assert!(message.contains("/nonexistent/epochplan/dir: No such file or directory"), "{message}");
        }
        assert!(message.contains("temp directory"), "{message}");
    }
}
