//! Import of Arrow string columns from Python through the Arrow PyCapsule stream interface
//! (`__arrow_c_stream__`): polars Series (string_view), pyarrow arrays and chunked arrays.
//! Zero-copy: the arrays keep the producer's buffers alive until dropped.

use arrow_array::ffi_stream::{ArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{Array, ArrayRef, BinaryArray, LargeBinaryArray, LargeStringArray, StringArray, StringViewArray};
use arrow_schema::DataType;
use epochplan_core::TextColumn;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::errors::input_error;

enum TextArray {
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
}

impl TextArray {
    fn from_array(array: &ArrayRef, what: &str) -> PyResult<Self> {
        let any = array.as_any();
        Ok(match array.data_type() {
            DataType::Utf8 => TextArray::Utf8(any.downcast_ref::<StringArray>().unwrap().clone()),
            DataType::LargeUtf8 => TextArray::LargeUtf8(any.downcast_ref::<LargeStringArray>().unwrap().clone()),
            DataType::Utf8View => TextArray::Utf8View(any.downcast_ref::<StringViewArray>().unwrap().clone()),
            other => {
                return Err(input_error(format!("{what} must be a string column, got Arrow type {other}")));
            }
        })
    }

    /// Every value is UTF-8, or an input error naming the first row that is not (`row`: the
    /// chunk's first row in the column; `numbered`: whether that is a row of the whole input).
    /// Arrow producers do not all check this: pyarrow's Parquet reader passes a writer's bytes
    /// through, and polars keeps them. The core reads texts as `&str`, so bytes that are not
    /// UTF-8 would be undefined behaviour there, not a clear error.
    fn check_utf8(&self, what: &str, row: usize, numbered: bool) -> PyResult<()> {
        // The same buffers read as bytes (a cheap copy of the array, not of its data), so that
        // no `&str` is made of them before they are checked.
        let bad = match self {
            TextArray::Utf8(a) => first_not_utf8(BinaryArray::from(a.clone()).iter()),
            TextArray::LargeUtf8(a) => first_not_utf8(LargeBinaryArray::from(a.clone()).iter()),
            TextArray::Utf8View(a) => first_not_utf8(a.clone().to_binary_view().iter()),
        };
        let Some((i, at)) = bad else {
            return Ok(());
        };
        let of = if numbered { "" } else { " of its batch" };
        Err(input_error(format!(
            "{what}: row {}{of} is not valid UTF-8 (bad byte at offset {at} of its text); the column is typed as string but holds other bytes: re-encode the data as UTF-8, or fix the program that wrote it",
            row + i
        )))
    }

    fn len(&self) -> usize {
        match self {
            TextArray::Utf8(a) => a.len(),
            TextArray::LargeUtf8(a) => a.len(),
            TextArray::Utf8View(a) => a.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&str> {
        match self {
            TextArray::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextArray::LargeUtf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextArray::Utf8View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// The first non-null value that is not UTF-8: its index and the offset of its first bad byte.
fn first_not_utf8<'a>(values: impl Iterator<Item = Option<&'a [u8]>>) -> Option<(usize, usize)> {
    values.enumerate().find_map(|(i, value)| {
        let value = value?;
        simdutf8::basic::from_utf8(value)
            .is_err()
            .then(|| (i, simdutf8::compat::from_utf8(value).err().map_or(0, |e| e.valid_up_to())))
    })
}

/// A string column made of one or more Arrow chunks, addressed by row.
pub struct TextChunks {
    chunks: Vec<TextArray>,
    /// Row where each chunk starts, plus the total length at the end.
    starts: Vec<usize>,
}

impl TextChunks {
    /// Read every array from `obj.__arrow_c_stream__()`. `what` names the column in errors.
    pub fn import(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        Self::import_numbered(obj, what, None)
    }

    /// [`Self::import`] of rows numbered from `first_row` in the whole input, for errors.
    pub fn import_numbered(obj: &Bound<'_, PyAny>, what: &str, first_row: Option<u64>) -> PyResult<Self> {
        if !obj.hasattr("__arrow_c_stream__")? {
            return Err(input_error(format!(
                "{what} must support the Arrow PyCapsule stream interface (__arrow_c_stream__), e.g. a polars Series or a pyarrow ChunkedArray (a pyarrow Array has no stream: pass pa.chunked_array([array]))"
            )));
        }
        let capsule = obj.call_method0("__arrow_c_stream__")?;
        let capsule = capsule
            .cast::<PyCapsule>()
            .map_err(|_| input_error(format!("{what}: __arrow_c_stream__ did not return a PyCapsule")))?;
        let pointer = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
        // SAFETY: the capsule holds an ArrowArrayStream (checked by name). We move it out and
        // leave a released (empty) stream behind, so the capsule's destructor does nothing,
        // as the PyCapsule interface specifies for consumers.
        let stream =
            unsafe { std::ptr::replace(pointer.as_ptr() as *mut FFI_ArrowArrayStream, FFI_ArrowArrayStream::empty()) };
        let reader = ArrayStreamReader::try_new(stream)
            .map_err(|e| input_error(format!("{what}: cannot read Arrow stream: {e}")))?;
        let mut chunks = Vec::new();
        let mut starts = vec![0usize];
        for array in reader {
            let array = array.map_err(|e| input_error(format!("{what}: cannot read Arrow stream: {e}")))?;
            let text = TextArray::from_array(&array, what)?;
            starts.push(starts.last().unwrap() + text.len());
            chunks.push(text);
        }
        // Without the GIL: ~0.2 s for 930 MB of text (the prefetch thread may decode meanwhile).
        let base = first_row.unwrap_or(0) as usize;
        obj.py().detach(|| {
            chunks
                .iter()
                .zip(&starts)
                .try_for_each(|(chunk, &start)| chunk.check_utf8(what, base + start, first_row.is_some()))
        })?;
        Ok(TextChunks { chunks, starts })
    }
}

impl TextColumn for TextChunks {
    fn len(&self) -> usize {
        *self.starts.last().unwrap()
    }

    #[inline]
    fn get(&self, index: usize) -> Option<&str> {
        if self.chunks.len() == 1 {
            return self.chunks[0].get(index);
        }
        let chunk = self.starts.partition_point(|&s| s <= index) - 1;
        self.chunks[chunk].get(index - self.starts[chunk])
    }
}
