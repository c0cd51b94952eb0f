//! The whole application in-process (no socket), on SQLite and on PostgreSQL.

mod app;
mod auth;
mod dashboard;
mod errors;
mod security;
