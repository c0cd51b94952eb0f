//! One module per subcommand.

pub mod hj212;
