//! Over HTTP: who reads and who changes, bad months, the pages, the XLSX (re-read with calamine, numbers equal
//! to the page's and the API's) and the PDF (parsed with lopdf, holding the month's figures).

use axum::body::{Body, to_bytes};
use calamine::{Data, Reader};
use http::{Request, StatusCode, header};
use kernel::Role;
use tower::ServiceExt;
use webtest::TestApp;

use crate::fixture;

const MARCH: &str = "month=2025-03";

/// The raw reply (bytes, not text: XLSX and PDF are binary).
pub async fn raw(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    let api_path = path.split('?').next().unwrap_or(path);
    webtest::contract::assert_response("GET", api_path, status.as_u16(), &headers, &bytes);
    (status, content_type, bytes.to_vec())
}

testkit::db_test!(roles_scope_and_bad_months_over_http, |db| {
    let app = TestApp::new(db.clone()).await;
    let f = fixture::build(&db).await;

    // The public sees no bulletin; every bureau role reads the whole table, the street officer included
    // (rankings are published among the streets).
    let public = app.token(Role::Public).await;
    let reply = app
        .get_with_token(&format!("/api/v1/rankings?{MARCH}"), &public)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(
        app.get_with_token(&format!("/rankings?{MARCH}"), &public)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for role in [
        Role::Admin,
        Role::Leader,
        Role::Monitoring,
        Role::Enforcement,
        Role::SolidWaste,
        Role::Petition,
        Role::StreetOfficer,
    ] {
        let token = app.token(role).await;
        let reply = app
            .get_with_token(&format!("/api/v1/rankings?{MARCH}"), &token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{role:?}: {}", reply.body);
        let json = reply.json();
        // Five constructed streets and the test app's two.
        assert_eq!(json["air"].as_array().unwrap().len(), 7, "{role:?}");
        assert_eq!(json["air"][0]["street_id"], f.a);
        assert_eq!(json["air"][0]["rank"], 1);
    }

    // Bad months are 422 problems naming the field (API) or an HTML error page (pages).
    let leader = app.token(Role::Leader).await;
    for bad in ["2025-13", "2025-3", "march", "2025-03-01", "2199-01"] {
        let reply = app
            .get_with_token(&format!("/api/v1/rankings?month={bad}"), &leader)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
        assert!(reply.content_type().starts_with("application/problem+json"));
        assert_eq!(reply.json()["field"], "month", "{bad}");
        let page = app
            .get_with_token(&format!("/rankings/bulletin?month={bad}"), &leader)
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(page.content_type().starts_with("text/html"));
        for download in ["bulletin.xlsx", "bulletin.pdf"] {
            let (status, _, _) = raw(
                &app,
                &format!("/api/v1/rankings/{download}?month={bad}"),
                &leader,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{download} {bad}");
        }
    }
    // A month that has not begun yet.
    let reply = app
        .get_with_token("/api/v1/rankings?month=2100-01", &leader)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Settings: the monitoring department changes them, the others read them.
    let body = r#"{"air_preset":"composite_2024","water_preset":"cwqi_status"}"#;
    for role in [Role::Leader, Role::StreetOfficer, Role::Enforcement] {
        let token = app.token(role).await;
        let reply = app
            .json_with_token("PUT", "/api/v1/rankings/settings", &token, body)
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role:?}");
        let reply = app
            .get_with_token("/api/v1/rankings/settings", &token)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["air_preset"], "tianjin_2021");
    }
    let monitor = app.token(Role::Monitoring).await;
    let reply = app
        .json_with_token(
            "PUT",
            "/api/v1/rankings/settings",
            &monitor,
            r#"{"air_preset":"custom","air_weights":{"composite":60,"composite_change":0,"pm25":0,"pm25_change":0,"good_ratio":0},"water_preset":"cwqi_status"}"#,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["field"], "air_weights");
    let reply = app
        .json_with_token("PUT", "/api/v1/rankings/settings", &monitor, body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["air_weights"]["composite"], 100);
    let reply = app
        .get_with_token(&format!("/api/v1/rankings?{MARCH}"), &leader)
        .await;
    assert_eq!(reply.json()["air_method"]["preset"], "composite_2024");
    // The settings page shows the choice to everyone who reads; only the monitoring department gets the button.
    let page = app.get_with_token("/rankings/settings", &leader).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("仅监测科可修改"));
    let page = app.get_with_token("/rankings/settings", &monitor).await;
    assert!(page.body.contains("保存"));
});

fn float(cell: &Data) -> Option<f64> {
    match cell {
        Data::Float(v) => Some(*v),
        Data::Int(v) => Some(*v as f64),
        _ => None,
    }
}

/// The text a PDF shows, as a viewer extracts it: every string of the content streams mapped to Unicode through
/// its font's ToUnicode CMap (the only way back from the embedded font's glyph ids). Also checks that the font
/// is embedded: a FontFile2 program that inflates to a TrueType font.
pub(crate) fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("the PDF parses");
    let mut text = String::new();
    for (_, page) in doc.get_pages() {
        let fonts = doc.get_page_fonts(page).unwrap();
        let mut maps = std::collections::HashMap::new();
        for (name, font) in &fonts {
            assert_eq!(font.get(b"Subtype").unwrap().as_name().unwrap(), b"Type0");
            assert_eq!(
                font.get(b"Encoding").unwrap().as_name().unwrap(),
                b"Identity-H"
            );
            let descendant = doc
                .get_object(
                    font.get(b"DescendantFonts").unwrap().as_array().unwrap()[0]
                        .as_reference()
                        .unwrap(),
                )
                .unwrap()
                .as_dict()
                .unwrap();
            let descriptor = doc
                .get_object(
                    descendant
                        .get(b"FontDescriptor")
                        .unwrap()
                        .as_reference()
                        .unwrap(),
                )
                .unwrap()
                .as_dict()
                .unwrap();
            let program = doc
                .get_object(
                    descriptor
                        .get(b"FontFile2")
                        .unwrap()
                        .as_reference()
                        .unwrap(),
                )
                .unwrap()
                .as_stream()
                .unwrap();
            let sfnt = program.decompressed_content().unwrap();
            assert_eq!(
                &sfnt[..4],
                &[0, 1, 0, 0],
                "an embedded TrueType font program"
            );
            let cmap = doc
                .get_object(font.get(b"ToUnicode").unwrap().as_reference().unwrap())
                .unwrap()
                .as_stream()
                .unwrap()
                .content
                .clone();
            maps.insert(name.clone(), to_unicode(&String::from_utf8(cmap).unwrap()));
        }
        let content = doc.get_page_content(page).unwrap();
        let content = lopdf::content::Content::decode(&content).unwrap();
        let mut font = Vec::new();
        for op in content.operations {
            match op.operator.as_str() {
                "Tf" => font = op.operands[0].as_name().unwrap().to_vec(),
                "Tj" => {
                    let map = &maps[&font];
                    for code in op.operands[0].as_str().unwrap().chunks(2) {
                        let code = u16::from_be_bytes([code[0], code[1]]);
                        text.push_str(map.get(&code).expect("every glyph maps to Unicode"));
                    }
                }
                "ET" => text.push('\n'),
                _ => {}
            }
        }
    }
    text
}

