//! A small explicit little-endian byte format for the state an engine ships between processes
//! (see [`crate::stages`]). Hand-written rather than serde: the distinct counters and length
//! tables must come back bit for bit, so their merge gives exactly what a local merge gives, and
//! the format stays readable without a schema crate.

use crate::error::{CoreError, Result};

#[derive(Debug, Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u128(&mut self, v: u128) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn len(&mut self, v: usize) {
        self.u64(v as u64);
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    pub fn raw(&mut self, v: &[u8]) {
        self.len(v.len());
        self.bytes.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.raw(v.as_bytes());
    }
    pub fn u64s(&mut self, v: &[u64]) {
        self.len(v.len());
        self.bytes.reserve(v.len() * 8);
        v.iter().for_each(|x| self.bytes.extend_from_slice(&x.to_le_bytes()));
    }
    pub fn u32s(&mut self, v: &[u32]) {
        self.len(v.len());
        self.bytes.reserve(v.len() * 4);
        v.iter().for_each(|x| self.bytes.extend_from_slice(&x.to_le_bytes()));
    }
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn corrupt(what: &str) -> CoreError {
    CoreError::Input(format!(
        "measured batch is truncated or corrupt ({what}); it must come from the same epochplan version"
    ))
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| corrupt("short read"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into().expect("16 bytes")))
    }
    /// A length, checked against what is left so a corrupt length cannot ask for a huge buffer.
    pub fn len(&mut self, item_bytes: usize) -> Result<usize> {
        let n = usize::try_from(self.u64()?).map_err(|_| corrupt("length"))?;
        if n.saturating_mul(item_bytes.max(1)) > self.bytes.len() - self.at {
            return Err(corrupt("length past the end"));
        }
        Ok(n)
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(corrupt("flag")),
        }
    }
    pub fn raw(&mut self) -> Result<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    pub fn string(&mut self) -> Result<String> {
        String::from_utf8(self.raw()?.to_vec()).map_err(|_| corrupt("text"))
    }
    pub fn u64s(&mut self) -> Result<Vec<u64>> {
        let n = self.len(8)?;
        Ok(self.take(n * 8)?.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    }
    pub fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        Ok(self.take(n * 4)?.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }
    pub fn expect_end(&self) -> Result<()> {
        if self.at != self.bytes.len() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(())
    }
    pub fn magic(&mut self, magic: &[u8]) -> Result<()> {
        if self.take(magic.len())? != magic {
            return Err(corrupt("not a measured batch"));
        }
        Ok(())
    }
}
