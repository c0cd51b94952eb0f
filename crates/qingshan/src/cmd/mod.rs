//! One module per subcommand.

pub mod admin;
pub mod alarms;
pub mod aqi;
pub mod assess;
pub mod hj212;
pub mod import;
pub mod init;
pub mod registry;
pub mod serve;
pub mod simulate;
