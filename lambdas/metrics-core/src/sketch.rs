//! A mergeable quantile sketch with bounded relative error (DDSketch style).
//!
//! Each non-zero value falls into a logarithmic bucket; any value in a bucket is within
//! [`RELATIVE_ACCURACY`] of the bucket's representative, so the estimate of any quantile is within
//! 1% of the true value at that rank. Sketches merge by adding bucket counts, so percentiles over any
//! set of minutes come from merging the per-minute sketches.
//!
//! Speed: `add` is on the log processor's hot path. The bucket index uses a cheap log2
//! approximation (exponent bits plus the mantissa, linearly interpolated) instead of `ln`. That
//! approximation grows at least as fast as the natural log per unit (slope `m ≥ 1` in `ln x` units),
//! so with a multiplier of `1/ln(γ)` no bucket spans more than a factor `γ = (1+α)/(1-α)`, which is
//! what the accuracy bound needs. The price is ~44% more buckets than exact `ln` would use. Buckets
//! are dense `Vec<u64>` counters with an offset that grows rarely: no allocation per `add`.
//!
//! Ranges: values with `|v| < MIN_INDEXABLE` (1e-9) count as zero; NaN and infinities are ignored
//! (callers validate values first; see [`crate::aggregate::check_value`]). The quantile of rank
//! `q` is the sketch's estimate of the element at index `floor(q·(n−1))` of the sorted values.
//!
//! Encoding (deterministic, independent of how the sketch was built): format byte `1`, the zero
//! count, then for the positive and then the negative store: the number of non-empty buckets,
//! and per bucket (ascending index) the index (zig-zag varint for the first, varint delta ≥ 1 after
//! it) and the count (varint ≥ 1). Decoding rejects anything else.