/// The `<code> <utf-16>` pairs of a ToUnicode CMap's bfchar blocks.
fn to_unicode(cmap: &str) -> std::collections::HashMap<u16, String> {
    let mut out = std::collections::HashMap::new();
    for block in cmap.split("beginbfchar").skip(1) {
        let block = block.split("endbfchar").next().unwrap();
        for line in block.lines().filter(|l| l.starts_with('<')) {
            let hex: Vec<&str> = line
                .split(['<', '>', ' '])
                .filter(|s| !s.is_empty())
                .collect();
            let code = u16::from_str_radix(hex[0], 16).unwrap();
            let units: Vec<u16> = (0..hex[1].len() / 4)
                .map(|i| u16::from_str_radix(&hex[1][i * 4..i * 4 + 4], 16).unwrap())
                .collect();
            out.insert(code, String::from_utf16(&units).unwrap());
        }
    }
    out
}

testkit::db_test!(
    the_bulletin_as_page_xlsx_and_pdf_shows_the_same_numbers,
    |db| {
        let app = TestApp::new(db.clone()).await;
        fixture::build(&db).await;
        let token = app.token(Role::StreetOfficer).await;
        let json = app
            .get_with_token(&format!("/api/v1/rankings/bulletin?{MARCH}"), &token)
            .await
            .json();
        let page = app
            .get_with_token(&format!("/rankings/bulletin?{MARCH}"), &token)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("东丽区2025年3月街道环境质量排名通报"));
        assert!(page.body.contains("@page { size: A4"));
        assert!(page.body.contains("街道内无空气微站"));
        let ranking_page = app
            .get_with_token(&format!("/rankings?{MARCH}"), &token)
            .await;
        assert_eq!(ranking_page.status, StatusCode::OK);
        assert!(ranking_page.body.contains("echarts.min.js"));

        let (status, content_type, xlsx) =
            raw(&app, &format!("/rankings/bulletin.xlsx?{MARCH}"), &token).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.contains("spreadsheetml"));
        // Every sheet keeps its title and header in view (frozen under row 2) and has fitted column widths:
        // the street column fits "东丽湖街道"-long names (a Chinese character counts two), not a fixed 14.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx.clone())).unwrap();
        for i in 1..=bulletins::export::SHEETS.len() {
            let mut xml = String::new();
            std::io::Read::read_to_string(
                &mut zip.by_name(&format!("xl/worksheets/sheet{i}.xml")).unwrap(),
                &mut xml,
            )
            .unwrap();
            assert!(
                xml.contains(
                    r#"<pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" state="frozen"/>"#
                ),
                "sheet {i}: {xml}"
            );
            assert!(
                xml.contains("<col ") && xml.contains(" width="),
                "sheet {i}"
            );
            assert!(
                xml.contains("<mergeCell ref=\"A1:"),
                "sheet {i}: the title spans the table"
            );
        }
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        assert_eq!(
            book.sheet_names(),
            bulletins::export::SHEETS.map(String::from).to_vec()
        );
        let air = book.worksheet_range("空气排名").unwrap();
        let all_rows: Vec<&[Data]> = air.rows().collect();
        // The title row names the bulletin, the sheet and the period; the header row is under it.
        assert_eq!(
            all_rows[0][0].to_string(),
            "东丽区2025年3月街道环境质量排名通报：空气排名（统计时段 2025-03-01 至 2025-03-31）"
        );
        let rows = &all_rows[1..];
        assert_eq!(rows[0][0].to_string(), "排名");
        assert_eq!(rows[0][7].to_string(), "综合指数");
        let air_json = json["ranking"]["air"].as_array().unwrap();
        assert_eq!(rows.len(), air_json.len() + 1);
        for (row, a) in rows[1..].iter().zip(air_json) {
            assert_eq!(row[1].to_string(), a["street"].as_str().unwrap());
            assert_eq!(float(&row[0]), a["rank"].as_f64());
            assert_eq!(float(&row[4]), a["now"]["pm25"].as_f64());
            assert_eq!(float(&row[7]), a["now"]["composite"].as_f64());
            assert_eq!(float(&row[9]), a["composite_change"].as_f64());
            assert_eq!(float(&row[11]), a["now"]["good_ratio"].as_f64());
            assert_eq!(float(&row[12]), a["score"].as_f64());
            // The page shows the same numbers, formatted.
            if let Some(composite) = float(&row[7]) {
                assert!(
                    page.body.contains(&format!("<td>{composite:.2}</td>")),
                    "{composite}"
                );
            }
            if a["rank"].is_null() {
                assert!(page.body.contains(a["unranked_reason"].as_str().unwrap()));
            }
        }
        let water = book.worksheet_range("水质排名").unwrap();
        let water_rows: Vec<&[Data]> = water.rows().skip(1).collect();
        let water_json = json["ranking"]["water"].as_array().unwrap();
        for (row, w) in water_rows[1..].iter().zip(water_json) {
            assert_eq!(float(&row[0]), w["rank"].as_f64());
            assert_eq!(float(&row[5]), w["now"]["compliance"].as_f64());
            assert_eq!(float(&row[6]), w["now"]["cwqi"].as_f64());
            assert_eq!(float(&row[8]), w["cwqi_change"].as_f64());
        }
        assert_eq!(float(&water_rows[1][6]), Some(3.25));
        let district = book.worksheet_range("区域概况").unwrap();
        let value = |label: &str| {
            district
                .rows()
                .find(|r| matches!(&r[0], Data::String(s) if s == label))
                .map(|r| (float(&r[1]), float(&r[2])))
                .unwrap()
        };
        assert_eq!(value("PM2.5（μg/m³）"), (Some(30.0), Some(40.0)));
        assert_eq!(value("综合指数"), (Some(3.51), Some(3.79)));
        assert_eq!(value("二级（良）天数"), (Some(31.0), Some(31.0)));
        assert_eq!(value("III类断面数").0, Some(1.0));
        assert!(
            page.body
                .contains("<td>3.51</td><td>3.79</td><td>-7.4%</td>")
        );

        let (status, content_type, pdf) = raw(
            &app,
            &format!("/api/v1/rankings/bulletin.pdf?{MARCH}"),
            &token,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/pdf");
        let text = pdf_text(&pdf);
        for expected in [
            "东丽区2025年3月街道环境质量排名通报",
            "2025-03-01",
            "甲街道",
            "3.51",
            "3.79",
            "-7.4%",
            "3.25",
            "-13.3%",
            "丙街道 不排名：街道内无空气微站",
            "空气最好：甲街道、戊街道（第 1 名）",
            "年度目标完成情况",
        ] {
            assert!(text.contains(expected), "PDF lacks {expected:?}:\n{text}");
        }
    }
);

