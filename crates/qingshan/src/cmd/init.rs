//! `qingshan init`: a fresh installation set up for its district — the schema created or migrated, the
//! district set (through the registry's service, audited as `cli`), optionally the streets and departments
//! from the bureau's files and the first administrator — so that a bureau's IT person goes from nothing to a
//! login. Running it again with the same district changes nothing and says so (a file given again is
//! re-imported: only what differs is changed); a different district is refused and nothing changes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use accounts::service::Actor;
use clap::Args;
use kernel::{AppError, Db, Role};
use registry::model::DistrictInput;
use registry::service::org_import::{ImportMode, OrgKind, OrgSource};
use registry::service::setup::{self, DistrictSetup, Initialised};

use super::admin::read_password;
use super::serve::{DatabaseArgs, runtime};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    qingshan init --district-code 120110 --district-name 东丽区 --city 天津市\n  \
    echo '…' | qingshan init --district-code 120110 --district-name 东丽区 --city 天津市 \\\n      \
    --streets 街道与部门.xlsx --departments 街道与部门.xlsx --admin admin --admin-name 王工 --password-stdin\n\n\
    The template for --streets/--departments: /registry/organisation/template.xlsx on a running server (sheets \
    街道 and 部门), or one CSV per kind with the same headers.")]
pub struct InitArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The district's administrative division code (6 digits, GB/T 2260), e.g. 120110.
    #[arg(long)]
    pub district_code: String,
    /// The district's full name, e.g. 东丽区.
    #[arg(long)]
    pub district_name: String,
    /// The city it belongs to, e.g. 天津市.
    #[arg(long)]
    pub city: String,
    /// Streets from a file: an XLSX workbook (its sheet 街道) or a CSV file (名称, 代码, 中心经度, 中心纬度).
    #[arg(long, value_name = "FILE")]
    pub streets: Option<PathBuf>,
    /// Departments from a file: an XLSX workbook (its sheet 部门) or a CSV file (名称, 类别, 代码, 职责).
    #[arg(long, value_name = "FILE")]
    pub departments: Option<PathBuf>,
    /// Also create this administrator (left as it is when the user exists already as an administrator).
    #[arg(long, value_name = "USERNAME")]
    pub admin: Option<String>,
    /// The administrator's name (姓名).
    #[arg(long, requires = "admin", default_value = "系统管理员")]
    pub admin_name: String,
    /// Read the administrator's password from the first line of standard input (otherwise QINGSHAN_PASSWORD).
    #[arg(long, requires = "admin")]
    pub password_stdin: bool,
    /// Check everything and print what would be done, writing nothing (the schema is still created or
    /// migrated, to check against).
    #[arg(long)]
    pub dry_run: bool,
}

/// What to do about `--admin`.
enum AdminPlan {
    None,
    /// The user exists and is an administrator: nothing to do.
    Exists(String),
    Create {
        username: String,
        password: String,
    },
}

fn source(path: &Path, kind: OrgKind) -> anyhow::Result<OrgSource> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("无法读取 cannot read {}: {e}", path.display()))?;
    Ok(OrgSource {
        file_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string()),
        bytes,
        kind: Some(kind),
    })
}

fn explain(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", err.public_message())
}

async fn admin_plan(db: &Db, args: &InitArgs) -> anyhow::Result<AdminPlan> {
    let Some(username) = &args.admin else {
        return Ok(AdminPlan::None);
    };
    match accounts::repo::user_by_username(db, username).await? {
        Some(user) if user.role == Role::Admin => Ok(AdminPlan::Exists(username.clone())),
        Some(user) => anyhow::bail!(
            "用户 {username} 已存在，角色是{}，不是系统管理员；未做任何改动。user {username:?} exists with role {} \
             (not admin); nothing was changed",
            user.role.label(),
            user.role.as_str()
        ),
        None => {
            let password = read_password(args.password_stdin)?;
            // Checked before anything is written, so that a weak password leaves the database as it was.
            kernel::password::check_password_policy(&password, username).map_err(|why| {
                anyhow::anyhow!(
                    "管理员密码不符合要求 the administrator's password is refused: {why}"
                )
            })?;
            Ok(AdminPlan::Create {
                username: username.clone(),
                password,
            })
        }
    }
}

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(initialise(args))
}