/// Bytes that are not a sketch's encoding; the reason is fixed text. The DynamoDB codec wraps it
/// (`CodecError::Sketch`), naming the attribute it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed sketch: {0}")]
pub struct DecodeError(pub &'static str);

/// Guaranteed relative accuracy of every quantile estimate.
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Smallest magnitude kept apart from zero.
pub const MIN_INDEXABLE: f64 = 1e-9;

/// Accuracy the buckets are built for: a little tighter than the promise, so float rounding at
/// bucket boundaries cannot break the 1% bound.
#[cfg_attr(not(test), allow(dead_code))]
const INTERNAL_ACCURACY: f64 = 0.0099;
/// `1 / ln((1 + INTERNAL_ACCURACY) / (1 - INTERNAL_ACCURACY))`, checked by a test.
const MULTIPLIER: f64 = 50.503_400_461_923_84;
/// Bucket index range of all finite magnitudes ≥ `MIN_INDEXABLE` (checked by a test); bounds memory
/// and what `decode` accepts.
const MIN_INDEX: i32 = -1_600;
const MAX_INDEX: i32 = 51_800;
const FORMAT_VERSION: u8 = 1;
/// Makes `approx_log2(v) · M` positive for every `v ≥ MIN_INDEXABLE` (it is ≥ −1511).
const INDEX_BIAS: f64 = 4096.0;

const MANTISSA_MASK: u64 = (1 << 52) - 1;
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;

/// Approximate log2 of a positive normal float: exponent + (mantissa − 1). Monotonic, exact at powers of two.
#[inline(always)]
fn approx_log2(v: f64) -> f64 {
    let bits = v.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mantissa = f64::from_bits((bits & MANTISSA_MASK) | ONE_BITS);
    exponent as f64 + (mantissa - 1.0)
}

/// Inverse of [`approx_log2`].
fn approx_exp2(y: f64) -> f64 {
    let e = y.floor();
    (1.0 + (y - e)) * 2f64.powi(e as i32)
}

/// Bucket of a magnitude `v ≥ MIN_INDEXABLE`: covers `approx_log2` in `[(i−1)/M, i/M)`.
///
/// `floor(y) + 1` via a truncating cast of `y + INDEX_BIAS` (always positive here): `f64::ceil`/`floor`
/// are library calls on baseline x86-64 and cost ~30% of `add`.
#[inline(always)]
fn bucket_index(v: f64) -> i32 {
    ((approx_log2(v) * MULTIPLIER + INDEX_BIAS) as i32) - (INDEX_BIAS as i32 - 1)
}

/// Value reported for bucket `i`: the harmonic mean of its bounds, equally close (relatively) to both.
/// Computed scaled by a power of two so that buckets near `f64::MAX` do not overflow; the result is
/// capped at `f64::MAX`, which is still within 1% of every value in the last bucket.
fn bucket_value(i: i32) -> f64 {
    let (a, b) = (f64::from(i - 1) / MULTIPLIER, f64::from(i) / MULTIPLIER);
    let scale = a.floor();
    let lo = approx_exp2(a - scale);
    let hi = approx_exp2(b - scale);
    (2.0 * lo * hi / (lo + hi) * 2f64.powi(scale as i32)).min(f64::MAX)
}

/// Buckets summed at once by the quantile walk: a block whose sum stays below the wanted rank
/// is passed without a branch per bucket (the sums vectorise).
const SKIP_BLOCK: usize = 16;

/// Dense counters for a contiguous range of bucket indexes.
#[derive(Debug, Clone, Default)]
struct Buckets {
    offset: i32,
    counts: Vec<u64>,
    total: u64,
}

impl Buckets {
    #[inline]
    fn add(&mut self, index: i32, n: u64) {
        // A negative difference wraps to a huge usize and misses, like an index past the end.
        let k = index.wrapping_sub(self.offset) as usize;
        match self.counts.get_mut(k) {
            Some(c) => *c = c.saturating_add(n),
            None => self.add_slow(index, n),
        }
        self.total = self.total.saturating_add(n);
    }

    #[cold]
    fn add_slow(&mut self, index: i32, n: u64) {
        self.cover(index, index);
        let k = index.wrapping_sub(self.offset) as usize;
        if let Some(c) = self.counts.get_mut(k) {
            *c = c.saturating_add(n);
        }
    }

    /// Grows the dense range to include `[lo, hi]`, with slack so that growth is rare.
    fn cover(&mut self, lo: i32, hi: i32) {
        let len = self.counts.len() as i32;
        if len == 0 {
            let new_lo = lo.saturating_sub(32).max(MIN_INDEX);
            let new_hi = hi.saturating_add(32).min(MAX_INDEX);
            self.offset = new_lo;
            self.counts = vec![0; (new_hi - new_lo + 1) as usize];
            return;
        }
        let (cur_lo, cur_hi) = (self.offset, self.offset + len - 1);
        if lo >= cur_lo && hi <= cur_hi {
            return;
        }
        let slack = (len / 2).max(32);
        let new_lo = if lo < cur_lo {
            lo.saturating_sub(slack).max(MIN_INDEX).min(lo)
        } else {
            cur_lo
        };
        let new_hi = if hi > cur_hi {
            hi.saturating_add(slack).min(MAX_INDEX).max(hi)
        } else {
            cur_hi
        };
        let mut counts = vec![0; (new_hi - new_lo + 1) as usize];
        let start = (cur_lo - new_lo) as usize;
        counts[start..start + self.counts.len()].copy_from_slice(&self.counts);
        self.offset = new_lo;
        self.counts = counts;
    }

    /// Non-empty buckets, ascending index.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        let offset = self.offset;
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(move |(k, &c)| (offset + k as i32, c))
    }

    /// Adds `other`'s non-empty range slice to slice: the API merges 1,440 minute sketches
    /// for a day's query, so this is a hot loop (bucket-by-bucket `add` was 8x slower).
    fn merge(&mut self, other: &Buckets) {
        let Some(first) = other.counts.iter().position(|&c| c > 0) else {
            return;
        };
        let last = other.counts.iter().rposition(|&c| c > 0).unwrap_or(first);
        let lo = other.offset + first as i32;
        self.cover(lo, other.offset + last as i32);
        let start = (lo - self.offset) as usize;
        let theirs = &other.counts[first..=last];
        for (mine, &c) in self.counts[start..start + theirs.len()]
            .iter_mut()
            .zip(theirs)
        {
            *mine = mine.saturating_add(c);
        }
        self.total = self.total.saturating_add(other.total);
    }
}

/// Mergeable quantile sketch; see the module docs for the accuracy guarantee and encoding.
#[derive(Debug, Clone, Default)]
pub struct Sketch {
    positive: Buckets,
    negative: Buckets,
    zero: u64,
}

