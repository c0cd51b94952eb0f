//! `qingshan`: the one binary of the platform. Each subcommand lives in `cmd/<name>.rs` with its own
//! `clap::Args` struct and a `run` function; this file only parses the command line and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// 青山 Qingshan — the district eco-environment bureau platform.
///
/// Runs the web platform and the HJ 212 gateway, administers users, and computes the official air and water
/// indicators from the command line.
#[derive(Debug, Parser)]
#[command(name = "qingshan", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the platform: web pages, the /api/v1 API and the HJ 212 gateway for monitoring devices.
    Serve(cmd::serve::ServeArgs),
    /// Creates (or reopens) the simulated Dongli District demo and serves it.
    Demo(cmd::serve::DemoArgs),
    /// Sets up a fresh installation for its district (and its streets, departments, first administrator).
    Init(Box<cmd::init::InitArgs>),
    /// Applies the embedded schema migrations to a database (required before `serve` on PostgreSQL).
    Migrate(cmd::serve::MigrateArgs),
    /// Administers users: add, list, passwd.
    User(cmd::admin::UserArgs),
    /// Issues API tokens for machine clients.
    Token(cmd::admin::TokenArgs),
    /// HJ 212 protocol tools: decode packets.
    Hj212(cmd::hj212::Hj212Args),
    /// Drives simulated HJ 212 devices (registered in the database) against a gateway.
    Simulate(cmd::simulate::SimulateArgs),
    /// Air Quality Index of one day or hour (HJ 633-2012 / HJ 633-2026 by date).
    Aqi(Box<cmd::aqi::AqiArgs>),
    /// Assessment reports: air (stations → area) and water (sections).
    Assess(cmd::assess::AssessArgs),
    /// Imports data files: `import readings --file … --format uci|cnemc|csv`.
    Import(cmd::import::ImportArgs),
    /// The registry workbook (Excel): `registry template|export --out X.xlsx`, `registry import --file X.xlsx`.
    Registry(cmd::registry::RegistryArgs),
    /// Online-monitoring alarms: `alarms evaluate [--from --to]` runs the rules over the stored outlet data.
    Alarms(cmd::alarms::AlarmsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Serve(args) => cmd::serve::run_serve(args),
        Command::Demo(args) => cmd::serve::run_demo(args),
        Command::Init(args) => cmd::init::run(*args),
        Command::Migrate(args) => cmd::serve::run_migrate(args),
        Command::User(args) => cmd::admin::run_user(args),
        Command::Token(args) => cmd::admin::run_token(args),
        Command::Hj212(args) => cmd::hj212::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Aqi(args) => cmd::aqi::run(*args),
        Command::Assess(args) => cmd::assess::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Alarms(args) => cmd::alarms::run(args),
        Command::Registry(args) => cmd::registry::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("错误 error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
