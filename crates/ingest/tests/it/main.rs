//! The gateway over real TCP on both backends.

mod support;

mod gateway;
mod http;
