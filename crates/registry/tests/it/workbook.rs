//! The registry workbook: template, export and import (crates/registry/src/service/workbook.rs), on both
//! backends. Files are written here cell by cell, so every planted problem sits on a known Excel row.

use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use calamine::{Data, Reader, Xlsx};
use kernel::{Db, Role};
use registry::model::*;
use registry::service;
use registry::service::workbook::{self, ImportOptions, Importer};
use registry::workbook::{
    CellProblem, DEVICES, ENTERPRISES, EXAMPLE_USCC, OUTLETS, POINTS, SITES, SheetLayout,
    WorkbookReport,
};
use rust_xlsxwriter::Workbook;

use crate::support::*;

/// The header row as the template writes it (required columns marked `*`).
fn headers(layout: &SheetLayout) -> Vec<String> {
    layout
        .columns
        .iter()
        .map(|c| {
            if c.required {
                format!("{}*", c.header)
            } else {
                c.header.to_string()
            }
        })
        .collect()
}

/// A workbook of the given sheets: each a layout and its data rows (row 2 onwards), cells as text.
fn book(sheets: &[(&SheetLayout, Vec<Vec<String>>)]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    for (layout, rows) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(layout.name).unwrap();
        for (c, h) in headers(layout).iter().enumerate() {
            sheet.write_string(0, c as u16, h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    sheet.write_string(r as u32 + 1, c as u16, cell).unwrap();
                }
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

fn enterprise_row(uscc: &str, name: &str, street: &str) -> Vec<String> {
    row(&[
        uscc,
        name,
        street,
        "天津市东丽区测试路 9 号",
        "C2614",
        "有机化学原料制造",
        "在产",
        "是",
        "大气环境",
        "李四",
        "022-24391111",
        "117.35",
        "39.12",
        "",
        "",
        "",
        "",
    ])
}

fn outlet_row(uscc: &str, code: &str) -> Vec<String> {
    row(&[
        uscc,
        code,
        "锅炉排放口",
        "废气",
        "主要排放口",
        "",
        "是",
        "",
        "",
    ])
}

fn outlet_point_row(code: &str, uscc: &str, outlet: &str) -> Vec<String> {
    row(&[
        code,
        "锅炉在线监测",
        "排放口在线监测",
        "企业自控",
        "",
        uscc,
        outlet,
        "某运维公司",
        "",
        "",
        "",
        "",
        "",
        "是",
    ])
}

fn device_row(mn: &str, point: &str) -> Vec<String> {
    row(&[
        mn,
        point,
        "HJ 212-2017",
        "严格校验",
        "TEST-2",
        "是",
        "pw123456",
    ])
}

async fn import(db: &Db, bytes: &[u8], options: ImportOptions) -> WorkbookReport {
    let admin = principal(Role::Admin, None);
    workbook::import(db, Importer::User(&admin), bytes, options)
        .await
        .unwrap()
}

const PREVIEW: ImportOptions = ImportOptions {
    dry_run: true,
    good_rows_only: false,
};
const IMPORT: ImportOptions = ImportOptions {
    dry_run: false,
    good_rows_only: false,
};
const GOOD_ROWS: ImportOptions = ImportOptions {
    dry_run: false,
    good_rows_only: true,
};

/// (sheet, row, column) of each problem.
fn located(report: &WorkbookReport) -> Vec<(String, u32, Option<String>)> {
    report
        .problems
        .iter()
        .map(|p| (p.sheet.clone(), p.row, p.column.clone()))
        .collect()
}

fn problem<'a>(report: &'a WorkbookReport, sheet: &str, row: u32) -> &'a CellProblem {
    report
        .problems
        .iter()
        .find(|p| p.sheet == sheet && p.row == row)
        .unwrap_or_else(|| panic!("no problem on {sheet} row {row}: {:#?}", report.problems))
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"
    )))
    .fetch_one(db.pool())
    .await
    .unwrap()
}

