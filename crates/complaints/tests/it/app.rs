//! The shared in-process test client (crates/webtest).

pub use webtest::*;
