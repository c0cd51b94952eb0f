//! First-run setup: the district (idempotent, never changed), and streets and departments from the bureau's
//! workbook or CSV (every bad row and cell named, nothing imported until clean, a second import changes nothing).

use kernel::audit::Actor;
use kernel::{AppError, Db, Role};
use registry::model::*;
use registry::service::org_import::{self, ChangeAction, ImportMode, OrgKind, OrgSource};
use registry::service::setup::{self, DistrictSetup};
use registry::service::{self};
use rust_xlsxwriter::Workbook;

use crate::support::*;

fn dongli() -> DistrictInput {
    DistrictInput {
        code: "120110".into(),
        name: "东丽区".into(),
        city: "天津市".into(),
    }
}

/// A workbook with the template's sheets holding `streets` and `departments` (header in row 1).
pub fn workbook(streets: &[&[&str]], departments: &[&[&str]]) -> Vec<u8> {
    let mut book = Workbook::new();
    for (name, header, rows) in [
        (
            "街道",
            &["名称", "代码", "中心经度", "中心纬度"][..],
            streets,
        ),
        ("部门", &["名称", "类别", "代码", "职责"][..], departments),
    ] {
        let sheet = book.add_worksheet();
        sheet.set_name(name).unwrap();
        for (col, title) in header.iter().enumerate() {
            sheet.write_string(0, col as u16, *title).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (col, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    sheet.write_string(r as u32 + 1, col as u16, *cell).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn xlsx(bytes: Vec<u8>) -> Vec<OrgSource> {
    vec![OrgSource {
        file_name: "街道与部门.xlsx".into(),
        bytes,
        kind: None,
    }]
}

async fn audit_count(db: &Db, entity: &str) -> i64 {
    let filter = kernel::audit::AuditFilter {
        entity: Some(entity.to_string()),
        ..Default::default()
    };
    kernel::audit::search(db, &filter, &kernel::PageQuery::default())
        .await
        .unwrap()
        .total
}

async fn set_up(db: &Db) {
    setup::set_up_district(db, Actor::Cli, &dongli())
        .await
        .unwrap();
}

testkit::db_test!(the_district_is_set_once_and_never_changed, |db| {
    let admin = principal(Role::Admin, None);
    let created = setup::set_up_district(&db, Actor::Principal(&admin), &dongli())
        .await
        .unwrap();
    assert!(matches!(created, DistrictSetup::Created(_)));
    assert!(!created.district().simulated);
    assert_eq!(audit_count(&db, "district").await, 1);

    let again = setup::set_up_district(&db, Actor::Cli, &dongli())
        .await
        .unwrap();
    assert!(matches!(again, DistrictSetup::Unchanged(_)), "{again:?}");
    assert_eq!(
        audit_count(&db, "district").await,
        1,
        "a no-op is not audited"
    );

    for other in [
        DistrictInput {
            code: "120111".into(),
            name: "西青区".into(),
            ..dongli()
        },
        DistrictInput {
            name: "东丽新区".into(),
            ..dongli()
        },
    ] {
        let err = setup::set_up_district(&db, Actor::Cli, &other)
            .await
            .unwrap_err();
        let AppError::Conflict(message) = err else {
            panic!("{err:?}")
        };
        assert!(
            message.contains("本系统已初始化为 天津市东丽区（120110）"),
            "{message}"
        );
        assert!(message.contains("already set up for"), "{message}");
    }
    let district = service::the_district(&db).await.unwrap().unwrap();
    assert_eq!(
        (district.code.as_str(), district.name.as_str()),
        ("120110", "东丽区")
    );
    assert_eq!(audit_count(&db, "district").await, 1);
});

testkit::db_test!(
    only_the_administrator_sets_the_district_and_bad_fields_are_named,
    |db| {
        for role in [Role::Leader, Role::Monitoring, Role::Public] {
            let p = principal(role, None);
            let err = setup::set_up_district(&db, Actor::Principal(&p), &dongli())
                .await
                .unwrap_err();
            assert!(matches!(err, AppError::Forbidden(_)), "{role:?}: {err:?}");
        }
        for (input, field) in [
            (
                DistrictInput {
                    code: "12011".into(),
                    ..dongli()
                },
                "code",
            ),
            (
                DistrictInput {
                    code: "120100".into(),
                    ..dongli()
                },
                "code",
            ),
            (
                DistrictInput {
                    code: "990110".into(),
                    ..dongli()
                },
                "code",
            ),
            (
                DistrictInput {
                    code: "１２０１１０".into(),
                    ..dongli()
                },
                "code",
            ),
            (
                DistrictInput {
                    name: "东丽".into(),
                    ..dongli()
                },
                "name",
            ),
            (
                DistrictInput {
                    name: " ".into(),
                    ..dongli()
                },
                "name",
            ),
            (
                DistrictInput {
                    city: "Tianjin".into(),
                    ..dongli()
                },
                "city",
            ),
        ] {
            match setup::set_up_district(&db, Actor::Cli, &input).await {
                Err(AppError::Validation { field: f, message }) => {
                    assert_eq!(f, field, "{input:?}: {message}");
                    assert!(
                        message
                            .chars()
                            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                        "{message}"
                    );
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
        assert!(service::the_district(&db).await.unwrap().is_none());
    }
);

testkit::db_test!(
    a_workbook_with_bad_rows_names_each_and_imports_nothing,
    |db| {
        set_up(&db).await;
        let bytes = workbook(
            &[
                &["示例：张贵庄街道", "120110001000", "", ""],
                &["张贵庄街道", "120110001000", "117.305", "39.103"],
                &["丰年村街道", "120111002000", "", ""],
                &["", "120110003000", "", ""],
                &["万新街道", "120110004000", "abc", "39.1"],
                &["无瑕街道", "120110005000", "117.3", ""],
                &["新立街道", "120110001000", "", ""],
            ],
            &[
                &["大气环境科", "局内科室", "air", ""],
                &["城管委", "兄弟单位", "", ""],
                &["水务局", "外部门", "水务", ""],
            ],
        );
        let report = org_import::import(&db, Actor::Cli, &xlsx(bytes), ImportMode::Apply)
            .await
            .unwrap();
        assert!(!report.applied);
        let found: Vec<(String, u32, Option<String>)> = report
            .errors
            .iter()
            .map(|e| (e.sheet.clone(), e.row, e.column.clone()))
            .collect();
        let expect = |sheet: &str, row: u32, column: Option<&str>| {
            (sheet.to_string(), row, column.map(str::to_string))
        };
        assert_eq!(
            found,
            [
                expect("街道", 2, None),
                expect("街道", 4, Some("代码")),
                expect("街道", 5, Some("名称")),
                expect("街道", 6, Some("中心经度")),
                expect("街道", 7, Some("中心纬度")),
                expect("部门", 3, Some("类别")),
                expect("部门", 4, Some("代码")),
                expect("街道", 8, Some("代码")),
            ],
            "{:#?}",
            report.errors
        );
        let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert!(messages[0].contains("示例行"), "{messages:?}");
        assert!(messages[1].contains("不属于本区"), "{messages:?}");
        assert!(
            messages[7].contains("与工作表「街道」第 3 行重复"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("工作表「街道」第 4 行「代码」列："),
            "{messages:?}"
        );
        assert!(service::streets(&db).await.unwrap().is_empty());
        assert!(service::departments(&db).await.unwrap().is_empty());
        assert_eq!(audit_count(&db, "street").await, 0);
    }
);

testkit::db_test!(
    a_clean_workbook_imports_once_and_again_changes_nothing,
    |db| {
        set_up(&db).await;
        // A street entered by hand before, with a short code: matched by name, it gets its official code.
        let admin = principal(Role::Admin, None);
        service::create_street(
            &db,
            &admin,
            &StreetInput {
                code: "zgz".into(),
                name: "张贵庄街道".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let bytes = workbook(
            &[
                &["张贵庄街道", "120110001", "117.305", "39.103"],
                &["丰年村街道", "120110002000", "", ""],
            ],
            &[
                &["大气环境科", "局内科室", "air", "大气污染防治"],
                &["城市管理委员会", "外部门", "", ""],
                &["住房和建设委员会", "external", "", "建筑施工扬尘"],
            ],
        );
        let preview = org_import::import(
            &db,
            Actor::Principal(&admin),
            &xlsx(bytes.clone()),
            ImportMode::Preview,
        )
        .await
        .unwrap();
        assert!(preview.is_clean(), "{:?}", preview.errors);
        assert!(!preview.applied);
        assert_eq!(
            service::streets(&db).await.unwrap().len(),
            1,
            "a preview writes nothing"
        );
        assert_eq!((preview.streets.created, preview.streets.updated), (1, 1));
        let update = preview
            .changes
            .iter()
            .find(|c| c.action == ChangeAction::Update)
            .unwrap();
        assert_eq!((update.sheet.as_str(), update.row), ("街道", 2));
        assert!(
            update.detail.contains("代码 zgz → 120110001000"),
            "{}",
            update.detail
        );

        let done = org_import::import(
            &db,
            Actor::Principal(&admin),
            &xlsx(bytes.clone()),
            ImportMode::Apply,
        )
        .await
        .unwrap();
        assert!(done.applied);
        let streets = service::streets(&db).await.unwrap();
        assert_eq!(streets.len(), 2);
        assert_eq!(streets[0].code, "120110001000");
        assert_eq!(streets[0].center_lon, Some(117.305));
        assert_eq!(streets[1].district_code, "120110");
        let departments = service::departments(&db).await.unwrap();
        assert_eq!(departments.len(), 3);
        let urban = departments
            .iter()
            .find(|d| d.name == "城市管理委员会")
            .unwrap();
        assert_eq!(urban.kind, DepartmentKind::External);
        assert_eq!(
            urban.code, "dept-1",
            "a department without a code gets a free one"
        );
        let audited = audit_count(&db, "street").await + audit_count(&db, "department").await;
        assert_eq!(
            audited,
            1 + 2 + 3,
            "the hand-made street, then one entry per imported record"
        );

        let again = org_import::import(&db, Actor::Cli, &xlsx(bytes), ImportMode::Apply)
            .await
            .unwrap();
        assert!(again.is_clean(), "{:?}", again.errors);
        assert!(!again.changes_anything(), "{:?}", again.changes);
        assert_eq!(
            (again.streets.unchanged, again.departments.unchanged),
            (2, 3)
        );
        let audited_again = audit_count(&db, "street").await + audit_count(&db, "department").await;
        assert_eq!(audited_again, audited);
        assert_eq!(service::departments(&db).await.unwrap().len(), 3);
    }
);

testkit::db_test!(csv_files_of_one_kind_import_by_what_was_asked, |db| {
    set_up(&db).await;
    let streets = "名称,代码（12位）\n张贵庄街道,120110001000\n\n华明街道,120110006000\n";
    let (departments, _, _) = encoding_rs::GB18030
        .encode("名称,类型,职责\n监测站,局内科室,空气站\n公安东丽分局,外部门,\n");
    let sources = [
        OrgSource {
            file_name: "streets.csv".into(),
            bytes: streets.as_bytes().to_vec(),
            kind: Some(OrgKind::Streets),
        },
        OrgSource {
            file_name: "部门.csv".into(),
            bytes: departments.into_owned(),
            kind: Some(OrgKind::Departments),
        },
    ];
    let report = org_import::import(&db, Actor::Cli, &sources, ImportMode::Apply)
        .await
        .unwrap();
    assert!(report.applied, "{:?}", report.errors);
    let rows: Vec<(&str, u32)> = report
        .changes
        .iter()
        .map(|c| (c.sheet.as_str(), c.row))
        .collect();
    assert_eq!(
        rows,
        [
            ("streets.csv", 2),
            ("streets.csv", 4),
            ("部门.csv", 2),
            ("部门.csv", 3)
        ]
    );
    assert_eq!(service::streets(&db).await.unwrap().len(), 2);

    let bad = [OrgSource {
        file_name: "streets.csv".into(),
        bytes: "名称,代码,备注\n新立街道,120110007000,x\n"
            .as_bytes()
            .to_vec(),
        kind: Some(OrgKind::Streets),
    }];
    let report = org_import::import(&db, Actor::Cli, &bad, ImportMode::Apply)
        .await
        .unwrap();
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].row, 1);
    assert_eq!(report.errors[0].column.as_deref(), Some("备注"));
});

testkit::db_test!(importing_needs_a_district_and_the_administrator, |db| {
    let sources = xlsx(workbook(&[&["张贵庄街道", "120110001000", "", ""]], &[]));
    let err = org_import::import(&db, Actor::Cli, &sources, ImportMode::Preview)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Validation { ref field, .. } if field == "district"),
        "{err:?}"
    );
    set_up(&db).await;
    let leader = principal(Role::Leader, None);
    let err = org_import::import(&db, Actor::Principal(&leader), &sources, ImportMode::Apply)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
});

testkit::db_test!(
    init_in_one_transaction_leaves_nothing_behind_a_bad_file,
    |db| {
        let bad = xlsx(workbook(&[&["张贵庄街道", "12011000100X", "", ""]], &[]));
        let done = setup::initialise(&db, Actor::Cli, &dongli(), &bad, ImportMode::Apply)
            .await
            .unwrap();
        assert!(!done.import.unwrap().is_clean());
        assert!(
            service::the_district(&db).await.unwrap().is_none(),
            "the district waits for a clean file"
        );

        let good = xlsx(workbook(&[&["张贵庄街道", "120110001000", "", ""]], &[]));
        let preview = setup::initialise(&db, Actor::Cli, &dongli(), &good, ImportMode::Preview)
            .await
            .unwrap();
        assert!(preview.district.created());
        assert!(
            service::the_district(&db).await.unwrap().is_none(),
            "a preview writes nothing"
        );

        let done = setup::initialise(&db, Actor::Cli, &dongli(), &good, ImportMode::Apply)
            .await
            .unwrap();
        assert!(done.district.created());
        assert!(done.import.unwrap().applied);
        assert_eq!(service::streets(&db).await.unwrap().len(), 1);
    }
);

#[test]
fn the_template_has_both_sheets_with_an_example_row_that_is_never_imported() {
    use calamine::Reader;
    let bytes = org_import::template_xlsx().unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["街道", "部门", "说明"]);
    let streets = book.worksheet_range("街道").unwrap();
    let header: Vec<String> = streets
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, ["名称", "代码", "中心经度", "中心纬度"]);
    let departments = book.worksheet_range("部门").unwrap();
    let example: Vec<String> = departments
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(example[0].starts_with("示例"), "{example:?}");
    assert_eq!(example[1], "局内科室");
    let csv = org_import::template_csv(OrgKind::Departments);
    assert!(csv.starts_with("\u{feff}名称,类别,代码,职责\n"), "{csv}");
}