async fn audit_count(db: &Db, action: &str, entity: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = $1 AND entity = $2 AND summary LIKE '表格导入%'",
    )
    .bind(action)
    .bind(entity)
    .fetch_one(db.pool())
    .await
    .unwrap()
}

testkit::db_test!(the_template_has_every_sheet_and_imports_as_nothing, |db| {
    seed(&db).await;
    let admin = principal(Role::Admin, None);
    let bytes = workbook::template(&db, Importer::User(&admin))
        .await
        .unwrap();
    let mut xlsx: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        xlsx.sheet_names(),
        [
            "说明",
            "选项",
            "企业",
            "厂区",
            "排放口",
            "监测点位",
            "监测设备"
        ]
    );
    let sheet = xlsx.worksheet_range("企业").unwrap();
    let header: Vec<String> = (0..ENTERPRISES.columns.len() as u32)
        .map(|c| sheet.get_value((0, c)).unwrap().to_string())
        .collect();
    assert_eq!(header, headers(&ENTERPRISES));
    assert_eq!(
        sheet.get_value((1, 0)),
        Some(&Data::String(EXAMPLE_USCC.into())),
        "the example row is row 2"
    );
    let lists = xlsx.worksheet_range("选项").unwrap();
    assert_eq!(
        lists.get_value((0, 0)),
        Some(&Data::String("张贵庄街道".into())),
        "the street list holds the district's streets"
    );
    // The template as downloaded: every example row skipped, nothing to do.
    let report = import(&db, &bytes, IMPORT).await;
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 0, 0)
    );
    assert!(
        report.sheets.iter().all(|s| s.examples == 1),
        "{:#?}",
        report.sheets
    );

    // Who may import nothing may not download it either.
    let leader = principal(Role::Leader, None);
    assert!(matches!(
        workbook::template(&db, Importer::User(&leader)).await,
        Err(kernel::AppError::Forbidden(_))
    ));
});

