//! Pages and API over HTTP.
