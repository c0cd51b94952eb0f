//! Readings: storage on SQLite and PostgreSQL (`testkit::db_test!`), imports, the HTTP API.

mod api;
mod import;
mod retention;
mod store;
mod support;