testkit::db_test!(planted_bad_rows_are_named_by_sheet_row_and_column, |db| {
    let f = seed(&db).await;
    let _ = f;
    let good = uscc(501);
    let unknown = uscc(502);
    let mut bad_check = uscc(503);
    // A wrong check character (the 18th).
    let last = if bad_check.ends_with('0') { "1" } else { "0" };
    bad_check.replace_range(17..18, last);
    let bytes = book(&[
        (
            &ENTERPRISES,
            vec![
                enterprise_row(&good, "好企业", "张贵庄街道"), // row 2
                enterprise_row(&bad_check, "校验码错", "张贵庄街道"), // row 3
                enterprise_row(&uscc(504), "街道不存在", "无此街道"), // row 4
                {
                    let mut r = enterprise_row(&uscc(505), "", "张贵庄街道"); // row 5: no name
                    r[1] = String::new();
                    r
                },
                {
                    let mut r = enterprise_row(&uscc(506), "经度错", "张贵庄街道"); // row 6
                    r[11] = "abc".into();
                    r
                },
            ],
        ),
        (
            &OUTLETS,
            vec![
                outlet_row(&good, "DA001"),      // row 2
                outlet_row(&unknown, "DA001"),   // row 3: enterprise nowhere
                outlet_row(&bad_check, "DA002"), // row 4: enterprise of row 3 is bad
            ],
        ),
        (
            &POINTS,
            vec![outlet_point_row("NEW-DA001", &good, "DA001")], // row 2
        ),
        (
            &DEVICES,
            vec![
                device_row("MN0000000001", "NEW-DA001"), // row 2
                device_row("MN0000000001", "NEW-DA001"), // row 3: duplicate MN
                device_row("88888880000001", "1021A"),   // row 4: the registered device, moved
            ],
        ),
    ]);
    let before = (count(&db, "enterprises").await, count(&db, "devices").await);
    let report = import(&db, &bytes, IMPORT).await;
    assert!(!report.applied);
    let s = |t: &str| t.to_string();
    assert_eq!(
        located(&report),
        vec![
            (s("企业"), 3, Some(s("统一社会信用代码"))),
            (s("企业"), 4, Some(s("所属街道"))),
            (s("企业"), 5, Some(s("企业名称"))),
            (s("企业"), 6, Some(s("经度"))),
            (s("排放口"), 3, Some(s("企业统一社会信用代码"))),
            (s("排放口"), 4, Some(s("企业统一社会信用代码"))),
            (s("监测设备"), 3, Some(s("MN"))),
        ]
    );
    assert!(
        problem(&report, "企业", 3).reason.contains("校验码"),
        "{:?}",
        report.problems
    );
    assert_eq!(
        problem(&report, "企业", 3).column_letter.as_deref(),
        Some("A")
    );
    assert!(
        problem(&report, "企业", 4)
            .reason
            .contains("街道「无此街道」不存在")
    );
    assert_eq!(
        problem(&report, "企业", 4).column_letter.as_deref(),
        Some("C")
    );
    assert!(problem(&report, "企业", 5).reason.contains("必填"));
    assert!(
        problem(&report, "企业", 6)
            .reason
            .contains("「abc」不是数字")
    );
    assert_eq!(
        problem(&report, "企业", 6).column_letter.as_deref(),
        Some("L")
    );
    assert!(
        problem(&report, "排放口", 3)
            .reason
            .contains("都没有这个统一社会信用代码")
    );
    assert!(
        problem(&report, "排放口", 4)
            .reason
            .contains("企业表第 3 行"),
        "a row depending on a bad row says which: {:?}",
        problem(&report, "排放口", 4)
    );
    assert!(
        problem(&report, "监测设备", 3)
            .reason
            .contains("与第 2 行的 MN 重复")
    );
    assert_eq!(report.rejected, 7);
    assert_eq!(
        (count(&db, "enterprises").await, count(&db, "devices").await),
        before,
        "nothing imported while a row is bad"
    );

    // The good rows only: the good enterprise, its outlet, point and device, and the moved device.
    let report = import(&db, &bytes, GOOD_ROWS).await;
    assert!(report.applied);
    assert_eq!(
        (report.created, report.updated),
        (4, 1),
        "{:#?}",
        report.changes
    );
    assert_eq!(count(&db, "enterprises").await, before.0 + 1);
    assert_eq!(count(&db, "devices").await, before.1 + 1);
    let point = service::point_by_code(&db, "NEW-DA001")
        .await
        .unwrap()
        .unwrap();
    let enterprise = service::lookup(&db, &principal(Role::Admin, None), "uscc", &good)
        .await
        .unwrap();
    assert_eq!(point.enterprise_id, Some(enterprise.id));
    assert_eq!(
        point.street_id,
        Some(enterprise.street_id),
        "an outlet point lies in its enterprise's street"
    );
    let moved = service::device_by_mn(&db, "88888880000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.point_name, "跃进路");
    assert_eq!(
        moved.password, "pw123456",
        "a password column sets the password"
    );
    assert_eq!(audit_count(&db, "create", "enterprise").await, 1);
    assert_eq!(audit_count(&db, "create", "outlet").await, 1);
    assert_eq!(audit_count(&db, "create", "monitoring_point").await, 1);
    assert_eq!(audit_count(&db, "create", "device").await, 1);
    assert_eq!(audit_count(&db, "update", "device").await, 1);
    let audited: String = sqlx::query_scalar(
        "SELECT COALESCE(before_json, '') FROM audit_log WHERE action = 'update' AND entity = 'device'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(
        audited.contains("1021A")
            || audited.contains("WR-DA001")
            || audited.contains("\"point_id\"")
    );
    assert!(
        !audited.contains("123456"),
        "passwords stay out of the audit log"
    );
});

testkit::db_test!(a_clean_file_imports_once_and_then_changes_nothing, |db| {
    let f = seed(&db).await;
    let _ = f;
    let n = 300u32;
    let enterprises: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut r = enterprise_row(
                &uscc(2000 + i),
                &format!("导入企业{i}有限公司"),
                if i % 2 == 0 {
                    "张贵庄街道"
                } else {
                    "丰年村街道"
                },
            );
            r[13] = format!("{}001P", uscc(2000 + i));
            r
        })
        .collect();
    let sites: Vec<Vec<String>> = (0..n)
        .map(|i| row(&[&uscc(2000 + i), "一厂区", "东丽区某路", "", "", ""]))
        .collect();
    let outlets: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut r = outlet_row(&uscc(2000 + i), "DA001");
            r[5] = "一厂区".into();
            r
        })
        .collect();
    let points: Vec<Vec<String>> = (0..100)
        .map(|i| outlet_point_row(&format!("IMP-{i:03}"), &uscc(2000 + i), "DA001"))
        .chain([row(&[
            "W-01",
            "测试断面",
            "水质断面",
            "区控",
            "丰年村街道",
            "",
            "",
            "监测站",
            "北塘排水河",
            "河流",
            "Ⅲ",
            "117.4",
            "39.1",
            "",
        ])])
        .collect();
    let devices: Vec<Vec<String>> = (0..100)
        .map(|i| device_row(&format!("IMPMN{i:09}"), &format!("IMP-{i:03}")))
        .collect();
    let bytes = book(&[
        (&ENTERPRISES, enterprises.clone()),
        (&SITES, sites),
        (&OUTLETS, outlets),
        (&POINTS, points),
        (&DEVICES, devices),
    ]);
    let preview = import(&db, &bytes, PREVIEW).await;
    assert!(
        preview.problems.is_empty(),
        "{:#?}",
        &preview.problems[..preview.problems.len().min(5)]
    );
    assert!(!preview.applied);
    assert_eq!(
        count(&db, "enterprises").await,
        2,
        "a preview writes nothing"
    );

    let started = Instant::now();
    let report = import(&db, &bytes, IMPORT).await;
    let took = started.elapsed();
    assert!(report.applied);
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (n * 3 + 101 + 100, 0, 0)
    );
    assert!(took.as_secs() < 30, "300 enterprises took {took:?}");
    assert_eq!(count(&db, "enterprises").await, 2 + i64::from(n));
    let section = service::point_by_code(&db, "W-01").await.unwrap().unwrap();
    assert_eq!(section.target_class, Some(3));

    // The same file again: nothing changes.
    let audit_before = count(&db, "audit_log").await;
    let again = import(&db, &bytes, IMPORT).await;
    assert!(again.problems.is_empty(), "{:#?}", again.problems);
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, n * 3 + 101 + 100)
    );
    assert_eq!(
        count(&db, "audit_log").await,
        audit_before + 1,
        "only the import's own entry"
    );

    // One name and one status changed: one update with its audit entry (before and after), one status entry.
    let mut changed = enterprises;
    changed[7][1] = "改名后的企业有限公司".into();
    changed[8][6] = "停产".into();
    let bytes = book(&[(&ENTERPRISES, changed)]);
    let report = import(&db, &bytes, IMPORT).await;
    assert_eq!(
        (report.created, report.updated),
        (0, 2),
        "{:#?}",
        report.changes
    );
    assert_eq!(report.changes[0].row, 9);
    assert_eq!(report.changes[0].fields, vec!["企业名称".to_string()]);
    assert_eq!(report.changes[1].fields, vec!["企业状态".to_string()]);
    let (before, after): (String, String) = sqlx::query_as(
        "SELECT before_json, after_json FROM audit_log WHERE action = 'update' AND entity = 'enterprise' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(before.contains("导入企业7有限公司") && after.contains("改名后的企业有限公司"));
    let stopped = service::lookup(&db, &principal(Role::Admin, None), "uscc", &uscc(2008))
        .await
        .unwrap();
    assert_eq!(stopped.status, EnterpriseStatus::Suspended);
    assert_eq!(audit_count(&db, "status", "enterprise").await, 1);
});