testkit::db_test!(the_settings_form_saves_and_names_what_is_wrong, |db| {
    let app = TestApp::new(db).await;
    let post = |role: Role, body: &'static str| {
        let app = &app;
        async move {
            let session = app.session(role).await;
            app.send(
                Request::post("/rankings/settings")
                    .header(header::COOKIE, session.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("{body}&_csrf={}", session.csrf)))
                    .unwrap(),
            )
            .await
        }
    };
    let custom = "air_preset=custom&composite=40&composite_change=0&pm25=30&pm25_change=0&good_ratio=30\
                  &water_preset=custom&cwqi=50&cwqi_change=0&compliance=50";
    let reply = post(Role::Monitoring, custom).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("已保存"));
    let leader = app.token(Role::Leader).await;
    let saved = app
        .get_with_token("/api/v1/rankings/settings", &leader)
        .await
        .json();
    assert_eq!(saved["air_weights"]["composite"], 40);
    assert_eq!(saved["water_weights"]["compliance"], 50);
    // Weights that do not sum to 100, or are not numbers: the page again, 422, naming the field.
    let reply = post(
        Role::Monitoring,
        "air_preset=custom&composite=40&water_preset=cwqi_status",
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("air_weights"), "{}", reply.body);
    let reply = post(
        Role::Monitoring,
        "air_preset=custom&composite=abc&water_preset=cwqi_status",
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("composite"), "{}", reply.body);
    // Other roles may not change it.
    let reply = post(Role::Leader, custom).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let saved_after = app
        .get_with_token("/api/v1/rankings/settings", &leader)
        .await
        .json();
    assert_eq!(saved_after, saved);
});
