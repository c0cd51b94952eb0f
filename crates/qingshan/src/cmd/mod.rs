//! One module per subcommand.

pub mod aqi;
pub mod assess;
pub mod hj212;