testkit::db_test!(an_export_imports_as_no_change, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    // A water section and a second site, so every sheet and column has something.
    service::create_point(
        &db,
        &admin,
        &PointInput {
            code: "WS-1".into(),
            name: "北塘排水河".into(),
            kind: PointKind::WaterSection,
            level: PointLevel::District,
            street_id: Some(f.street_b),
            lon: Some(117.41),
            lat: Some(39.13),
            owner: "东丽区生态环境局".into(),
            water_body: Some("北塘排水河".into()),
            water_kind: Some(WaterKind::River),
            target_class: Some(4),
            outlet_id: None,
            active: Some(false),
            version: None,
        },
    )
    .await
    .unwrap();
    let bytes = workbook::export(&db, Importer::User(&admin)).await.unwrap();
    let report = import(&db, &bytes, IMPORT).await;
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(
        (report.created, report.updated),
        (0, 0),
        "{:#?}",
        report.changes
    );
    // 2 enterprises, 1 site, 1 outlet, 3 points, 1 device.
    assert_eq!(report.unchanged, 8, "{:#?}", report.sheets);

    // A street officer's export holds their street only, and imports as no change too.
    let officer = principal(Role::StreetOfficer, Some(f.street_a));
    let bytes = workbook::export(&db, Importer::User(&officer))
        .await
        .unwrap();
    let mut xlsx: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let enterprises = xlsx.worksheet_range("企业").unwrap();
    assert_eq!(
        enterprises.height(),
        2,
        "the header and 张贵庄's one enterprise"
    );
    let devices = xlsx.worksheet_range("监测设备").unwrap();
    assert!(
        devices.height() <= 1,
        "a street officer may not read devices"
    );
    let report = workbook::import(&db, Importer::User(&officer), &bytes, IMPORT)
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!((report.created, report.updated), (0, 0));
});

