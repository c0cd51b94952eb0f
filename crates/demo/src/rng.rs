//! The district is drawn from the platform's one deterministic generator, `kernel::rng::SplitMix64`, so that the
//! same seed gives the same district on every machine and every version of every crate.

pub use kernel::rng::SplitMix64;
