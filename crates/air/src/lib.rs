//! Air quality: station and area days computed from the stored readings (`service`), and assessment reports of
//! hourly station files built with the `standards` engine (`assessment`, used by `qingshan assess`).

pub mod assessment;
pub mod service;