testkit::db_test!(each_sheet_needs_its_own_rights, |db| {
    let f = seed(&db).await;
    let bytes = book(&[
        (
            &ENTERPRISES,
            vec![enterprise_row(&uscc(601), "执法新增", "张贵庄街道")],
        ),
        (
            &POINTS,
            vec![row(&[
                "AIR-9",
                "新微站",
                "空气站",
                "微站",
                "张贵庄街道",
                "",
                "",
                "运维公司",
                "",
                "",
                "",
                "117.3",
                "39.1",
                "是",
            ])],
        ),
    ]);
    // Enforcement keeps enterprises, not points.
    let enforcer = principal(Role::Enforcement, None);
    let report = workbook::import(&db, Importer::User(&enforcer), &bytes, PREVIEW)
        .await
        .unwrap();
    assert_eq!(
        located(&report),
        vec![("监测点位".to_string(), 2, Some("点位编码".to_string()))]
    );
    assert!(problem(&report, "监测点位", 2).reason.contains("无权"));
    assert_eq!(report.created, 1);
    // Monitoring keeps points, not enterprises.
    let monitor = principal(Role::Monitoring, None);
    let report = workbook::import(&db, Importer::User(&monitor), &bytes, PREVIEW)
        .await
        .unwrap();
    assert_eq!(
        located(&report),
        vec![("企业".to_string(), 2, Some("统一社会信用代码".to_string()))]
    );
    // A street officer registers enterprises of their own street only.
    let officer = principal(Role::StreetOfficer, Some(f.street_b));
    let report = workbook::import(&db, Importer::User(&officer), &bytes, PREVIEW)
        .await
        .unwrap();
    assert!(
        located(&report).contains(&("企业".to_string(), 2, Some("所属街道".to_string()))),
        "{:#?}",
        report.problems
    );
    // Leaders read; they import nothing.
    let leader = principal(Role::Leader, None);
    assert!(matches!(
        workbook::import(&db, Importer::User(&leader), &bytes, PREVIEW).await,
        Err(kernel::AppError::Forbidden(_))
    ));
});

