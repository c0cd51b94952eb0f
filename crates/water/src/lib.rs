//! Surface water: section results computed from the samples in the readings store (`service`), and assessment
//! reports of section sample files built with the `standards` engine (`samples`, `assessment`, used by
//! `qingshan assess`).

pub mod assessment;
pub mod samples;
pub mod service;
