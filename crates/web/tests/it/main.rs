//! The whole application in-process (no socket), on SQLite and on PostgreSQL.

mod app;
mod auth;
mod concurrency;
mod consistency;
mod contract;
mod dashboard;
mod errors;
mod kept;
mod login;
mod names;
mod security;
mod server;