testkit::db_test!(the_api_and_the_page_take_the_workbook, |db| {
    seed(&db).await;
    let admin = principal(Role::Admin, None);
    // Not a workbook: a problem naming the file.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/registry/workbook?dry_run=true")
        .header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(Body::from("uscc,name\n1,2\n"))
        .unwrap();
    let reply = send(app(&db, Some(admin.clone())), request).await;
    reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("file"));

    let bytes = book(&[(
        &ENTERPRISES,
        vec![
            enterprise_row(&uscc(701), "接口企业", "张贵庄街道"),
            enterprise_row(&uscc(702), "接口企业二", "无此街道"),
        ],
    )]);
    let post = |who: kernel::Principal, uri: &str, bytes: Vec<u8>| {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(Body::from(bytes))
            .unwrap();
        send(app(&db, Some(who)), request)
    };
    let reply = post(
        admin.clone(),
        "/api/v1/registry/workbook?dry_run=true",
        bytes.clone(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let json = reply.json();
    assert_eq!(json["applied"], false);
    assert_eq!(json["problems"][0]["row"], 3);
    assert_eq!(json["problems"][0]["column"], "所属街道");
    assert_eq!(json["problems"][0]["column_letter"], "C");
    let reply = post(
        admin.clone(),
        "/api/v1/registry/workbook?good_rows_only=true",
        bytes.clone(),
    )
    .await;
    assert_eq!(reply.json()["applied"], true);
    assert_eq!(reply.json()["created"], 1);
    let leader = principal(Role::Leader, None);
    post(leader.clone(), "/api/v1/registry/workbook", bytes.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN, None);

    let template = get(&db, &admin, "/api/v1/registry/workbook/template").await;
    assert_eq!(template.status, StatusCode::OK);
    assert_eq!(
        template.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let export = get(&db, &leader, "/api/v1/registry/workbook").await;
    assert_eq!(export.status, StatusCode::OK, "leaders read the registry");
    get(
        &db,
        &principal(Role::Public, None),
        "/api/v1/registry/workbook",
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, None);

    // The page: an upload shows the preview with the bad row and cell.
    let officer = session(Role::Enforcement, None);
    let page = get(&db, &officer, "/registry/import").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("下载模板"));
    let boundary = "qsboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"登记表.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&book(&[(
        &ENTERPRISES,
        vec![enterprise_row(&uscc(703), "页面企业", "无此街道")],
    )]));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method(Method::POST)
        .uri("/registry/import?_csrf=csrf-test-token")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let page = send(app(&db, Some(officer.clone())), request).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("第 2 行") && page.text.contains("所属街道"),
        "{}",
        page.text
    );
    assert!(page.text.contains("无此街道"));
    // A file that is not a workbook: a Chinese message on the page, never JSON.
    let page = post_form(
        &db,
        &officer,
        "/registry/import/confirm?_csrf=csrf-test-token",
        &[
            ("workbook", "bm90IGEgd29ya2Jvb2s="),
            ("good_rows_only", "0"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text.contains("不是 XLSX 工作簿"), "{}", page.text);
    // The petition office reads enterprises: the page offers the export, not the upload.
    let page = get(&db, &session(Role::Petition, None), "/registry/import").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("只能导出") && !page.text.contains("上传并预览"));
    // The public may do neither: a Chinese 403 page, and the same for an upload.
    let page = get(&db, &session(Role::Public, None), "/registry/import").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.content_type.starts_with("text/html"));
    let page = post_form(
        &db,
        &session(Role::Leader, None),
        "/registry/import/confirm?_csrf=csrf-test-token",
        &[("workbook", "")],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.content_type.starts_with("text/html") && page.text.contains("不能导入"));
});
