//! The core's view of a text column: random access to optional strings. The binding implements
//! it over Arrow arrays without copying; tests implement it over plain vectors.

pub trait TextColumn: Sync {
    fn len(&self) -> usize;
    fn get(&self, index: usize) -> Option<&str>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: AsRef<str> + Sync> TextColumn for [Option<S>] {
    fn len(&self) -> usize {
        <[Option<S>]>::len(self)
    }
    fn get(&self, index: usize) -> Option<&str> {
        self[index].as_ref().map(|s| s.as_ref())
    }
}

impl<S: AsRef<str> + Sync> TextColumn for Vec<Option<S>> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn get(&self, index: usize) -> Option<&str> {
        self[index].as_ref().map(|s| s.as_ref())
    }
}