impl PartialEq for Sketch {
    /// Equal when they hold the same counts, however their dense ranges grew.
    fn eq(&self, other: &Self) -> bool {
        self.zero == other.zero
            && self.positive.iter().eq(other.positive.iter())
            && self.negative.iter().eq(other.negative.iter())
    }
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch::default()
    }

    /// Records one value (NaN and infinities are ignored).
    #[inline]
    pub fn add(&mut self, v: f64) {
        self.add_n(v, 1);
    }

    /// Records `n` copies of a value (NaN and infinities are ignored).
    #[inline]
    pub fn add_n(&mut self, v: f64, n: u64) {
        if n == 0 || !v.is_finite() {
            return;
        }
        if v >= MIN_INDEXABLE {
            self.positive.add(bucket_index(v), n);
        } else if v <= -MIN_INDEXABLE {
            self.negative.add(bucket_index(-v), n);
        } else {
            self.zero = self.zero.saturating_add(n);
        }
    }

    /// Adds every value of `other` to `self`.
    pub fn merge(&mut self, other: &Sketch) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero = self.zero.saturating_add(other.zero);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.zero
            .saturating_add(self.positive.total)
            .saturating_add(self.negative.total)
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Estimate of the `q`-quantile (`0 ≤ q ≤ 1`), within 1% of the element at sorted index
    /// `floor(q·(n−1))`. `None` when empty or `q` is out of range.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles(&[q])[0]
    }

    /// [`Sketch::quantile`] of each of `qs`, in one walk over the buckets (a page of 1,440
    /// points with three percentiles each is 4,320 quantiles).
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        let n = self.count();
        let mut out = vec![None; qs.len()];
        // (rank, position in qs), ascending rank: each is answered in turn as the walk passes it.
        let mut wanted: Vec<(u64, usize)> = qs
            .iter()
            .enumerate()
            .filter(|(_, q)| n > 0 && (0.0..=1.0).contains(*q))
            .map(|(i, q)| (((q * (n - 1) as f64).floor() as u64).min(n - 1), i))
            .collect();
        wanted.sort_unstable();
        let mut walk = RankWalk {
            wanted: &wanted,
            next: 0,
            seen: 0,
        };
        for (i, c) in self.negative.iter().rev() {
            if walk.pass(c, -bucket_value(i), &mut out) {
                return out;
            }
        }
        if walk.pass(self.zero, 0.0, &mut out) {
            return out;
        }
        // The positive buckets hold nearly every value (latencies, sizes): walked in blocks,
        // skipping each block that does not reach the next rank without looking at its buckets.
        let (counts, offset) = (&self.positive.counts, self.positive.offset);
        let mut k = 0;
        while k < counts.len() {
            let Some(rank) = walk.next_rank() else {
                return out;
            };
            if let Some(block) = counts.get(k..k + SKIP_BLOCK) {
                let sum: u128 = block.iter().map(|&c| u128::from(c)).sum();
                if u128::from(walk.seen) + sum <= u128::from(rank) {
                    walk.seen = walk
                        .seen
                        .saturating_add(u64::try_from(sum).unwrap_or(u64::MAX));
                    k += SKIP_BLOCK;
                    continue;
                }
            }
            let c = counts[k];
            k += 1;
            if c > 0 && walk.pass(c, bucket_value(offset + k as i32 - 1), &mut out) {
                return out;
            }
        }
        // Counts saturated (only possible with absurd totals): the largest value is the best answer.
        if let Some((i, _)) = self.positive.iter().next_back() {
            walk.seen = u64::MAX;
            walk.pass(0, bucket_value(i), &mut out);
        }
        out
    }

    /// The non-empty buckets as (representative value, count), ascending by value: negative
    /// buckets, then zero, then positive ones. Each value is within 1% of every value its bucket
    /// holds, the values are distinct, and the counts sum to [`Sketch::count`] (unless counts
    /// saturated). What a CloudWatch distribution (`Values` + `Counts`) is built from.
    pub fn bins(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let negative = self
            .negative
            .iter()
            .rev()
            .map(|(i, c)| (-bucket_value(i), c));
        let zero = (self.zero > 0).then_some((0.0, self.zero));
        let positive = self.positive.iter().map(|(i, c)| (bucket_value(i), c));
        negative.chain(zero).chain(positive)
    }

    /// Number of non-empty buckets (the length of [`Sketch::bins`]).
    pub fn bin_count(&self) -> usize {
        self.negative.iter().count() + usize::from(self.zero > 0) + self.positive.iter().count()
    }

    /// Compact deterministic encoding (see module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 3 * (self.positive.counts.len() / 4));
        out.push(FORMAT_VERSION);
        put_varint(&mut out, self.zero);
        for store in [&self.positive, &self.negative] {
            put_varint(&mut out, store.iter().count() as u64);
            let mut prev: Option<i32> = None;
            for (i, c) in store.iter() {
                match prev {
                    None => put_varint(&mut out, zigzag(i)),
                    Some(p) => put_varint(&mut out, (i - p) as u64),
                }
                put_varint(&mut out, c);
                prev = Some(i);
            }
        }
        out
    }

    /// Decodes [`Sketch::encode`] output; rejects malformed, non-canonical or out-of-range bytes.
    pub fn decode(bytes: &[u8]) -> Result<Sketch, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        match r.byte()? {
            FORMAT_VERSION => {}
            _ => return Err(DecodeError("unknown format version")),
        }
        let zero = r.varint()?;
        let positive = decode_store(&mut r)?;
        let negative = decode_store(&mut r)?;
        if r.pos != bytes.len() {
            return Err(DecodeError("trailing bytes"));
        }
        zero.checked_add(positive.total)
            .and_then(|t| t.checked_add(negative.total))
            .ok_or(DecodeError("total count overflows"))?;
        Ok(Sketch {
            positive,
            negative,
            zero,
        })
    }
}

