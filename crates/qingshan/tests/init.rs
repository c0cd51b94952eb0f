//! `qingshan init` as a bureau's IT person runs it: a fresh data directory set up for its district (and, from
//! files, its streets and departments, with the first administrator); the same again changes nothing; another
//! district is refused with a non-zero exit and nothing changed; a streets file with bad rows names each row
//! and imports nothing.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use kernel::Db;

fn qingshan(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .arg("init")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("QINGSHAN_DATABASE_URL")
        .env_remove("QINGSHAN_PASSWORD")
        .env("QINGSHAN_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qingshan init");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const DONGLI: [&str; 6] = [
    "--district-code",
    "120110",
    "--district-name",
    "东丽区",
    "--city",
    "天津市",
];

async fn open(data_dir: &Path) -> Db {
    Db::connect(&kernel::db::sqlite_url_for_dir(data_dir))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fresh_directory_is_set_up_once_and_never_for_another_district() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let first = qingshan(&data, &DONGLI, "");
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("district set up: 天津市东丽区 (120110)"),
        "{}",
        text(&first)
    );

    let again = qingshan(&data, &DONGLI, "");
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("nothing changed"), "{}", text(&again));

    let other = qingshan(
        &data,
        &[
            "--district-code",
            "120111",
            "--district-name",
            "西青区",
            "--city",
            "天津市",
        ],
        "",
    );
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    let message = String::from_utf8_lossy(&other.stderr);
    assert!(
        message.contains("本系统已初始化为 天津市东丽区（120110）"),
        "{message}"
    );
    assert!(
        message.contains("already set up for 天津市 东丽区 (120110)"),
        "{message}"
    );

    let bad = qingshan(
        &data,
        &[
            "--district-code",
            "1201",
            "--district-name",
            "东丽区",
            "--city",
            "天津市",
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--district-code"),
        "{}",
        text(&bad)
    );

    let db = open(&data).await;
    let district = registry::service::the_district(&db).await.unwrap().unwrap();
    assert_eq!(
        (district.code.as_str(), district.name.as_str()),
        ("120110", "东丽区")
    );
    let filter = kernel::audit::AuditFilter {
        entity: Some("district".into()),
        ..Default::default()
    };
    let audit = kernel::audit::search(&db, &filter, &kernel::PageQuery::default())
        .await
        .unwrap();
    assert_eq!(audit.total, 1, "set once, by the command line");
    assert_eq!(audit.items[0].actor, "cli");
}

#[tokio::test]
async fn bad_rows_in_the_streets_file_are_named_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let streets = dir.path().join("streets.csv");
    std::fs::write(
        &streets,
        "名称,代码,中心经度,中心纬度\n张贵庄街道,120110001000,117.305,39.103\n\n华明街道,1201100060,,\n万新街道,120110003000,117.3,\n",
    )
    .unwrap();
    let mut args = DONGLI.to_vec();
    args.extend(["--streets", streets.to_str().unwrap()]);
    let refused = qingshan(&data, &args, "");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("工作表「streets.csv」第 4 行「代码」列"),
        "{message}"
    );
    assert!(
        message.contains("工作表「streets.csv」第 5 行「中心纬度」列"),
        "{message}"
    );
    assert!(message.contains("nothing was imported"), "{message}");

    let db = open(&data).await;
    assert!(registry::service::streets(&db).await.unwrap().is_empty());
    assert!(
        registry::service::the_district(&db)
            .await
            .unwrap()
            .is_none(),
        "the district waits for a clean file"
    );
    db.close().await;

    std::fs::write(
        &streets,
        "名称,代码,中心经度,中心纬度\n张贵庄街道,120110001000,117.305,39.103\n华明街道,120110006000,,\n",
    )
    .unwrap();
    let departments = dir.path().join("部门.csv");
    std::fs::write(
        &departments,
        "名称,类别,代码,职责\n监测站,局内科室,monitoring,空气站\n",
    )
    .unwrap();
    let mut args = DONGLI.to_vec();
    args.extend([
        "--streets",
        streets.to_str().unwrap(),
        "--departments",
        departments.to_str().unwrap(),
        "--admin",
        "wang",
        "--admin-name",
        "王工",
        "--password-stdin",
    ]);
    let done = qingshan(&data, &args, "Dongli-Setup-2026\n");
    assert!(done.status.success(), "{}", text(&done));
    assert!(text(&done).contains("streets +2 ~0 =0"), "{}", text(&done));
    assert!(
        text(&done).contains("created the administrator wang"),
        "{}",
        text(&done)
    );

    let again = qingshan(&data, &args, "");
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("streets +0 ~0 =2"),
        "{}",
        text(&again)
    );
    assert!(
        text(&again).contains("administrator wang exists"),
        "{}",
        text(&again)
    );

    let db = open(&data).await;
    assert_eq!(registry::service::streets(&db).await.unwrap().len(), 2);
    assert_eq!(registry::service::departments(&db).await.unwrap().len(), 1);
    let admin = accounts::repo::user_by_username(&db, "wang")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, kernel::Role::Admin);
    assert_eq!(admin.display_name, "王工");
}
