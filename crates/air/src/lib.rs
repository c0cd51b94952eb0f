//! Air quality: reading hourly station data files and building assessment reports with the `standards` engine.

pub mod assessment;
pub mod station_files;
