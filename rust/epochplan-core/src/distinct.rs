//! Distinct counting of pre-hashed items: exact up to a limit, then HyperLogLog.
//!
//! Hand-written rather than a crate: the HLL crates hash items themselves with their own (often
//! randomly seeded) hashers, while we already hold 64-bit xxh3 hashes and need results that are
//! identical run to run. The estimator is the classic one (Flajolet et al. 2007) with linear
//! counting for small ranges; at precision 14 its standard error is 1.04/sqrt(2^14) = 0.81 %.

pub const EXACT_LIMIT: usize = 1_000_000;
const PRECISION: u32 = 14;
const REGISTERS: usize = 1 << PRECISION;

/// Exact (a set of hashes) while the count is at most `EXACT_LIMIT`, HyperLogLog after.
///
/// The registers are a function of the distinct hashes seen, so a counter only has to keep
/// them where it may lose the hashes: the global counter keeps them from the start (which makes
/// the switch to the estimate cheap), while a partial counter (one chunk of a batch) in exact
/// mode keeps only its hashes, and they go into the global registers when it is merged. That
/// saves a register update per item on the hot path; the registers come out the same.
#[derive(Debug, Clone)]
pub struct DistinctCounter {
    registers: Box<[u8; REGISTERS]>,
    /// `None` once the count is an estimate.
    exact: Option<ExactSet>,
    /// Partial counters only: hashes past `set_cap`, appended without deduplication (cheap,
    /// sequential) and deduplicated only if the global counter still needs them.
    overflow: Vec<u64>,
    /// Entries the set may hold before new hashes go to `overflow`.
    set_cap: usize,
    /// A partial counter in exact mode: its registers stay empty (see above).
    registers_deferred: bool,
}

/// A partial counter's set stays small enough for the L2 cache; beyond it, appending is cheaper
/// than growing a table whose every insert misses the cache.
const PARTIAL_SET_CAP: usize = 1 << 16;
/// When the registers of the union estimate more than this, the exact count is certainly past
/// `EXACT_LIMIT` (6 standard errors above it), so the counter switches to the estimate without
/// inserting the partial's hashes one by one.
const SWITCH_ESTIMATE: f64 = EXACT_LIMIT as f64 * 1.05;

/// A set of 64-bit hashes: open addressing with linear probing, the hash itself as the slot
/// index (hashes are uniform already) and 0 as the empty slot (a real 0 is kept aside). At most
/// half full, an insert usually touches one cache line: a few nanoseconds where a general hash
/// set (hashbrown with its control bytes) took several times that in the audit's profile.
#[derive(Debug, Clone)]
pub struct ExactSet {
    slots: Vec<u64>,
    len: usize,
    has_zero: bool,
    /// A partial's set also lists its entries in insertion order, so that merging it (and
    /// growing it) reads a dense list. Scanning the table instead costs a mispredicted branch
    /// on many of its slots, at most half of which are filled: with short texts that scan was
    /// the larger part of the merge. The global set (up to `EXACT_LIMIT` entries) keeps none.
    log: Option<Vec<u64>>,
}

const INITIAL_SLOTS: usize = 1 << 10;

impl ExactSet {
    fn new() -> Self {
        ExactSet { slots: vec![0; INITIAL_SLOTS], len: 0, has_zero: false, log: None }
    }

    /// A set that lists its entries as well (a partial's: see `log`).
    fn logged() -> Self {
        ExactSet { log: Some(Vec::new()), ..Self::new() }
    }

    /// Insert unless the set holds `cap` entries and not `hash`; false when refused.
    #[inline(always)]
    fn insert_within(&mut self, hash: u64, cap: usize) -> bool {
        if hash == 0 {
            if !self.has_zero {
                if self.len >= cap {
                    return false;
                }
                self.has_zero = true;
                self.len += 1;
                if let Some(log) = self.log.as_mut() {
                    log.push(0);
                }
            }
            return true;
        }
        let mask = self.slots.len() - 1;
        let mut index = self.slot_index(hash);
        loop {
            let slot = self.slots[index];
            if slot == hash {
                return true;
            }
            if slot == 0 {
                if self.len >= cap {
                    return false;
                }
                self.slots[index] = hash;
                self.len += 1;
                if let Some(log) = self.log.as_mut() {
                    log.push(hash);
                }
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return true;
            }
            index = (index + 1) & mask;
        }
    }