async fn initialise(args: InitArgs) -> anyhow::Result<ExitCode> {
    let input = DistrictInput {
        code: args.district_code.clone(),
        name: args.district_name.clone(),
        city: args.city.clone(),
    };
    if let Err(AppError::Validation { field, message }) = input.parse() {
        let option = match field.as_str() {
            "code" => "--district-code",
            "name" => "--district-name",
            _ => "--city",
        };
        anyhow::bail!("{option}: {message}");
    }
    let mut sources = Vec::new();
    if let Some(path) = &args.streets {
        sources.push(source(path, OrgKind::Streets)?);
    }
    if let Some(path) = &args.departments {
        sources.push(source(path, OrgKind::Departments)?);
    }

    // The schema: SQLite created and migrated, PostgreSQL migrated as `qingshan migrate` does.
    let url = args.db.url();
    let db = Db::connect(&url).await?;
    let pending = db.pending_migrations().await?;
    db.migrate().await?;
    println!(
        "数据库 database {}: schema up to date ({} migration(s) applied now)",
        kernel::db::redact(&url),
        pending.len()
    );

    let admin = admin_plan(&db, &args).await?;
    let mode = if args.dry_run {
        ImportMode::Preview
    } else {
        ImportMode::Apply
    };
    let Initialised { district, import } =
        match setup::initialise(&db, Actor::Cli, &input, &sources, mode).await {
            Ok(done) => done,
            Err(AppError::Conflict(message)) => {
                eprintln!(
                    "拒绝 refused: {}",
                    message.strip_prefix("district: ").unwrap_or(&message)
                );
                return Ok(ExitCode::FAILURE);
            }
            Err(other) => return Err(explain(other)),
        };
    let d = district.district();
    match (&district, args.dry_run) {
        (DistrictSetup::Created(_), false) => println!(
            "辖区已设置 district set up: {}{} ({})",
            d.city, d.name, d.code
        ),
        (DistrictSetup::Created(_), true) => println!(
            "将设置辖区 would set up the district: {}{} ({})",
            d.city, d.name, d.code
        ),
        (DistrictSetup::Unchanged(_), _) => println!(
            "辖区已是 {}{} ({})，未改动 — already set up for this district; nothing changed",
            d.city, d.name, d.code
        ),
    }
    if let Some(report) = &import {
        if !report.is_clean() {
            eprintln!(
                "文件有 {} 处错误，没有导入任何数据，辖区也未改动 — {} problem(s) in the file(s); nothing was imported \
                 or changed:",
                report.errors.len(),
                report.errors.len()
            );
            for error in &report.errors {
                eprintln!("  {error}");
            }
            return Ok(ExitCode::FAILURE);
        }
        let verb = if report.applied {
            "导入 imported"
        } else {
            "将导入 would import"
        };
        println!(
            "{verb}: 街道 streets +{} ~{} ={}，部门 departments +{} ~{} ={} (created ~changed =unchanged)",
            report.streets.created,
            report.streets.updated,
            report.streets.unchanged,
            report.departments.created,
            report.departments.updated,
            report.departments.unchanged,
        );
        for change in report.changes.iter().filter(|c| !c.detail.is_empty()) {
            println!(
                "  「{}」第 {} 行 {}：{}",
                change.sheet, change.row, change.name, change.detail
            );
        }
    }
    match admin {
        AdminPlan::None => {}
        AdminPlan::Exists(username) => println!(
            "管理员 {username} 已存在，未改动 — administrator {username} exists; left as it is"
        ),
        AdminPlan::Create { username, .. } if args.dry_run => {
            println!("将创建管理员 would create the administrator {username}")
        }
        AdminPlan::Create { username, password } => {
            let user = accounts::service::create_user(
                &db,
                Actor::Cli,
                accounts::NewUser {
                    username,
                    display_name: args.admin_name.clone(),
                    password,
                    role: Role::Admin,
                    street_id: None,
                    department_id: None,
                },
            )
            .await
            .map_err(explain)?;
            println!(
                "已创建管理员 created the administrator {} (id {})",
                user.username, user.id
            );
        }
    }
    if !args.dry_run {
        let data_dir = args.db.data_dir.display();
        let database = args
            .db
            .database
            .as_deref()
            .map(|url| format!(" --database {}", kernel::db::redact(url)))
            .unwrap_or_default();
        println!(
            "下一步 next: qingshan serve --data-dir {data_dir}{database}，以管理员登录后在 /setup 导入或添加街道与部门"
        );
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
