//! The one deterministic generator of the platform's demo and test data: SplitMix64 (Steele, Lea and Flood,
//! "Fast splittable pseudorandom number generators", OOPSLA 2014). Its output is fixed by its definition, so the
//! same seed gives the same demo district, history and test data on every machine and with every version of
//! every dependency — which a library generator such as `rand::rngs::StdRng` does not promise.
//!
//! Not for secrets: tokens, salts and keys come from the operating system (`rand::rngs::OsRng`).

use std::ops::Range;

/// SplitMix64, seeded with any `u64`.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The generator of one keyed stream: `seed` mixed with each part of `key` (e.g. a station, a factor, an
    /// hour) through the SplitMix64 finaliser. Data drawn per key does not depend on how much else was drawn
    /// before it, so a history generated up to a later date holds the same values for the earlier dates.
    pub fn keyed(seed: u64, key: &[u64]) -> SplitMix64 {
        let state = key.iter().fold(seed, |state, &part| {
            SplitMix64(state ^ part.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
        });
        SplitMix64(state)
    }

    /// A 64-bit key for a name (FNV-1a), to key a stream by a station code or a label.
    pub fn key_of(name: &str) -> u64 {
        name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform index below `n` (0 when `n` is 0); the modulo favours low values by at most n / 2⁶⁴.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform integer in `range` (its start when it is empty).
    pub fn int_in(&mut self, range: Range<i64>) -> i64 {
        let span = range.end.saturating_sub(range.start).max(1) as u64;
        range.start + (self.next_u64() % span) as i64
    }

    /// One of `items`, uniformly (panics when `items` is empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal by Box–Muller (one of the pair, two draws).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Approximately standard normal: the sum of 12 uniforms minus 6 (Irwin–Hall; mean 0, variance 1, never
    /// beyond ±6), twelve draws. Cheaper than [`SplitMix64::normal`] and bounded, which planted test patterns
    /// rely on.
    pub fn approximately_normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_fixed_by_the_definition() {
        // Reference values of SplitMix64 seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn keyed_streams_are_fixed_by_their_key_alone() {
        let a = SplitMix64::keyed(7, &[1, 2, 3]).next_u64();
        assert_eq!(a, SplitMix64::keyed(7, &[1, 2, 3]).next_u64());
        assert_ne!(a, SplitMix64::keyed(7, &[1, 2, 4]).next_u64());
        assert_ne!(a, SplitMix64::keyed(7, &[2, 1, 3]).next_u64());
        assert_ne!(a, SplitMix64::keyed(8, &[1, 2, 3]).next_u64());
        assert_ne!(
            SplitMix64::keyed(7, &[0]).next_u64(),
            SplitMix64::keyed(7, &[]).next_u64()
        );
        assert_ne!(SplitMix64::key_of("1021A"), SplitMix64::key_of("1015A"));
    }

    #[test]
    fn draws_stay_in_their_bounds() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..1000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.below(11) < 11);
            assert!((-3..5).contains(&rng.int_in(-3..5)));
            assert!((2.0..3.0).contains(&rng.range(2.0, 3.0)));
            assert!(rng.approximately_normal().abs() <= 6.0);
            assert!(rng.normal().is_finite());
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.int_in(4..4), 4);
    }

    #[test]
    fn the_uniform_draws_cover_their_range() {
        let mut rng = SplitMix64::new(11);
        let mut seen = [0u32; 6];
        for _ in 0..6_000 {
            seen[rng.int_in(10..16) as usize - 10] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        let mean = (0..10_000).map(|_| rng.normal()).sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.05, "{mean}");
        let hits = (0..10_000).filter(|_| rng.chance(0.25)).count();
        assert!((2_300..2_700).contains(&hits), "{hits}");
    }
}
