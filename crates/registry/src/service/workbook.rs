//! The registry in and out of Excel: the template (`template`), the export (`export`) and the import
//! (`import`) of the workbook whose layout `crate::workbook` describes.
//!
//! An import reads every sheet, checks every cell, resolves every reference by its natural key (street name,
//! USCC, site name, outlet code, point code, MN — never an internal id) against the file and the registry (one
//! batched query per kind), and plans each row: create, update (naming the changed columns), unchanged, or
//! rejected with the sheet, the Excel row (header = row 1), the column and the reason in Chinese. A row that
//! refers to a rejected row is rejected too, saying which. Nothing is written while any row is bad, unless
//! the caller asks for the good rows only; then everything is written in one transaction, each record through
//! the same checks as the API and with its own audit entry (before → after). Re-importing a file finds every
//! row unchanged and writes nothing.
//!
//! Rights are the resources' own: 企业, 厂区 and 排放口 need the enterprise rights (street officers only in their
//! street), 监测点位 and 监测设备 the point and device rights. A sheet the caller may read but not write passes
//! only unchanged rows; one they may not read passes none.

use std::collections::{HashMap, HashSet};

use kernel::audit::{self, AuditEntry};
use kernel::time::{cst_day, format_cst, now_ts};
use kernel::{Action, AppError, AppResult, Db, Principal, Resource};
use sha2::Digest;
use sqlx::AnyConnection;

use super::{
    check_site, insert_device, insert_enterprise, insert_identifier, insert_outlet, insert_point,
    point_visibility, require_street_exists, resolve_point,
};
use crate::messages::chinese;
use crate::model::*;
use crate::repo::{self, PointVisibility};
use crate::workbook::{
    self, CellProblem, CellValue, DEVICES, ENTERPRISES, EXAMPLE_MN, EXAMPLE_POINT, EXAMPLE_USCC,
    OUTLETS, Out, POINTS, ReadBook, ReadSheet, RowAction, RowChange, SHEETS, SITES, SheetKind,
    SheetLayout, SheetRow, SheetSummary, TARGET_CLASSES, WorkbookContent, WorkbookReport, device,
    ent, outlet, point, site,
};

/// Largest workbook accepted (a district's registry of a few thousand records is well under 1 MiB).
pub const MAX_WORKBOOK_BYTES: usize = 4 * 1024 * 1024;

/// The note written into the status history when an import changes an enterprise's status.
const STATUS_NOTE: &str = "登记表导入";

/// Who imports or exports: a user (their role's rights and street) or the command line.
#[derive(Debug, Clone, Copy)]
pub enum Importer<'a> {
    User(&'a Principal),
    /// `qingshan registry …`, named for the audit log: whoever runs it holds the database, so it has every right
    /// (as `qingshan user add` has).
    Command(&'a str),
}

impl Importer<'_> {
    fn can(&self, resource: Resource, action: Action) -> bool {
        match self {
            Importer::User(p) => p.can(resource, action),
            Importer::Command(_) => true,
        }
    }

    fn street_scope(&self) -> Option<i64> {
        match self {
            Importer::User(p) => p.street_scope(),
            Importer::Command(_) => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Importer::User(p) => &p.username,
            Importer::Command(actor) => actor,
        }
    }

    fn display(&self) -> String {
        match self {
            Importer::User(p) => format!("{}（{}）", p.display_name, p.role.label()),
            Importer::Command(actor) => format!("命令行 {actor}"),
        }
    }

    fn entry(&self, action: &str, entity: &str, id: impl ToString) -> AuditEntry {
        match self {
            Importer::User(p) => AuditEntry::by(p, action, entity, id),
            Importer::Command(actor) => AuditEntry::system(actor, action, entity, id),
        }
    }

    fn point_visibility(&self) -> PointVisibility {
        match self {
            Importer::User(p) => point_visibility(p),
            Importer::Command(_) => PointVisibility::All,
        }
    }

    fn sees_point(&self, p: &MonitoringPoint) -> bool {
        match self.point_visibility() {
            PointVisibility::All => true,
            PointVisibility::PublicKinds => p.kind.is_public(),
            PointVisibility::PublicKindsAndStreet(street) => {
                p.kind.is_public() || p.street_id == Some(street)
            }
        }
    }

    /// The rights of a sheet: (may read, may create and update).
    fn rights(&self, kind: SheetKind) -> (bool, bool) {
        let resource = sheet_resource(kind);
        (
            self.can(resource, Action::Read),
            self.can(resource, Action::Create) && self.can(resource, Action::Update),
        )
    }
}

fn sheet_resource(kind: SheetKind) -> Resource {
    match kind {
        SheetKind::Enterprises | SheetKind::Sites | SheetKind::Outlets => crate::ENTERPRISE,
        SheetKind::Points => crate::MONITORING_POINT,
        SheetKind::Devices => crate::DEVICE,
    }
}

/// Who keeps a sheet's records (for the messages).
fn keepers(kind: SheetKind) -> &'static str {
    match kind {
        SheetKind::Enterprises | SheetKind::Sites | SheetKind::Outlets => {
            "执法支队、固废科、街道（本街道）"
        }
        SheetKind::Points | SheetKind::Devices => "监测科",
    }
}

/// What the 说明 sheet and the preview say about a sheet the caller may not write.
fn sheet_note(importer: &Importer, kind: SheetKind) -> Option<String> {
    match importer.rights(kind) {
        (_, true) => match (kind, importer.street_scope()) {
            (SheetKind::Enterprises | SheetKind::Sites | SheetKind::Outlets, Some(_)) => {
                Some("只能新增和修改本街道的记录".to_string())
            }
            _ => None,
        },
        (true, false) => Some(format!(
            "您只能查看本表：导入时本表中新增或修改的行会被拒绝（本表由{}维护）",
            keepers(kind)
        )),
        (false, _) => Some(format!(
            "您无权查看本表：导出中本表为空，导入时本表的行会被拒绝（本表由{}维护）",
            keepers(kind)
        )),
    }
}

/// 403 unless the caller may import at least one sheet.
fn require_some_sheet(importer: &Importer) -> AppResult<()> {
    if SHEETS.iter().any(|l| importer.rights(l.kind).1) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "workbook: this role may not change any sheet of the registry workbook (无权导入：企业、监测点位、监测设备均不能修改)",
        ))
    }
}

