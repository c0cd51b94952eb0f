//! Constructed data for the tests and benches is drawn from the platform's one deterministic generator,
//! `kernel::rng::SplitMix64`, so that a failure reproduces.

pub use kernel::rng::SplitMix64;
