//! The registry's tests: one binary. Storage and HTTP tests run on SQLite and, with
//! `QINGSHAN_TEST_POSTGRES_URL` set, on PostgreSQL (`testkit::db_test!`).

mod api;
mod bulk;
mod pages;
mod permissions;
mod reads;
mod setup;
mod setup_http;
mod support;
mod uscc;
mod workbook;