    /// Bits 32.. of the hash pick the slot: the top bits pick HLL registers, and the same bits
    /// in every table would make a merge insert runs of neighbouring slots.
    #[inline(always)]
    fn slot_index(&self, hash: u64) -> usize {
        (hash.rotate_left(32) as usize) & (self.slots.len() - 1)
    }

    /// Asks the CPU to start loading the slot where `hash` would go.
    #[inline(always)]
    fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let slot: *const u64 = &self.slots[self.slot_index(hash)];
            // SAFETY: a prefetch is only a hint; the address is that of a live element.
            unsafe { std::arch::x86_64::_mm_prefetch(slot.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    #[cold]
    fn grow(&mut self) {
        self.resize(self.slots.len() * 2);
    }

    /// Room for `additional` more entries without growing. Merging a partial set into a
    /// smaller table would otherwise insert runs of neighbouring slots (iteration follows the
    /// slot index, which the smaller table shares) and build long probe chains.
    fn reserve(&mut self, additional: usize) {
        let needed = ((self.len + additional) * 2).next_power_of_two();
        if needed > self.slots.len() {
            self.resize(needed);
        }
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; slots]);
        match self.log.take() {
            Some(log) => {
                log.iter().filter(|&&h| h != 0).for_each(|&h| self.place(h));
                self.log = Some(log);
            }
            None => old.into_iter().filter(|&h| h != 0).for_each(|h| self.place(h)),
        }
    }

    /// Put `hash`, known to be absent and non-zero, in its slot (while rebuilding the table).
    #[inline]
    fn place(&mut self, hash: u64) {
        let mask = self.slots.len() - 1;
        let mut index = self.slot_index(hash);
        while self.slots[index] != 0 {
            index = (index + 1) & mask;
        }
        self.slots[index] = hash;
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Every entry once: in insertion order when the set keeps a log, else in slot order.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (log, table): (&[u64], &[u64]) = match &self.log {
            Some(log) => (log, &[]),
            None => (&[], &self.slots),
        };
        let zero = (self.log.is_none() && self.has_zero).then_some(0);
        log.iter().copied().chain(zero).chain(table.iter().copied().filter(|&h| h != 0))
    }
}

impl Default for DistinctCounter {
    fn default() -> Self {
        DistinctCounter {
            registers: Box::new([0u8; REGISTERS]),
            exact: Some(ExactSet::new()),
            overflow: Vec::new(),
            set_cap: usize::MAX,
            registers_deferred: false,
        }
    }
}

