//! `qingshan registry template|export|import`: the registry workbook (基础信息登记表) from the command line
//! (crates/registry/src/service/workbook.rs does the work). The command line holds the database, so it acts
//! with every right, recorded in the audit log as `cli:$USER`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use registry::service::workbook::{self, ImportOptions, Importer};
use registry::workbook::{RowAction, WorkbookReport};

use crate::cmd::serve::{DatabaseArgs, runtime};

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub what: RegistryWhat,
}

#[derive(Debug, Subcommand)]
pub enum RegistryWhat {
    /// Writes the empty workbook: a 说明 sheet, then 企业, 厂区, 排放口, 监测点位, 监测设备 with Chinese headers,
    /// drop-down lists (the district's streets among them) and an example row each.
    Template(OutArgs),
    /// Writes the whole registry in the template's layout (device passwords are never written); importing it
    /// unchanged changes nothing.
    Export(OutArgs),
    /// Imports a workbook: checks every row and cell first and imports nothing while one is bad (unless
    /// --good-rows-only); matched by USCC, site name, outlet code, point code and MN; every change audited.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct OutArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Where to write the .xlsx file.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The workbook (.xlsx).
    #[arg(long)]
    pub file: PathBuf,
    /// Check and list every problem and change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the good rows even if others are bad (rows depending on a bad row are left out too).
    #[arg(long)]
    pub good_rows_only: bool,
}

fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".to_string())
    )
}

pub fn run(args: RegistryArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        RegistryWhat::Template(args) => write(args, false),
        RegistryWhat::Export(args) => write(args, true),
        RegistryWhat::Import(args) => import(args),
    }
}

fn write(args: OutArgs, export: bool) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let db = args.db.open().await?;
        let actor = actor();
        let importer = Importer::Command(&actor);
        let bytes = if export {
            workbook::export(&db, importer).await
        } else {
            workbook::template(&db, importer).await
        }
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
        db.close().await;
        std::fs::write(&args.out, &bytes)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", args.out.display()))?;
        println!("{} ({} bytes)", args.out.display(), bytes.len());
        Ok(ExitCode::SUCCESS)
    })
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", args.file.display()))?;
    runtime()?.block_on(async {
        let db = args.db.open().await?;
        let actor = actor();
        let started = std::time::Instant::now();
        let result = workbook::import(
            &db,
            Importer::Command(&actor),
            &bytes,
            ImportOptions {
                dry_run: args.dry_run,
                good_rows_only: args.good_rows_only,
            },
        )
        .await;
        db.close().await;
        let report = result
            .map_err(|e| anyhow::anyhow!("{}: {}", args.file.display(), e.public_message()))?;
        print!("{}", describe(&report));
        println!("用时 {:.1} s", started.elapsed().as_secs_f64());
        let refused = !report.applied && !report.dry_run;
        if refused || (report.dry_run && !report.problems.is_empty()) {
            return Ok(ExitCode::FAILURE);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The report as the terminal shows it: the sheets' counts, then every problem, then the changes.
fn describe(report: &WorkbookReport) -> String {
    let mut out = String::new();
    let state = if report.applied {
        "已导入"
    } else if report.dry_run {
        "预览（未写入）"
    } else {
        "未导入：文件中有误，全部无误才会导入（或加 --good-rows-only 只导入无误的行）"
    };
    out.push_str(&format!(
        "{state}：新增 {}，修改 {}，未变 {}，有误 {}\n",
        report.created, report.updated, report.unchanged, report.rejected
    ));
    for s in &report.sheets {
        out.push_str(&format!(
            "  {}：{} 行，新增 {}，修改 {}，未变 {}，有误 {}{}{}\n",
            s.sheet,
            s.rows,
            s.created,
            s.updated,
            s.unchanged,
            s.rejected,
            if s.examples > 0 {
                format!("（示例行 {} 已跳过）", s.examples)
            } else {
                String::new()
            },
            s.note
                .as_ref()
                .map(|n| format!("；{n}"))
                .unwrap_or_default()
        ));
    }
    if !report.problems.is_empty() {
        out.push_str(&format!("{} 处问题：\n", report.problems.len()));
        for p in &report.problems {
            let column = match (&p.column_letter, &p.column) {
                (Some(letter), Some(name)) => format!("，{letter} 列（{name}）"),
                (None, Some(name)) => format!("，列「{name}」"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {} 第 {} 行{column}：{}\n",
                p.sheet, p.row, p.reason
            ));
        }
    }
    if !report.changes.is_empty() {
        out.push_str(&format!(
            "{}的变更 {} 行：\n",
            if report.applied {
                "已写入"
            } else {
                "将写入"
            },
            report.changes.len()
        ));
        for c in &report.changes {
            let action = match c.action {
                RowAction::Create => "新增".to_string(),
                RowAction::Update => format!("修改（{}）", c.fields.join("、")),
            };
            out.push_str(&format!(
                "  {} 第 {} 行 {action}：{}\n",
                c.sheet, c.row, c.record
            ));
        }
    }
    out
}