fn decode_store(r: &mut Reader<'_>) -> Result<Buckets, DecodeError> {
    let n = r.varint()?;
    if n > (MAX_INDEX - MIN_INDEX + 1) as u64 {
        return Err(DecodeError("more buckets than indexes"));
    }
    let mut entries = Vec::with_capacity(n.min(4096) as usize);
    let mut prev: Option<i64> = None;
    let mut total = 0u64;
    for _ in 0..n {
        let index = match prev {
            None => unzigzag(r.varint()?),
            Some(p) => {
                let delta = r.varint()?;
                if delta == 0 {
                    return Err(DecodeError("bucket indexes not strictly ascending"));
                }
                p.saturating_add(i64::try_from(delta).unwrap_or(i64::MAX))
            }
        };
        if !(i64::from(MIN_INDEX)..=i64::from(MAX_INDEX)).contains(&index) {
            return Err(DecodeError("bucket index out of range"));
        }
        let count = r.varint()?;
        if count == 0 {
            return Err(DecodeError("empty bucket"));
        }
        total = total
            .checked_add(count)
            .ok_or(DecodeError("total count overflows"))?;
        entries.push((index as i32, count));
        prev = Some(index);
    }
    let mut store = Buckets::default();
    if let (Some(&(lo, _)), Some(&(hi, _))) = (entries.first(), entries.last()) {
        store.offset = lo;
        store.counts = vec![0; (hi - lo + 1) as usize];
        for (i, c) in entries {
            store.counts[(i - lo) as usize] = c;
        }
        store.total = total;
    }
    Ok(store)
}

fn zigzag(i: i32) -> u64 {
    u64::from(((i << 1) ^ (i >> 31)) as u32)
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    /// LEB128 u64; rejects overlong and overflowing encodings so each value has one encoding.
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(DecodeError("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    return Err(DecodeError("overlong varint"));
                }
                return Ok(v);
            }
        }
        Err(DecodeError("varint overflows 64 bits"))
    }
}

/// The quantile walk's progress: values passed so far, and the ranks still to answer.
struct RankWalk<'a> {
    /// (rank, position in the answer), ascending rank.
    wanted: &'a [(u64, usize)],
    next: usize,
    seen: u64,
}

impl RankWalk<'_> {
    fn next_rank(&self) -> Option<u64> {
        self.wanted.get(self.next).map(|w| w.0)
    }

    /// Passes `count` values of `value`: answers every rank they reach. `true` when none is left.
    /// Saturating: merges saturate each bucket separately, so the buckets of a merged sketch
    /// (e.g. of forged items read back from the table) can sum past u64::MAX.
    fn pass(&mut self, count: u64, value: f64, out: &mut [Option<f64>]) -> bool {
        self.seen = self.seen.saturating_add(count);
        while let Some(&(rank, i)) = self.wanted.get(self.next) {
            if self.seen <= rank {
                break;
            }
            out[i] = Some(value);
            self.next += 1;
        }
        self.next == self.wanted.len()
    }
}

#[cfg(test)]
mod tests;
