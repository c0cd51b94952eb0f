//! The gateway over real TCP on both backends.

mod support;

mod gateway;
mod hardening;
mod hj2025;
mod http;
mod onboarding;
mod review;
mod simulated;
