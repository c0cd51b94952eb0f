//! The targets' tests: the progress rules on constructed data (no database), storage and computation on both
//! backends, the HTTP API and pages with every role, and the demo's 2024 PM2.5 recomputed independently.

mod demo;
mod progress;
mod store;
mod web;