impl DistinctCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty partial counter for one chunk of work, to be merged into `self` later: exact
    /// only while `self` still is.
    pub fn empty_like(&self) -> Self {
        Self::partial(self.exact.is_some())
    }

    #[inline(always)]
    pub fn insert(&mut self, hash: u64) {
        if !self.registers_deferred {
            hll_insert(&mut self.registers, hash);
        }
        if let Some(set) = self.exact.as_mut() {
            if !set.insert_within(hash, self.set_cap) {
                self.overflow.push(hash);
            } else if set.len() > EXACT_LIMIT {
                self.exact = None;
            }
        }
    }

    /// `insert` of each hash, in order. Exact sets larger than the L1 cache miss on most inserts
    /// of rarer items: touching a block's slots ahead lets those misses overlap.
    pub fn insert_all(&mut self, hashes: &[u64]) {
        // The two common cases in loops of their own, each doing what `insert` does there: an
        // estimating counter only keeps its registers, and a partial in exact mode only its set
        // (whose cap keeps it below the limit, so it never switches to the estimate here).
        match (&mut self.exact, self.registers_deferred) {
            (None, false) => {
                hashes.iter().for_each(|&h| hll_insert(&mut self.registers, h));
                return;
            }
            (Some(set), true) if self.set_cap <= EXACT_LIMIT => {
                for block in hashes.chunks(16) {
                    block.iter().for_each(|&h| set.prefetch(h));
                    for &h in block {
                        if !set.insert_within(h, self.set_cap) {
                            self.overflow.push(h);
                        }
                    }
                }
                return;
            }
            _ => {}
        }
        for block in hashes.chunks(16) {
            if let Some(set) = self.exact.as_ref() {
                block.iter().for_each(|&h| set.prefetch(h));
            }
            block.iter().for_each(|&h| self.insert(h));
        }
    }

    /// The hashes a deferred partial holds (with repeats in the overflow).
    fn deferred_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.exact.iter().flat_map(ExactSet::iter).chain(self.overflow.iter().copied())
    }

    pub fn merge(&mut self, other: &DistinctCounter) {
        debug_assert!(!self.registers_deferred, "merge into a global counter");
        if other.registers_deferred {
            for h in other.deferred_hashes() {
                hll_insert(&mut self.registers, h);
            }
        } else {
            for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
                *mine = (*mine).max(*theirs);
            }
        }
        let Some(mine) = self.exact.as_ref() else {
            return;
        };
        let Some(theirs) = other.exact.as_ref() else {
            self.exact = None;
            return;
        };
        let could_exceed = mine.len() + theirs.len() + other.overflow.len() > EXACT_LIMIT;
        if could_exceed && hll_estimate(&self.registers) > SWITCH_ESTIMATE {
            self.exact = None;
            return;
        }
        if let Some(set) = self.exact.as_mut() {
            set.reserve((theirs.len() + other.overflow.len()).min(EXACT_LIMIT + 1 - set.len().min(EXACT_LIMIT)));
        }
        // The global set outgrows the caches: touching a block's slots ahead lets the misses
        // of this sequential merge overlap (as `insert_all` does for partials).
        let mut block = [0u64; 16];
        let mut hashes = theirs.iter().chain(other.overflow.iter().copied());
        loop {
            let mut filled = 0;
            for (slot, h) in block.iter_mut().zip(&mut hashes) {
                *slot = h;
                filled += 1;
            }
            let Some(set) = self.exact.as_mut() else {
                return;
            };
            if filled == 0 {
                return;
            }
            block[..filled].iter().for_each(|&h| set.prefetch(h));
            for &h in &block[..filled] {
                set.insert_within(h, usize::MAX);
                if set.len() > EXACT_LIMIT {
                    self.exact = None;
                    return;
                }
            }
        }
    }

    pub fn is_estimated(&self) -> bool {
        self.exact.is_none()
    }

    pub fn count(&self) -> u64 {
        match &self.exact {
            Some(set) => set.len() as u64,
            None => {
                debug_assert!(!self.registers_deferred);
                hll_estimate(&self.registers).round() as u64
            }
        }
    }
}

#[inline]
fn hll_insert(registers: &mut [u8; REGISTERS], hash: u64) {
    let index = (hash >> (64 - PRECISION)) as usize;
    let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if registers[index] < rank {
        registers[index] = rank;
    }
}

fn hll_estimate(registers: &[u8; REGISTERS]) -> f64 {
    let m = REGISTERS as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let mut sum = 0.0;
    let mut zeros = 0usize;
    for &r in registers.iter() {
        sum += 2f64.powi(-(r as i32));
        if r == 0 {
            zeros += 1;
        }
    }
    let raw = alpha * m * m / sum;
    if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw }
}

