//! Surface water: reading section sample files and building assessment reports with the `standards` engine.

pub mod assessment;
pub mod samples;