async fn district_line(conn: &mut AnyConnection) -> AppResult<String> {
    Ok(match repo::district(conn).await? {
        Some(d) => format!("辖区：{}（{}，区划代码 {}）", d.name, d.city, d.code),
        None => "辖区：尚未设置".to_string(),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Template and export
// ---------------------------------------------------------------------------------------------------------------

/// The empty workbook with an example row on each sheet, for anyone who may import a sheet of it.
pub async fn template(db: &Db, importer: Importer<'_>) -> AppResult<Vec<u8>> {
    require_some_sheet(&importer)?;
    let mut conn = db.pool().acquire().await?;
    let streets: Vec<String> = repo::streets_by_id(&mut conn)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let street = streets.first().cloned().unwrap_or_default();
    let content = WorkbookContent {
        preface: vec![
            "青山 基础信息登记表（模板）".to_string(),
            district_line(&mut conn).await?,
            format!(
                "下载：{}（北京时间），{}",
                format_cst(now_ts()),
                importer.display()
            ),
        ],
        examples: Some(examples(&street)),
        rows: Default::default(),
        sheet_notes: SHEETS.map(|l| sheet_note(&importer, l.kind)),
        street_names: streets,
    };
    kernel::export::build_off_thread(move || workbook::write(&content)).await
}

fn examples(street: &str) -> [Vec<Out>; 5] {
    let company = "天津市示例环保科技有限公司";
    [
        vec![
            Out::text(EXAMPLE_USCC),
            Out::text(company),
            Out::text(street),
            Out::text("天津市东丽区示例路 1 号"),
            Out::text("C2614"),
            Out::text("有机化学原料制造"),
            Out::text(EnterpriseStatus::Operating.label()),
            Out::yes_no(true),
            Out::text("大气环境、水环境"),
            Out::text("张三"),
            Out::text("022-24390000"),
            Out::Number(117.3521),
            Out::Number(39.1204),
            Out::text(format!("{EXAMPLE_USCC}001V")),
            Out::Empty,
            Out::Empty,
            Out::Empty,
        ],
        vec![
            Out::text(EXAMPLE_USCC),
            Out::text("一厂区"),
            Out::text("天津市东丽区示例路 1 号"),
            Out::text(street),
            Out::Number(117.3521),
            Out::Number(39.1204),
        ],
        vec![
            Out::text(EXAMPLE_USCC),
            Out::text("DA001"),
            Out::text("1 号锅炉废气排放口"),
            Out::text(Medium::Gas.label()),
            Out::text(OutletKind::Main.label()),
            Out::text("一厂区"),
            Out::yes_no(true),
            Out::Number(117.3523),
            Out::Number(39.1206),
        ],
        vec![
            Out::text(EXAMPLE_POINT),
            Out::text("示例企业 DA001 在线监测"),
            Out::text(PointKind::Outlet.label()),
            Out::text(PointLevel::Enterprise.label()),
            Out::text(street),
            Out::text(EXAMPLE_USCC),
            Out::text("DA001"),
            Out::text(company),
            Out::Empty,
            Out::Empty,
            Out::Empty,
            Out::Number(117.3523),
            Out::Number(39.1206),
            Out::yes_no(true),
        ],
        vec![
            Out::text(EXAMPLE_MN),
            Out::text(EXAMPLE_POINT),
            Out::text(Protocol::V2017.label()),
            Out::text(CrcMode::Strict.label()),
            Out::text("X-100"),
            Out::yes_no(true),
            Out::text("123456"),
        ],
    ]
}

/// The registry as the template's workbook, as far as the caller may see it (a street officer: their street's
/// enterprises, the public points and their street's outlet points). Device passwords are never written.
pub async fn export(db: &Db, importer: Importer<'_>) -> AppResult<Vec<u8>> {
    if !importer.can(crate::ENTERPRISE, Action::Read) {
        return Err(AppError::forbidden(
            "workbook: this role may not read the registry's enterprises (无权导出基础信息)",
        ));
    }
    let mut conn = db.pool().acquire().await?;
    let streets = repo::streets_by_id(&mut conn).await?;
    let street_name: HashMap<i64, String> =
        streets.iter().map(|s| (s.id, s.name.clone())).collect();
    let scope = importer.street_scope();
    let enterprises = repo::enterprises_in_scope(&mut conn, scope).await?;
    let ids: Vec<i64> = enterprises.iter().map(|e| e.id).collect();
    let uscc_of: HashMap<i64, String> =
        enterprises.iter().map(|e| (e.id, e.uscc.clone())).collect();
    let identifiers = repo::identifiers_of_enterprises(&mut conn, &ids).await?;
    let sites = repo::sites_of_enterprises(&mut conn, &ids).await?;
    let site_name: HashMap<i64, String> = sites.iter().map(|s| (s.id, s.name.clone())).collect();
    let mut outlets = repo::outlets_of_enterprises(&mut conn, &ids).await?;
    let (read_points, _) = importer.rights(SheetKind::Points);
    let points = if read_points {
        repo::points_visible(&mut conn, importer.point_visibility()).await?
    } else {
        Vec::new()
    };
    // Outlet points may monitor outlets of enterprises outside the list (none today: the scopes agree), so the
    // outlets they name are read by id.
    let known: HashSet<i64> = outlets.iter().map(|o| o.id).collect();
    let missing: Vec<i64> = points
        .iter()
        .filter_map(|p| p.outlet_id)
        .filter(|id| !known.contains(id))
        .collect();
    let extra = repo::outlets_by_ids(&mut conn, &missing).await?;
    let extra_enterprises: Vec<i64> = extra.iter().map(|o| o.enterprise_id).collect();
    let mut uscc_of = uscc_of;
    for e in repo::enterprises_by_ids(&mut conn, &extra_enterprises).await? {
        uscc_of.insert(e.id, e.uscc);
    }
    let outlet_key: HashMap<i64, (String, String)> = outlets
        .iter()
        .chain(extra.iter())
        .map(|o| {
            (
                o.id,
                (
                    uscc_of.get(&o.enterprise_id).cloned().unwrap_or_default(),
                    o.code.clone(),
                ),
            )
        })
        .collect();
    let (read_devices, _) = importer.rights(SheetKind::Devices);
    let point_code: HashMap<i64, String> = repo::all_points(&mut conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.code))
        .collect();
    let devices = if read_devices {
        repo::devices_by_mn_order(&mut conn).await?
    } else {
        Vec::new()
    };

    let street = |id: i64| Out::text(street_name.get(&id).cloned().unwrap_or_default());
    let mut by_enterprise: HashMap<(i64, Program), Vec<String>> = HashMap::new();
    for i in identifiers {
        by_enterprise
            .entry((i.enterprise_id, i.program))
            .or_default()
            .push(i.identifier);
    }
    let enterprise_rows = enterprises
        .iter()
        .map(|e| {
            let mut categories = e.key_categories.clone();
            categories.sort_by_key(|c| c.as_str());
            let mut row = vec![
                Out::text(&e.uscc),
                Out::text(&e.name),
                street(e.street_id),
                Out::text(&e.address),
                Out::text(&e.industry_code),
                Out::text(&e.industry_name),
                Out::text(e.status.label()),
                Out::yes_no(e.key_discharger),
                Out::text(
                    categories
                        .iter()
                        .map(|c| c.label())
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                Out::opt_text(e.legal_representative.as_deref()),
                Out::opt_text(e.contact_phone.as_deref()),
                Out::number(e.lon),
                Out::number(e.lat),
            ];
            for program in Program::ALL {
                row.push(Out::text(
                    by_enterprise
                        .get(&(e.id, *program))
                        .map(|list| list.join("、"))
                        .unwrap_or_default(),
                ));
            }
            row
        })
        .collect();
    let uscc = |id: i64| Out::text(uscc_of.get(&id).cloned().unwrap_or_default());
    let site_rows = sites
        .iter()
        .map(|s| {
            vec![
                uscc(s.enterprise_id),
                Out::text(&s.name),
                Out::text(&s.address),
                street(s.street_id),
                Out::number(s.lon),
                Out::number(s.lat),
            ]
        })
        .collect();
    outlets.sort_by(|a, b| {
        (uscc_of.get(&a.enterprise_id), &a.code).cmp(&(uscc_of.get(&b.enterprise_id), &b.code))
    });
    let outlet_rows = outlets
        .iter()
        .map(|o| {
            vec![
                uscc(o.enterprise_id),
                Out::text(&o.code),
                Out::text(&o.name),
                Out::text(o.medium.label()),
                Out::text(o.kind.label()),
                Out::text(
                    o.site_id
                        .and_then(|id| site_name.get(&id).cloned())
                        .unwrap_or_default(),
                ),
                Out::yes_no(o.online_monitored),
                Out::number(o.lon),
                Out::number(o.lat),
            ]
        })
        .collect();
    let point_rows = points
        .iter()
        .map(|p| {
            let (point_uscc, outlet_code) = p
                .outlet_id
                .and_then(|id| outlet_key.get(&id).cloned())
                .unwrap_or_default();
            vec![
                Out::text(&p.code),
                Out::text(&p.name),
                Out::text(p.kind.label()),
                Out::text(p.level.label()),
                Out::opt_text(
                    p.street_id
                        .and_then(|id| street_name.get(&id).map(String::as_str)),
                ),
                Out::text(point_uscc),
                Out::text(outlet_code),
                Out::text(&p.owner),
                Out::opt_text(p.water_body.as_deref()),
                Out::opt_text(p.water_kind.map(|k| k.label())),
                Out::opt_text(
                    p.target_class
                        .and_then(|c| usize::try_from(c - 1).ok())
                        .and_then(|i| TARGET_CLASSES.get(i).copied()),
                ),
                Out::number(p.lon),
                Out::number(p.lat),
                Out::yes_no(p.active),
            ]
        })
        .collect();
    let device_rows = devices
        .iter()
        .map(|d| {
            vec![
                Out::text(&d.mn),
                Out::text(point_code.get(&d.point_id).cloned().unwrap_or_default()),
                Out::text(d.protocol.label()),
                Out::text(d.crc_mode.label()),
                Out::text(&d.model),
                Out::yes_no(d.active),
                // Never the password: the column is for setting one.
                Out::Empty,
            ]
        })
        .collect();
    let scope_text = match scope {
        Some(id) => street_name.get(&id).cloned().unwrap_or_default(),
        None => "全区".to_string(),
    };
    let content = WorkbookContent {
        preface: vec![
            "青山 基础信息登记表（导出）".to_string(),
            district_line(&mut conn).await?,
            format!(
                "导出：{}（北京时间），{}；范围：{scope_text}。修改后可直接导入（先预览）。设备访问密码不导出。",
                format_cst(now_ts()),
                importer.display()
            ),
        ],
        examples: None,
        rows: [
            enterprise_rows,
            site_rows,
            outlet_rows,
            point_rows,
            device_rows,
        ],
        sheet_notes: SHEETS.map(|l| sheet_note(&importer, l.kind)),
        street_names: streets.into_iter().map(|s| s.name).collect(),
    };
    drop(conn);
    kernel::export::build_off_thread(move || workbook::write(&content)).await
}

// ---------------------------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------------------------

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Only plan: write nothing.
    pub dry_run: bool,
    /// Write the good rows even when others are bad (rows depending on a bad row are left out too).
    pub good_rows_only: bool,
}

/// Reads, checks and (unless a dry run, and unless a row is bad and the good rows were not asked for) writes a
/// workbook, in one transaction. A file that is not an XLSX workbook is a 422 naming `file`.
pub async fn import(
    db: &Db,
    importer: Importer<'_>,
    bytes: &[u8],
    options: ImportOptions,
) -> AppResult<WorkbookReport> {
    require_some_sheet(&importer)?;
    if bytes.len() > MAX_WORKBOOK_BYTES {
        return Err(AppError::validation(
            "file",
            format!(
                "is larger than {} MiB (文件过大)",
                MAX_WORKBOOK_BYTES / 1024 / 1024
            ),
        ));
    }
    let sha256 = hex::encode(sha2::Sha256::digest(bytes));
    let owned = bytes.to_vec();
    let book = tokio::task::spawn_blocking(move || workbook::read(&owned))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("workbook reader stopped: {e}")))??;
    if options.dry_run {
        let mut conn = db.pool().acquire().await?;
        let plan = plan(&mut conn, &importer, book).await?;
        return Ok(plan.report(false, options, sha256));
    }
    let mut tx = db.begin_write().await?;
    let plan = plan(&mut tx, &importer, book).await?;
    if plan.has_problems() && !options.good_rows_only {
        return Ok(plan.report(false, options, sha256));
    }
    apply(&mut tx, &importer, &plan).await?;
    let report = plan.report(true, options, sha256);
    audit::record(
        &mut *tx,
        &importer
            .entry("import", "registry_workbook", &report.sha256[..16])
            .summary(format!(
                "导入基础信息登记表：新增 {}，修改 {}，未变 {}，未导入 {}",
                report.created, report.updated, report.unchanged, report.rejected
            ))
            .after(&serde_json::json!({
                "sha256": report.sha256,
                "good_rows_only": options.good_rows_only,
                "sheets": report.sheets,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// What the import does with a row that passed.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Create,
    Update(Vec<String>),
    Unchanged,
}

impl Outcome {
    /// A matched row's outcome from the headers of its changed columns.
    fn of_changes(fields: Vec<String>) -> Outcome {
        if fields.is_empty() {
            Outcome::Unchanged
        } else {
            Outcome::Update(fields)
        }
    }
}

/// A reference to an enterprise by USCC, resolved.
#[derive(Debug, Clone)]
struct EnterpriseRef {
    /// The registered enterprise, if any (else it is a row of the file).
    existing: Option<Enterprise>,
    street_id: i64,
    name: String,
}

struct EnterpriseRow {
    row: u32,
    draft: EnterpriseDraft,
    status: Option<EnterpriseStatus>,
    identifiers: Vec<IdentifierInput>,
    existing: Option<Enterprise>,
    /// Identifiers to add (not yet registered to it).
    new_identifiers: Vec<IdentifierInput>,
    outcome: Outcome,
}

struct SiteRow {
    row: u32,
    uscc: String,
    input: SiteInput,
    existing: Option<Site>,
    outcome: Outcome,
}

struct OutletRow {
    row: u32,
    uscc: String,
    input: OutletInput,
    site: Option<String>,
    existing: Option<Outlet>,
    outcome: Outcome,
}

struct PointRow {
    row: u32,
    input: PointInput,
    /// (USCC, outlet code) of an outlet point.
    outlet: Option<(String, String)>,
    existing: Option<MonitoringPoint>,
    outcome: Outcome,
}

struct DeviceRow {
    row: u32,
    input: DeviceInput,
    point_code: String,
    existing: Option<Device>,
    outcome: Outcome,
}

#[derive(Default)]
struct Counts {
    rows: u32,
    examples: u32,
}

/// The import's plan: the rows that pass with what they do, and every problem.
struct Plan {
    problems: Vec<CellProblem>,
    bad: HashSet<(SheetKind, u32)>,
    counts: HashMap<SheetKind, Counts>,
    notes: HashMap<SheetKind, (bool, Option<String>)>,
    enterprises: Vec<EnterpriseRow>,
    sites: Vec<SiteRow>,
    outlets: Vec<OutletRow>,
    points: Vec<PointRow>,
    devices: Vec<DeviceRow>,
}

impl Plan {
    fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    fn problem(
        &mut self,
        layout: &SheetLayout,
        sheet: &ReadSheet,
        row: u32,
        column: Option<usize>,
        reason: impl Into<String>,
    ) {
        self.bad.insert((layout.kind, row));
        self.problems.push(CellProblem {
            sheet: layout.name.to_string(),
            row,
            column: column.map(|c| layout.columns[c].header.to_string()),
            column_letter: column.and_then(|c| sheet.letter(c)),
            reason: reason.into(),
        });
    }

    fn is_bad(&self, kind: SheetKind, row: u32) -> bool {
        self.bad.contains(&(kind, row))
    }

    fn report(&self, applied: bool, options: ImportOptions, sha256: String) -> WorkbookReport {
        let mut changes = Vec::new();
        let mut sheets = Vec::new();
        let mut push = |layout: &SheetLayout, outcomes: Vec<(u32, &Outcome, String)>| {
            let mut summary = SheetSummary {
                kind: layout.kind,
                sheet: layout.name.to_string(),
                writable: self.notes.get(&layout.kind).is_some_and(|n| n.0),
                note: self.notes.get(&layout.kind).and_then(|n| n.1.clone()),
                rows: self.counts.get(&layout.kind).map_or(0, |c| c.rows),
                created: 0,
                updated: 0,
                unchanged: 0,
                rejected: 0,
                examples: self.counts.get(&layout.kind).map_or(0, |c| c.examples),
            };
            for (row, outcome, record) in outcomes {
                if self.is_bad(layout.kind, row) {
                    continue;
                }
                match outcome {
                    Outcome::Create => {
                        summary.created += 1;
                        changes.push(RowChange {
                            sheet: layout.name.to_string(),
                            row,
                            action: RowAction::Create,
                            record,
                            fields: Vec::new(),
                        });
                    }
                    Outcome::Update(fields) => {
                        summary.updated += 1;
                        changes.push(RowChange {
                            sheet: layout.name.to_string(),
                            row,
                            action: RowAction::Update,
                            record,
                            fields: fields.clone(),
                        });
                    }
                    Outcome::Unchanged => summary.unchanged += 1,
                }
            }
            summary.rejected = summary.rows - summary.created - summary.updated - summary.unchanged;
            sheets.push(summary);
        };
        push(
            &ENTERPRISES,
            self.enterprises
                .iter()
                .map(|r| {
                    (
                        r.row,
                        &r.outcome,
                        format!("{} {}", r.draft.uscc, r.draft.name),
                    )
                })
                .collect(),
        );
        push(
            &SITES,
            self.sites
                .iter()
                .map(|r| (r.row, &r.outcome, format!("{} {}", r.uscc, r.input.name)))
                .collect(),
        );
        push(
            &OUTLETS,
            self.outlets
                .iter()
                .map(|r| {
                    (
                        r.row,
                        &r.outcome,
                        format!("{} {} {}", r.uscc, r.input.code, r.input.name),
                    )
                })
                .collect(),
        );
        push(
            &POINTS,
            self.points
                .iter()
                .map(|r| {
                    (
                        r.row,
                        &r.outcome,
                        format!("{} {}", r.input.code, r.input.name),
                    )
                })
                .collect(),
        );
        push(
            &DEVICES,
            self.devices
                .iter()
                .map(|r| (r.row, &r.outcome, format!("MN {}", r.input.mn)))
                .collect(),
        );
        let mut problems = self.problems.clone();
        let order: HashMap<&str, usize> = SHEETS
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name, i))
            .collect();
        problems.sort_by_key(|p| (order.get(p.sheet.as_str()).copied(), p.row));
        let total = |f: fn(&SheetSummary) -> u32| sheets.iter().map(f).sum();
        WorkbookReport {
            applied,
            dry_run: options.dry_run,
            good_rows_only: options.good_rows_only,
            sha256,
            created: total(|s| s.created),
            updated: total(|s| s.updated),
            unchanged: total(|s| s.unchanged),
            rejected: total(|s| s.rejected),
            sheets,
            problems,
            changes,
        }
    }
}

/// Reads the cells of one row, collecting each cell's problem.
struct Cells<'a> {
    layout: &'static SheetLayout,
    row: &'a SheetRow,
    problems: Vec<(usize, String)>,
}

impl<'a> Cells<'a> {
    fn new(layout: &'static SheetLayout, row: &'a SheetRow) -> Self {
        Cells {
            layout,
            row,
            problems: Vec::new(),
        }
    }

    fn bad(&mut self, column: usize, reason: impl Into<String>) {
        self.problems.push((column, reason.into()));
    }

    fn value(&self, column: usize) -> &CellValue {
        &self.row.cells[column]
    }

    /// A text cell (numbers read as their digits); dates and error values are refused.
    fn text(&mut self, column: usize) -> String {
        match self.value(column).clone() {
            CellValue::Date(_) => {
                self.bad(
                    column,
                    "Excel 把内容当成了日期：请把单元格设为“文本”格式后重新填写",
                );
                String::new()
            }
            CellValue::Error(e) => {
                self.bad(column, format!("单元格是错误值 {e}"));
                String::new()
            }
            other => other.text(),
        }
    }

    fn required(&mut self, column: usize) -> String {
        let text = self.text(column);
        if text.is_empty() && !self.problems.iter().any(|(c, _)| *c == column) {
            self.bad(column, "必填，不能为空");
        }
        text
    }

    fn optional(&mut self, column: usize) -> Option<String> {
        Some(self.text(column)).filter(|t| !t.is_empty())
    }

    fn number(&mut self, column: usize) -> Option<f64> {
        match self.value(column).clone() {
            CellValue::Empty => None,
            CellValue::Number(n) => Some(n),
            CellValue::Text(t) => match t.parse::<f64>() {
                Ok(n) if n.is_finite() => Some(n),
                _ => {
                    self.bad(column, format!("「{t}」不是数字"));
                    None
                }
            },
            CellValue::Bool(_) => {
                self.bad(column, "应为数字，不是是/否");
                None
            }
            CellValue::Date(_) => {
                self.bad(column, "应为数字，不是日期");
                None
            }
            CellValue::Error(e) => {
                self.bad(column, format!("单元格是错误值 {e}"));
                None
            }
        }
    }

    fn yes_no(&mut self, column: usize) -> Option<bool> {
        if let CellValue::Bool(b) = self.value(column) {
            return Some(*b);
        }
        let text = self.text(column);
        match text.to_ascii_lowercase().as_str() {
            "" => None,
            "是" | "y" | "yes" | "true" | "1" | "√" => Some(true),
            "否" | "n" | "no" | "false" | "0" | "×" => Some(false),
            _ => {
                self.bad(column, format!("「{text}」应为“是”或“否”"));
                None
            }
        }
    }

    /// A value of a closed list, by its Chinese label or its API text.
    fn choice<T: Copy>(
        &mut self,
        column: usize,
        all: &[T],
        label: fn(T) -> &'static str,
        wire: fn(T) -> &'static str,
    ) -> Option<T> {
        let text = self.text(column);
        if text.is_empty() {
            return None;
        }
        let squeeze = |s: &str| s.replace([' ', '　'], "").to_ascii_lowercase();
        let found = all
            .iter()
            .copied()
            .find(|v| squeeze(label(*v)) == squeeze(&text) || wire(*v) == text);
        if found.is_none() {
            let allowed: Vec<&str> = all.iter().map(|v| label(*v)).collect();
            self.bad(
                column,
                format!("「{text}」不在可选值中：{}", allowed.join("、")),
            );
        }
        found
    }

    fn street(&mut self, column: usize, streets: &HashMap<String, i64>) -> Option<i64> {
        let text = self.text(column);
        if text.is_empty() {
            return None;
        }
        let found = streets.get(&text).copied();
        if found.is_none() {
            self.bad(
                column,
                format!("街道「{text}」不存在：请从下拉列表选择本区的街道"),
            );
        }
        found
    }

    /// A USCC cell, upper-cased and checked per GB 32100-2015.
    fn uscc(&mut self, column: usize) -> String {
        let text = self.required(column).to_ascii_uppercase();
        if !text.is_empty()
            && let Err(e) = Uscc::parse(&text)
        {
            self.bad(
                column,
                format!("统一社会信用代码有误：{}", chinese(&e.to_string())),
            );
        }
        text
    }

    /// Turns a model error (naming a field) into the problem of its column.
    fn model_error(&mut self, err: AppError, field_column: fn(&str) -> Option<usize>) {
        match err {
            AppError::Validation { field, message } => {
                let column = field_column(&field).unwrap_or(0);
                self.bad(column, chinese(&message));
            }
            other => {
                let message = other.public_message();
                self.bad(0, chinese(&message));
            }
        }
    }

    fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn flush(self, plan: &mut Plan, sheet: &ReadSheet) {
        for (column, reason) in self.problems {
            plan.problem(self.layout, sheet, self.row.row, Some(column), reason);
        }
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn enterprise_column(field: &str) -> Option<usize> {
    Some(match field {
        "uscc" => ent::USCC,
        "name" => ent::NAME,
        "street_id" => ent::STREET,
        "address" => ent::ADDRESS,
        "industry_code" => ent::INDUSTRY_CODE,
        "industry_name" => ent::INDUSTRY_NAME,
        "status" => ent::STATUS,
        "key_discharger" => ent::KEY,
        "key_categories" => ent::KEY_CATEGORIES,
        "legal_representative" => ent::LEGAL,
        "contact_phone" => ent::PHONE,
        "lon" => ent::LON,
        "lat" => ent::LAT,
        _ => return None,
    })
}

fn site_column(field: &str) -> Option<usize> {
    Some(match field {
        "name" => site::NAME,
        "address" => site::ADDRESS,
        "street_id" => site::STREET,
        "lon" => site::LON,
        "lat" => site::LAT,
        _ => return None,
    })
}

fn outlet_column(field: &str) -> Option<usize> {
    Some(match field {
        "code" => outlet::CODE,
        "name" => outlet::NAME,
        "medium" => outlet::MEDIUM,
        "kind" => outlet::KIND,
        "site_id" => outlet::SITE,
        "lon" => outlet::LON,
        "lat" => outlet::LAT,
        _ => return None,
    })
}

fn point_column(field: &str) -> Option<usize> {
    Some(match field {
        "code" => point::CODE,
        "name" => point::NAME,
        "kind" => point::KIND,
        "level" => point::LEVEL,
        "street_id" => point::STREET,
        "outlet_id" => point::OUTLET,
        "owner" => point::OWNER,
        "water_body" => point::WATER_BODY,
        "water_kind" => point::WATER_KIND,
        "target_class" => point::TARGET_CLASS,
        "lon" => point::LON,
        "lat" => point::LAT,
        _ => return None,
    })
}

fn device_column(field: &str) -> Option<usize> {
    Some(match field {
        "mn" => device::MN,
        "password" => device::PASSWORD,
        "protocol" => device::PROTOCOL,
        "crc_mode" => device::CRC,
        "model" => device::MODEL,
        "point_id" => device::POINT,
        _ => return None,
    })
}

fn header(layout: &SheetLayout, column: usize) -> String {
    layout.columns[column].header.to_string()
}

/// The headers of the columns whose `(changed, column)` pair says they differ from the stored record.
fn changed_headers(layout: &SheetLayout, pairs: &[(bool, usize)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(changed, _)| *changed)
        .map(|(_, column)| header(layout, *column))
        .collect()
}

/// Checks every row against the file and the registry; decides what each does.
async fn plan(
    conn: &mut AnyConnection,
    importer: &Importer<'_>,
    book: ReadBook,
) -> AppResult<Plan> {
    let ReadBook { sheets, problems } = book;
    let mut plan = Plan {
        bad: problems
            .iter()
            .map(|p| (kind_of(&p.sheet), p.row))
            .collect(),
        problems,
        counts: HashMap::new(),
        notes: HashMap::new(),
        enterprises: Vec::new(),
        sites: Vec::new(),
        outlets: Vec::new(),
        points: Vec::new(),
        devices: Vec::new(),
    };
    for (layout, sheet) in SHEETS.iter().zip(&sheets) {
        let (_, writable) = importer.rights(layout.kind);
        let note = if sheet.present {
            sheet_note(importer, layout.kind)
        } else {
            Some("文件中没有这张表".to_string())
        };
        plan.notes.insert(layout.kind, (writable, note));
    }
    let streets = repo::streets_by_id(conn).await?;
    let street_ids: HashMap<String, i64> = streets.iter().map(|s| (s.name.clone(), s.id)).collect();
    let scope = importer.street_scope();

    // Every USCC, point code and MN the file names, for one batched read each.
    let [
        ent_sheet,
        site_sheet,
        outlet_sheet,
        point_sheet,
        device_sheet,
    ] = &sheets;
    let text_at = |sheet: &ReadSheet, column: usize| -> Vec<String> {
        sheet
            .rows
            .iter()
            .map(|r| r.cells[column].text().to_ascii_uppercase())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let mut usccs: Vec<String> = text_at(ent_sheet, ent::USCC);
    usccs.extend(text_at(site_sheet, site::USCC));
    usccs.extend(text_at(outlet_sheet, outlet::USCC));
    usccs.extend(text_at(point_sheet, point::USCC));
    usccs.sort();
    usccs.dedup();
    let registered: HashMap<String, Enterprise> = repo::enterprises_by_usccs(conn, &usccs)
        .await?
        .into_iter()
        .map(|e| (e.uscc.clone(), e))
        .collect();

    // ---- 企业 ----
    let (_, may_write) = importer.rights(SheetKind::Enterprises);
    let (may_read_enterprises, _) = importer.rights(SheetKind::Enterprises);
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut file_identifiers: HashMap<String, (u32, String)> = HashMap::new();
    let mut parsed_enterprises = Vec::new();
    for row in &ent_sheet.rows {
        let counts = plan.counts.entry(SheetKind::Enterprises).or_default();
        if row.cells[ent::USCC].text().to_ascii_uppercase() == EXAMPLE_USCC {
            counts.examples += 1;
            continue;
        }
        counts.rows += 1;
        let mut cells = Cells::new(&ENTERPRISES, row);
        let uscc = cells.uscc(ent::USCC);
        let name = cells.required(ent::NAME);
        let street = cells.street(ent::STREET, &street_ids);
        if cells.text(ent::STREET).is_empty() {
            cells.required(ent::STREET);
        }
        let address = cells.required(ent::ADDRESS);
        let industry_code = cells.required(ent::INDUSTRY_CODE);
        if !industry_code.is_empty()
            && let Err(e) = IndustryCode::parse("industry_code", &industry_code)
        {
            cells.model_error(e, enterprise_column);
        }
        let industry_name = cells.required(ent::INDUSTRY_NAME);
        let status = cells.choice(
            ent::STATUS,
            EnterpriseStatus::ALL,
            EnterpriseStatus::label,
            EnterpriseStatus::as_str,
        );
        let key = cells.yes_no(ent::KEY).unwrap_or(false);
        let mut categories = Vec::new();
        for text in split_list(&cells.text(ent::KEY_CATEGORIES)) {
            match KeyCategory::ALL
                .iter()
                .find(|c| c.label() == text || c.as_str() == text)
            {
                Some(c) => categories.push(*c),
                None => cells.bad(
                    ent::KEY_CATEGORIES,
                    format!(
                        "「{text}」不是重点类别：{}",
                        KeyCategory::ALL
                            .iter()
                            .map(|c| c.label())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
            }
        }
        let legal = cells.optional(ent::LEGAL);
        let phone = cells.optional(ent::PHONE);
        let lon = cells.number(ent::LON);
        let lat = cells.number(ent::LAT);
        let mut identifiers = Vec::new();
        for (offset, program) in Program::ALL.iter().enumerate() {
            let column = ent::IDENTIFIERS + offset;
            for text in split_list(&cells.text(column)) {
                match (IdentifierInput {
                    program: *program,
                    identifier: text.clone(),
                    note: String::new(),
                })
                .parse()
                {
                    Ok(identifier) => {
                        if let Some((other_row, other)) =
                            file_identifiers.get(&identifier.identifier)
                            && (*other_row != row.row || *other != uscc)
                        {
                            cells.bad(column, format!("「{text}」与第 {other_row} 行的编号重复"));
                        } else {
                            file_identifiers
                                .insert(identifier.identifier.clone(), (row.row, uscc.clone()));
                        }
                        identifiers.push(identifier);
                    }
                    Err(e) => cells.bad(column, format!("「{text}」：{}", chinese(&e.to_string()))),
                }
            }
        }
        if let Some(first) = seen.get(&uscc) {
            cells.bad(ent::USCC, format!("与第 {first} 行的统一社会信用代码重复"));
        } else if !uscc.is_empty() {
            seen.insert(uscc.clone(), row.row);
        }
        let mut draft = None;
        if cells.ok() {
            let input = EnterpriseInput {
                uscc: uscc.clone(),
                name,
                industry_code,
                industry_name,
                street_id: street.unwrap_or(0),
                address,
                lon,
                lat,
                legal_representative: legal,
                contact_phone: phone,
                key_discharger: key,
                key_categories: categories,
                status,
                version: None,
            };
            match input.parse() {
                Ok(d) => draft = Some(d),
                Err(e) => cells.model_error(e, enterprise_column),
            }
        }
        if let (Some(draft), true) = (draft, cells.ok()) {
            parsed_enterprises.push((row.row, draft, status, identifiers));
        }
        cells.flush(&mut plan, ent_sheet);
    }
    // Identifiers already held by another enterprise.
    let all_identifiers: Vec<String> = parsed_enterprises
        .iter()
        .flat_map(|(_, _, _, ids)| ids.iter().map(|i| i.identifier.clone()))
        .collect();
    let held = repo::identifiers_by_values(conn, &all_identifiers).await?;
    let registered_ids: Vec<i64> = registered.values().map(|e| e.id).collect();
    let mut holder_uscc: HashMap<i64, String> = registered
        .values()
        .map(|e| (e.id, e.uscc.clone()))
        .collect();
    let holders: Vec<i64> = held
        .iter()
        .map(|i| i.enterprise_id)
        .filter(|id| !holder_uscc.contains_key(id))
        .collect();
    for e in repo::enterprises_by_ids(conn, &holders).await? {
        holder_uscc.insert(e.id, e.uscc);
    }
    let identifiers_of = repo::identifiers_of_enterprises(conn, &registered_ids).await?;
    for (row, draft, status, identifiers) in parsed_enterprises {
        let uscc = draft.uscc.as_str().to_string();
        let existing = registered.get(&uscc).cloned();
        let mut problems: Vec<(usize, String)> = Vec::new();
        if let Some(own) = scope {
            if draft.street_id != own {
                problems.push((ent::STREET, "街道干部只能登记本街道的企业".to_string()));
            }
            if let Some(e) = &existing
                && e.street_id != own
            {
                problems.push((ent::USCC, "该企业已登记在其他街道，您无权修改".to_string()));
            }
        }
        if existing.is_some() && !may_read_enterprises {
            problems.push((ent::USCC, "您无权查看企业".to_string()));
        }
        for identifier in &identifiers {
            if let Some(h) = held.iter().find(|h| h.identifier == identifier.identifier)
                && holder_uscc.get(&h.enterprise_id) != Some(&uscc)
            {
                let column = ent::IDENTIFIERS
                    + Program::ALL
                        .iter()
                        .position(|p| *p == identifier.program)
                        .unwrap_or(0);
                problems.push((
                    column,
                    format!("「{}」已登记在另一家企业名下", identifier.identifier),
                ));
            }
        }
        let new_identifiers: Vec<IdentifierInput> = match &existing {
            None => identifiers.clone(),
            Some(e) => identifiers
                .iter()
                .filter(|i| {
                    !identifiers_of.iter().any(|h| {
                        h.enterprise_id == e.id
                            && h.program == i.program
                            && h.identifier == i.identifier
                    })
                })
                .cloned()
                .collect(),
        };
        let outcome = match &existing {
            None => Outcome::Create,
            Some(e) => {
                let fields = enterprise_changes(e, &draft, status, &new_identifiers);
                Outcome::of_changes(fields)
            }
        };
        if outcome != Outcome::Unchanged && !may_write {
            problems.push((
                0,
                format!(
                    "您无权新增或修改企业（由{}维护）",
                    keepers(SheetKind::Enterprises)
                ),
            ));
        }
        if problems.is_empty() {
            plan.enterprises.push(EnterpriseRow {
                row,
                draft,
                status,
                identifiers,
                existing,
                new_identifiers,
                outcome,
            });
        } else {
            for (column, reason) in problems {
                plan.problem(&ENTERPRISES, ent_sheet, row, Some(column), reason);
            }
        }
    }

    // The enterprises a row may refer to: the file's good ones, then the registered ones.
    let mut enterprise_of: HashMap<String, EnterpriseRef> = HashMap::new();
    for e in registered.values() {
        if scope.is_none_or(|own| own == e.street_id) {
            enterprise_of.insert(
                e.uscc.clone(),
                EnterpriseRef {
                    existing: Some(e.clone()),
                    street_id: e.street_id,
                    name: e.name.clone(),
                },
            );
        }
    }
    for r in &plan.enterprises {
        enterprise_of.insert(
            r.draft.uscc.as_str().to_string(),
            EnterpriseRef {
                existing: r.existing.clone(),
                street_id: r.draft.street_id,
                name: r.draft.name.clone(),
            },
        );
    }
    let bad_enterprise_rows: HashMap<String, u32> = ent_sheet
        .rows
        .iter()
        .filter(|r| plan.is_bad(SheetKind::Enterprises, r.row))
        .map(|r| (r.cells[ent::USCC].text().to_ascii_uppercase(), r.row))
        .collect();
    // Why a USCC cannot be referred to.
    let enterprise_missing = |uscc: &str| -> String {
        match bad_enterprise_rows.get(uscc) {
            Some(row) => format!("所属企业（企业表第 {row} 行）有误，本行一并不导入"),
            None if registered.contains_key(uscc) => "该企业不在您的街道，您无权修改".to_string(),
            None => "企业表和已登记的企业中都没有这个统一社会信用代码".to_string(),
        }
    };
    let existing_ids: Vec<i64> = enterprise_of
        .values()
        .filter_map(|e| e.existing.as_ref().map(|e| e.id))
        .collect();
    let existing_sites = repo::sites_of_enterprises(conn, &existing_ids).await?;
    let existing_outlets = repo::outlets_of_enterprises(conn, &existing_ids).await?;

    // ---- 厂区 ----
    let may_write = importer.rights(SheetKind::Sites).1;
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    for row in &site_sheet.rows {
        let counts = plan.counts.entry(SheetKind::Sites).or_default();
        if row.cells[site::USCC].text().to_ascii_uppercase() == EXAMPLE_USCC {
            counts.examples += 1;
            continue;
        }
        counts.rows += 1;
        let mut cells = Cells::new(&SITES, row);
        let uscc = cells.required(site::USCC).to_ascii_uppercase();
        let name = cells.required(site::NAME);
        let address = cells.required(site::ADDRESS);
        let street = cells.street(site::STREET, &street_ids);
        let lon = cells.number(site::LON);
        let lat = cells.number(site::LAT);
        let key = (uscc.clone(), name.clone());
        if let Some(first) = seen.get(&key) {
            cells.bad(
                site::NAME,
                format!("与第 {first} 行重复（同一企业的同名厂区）"),
            );
        } else {
            seen.insert(key, row.row);
        }
        let enterprise = enterprise_of.get(&uscc).cloned();
        if !uscc.is_empty() && enterprise.is_none() {
            cells.bad(site::USCC, enterprise_missing(&uscc));
        }
        let mut input = SiteInput {
            name,
            address,
            street_id: street,
            lon,
            lat,
        };
        if cells.ok() {
            match input.parse() {
                Ok(parsed) => input = parsed,
                Err(e) => cells.model_error(e, site_column),
            }
        }
        let (Some(enterprise), true) = (enterprise, cells.ok()) else {
            cells.flush(&mut plan, site_sheet);
            continue;
        };
        let street_id = input.street_id.unwrap_or(enterprise.street_id);
        if let Some(own) = scope
            && street_id != own
        {
            cells.bad(site::STREET, "街道干部只能登记本街道的厂区");
        }
        let existing = enterprise.existing.as_ref().and_then(|e| {
            existing_sites
                .iter()
                .find(|s| s.enterprise_id == e.id && s.name == input.name)
                .cloned()
        });
        let outcome = match &existing {
            None => Outcome::Create,
            Some(s) => {
                let mut fields = Vec::new();
                if s.address != input.address {
                    fields.push(header(&SITES, site::ADDRESS));
                }
                if s.street_id != street_id {
                    fields.push(header(&SITES, site::STREET));
                }
                if s.lon != input.lon {
                    fields.push(header(&SITES, site::LON));
                }
                if s.lat != input.lat {
                    fields.push(header(&SITES, site::LAT));
                }
                Outcome::of_changes(fields)
            }
        };
        if outcome != Outcome::Unchanged && !may_write {
            cells.bad(site::USCC, "您无权新增或修改厂区");
        }
        if cells.ok() {
            plan.sites.push(SiteRow {
                row: row.row,
                uscc,
                input: SiteInput {
                    street_id: Some(street_id),
                    ..input
                },
                existing,
                outcome,
            });
        }
        cells.flush(&mut plan, site_sheet);
    }
    let bad_site_rows: HashMap<(String, String), u32> = site_sheet
        .rows
        .iter()
        .filter(|r| plan.is_bad(SheetKind::Sites, r.row))
        .map(|r| {
            (
                (
                    r.cells[site::USCC].text().to_ascii_uppercase(),
                    r.cells[site::NAME].text(),
                ),
                r.row,
            )
        })
        .collect();

    // ---- 排放口 ----
    let may_write = importer.rights(SheetKind::Outlets).1;
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    for row in &outlet_sheet.rows {
        let counts = plan.counts.entry(SheetKind::Outlets).or_default();
        if row.cells[outlet::USCC].text().to_ascii_uppercase() == EXAMPLE_USCC {
            counts.examples += 1;
            continue;
        }
        counts.rows += 1;
        let mut cells = Cells::new(&OUTLETS, row);
        let uscc = cells.required(outlet::USCC).to_ascii_uppercase();
        let code = cells.required(outlet::CODE).to_ascii_uppercase();
        let name = cells.required(outlet::NAME);
        let medium = cells.choice(outlet::MEDIUM, Medium::ALL, Medium::label, Medium::as_str);
        if cells.text(outlet::MEDIUM).is_empty() {
            cells.required(outlet::MEDIUM);
        }
        let kind = cells.choice(
            outlet::KIND,
            OutletKind::ALL,
            OutletKind::label,
            OutletKind::as_str,
        );
        if cells.text(outlet::KIND).is_empty() {
            cells.required(outlet::KIND);
        }
        let site_name = cells.optional(outlet::SITE);
        let online = cells.yes_no(outlet::ONLINE).unwrap_or(false);
        let lon = cells.number(outlet::LON);
        let lat = cells.number(outlet::LAT);
        let key = (uscc.clone(), code.clone());
        if let Some(first) = seen.get(&key) {
            cells.bad(
                outlet::CODE,
                format!("与第 {first} 行重复（同一企业的同一排放口编号）"),
            );
        } else {
            seen.insert(key, row.row);
        }
        let enterprise = enterprise_of.get(&uscc).cloned();
        if !uscc.is_empty() && enterprise.is_none() {
            cells.bad(outlet::USCC, enterprise_missing(&uscc));
        }
        if let (Some(site_name), Some(enterprise)) = (&site_name, &enterprise) {
            let in_file = plan
                .sites
                .iter()
                .any(|s| s.uscc == uscc && &s.input.name == site_name);
            let registered_site = enterprise.existing.as_ref().is_some_and(|e| {
                existing_sites
                    .iter()
                    .any(|s| s.enterprise_id == e.id && &s.name == site_name)
            });
            if !in_file && !registered_site {
                match bad_site_rows.get(&(uscc.clone(), site_name.clone())) {
                    Some(r) => cells.bad(
                        outlet::SITE,
                        format!("所属厂区（厂区表第 {r} 行）有误，本行一并不导入"),
                    ),
                    None => cells.bad(
                        outlet::SITE,
                        format!(
                            "厂区「{site_name}」不是该企业的厂区（厂区表和已登记的厂区中都没有）"
                        ),
                    ),
                }
            }
        }
        let (Some(medium), Some(kind), Some(enterprise), true) =
            (medium, kind, enterprise, cells.ok())
        else {
            cells.flush(&mut plan, outlet_sheet);
            continue;
        };
        let input = match (OutletInput {
            site_id: None,
            code,
            name,
            medium,
            kind,
            lon,
            lat,
            online_monitored: online,
        })
        .parse()
        {
            Ok(input) => input,
            Err(e) => {
                cells.model_error(e, outlet_column);
                cells.flush(&mut plan, outlet_sheet);
                continue;
            }
        };
        let existing = enterprise.existing.as_ref().and_then(|e| {
            existing_outlets
                .iter()
                .find(|o| o.enterprise_id == e.id && o.code == input.code)
                .cloned()
        });
        let outcome = match &existing {
            None => Outcome::Create,
            Some(o) => {
                let mut fields = Vec::new();
                let stored_site = o.site_id.and_then(|id| {
                    existing_sites
                        .iter()
                        .find(|s| s.id == id)
                        .map(|s| s.name.clone())
                });
                let pairs: [(bool, usize); 7] = [
                    (o.name != input.name, outlet::NAME),
                    (o.medium != input.medium, outlet::MEDIUM),
                    (o.kind != input.kind, outlet::KIND),
                    (stored_site != site_name, outlet::SITE),
                    (o.online_monitored != input.online_monitored, outlet::ONLINE),
                    (o.lon != input.lon, outlet::LON),
                    (o.lat != input.lat, outlet::LAT),
                ];
                fields.extend(changed_headers(&OUTLETS, &pairs));
                Outcome::of_changes(fields)
            }
        };
        if outcome != Outcome::Unchanged && !may_write {
            cells.bad(outlet::USCC, "您无权新增或修改排放口");
        }
        if cells.ok() {
            plan.outlets.push(OutletRow {
                row: row.row,
                uscc,
                input,
                site: site_name,
                existing,
                outcome,
            });
        }
        cells.flush(&mut plan, outlet_sheet);
    }
    let bad_outlet_rows: HashMap<(String, String), u32> = outlet_sheet
        .rows
        .iter()
        .filter(|r| plan.is_bad(SheetKind::Outlets, r.row))
        .map(|r| {
            (
                (
                    r.cells[outlet::USCC].text().to_ascii_uppercase(),
                    r.cells[outlet::CODE].text().to_ascii_uppercase(),
                ),
                r.row,
            )
        })
        .collect();

    // ---- 监测点位 ----
    let (may_read, may_write) = importer.rights(SheetKind::Points);
    let mut codes = text_at(point_sheet, point::CODE);
    codes.extend(
        device_sheet
            .rows
            .iter()
            .map(|r| r.cells[device::POINT].text())
            .filter(|t| !t.is_empty()),
    );
    codes.sort();
    codes.dedup();
    let registered_points: HashMap<String, MonitoringPoint> = repo::points_by_codes(conn, &codes)
        .await?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    // The natural key of each registered point's outlet.
    let point_outlets: Vec<i64> = registered_points
        .values()
        .filter_map(|p| p.outlet_id)
        .collect();
    let outlet_rows = repo::outlets_by_ids(conn, &point_outlets).await?;
    let owners: Vec<i64> = outlet_rows.iter().map(|o| o.enterprise_id).collect();
    let owner_uscc: HashMap<i64, String> = repo::enterprises_by_ids(conn, &owners)
        .await?
        .into_iter()
        .map(|e| (e.id, e.uscc))
        .collect();
    let outlet_key: HashMap<i64, (String, String)> = outlet_rows
        .iter()
        .map(|o| {
            (
                o.id,
                (
                    owner_uscc
                        .get(&o.enterprise_id)
                        .cloned()
                        .unwrap_or_default(),
                    o.code.clone(),
                ),
            )
        })
        .collect();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for row in &point_sheet.rows {
        let counts = plan.counts.entry(SheetKind::Points).or_default();
        if row.cells[point::CODE].text() == EXAMPLE_POINT
            || row.cells[point::USCC].text().to_ascii_uppercase() == EXAMPLE_USCC
        {
            counts.examples += 1;
            continue;
        }
        counts.rows += 1;
        let mut cells = Cells::new(&POINTS, row);
        if !may_read {
            cells.bad(point::CODE, "您无权查看或修改监测点位，请删除本表中的行");
            cells.flush(&mut plan, point_sheet);
            continue;
        }
        let code = cells.required(point::CODE);
        let name = cells.required(point::NAME);
        let kind = cells.choice(
            point::KIND,
            PointKind::ALL,
            PointKind::label,
            PointKind::as_str,
        );
        if cells.text(point::KIND).is_empty() {
            cells.required(point::KIND);
        }
        let level = cells.choice(
            point::LEVEL,
            PointLevel::ALL,
            PointLevel::label,
            PointLevel::as_str,
        );
        if cells.text(point::LEVEL).is_empty() {
            cells.required(point::LEVEL);
        }
        let street = cells.street(point::STREET, &street_ids);
        let uscc = cells.optional(point::USCC).map(|u| u.to_ascii_uppercase());
        let outlet_code = cells
            .optional(point::OUTLET)
            .map(|c| c.to_ascii_uppercase());
        let owner = cells.required(point::OWNER);
        let water_body = cells.optional(point::WATER_BODY);
        let water_kind = cells.choice(
            point::WATER_KIND,
            WaterKind::ALL,
            WaterKind::label,
            WaterKind::as_str,
        );
        let target_class = match cells.text(point::TARGET_CLASS).as_str() {
            "" => None,
            text => {
                let bare = text.trim_end_matches('类');
                let roman = ["I", "II", "III", "IV", "V"];
                let found = TARGET_CLASSES
                    .iter()
                    .position(|c| *c == bare)
                    .or_else(|| roman.iter().position(|c| c.eq_ignore_ascii_case(bare)))
                    .or_else(|| {
                        bare.parse::<usize>()
                            .ok()
                            .filter(|n| (1..=5).contains(n))
                            .map(|n| n - 1)
                    });
                if found.is_none() {
                    cells.bad(
                        point::TARGET_CLASS,
                        format!("「{text}」应为 Ⅰ–Ⅴ 类（GB 3838-2002）"),
                    );
                }
                found.map(|i| i as i64 + 1)
            }
        };
        let lon = cells.number(point::LON);
        let lat = cells.number(point::LAT);
        let active = cells.yes_no(point::ACTIVE);
        if let Some(first) = seen.get(&code) {
            cells.bad(point::CODE, format!("与第 {first} 行的点位编码重复"));
        } else if !code.is_empty() {
            seen.insert(code.clone(), row.row);
        }
        let mut outlet_ref = None;
        let mut street_id = street;
        if kind == Some(PointKind::Outlet) {
            match (&uscc, &outlet_code) {
                (Some(uscc), Some(outlet_code)) => match enterprise_of.get(uscc) {
                    None => cells.bad(point::USCC, enterprise_missing(uscc)),
                    Some(enterprise) => {
                        let key = (uscc.clone(), outlet_code.clone());
                        let in_file = plan
                            .outlets
                            .iter()
                            .any(|o| &o.uscc == uscc && &o.input.code == outlet_code);
                        let registered_outlet = enterprise.existing.as_ref().is_some_and(|e| {
                            existing_outlets
                                .iter()
                                .any(|o| o.enterprise_id == e.id && &o.code == outlet_code)
                        });
                        if in_file || registered_outlet {
                            outlet_ref = Some(key);
                            street_id = Some(enterprise.street_id);
                        } else if let Some(r) = bad_outlet_rows.get(&key) {
                            cells.bad(
                                point::OUTLET,
                                format!("所属排放口（排放口表第 {r} 行）有误，本行一并不导入"),
                            );
                        } else {
                            cells.bad(
                                point::OUTLET,
                                format!(
                                    "排放口「{outlet_code}」不是{}的排放口（排放口表和已登记的排放口中都没有）",
                                    enterprise.name
                                ),
                            );
                        }
                    }
                },
                (None, _) => cells.bad(
                    point::USCC,
                    "排放口在线监测点位必须填写企业统一社会信用代码",
                ),
                (Some(_), None) => cells.bad(point::OUTLET, "排放口在线监测点位必须填写排放口编号"),
            }
        }
        let (Some(kind), Some(level), true) = (kind, level, cells.ok()) else {
            cells.flush(&mut plan, point_sheet);
            continue;
        };
        let input = PointInput {
            code: code.clone(),
            name,
            kind,
            level,
            street_id,
            lon,
            lat,
            owner,
            water_body,
            water_kind,
            target_class,
            // Stands in for the outlet's id until it is known (it may be created by this import).
            outlet_id: outlet_ref.as_ref().map(|_| 0),
            active,
            version: None,
        };
        let input = match input.parse() {
            Ok(parsed) => parsed,
            Err(e) => {
                cells.model_error(e, point_column);
                cells.flush(&mut plan, point_sheet);
                continue;
            }
        };
        let existing = registered_points.get(&code).cloned();
        if let Some(own) = scope
            && existing
                .as_ref()
                .is_some_and(|p| !importer.sees_point(p) && p.street_id != Some(own))
        {
            cells.bad(point::CODE, "您无权修改该监测点位");
        }
        let outcome = match &existing {
            None => Outcome::Create,
            Some(p) => {
                let stored_outlet = p.outlet_id.and_then(|id| outlet_key.get(&id).cloned());
                let pairs: [(bool, usize); 13] = [
                    (p.name != input.name, point::NAME),
                    (p.kind != input.kind, point::KIND),
                    (p.level != input.level, point::LEVEL),
                    (p.street_id != input.street_id, point::STREET),
                    (stored_outlet != outlet_ref, point::OUTLET),
                    (p.owner != input.owner, point::OWNER),
                    (p.water_body != input.water_body, point::WATER_BODY),
                    (p.water_kind != input.water_kind, point::WATER_KIND),
                    (p.target_class != input.target_class, point::TARGET_CLASS),
                    (p.lon != input.lon, point::LON),
                    (p.lat != input.lat, point::LAT),
                    (active.is_some_and(|a| a != p.active), point::ACTIVE),
                    (false, point::CODE),
                ];
                let fields = changed_headers(&POINTS, &pairs);
                Outcome::of_changes(fields)
            }
        };
        if outcome != Outcome::Unchanged && !may_write {
            cells.bad(
                point::CODE,
                format!(
                    "您无权新增或修改监测点位（由{}维护）",
                    keepers(SheetKind::Points)
                ),
            );
        }
        if cells.ok() {
            plan.points.push(PointRow {
                row: row.row,
                input,
                outlet: outlet_ref,
                existing,
                outcome,
            });
        }
        cells.flush(&mut plan, point_sheet);
    }
    let bad_point_rows: HashMap<String, u32> = point_sheet
        .rows
        .iter()
        .filter(|r| plan.is_bad(SheetKind::Points, r.row))
        .map(|r| (r.cells[point::CODE].text(), r.row))
        .collect();

    // ---- 监测设备 ----
    let (may_read, may_write) = importer.rights(SheetKind::Devices);
    let mns = text_at(device_sheet, device::MN);
    let registered_devices: HashMap<String, Device> = repo::devices_by_mns(conn, &mns)
        .await?
        .into_iter()
        .map(|d| (d.mn.to_ascii_uppercase(), d))
        .collect();
    let device_points: Vec<i64> = registered_devices.values().map(|d| d.point_id).collect();
    let point_code_of: HashMap<i64, String> = repo::points_by_ids(conn, &device_points)
        .await?
        .into_iter()
        .map(|p| (p.id, p.code))
        .collect();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for row in &device_sheet.rows {
        let counts = plan.counts.entry(SheetKind::Devices).or_default();
        if row.cells[device::MN].text().to_ascii_uppercase() == EXAMPLE_MN
            || row.cells[device::POINT].text() == EXAMPLE_POINT
        {
            counts.examples += 1;
            continue;
        }
        counts.rows += 1;
        let mut cells = Cells::new(&DEVICES, row);
        if !may_read {
            cells.bad(device::MN, "您无权查看或修改监测设备，请删除本表中的行");
            cells.flush(&mut plan, device_sheet);
            continue;
        }
        let mn = cells.required(device::MN);
        let point_code = cells.required(device::POINT);
        let protocol = cells.text(device::PROTOCOL);
        let protocol = if protocol.is_empty() {
            cells.required(device::PROTOCOL);
            None
        } else {
            // "HJ 212-2017", "HJ212-2017", "2017": the year names the version.
            let year: String = protocol
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let found = Protocol::ALL.iter().copied().find(|p| p.as_str() == year);
            if found.is_none() {
                cells.bad(
                    device::PROTOCOL,
                    format!("「{protocol}」应为 HJ/T 212-2005、HJ 212-2017 或 HJ 212-2025"),
                );
            }
            found
        };
        let crc = cells.choice(device::CRC, CrcMode::ALL, CrcMode::label, CrcMode::as_str);
        let model = cells.text(device::MODEL);
        let active = cells.yes_no(device::ACTIVE);
        let password = cells.optional(device::PASSWORD);
        let key = mn.to_ascii_uppercase();
        if let Some(first) = seen.get(&key) {
            cells.bad(device::MN, format!("与第 {first} 行的 MN 重复"));
        } else if !key.is_empty() {
            seen.insert(key.clone(), row.row);
        }
        if !point_code.is_empty() {
            let in_file = plan.points.iter().any(|p| p.input.code == point_code);
            let registered_point = registered_points
                .get(&point_code)
                .is_some_and(|p| importer.sees_point(p));
            if !in_file && !registered_point {
                match bad_point_rows.get(&point_code) {
                    Some(r) => cells.bad(
                        device::POINT,
                        format!("所属点位（监测点位表第 {r} 行）有误，本行一并不导入"),
                    ),
                    None => cells.bad(
                        device::POINT,
                        format!("点位「{point_code}」不存在（监测点位表和已登记的点位中都没有）"),
                    ),
                }
            }
        }
        let existing = registered_devices.get(&key).cloned();
        if existing.is_none() && password.is_none() && cells.ok() {
            cells.bad(device::PASSWORD, "新设备必须设置访问密码");
        }
        let (Some(protocol), true) = (protocol, cells.ok()) else {
            cells.flush(&mut plan, device_sheet);
            continue;
        };
        let input = DeviceInput {
            mn: mn.clone(),
            password: password.clone(),
            protocol,
            crc_mode: crc.or(existing.as_ref().map(|d| d.crc_mode)),
            point_id: 0,
            model,
            active: active.or(existing.as_ref().map(|d| d.active)),
            version: None,
        };
        let draft = match input.parse() {
            Ok(draft) => draft,
            Err(e) => {
                cells.model_error(e, device_column);
                cells.flush(&mut plan, device_sheet);
                continue;
            }
        };
        let outcome = match &existing {
            None => Outcome::Create,
            Some(d) => {
                let pairs: [(bool, usize); 6] = [
                    (
                        point_code_of.get(&d.point_id) != Some(&point_code),
                        device::POINT,
                    ),
                    (d.protocol != draft.protocol, device::PROTOCOL),
                    (d.crc_mode != draft.crc_mode, device::CRC),
                    (d.model != draft.model, device::MODEL),
                    (d.active != draft.active, device::ACTIVE),
                    (
                        draft.password.as_ref().is_some_and(|p| *p != d.password),
                        device::PASSWORD,
                    ),
                ];
                let fields = changed_headers(&DEVICES, &pairs);
                Outcome::of_changes(fields)
            }
        };
        if outcome != Outcome::Unchanged && !may_write {
            cells.bad(
                device::MN,
                format!(
                    "您无权新增或修改监测设备（由{}维护）",
                    keepers(SheetKind::Devices)
                ),
            );
        }
        if cells.ok() {
            plan.devices.push(DeviceRow {
                row: row.row,
                input: DeviceInput {
                    mn: draft.mn.clone(),
                    ..input
                },
                point_code,
                existing,
                outcome,
            });
        }
        cells.flush(&mut plan, device_sheet);
    }
    Ok(plan)
}

fn kind_of(sheet: &str) -> SheetKind {
    SHEETS
        .iter()
        .find(|l| l.name == sheet)
        .map_or(SheetKind::Enterprises, |l| l.kind)
}

/// The columns whose values differ between the registered enterprise and the row.
fn enterprise_changes(
    e: &Enterprise,
    d: &EnterpriseDraft,
    status: Option<EnterpriseStatus>,
    new_identifiers: &[IdentifierInput],
) -> Vec<String> {
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let mut stored = e.key_categories.clone();
    stored.sort_by_key(|c| c.as_str());
    stored.dedup();
    let pairs: [(bool, usize); 13] = [
        (e.name != d.name, ent::NAME),
        (e.street_id != d.street_id, ent::STREET),
        (e.address != d.address, ent::ADDRESS),
        (
            e.industry_code != d.industry_code.as_str(),
            ent::INDUSTRY_CODE,
        ),
        (e.industry_name != d.industry_name, ent::INDUSTRY_NAME),
        (status.is_some_and(|s| s != e.status), ent::STATUS),
        (e.key_discharger != d.key_discharger, ent::KEY),
        (stored != d.key_categories, ent::KEY_CATEGORIES),
        (
            blank(&e.legal_representative) != d.legal_representative,
            ent::LEGAL,
        ),
        (blank(&e.contact_phone) != d.contact_phone, ent::PHONE),
        (e.lon != d.lon, ent::LON),
        (e.lat != d.lat, ent::LAT),
        (false, ent::USCC),
    ];
    let mut fields: Vec<String> = pairs
        .iter()
        .filter(|(changed, _)| *changed)
        .map(|(_, c)| header(&ENTERPRISES, *c))
        .collect();
    for (offset, program) in Program::ALL.iter().enumerate() {
        if new_identifiers.iter().any(|i| i.program == *program) {
            fields.push(header(&ENTERPRISES, ent::IDENTIFIERS + offset));
        }
    }
    fields
}

/// Whether only the status and identifiers change (the enterprise's own row is then left as it is).
fn fields_besides_status(fields: &[String]) -> bool {
    fields.iter().any(|f| {
        *f != header(&ENTERPRISES, ent::STATUS)
            && !ENTERPRISES.columns[ent::IDENTIFIERS..]
                .iter()
                .any(|c| c.header == f)
    })
}

/// Writes the plan's good rows, in the order of the sheets, each with its audit entry.
async fn apply(conn: &mut AnyConnection, importer: &Importer<'_>, plan: &Plan) -> AppResult<()> {
    let now = now_ts();
    let actor = importer.name().to_string();
    let mut enterprise_id: HashMap<String, i64> = HashMap::new();
    for r in &plan.enterprises {
        if plan.is_bad(SheetKind::Enterprises, r.row) {
            continue;
        }
        let uscc = r.draft.uscc.as_str().to_string();
        match (&r.outcome, &r.existing) {
            (Outcome::Create, _) => {
                let created = insert_enterprise(conn, &r.draft, false, &actor).await?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("create", "enterprise", created.id)
                        .summary(format!(
                            "表格导入：新增企业 {} ({})",
                            created.name, created.uscc
                        ))
                        .after(&created),
                )
                .await?;
                for identifier in &r.identifiers {
                    add_identifier(conn, importer, &created, identifier).await?;
                }
                enterprise_id.insert(uscc, created.id);
            }
            (Outcome::Update(fields), Some(before)) => {
                let mut version = before.version;
                if fields_besides_status(fields) {
                    require_street_exists(conn, "street_id", r.draft.street_id).await?;
                    if !repo::update_enterprise(conn, before.id, version, &r.draft, now).await? {
                        return Err(super::stale());
                    }
                    version += 1;
                    let after = enterprise_after(conn, before.id).await?;
                    audit::record(
                        &mut *conn,
                        &importer
                            .entry("update", "enterprise", before.id)
                            .summary(format!(
                                "表格导入：修改企业 {}（{}）",
                                after.name,
                                fields.join("、")
                            ))
                            .before(before)
                            .after(&after),
                    )
                    .await?;
                }
                if let Some(status) = r.status
                    && status != before.status
                {
                    let current = enterprise_after(conn, before.id).await?;
                    if !repo::set_enterprise_status(conn, before.id, version, status, now).await? {
                        return Err(super::stale());
                    }
                    let effective = cst_day(now).format("%Y-%m-%d").to_string();
                    repo::insert_status(
                        conn,
                        before.id,
                        status,
                        &effective,
                        STATUS_NOTE,
                        &actor,
                        now,
                    )
                    .await?;
                    let after = enterprise_after(conn, before.id).await?;
                    audit::record(
                        &mut *conn,
                        &importer
                            .entry("status", "enterprise", before.id)
                            .summary(format!(
                                "表格导入：企业 {} 状态 {} → {}（{effective} 起）",
                                after.name,
                                current.status.label(),
                                after.status.label()
                            ))
                            .before(&current)
                            .after(&after),
                    )
                    .await?;
                }
                for identifier in &r.new_identifiers {
                    add_identifier(conn, importer, before, identifier).await?;
                }
                enterprise_id.insert(uscc, before.id);
            }
            (_, Some(existing)) => {
                enterprise_id.insert(uscc, existing.id);
            }
            (_, None) => {}
        }
    }
    // Registered enterprises the rows refer to without a row of their own.
    let referred: Vec<String> = plan
        .sites
        .iter()
        .map(|r| r.uscc.clone())
        .chain(plan.outlets.iter().map(|r| r.uscc.clone()))
        .chain(
            plan.points
                .iter()
                .filter_map(|r| r.outlet.clone().map(|o| o.0)),
        )
        .filter(|u| !enterprise_id.contains_key(u))
        .collect();
    for e in repo::enterprises_by_usccs(conn, &referred).await? {
        enterprise_id.insert(e.uscc.clone(), e.id);
    }

    let id_of = |uscc: &str| -> AppResult<i64> {
        if let Some(id) = enterprise_id.get(uscc) {
            return Ok(*id);
        }
        Err(AppError::Internal(anyhow::anyhow!(
            "workbook: enterprise {uscc} was planned but is not known"
        )))
    };

    let mut site_id: HashMap<(i64, String), i64> = HashMap::new();
    for r in &plan.sites {
        if plan.is_bad(SheetKind::Sites, r.row) {
            continue;
        }
        let owner = id_of(&r.uscc)?;
        let street_id = r.input.street_id.unwrap_or_default();
        match (&r.outcome, &r.existing) {
            (Outcome::Create, _) => {
                require_street_exists(conn, "street_id", street_id).await?;
                let created = repo::insert_site(conn, owner, &r.input, street_id, now).await?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("create", "site", created.id)
                        .summary(format!(
                            "表格导入：企业 {} 新增厂区 {}",
                            r.uscc, created.name
                        ))
                        .after(&created),
                )
                .await?;
                site_id.insert((owner, created.name.clone()), created.id);
            }
            (Outcome::Update(fields), Some(before)) => {
                let after = repo::update_site(conn, before.id, &r.input, street_id)
                    .await?
                    .ok_or_else(|| AppError::not_found("site not found"))?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("update", "site", before.id)
                        .summary(format!(
                            "表格导入：企业 {} 修改厂区 {}（{}）",
                            r.uscc,
                            after.name,
                            fields.join("、")
                        ))
                        .before(before)
                        .after(&after),
                )
                .await?;
            }
            _ => {}
        }
    }
    // Sites by name for the outlets: those just created, then the registered ones.
    let owners: Vec<i64> = enterprise_id.values().copied().collect();
    for s in repo::sites_of_enterprises(conn, &owners).await? {
        site_id.entry((s.enterprise_id, s.name)).or_insert(s.id);
    }

    for r in &plan.outlets {
        if plan.is_bad(SheetKind::Outlets, r.row) {
            continue;
        }
        let owner = id_of(&r.uscc)?;
        let input = OutletInput {
            site_id: match &r.site {
                None => None,
                Some(name) => Some(*site_id.get(&(owner, name.clone())).ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("workbook: site {name} was planned"))
                })?),
            },
            ..r.input.clone()
        };
        match (&r.outcome, &r.existing) {
            (Outcome::Create, _) => {
                let created = insert_outlet(conn, owner, &input).await?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("create", "outlet", created.id)
                        .summary(format!(
                            "表格导入：企业 {} 新增排放口 {}",
                            r.uscc, created.code
                        ))
                        .after(&created),
                )
                .await?;
            }
            (Outcome::Update(fields), Some(before)) => {
                check_site(conn, owner, input.site_id).await?;
                let after = repo::update_outlet(conn, before.id, &input)
                    .await?
                    .ok_or_else(|| AppError::not_found("outlet not found"))?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("update", "outlet", before.id)
                        .summary(format!(
                            "表格导入：企业 {} 修改排放口 {}（{}）",
                            r.uscc,
                            after.code,
                            fields.join("、")
                        ))
                        .before(before)
                        .after(&after),
                )
                .await?;
            }
            _ => {}
        }
    }
    let outlet_id: HashMap<(i64, String), i64> = repo::outlets_of_enterprises(conn, &owners)
        .await?
        .into_iter()
        .map(|o| ((o.enterprise_id, o.code), o.id))
        .collect();

    for r in &plan.points {
        if plan.is_bad(SheetKind::Points, r.row) {
            continue;
        }
        let mut input = r.input.clone();
        input.outlet_id = match &r.outlet {
            None => None,
            Some((uscc, code)) => {
                let owner = id_of(uscc)?;
                Some(*outlet_id.get(&(owner, code.clone())).ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "workbook: outlet {uscc} {code} was planned"
                    ))
                })?)
            }
        };
        match (&r.outcome, &r.existing) {
            (Outcome::Create, _) => {
                let created = insert_point(conn, input, false).await?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("create", "monitoring_point", created.id)
                        .summary(format!(
                            "表格导入：新增监测点位 {} {}",
                            created.code, created.name
                        ))
                        .after(&created),
                )
                .await?;
            }
            (Outcome::Update(fields), Some(before)) => {
                if input.active.is_none() {
                    input.active = Some(before.active);
                }
                let input = resolve_point(conn, input).await?;
                if !repo::update_point(conn, before.id, before.version, &input, now).await? {
                    return Err(super::stale());
                }
                let after = repo::get_point(conn, before.id)
                    .await?
                    .ok_or_else(|| AppError::not_found("monitoring point"))?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("update", "monitoring_point", before.id)
                        .summary(format!(
                            "表格导入：修改监测点位 {} {}（{}）",
                            after.code,
                            after.name,
                            fields.join("、")
                        ))
                        .before(before)
                        .after(&after),
                )
                .await?;
            }
            _ => {}
        }
    }

    let codes: Vec<String> = plan.devices.iter().map(|r| r.point_code.clone()).collect();
    let point_id: HashMap<String, i64> = repo::points_by_codes(conn, &codes)
        .await?
        .into_iter()
        .map(|p| (p.code, p.id))
        .collect();
    for r in &plan.devices {
        if plan.is_bad(SheetKind::Devices, r.row) {
            continue;
        }
        let input = DeviceInput {
            point_id: *point_id.get(&r.point_code).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "workbook: point {} was planned",
                    r.point_code
                ))
            })?,
            ..r.input.clone()
        };
        let draft = input.parse()?;
        match (&r.outcome, &r.existing) {
            (Outcome::Create, _) => {
                let created = insert_device(conn, &draft).await?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("create", "device", created.id)
                        .summary(format!(
                            "表格导入：新增设备 MN {}（点位 {}）",
                            created.mn, created.point_name
                        ))
                        // Passwords stay out of the audit log.
                        .after(&created.clone().masked()),
                )
                .await?;
            }
            (Outcome::Update(fields), Some(before)) => {
                let password = draft
                    .password
                    .clone()
                    .unwrap_or_else(|| before.password.clone());
                let changed =
                    repo::update_device(conn, before.id, before.version, &draft, &password, now)
                        .await?;
                if !changed {
                    return Err(super::stale());
                }
                let after = repo::get_device(conn, before.id)
                    .await?
                    .ok_or_else(|| AppError::not_found("device"))?;
                audit::record(
                    &mut *conn,
                    &importer
                        .entry("update", "device", before.id)
                        .summary(format!(
                            "表格导入：修改设备 MN {}（{}）",
                            after.mn,
                            fields.join("、")
                        ))
                        .before(&before.clone().masked())
                        .after(&after.masked()),
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

async fn enterprise_after(conn: &mut AnyConnection, id: i64) -> AppResult<Enterprise> {
    repo::get_enterprise(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("enterprise"))
}

async fn add_identifier(
    conn: &mut AnyConnection,
    importer: &Importer<'_>,
    enterprise: &Enterprise,
    identifier: &IdentifierInput,
) -> AppResult<()> {
    let created = insert_identifier(conn, enterprise.id, identifier).await?;
    audit::record(
        &mut *conn,
        &importer
            .entry("create", "enterprise_identifier", created.id)
            .summary(format!(
                "表格导入：企业 {} 登记{} {}",
                enterprise.name,
                created.program.label(),
                created.identifier
            ))
            .after(&created),
    )
    .await?;
    Ok(())
}