/// The byte form an engine ships between processes (see [`crate::stages`]): registers, exact set
/// and overflow as they are, so merging the copy gives what merging the original gives.
impl DistinctCounter {
    /// An empty partial counter (one chunk of a batch), exact or not, measured where the global
    /// counter is not at hand: an exact partial merges into an estimating counter exactly as an
    /// estimating one would (only its registers count), so `exact = true` is always correct and
    /// `false` saves work once the global counter estimates.
    pub fn partial(exact: bool) -> Self {
        DistinctCounter {
            registers: Box::new([0u8; REGISTERS]),
            exact: exact.then(ExactSet::logged),
            overflow: Vec::new(),
            set_cap: PARTIAL_SET_CAP,
            registers_deferred: exact,
        }
    }

    pub(crate) fn write(&self, w: &mut crate::wire::Writer) {
        // Registers of a chunk are mostly zero: (index, value) pairs when that is shorter.
        let nonzero = self.registers.iter().filter(|&&r| r != 0).count();
        if nonzero * 3 < REGISTERS {
            w.u8(1);
            w.len(nonzero);
            for (i, &r) in self.registers.iter().enumerate().filter(|(_, r)| **r != 0) {
                w.u32(i as u32);
                w.u8(r);
            }
        } else {
            w.u8(0);
            w.bytes.extend_from_slice(&self.registers[..]);
        }
        match &self.exact {
            None => w.bool(false),
            Some(set) => {
                w.bool(true);
                let hashes: Vec<u64> = set.iter().collect();
                w.u64s(&hashes);
            }
        }
        w.u64s(&self.overflow);
        w.u64(self.set_cap as u64);
        w.bool(self.registers_deferred);
    }

