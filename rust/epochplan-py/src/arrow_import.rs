//! Import of Arrow string columns from Python through the Arrow PyCapsule stream interface
//! (`__arrow_c_stream__`): polars Series (string_view), pyarrow arrays and chunked arrays.
//! Zero-copy: the arrays keep the producer's buffers alive until dropped.

use arrow_array::ffi_stream::{ArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{Array, ArrayRef, LargeStringArray, StringArray, StringViewArray};
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

/// A string column made of one or more Arrow chunks, addressed by row.
pub struct TextChunks {
    chunks: Vec<TextArray>,
    /// Row where each chunk starts, plus the total length at the end.
    starts: Vec<usize>,
}

impl TextChunks {
    /// Read every array from `obj.__arrow_c_stream__()`. `what` names the column in errors.
    pub fn import(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        if !obj.hasattr("__arrow_c_stream__")? {
            return Err(input_error(format!(
                "{what} must support the Arrow PyCapsule interface (__arrow_c_stream__), e.g. a polars Series or pyarrow array"
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
