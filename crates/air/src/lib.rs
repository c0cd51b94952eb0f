//! Air quality: station and area days computed from the stored readings (`service`, stored in
//! `air_station_days` by `repo` and recomputed only when the readings of a day changed), and assessment reports
//! of hourly station files built with the `standards` engine (`assessment`, used by `qingshan assess`).

pub mod assessment;
pub mod repo;
pub mod service;