    pub(crate) fn read(r: &mut crate::wire::Reader<'_>) -> crate::error::Result<Self> {
        let mut registers = Box::new([0u8; REGISTERS]);
        match r.u8()? {
            1 => {
                for _ in 0..r.len(5)? {
                    let i = r.u32()? as usize;
                    let value = r.u8()?;
                    *registers.get_mut(i).ok_or_else(|| {
                        crate::error::CoreError::Input("measured batch is corrupt (register)".into())
                    })? = value;
                }
            }
            _ => registers.copy_from_slice(r.take(REGISTERS)?),
        }
        let exact = if r.bool()? {
            let mut set = ExactSet::logged(); // a shipped counter is a partial
            for h in r.u64s()? {
                set.insert_within(h, usize::MAX);
            }
            Some(set)
        } else {
            None
        };
        let overflow = r.u64s()?;
        let set_cap = usize::try_from(r.u64()?).unwrap_or(usize::MAX);
        let registers_deferred = r.bool()?;
        Ok(DistinctCounter { registers, exact, overflow, set_cap, registers_deferred })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::mix64;

    #[test]
    fn exact_below_limit() {
        let mut c = DistinctCounter::new();
        for i in 0..1000u64 {
            c.insert(mix64(i % 700));
        }
        assert!(!c.is_estimated());
        assert_eq!(c.count(), 700);
    }

    #[test]
    fn estimate_above_limit_within_error() {
        let mut c = DistinctCounter::new();
        let n = 3_000_000u64;
        for i in 0..n {
            c.insert(mix64(i));
            c.insert(mix64(i)); // repeats do not count
        }
        assert!(c.is_estimated());
        let rel = (c.count() as f64 - n as f64).abs() / n as f64;
        // 4 standard errors of 0.81 %
        assert!(rel < 0.033, "relative error {rel}");
    }

    #[test]
    fn empty_like_keeps_the_mode_and_gives_the_same_estimate() {
        let mut global = DistinctCounter::new();
        for i in 0..1_200_000u64 {
            global.insert(mix64(i));
        }
        assert!(global.is_estimated());
        let mut direct = global.empty_like();
        assert!(direct.is_estimated());
        let mut via_set = DistinctCounter::new();
        for i in 1_000_000..1_300_000u64 {
            direct.insert(mix64(i));
            via_set.insert(mix64(i));
        }
        let mut a = DistinctCounter::new();
        a.merge(&global);
        a.merge(&direct);
        global.merge(&via_set);
        assert_eq!(a.count(), global.count());
    }

    #[test]
    fn partial_counters_overflow_and_merge_exactly() {
        // Below the limit the merged count is exact, whatever went to the overflow.
        let mut global = DistinctCounter::new();
        let mut parts: Vec<DistinctCounter> = (0..4).map(|_| global.empty_like()).collect();
        for i in 0..600_000u64 {
            parts[(i % 4) as usize].insert(mix64(i % 500_000));
        }
        assert!(parts.iter().any(|p| !p.overflow.is_empty()));
        for p in &parts {
            global.merge(p);
        }
        assert!(!global.is_estimated());
        assert_eq!(global.count(), 500_000);
    }

    #[test]
    fn insert_all_equals_inserting_one_by_one_in_every_mode() {
        // Global exact, global estimating, partial exact (past its cap: overflow) and partial
        // estimating: `insert_all` leaves each in the state `insert` would, registers included.
        let hashes: Vec<u64> = (0..300_000u64).map(|i| mix64(i % 200_000)).collect();
        let mut estimating = DistinctCounter::new();
        for i in 0..1_200_000u64 {
            estimating.insert(mix64(i + 7_000_000));
        }
        assert!(estimating.is_estimated());
        let counters =
            [DistinctCounter::new(), estimating, DistinctCounter::partial(true), DistinctCounter::partial(false)];
        for counter in counters {
            let (mut one_by_one, mut all) = (counter.clone(), counter);
            hashes.iter().for_each(|&h| one_by_one.insert(h));
            all.insert_all(&hashes);
            assert_eq!(all.registers[..], one_by_one.registers[..]);
            assert_eq!(all.overflow, one_by_one.overflow);
            assert_eq!(all.exact.as_ref().map(ExactSet::len), one_by_one.exact.as_ref().map(ExactSet::len));
            let (mut merged_all, mut merged_one) = (DistinctCounter::new(), DistinctCounter::new());
            merged_all.merge(&all);
            merged_one.merge(&one_by_one);
            assert_eq!(merged_all.count(), merged_one.count());
        }
    }

    #[test]
    fn partials_hand_over_every_entry_once_zero_included() {
        // A partial lists its entries (hash 0 among them) while it grows; merged as it is or
        // after the wire round trip, it counts each of them once.
        let hashes: Vec<u64> = std::iter::once(0).chain((1..50_000u64).map(mix64)).collect();
        let mut part = DistinctCounter::partial(true);
        hashes.iter().chain(&hashes).for_each(|&h| part.insert(h));
        let mut listed: Vec<u64> = part.exact.as_ref().unwrap().iter().collect();
        let mut expected = hashes.clone();
        listed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(listed, expected);
        let mut w = crate::wire::Writer::default();
        part.write(&mut w);
        let shipped = DistinctCounter::read(&mut crate::wire::Reader::new(&w.bytes)).unwrap();
        for counter in [&part, &shipped] {
            let mut global = DistinctCounter::new();
            global.insert(0);
            global.insert(mix64(1));
            global.merge(counter);
            assert_eq!(global.count(), 50_000);
        }
    }

    #[test]
    fn merge_switches_to_the_estimate_far_past_the_limit() {
        let mut global = DistinctCounter::new();
        let mut part = global.empty_like();
        for i in 0..1_500_000u64 {
            part.insert(mix64(i));
        }
        global.merge(&part);
        assert!(global.is_estimated());
        let rel = (global.count() as f64 - 1.5e6).abs() / 1.5e6;
        assert!(rel < 0.033, "relative error {rel}");
    }

    #[test]
    fn merge_equals_single_stream() {
        let mut a = DistinctCounter::new();
        let mut b = DistinctCounter::new();
        let mut all = DistinctCounter::new();
        for i in 0..1_500_000u64 {
            let h = mix64(i);
            if i % 2 == 0 {
                a.insert(h)
            } else {
                b.insert(h)
            }
            all.insert(h);
        }
        a.merge(&b);
        assert_eq!(a.count(), all.count());
    }
}
