//! HJ 212-2025 onboarding over real TCP and the whole application: a data logger without an MN reports its
//! hardware ids (CN 1001), is answered (9013) and quarantined for review; an operator registers a device from
//! the entry; the gateway sends the logger its MN (CN 1002) on the connection it waits on, or at its next
//! 1001; the first packet under the new MN confirms the assignment. On both backends.

use std::time::Duration;

use hj212::Packet;
use kernel::Role;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use webtest::TestApp;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

const LOGGER: &str = "6970000000001ABCDEFG1234";

/// A 1001 (HJ 212-2025 Appendix C) as caoyiliang/HJ212 builds it, with `MN=` empty.
pub(crate) fn hardware_ids(logger: &str, qn: &str) -> Vec<u8> {
    let header = hj212::encode::Header {
        qn: Some(qn),
        st: "32",
        cn: 1001,
        pw: "123456",
        mn: "",
        flag: Some(9),
        subpacket: None,
        backfill: false,
    };
    hj212::encode::encode(
        &header,
        &format!(
            "i23005-Info={logger};i23006-Info=A800200A8C6D;i23007-Info=E86A643C7BBC;i23008-Info=A763742C1AE1"
        ),
    )
    .unwrap()
}

fn heartbeat_without_mn(qn: &str) -> Vec<u8> {
    let header = hj212::encode::Header {
        qn: Some(qn),
        st: "32",
        cn: 9015,
        pw: "123456",
        mn: "",
        flag: Some(9),
        subpacket: None,
        backfill: false,
    };
    hj212::encode::encode(&header, "").unwrap()
}

fn parse(line: &str) -> (u16, String, String) {
    let wire = format!("{line}\r\n");
    let frame = hj212::frame::decode_all(wire.as_bytes()).remove(0).unwrap();
    assert_eq!(frame.crc_verdict(), hj212::CrcVerdict::Ok, "{line}");
    let packet = Packet::parse(frame.segment()).unwrap();
    let logger = packet
        .cp
        .items
        .iter()
        .find(|i| i.name == "i23005-Info")
        .map(|i| i.value.to_string())
        .unwrap_or_default();
    (packet.cn, packet.mn.unwrap_or("").to_string(), logger)
}

async fn assignment(app: &TestApp, token: &str) -> serde_json::Value {
    let reply = app
        .get_with_token("/api/v1/ingest/mn-assignments", token)
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.body);
    reply.json()[0].clone()
}

testkit::db_test!(a_logger_without_mn_is_given_one_with_1002, |db| {
    let app = TestApp::new(db.clone()).await;
    let (_, point_id) = register(&db, "QSOTHER01", "123456", "2025", "strict").await;
    let config = ingest::Config {
        device_refresh: Duration::from_secs(1),
        ..ingest::Config::default()
    };
    let gateway = start(&db, config.clone()).await;

    // The logger connects without an MN: heartbeat and 1001 are answered; the 1001 waits for review.
    let mut logger = TcpStream::connect(gateway.addr).await.unwrap();
    logger
        .write_all(&heartbeat_without_mn("20260601085857000"))
        .await
        .unwrap();
    logger
        .write_all(&hardware_ids(LOGGER, "20260601085857223"))
        .await
        .unwrap();
    let replies = read_replies(&mut logger, 2, WAIT).await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies.iter().all(|r| r.contains("CN=9013")), "{replies:?}");
    assert!(replies[1].contains("QN=20260601085857223"), "{replies:?}");
    // Repeated 1001s while waiting are answered but do not fill the quarantine.
    logger
        .write_all(&hardware_ids(LOGGER, "20260601085957223"))
        .await
        .unwrap();
    assert_eq!(read_replies(&mut logger, 1, WAIT).await.len(), 1);

    let monitor = app.token(Role::Monitoring).await;
    // The 9013 does not wait for the entry's commit: wait for the writer.
    let mut items = Vec::new();
    let waited = std::time::Instant::now();
    while items.is_empty() && waited.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let entries = app
            .get_with_token("/api/v1/ingest/quarantine?unreviewed=true", &monitor)
            .await;
        items = entries.json()["items"].as_array().unwrap().clone();
    }
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["reason"], "unknown_device");
    assert!(items[0]["packet"].as_str().unwrap().contains("CN=1001"));
    let entry_id = items[0]["id"].as_i64().unwrap();

    // The entry page proposes an MN of 24 hex digits and says what registering will do.
    let session = app.session(Role::Monitoring).await;
    let page = app
        .send(
            axum::http::Request::get(format!("/ingest/quarantine/{entry_id}"))
                .header(axum::http::header::COOKIE, &session.cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(page.body.contains("1002"), "{}", page.body);
    let proposed = page
        .body
        .split("name=\"mn\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(proposed.len(), 24, "{proposed}");
    assert!(
        proposed
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );

    // The operator registers a device with that MN: the waiting logger receives its 1002.
    let registered = app
        .json_with_token(
            "POST",
            &format!("/api/v1/ingest/quarantine/{entry_id}/register"),
            &monitor,
            &format!(
                r#"{{"mn":"{proposed}","password":"123456","protocol":"2025","crc_mode":"strict","point_id":{point_id}}}"#
            ),
        )
        .await;
    assert_eq!(
        registered.status,
        axum::http::StatusCode::CREATED,
        "{}",
        registered.body
    );
    let pending = assignment(&app, &monitor).await;
    assert_eq!(pending["logger_id"], LOGGER);
    assert_eq!(pending["mn"], proposed.as_str());
    assert_eq!(pending["cpu_id"], "A800200A8C6D");
    let pushed = read_replies(&mut logger, 1, WAIT).await;
    assert_eq!(pushed.len(), 1, "no 1002 on the waiting connection");
    assert_eq!(
        parse(&pushed[0]),
        (1002, proposed.clone(), LOGGER.to_string()),
        "{pushed:?}"
    );
    let sent = assignment(&app, &monitor).await;
    assert!(
        sent["sent_at"].is_i64() && sent["confirmed_at"].is_null(),
        "{sent}"
    );

    // The logger answers under its new MN and sends data: accepted, acknowledged, the assignment confirmed.
    let data = minute_packet(
        &proposed,
        "123456",
        "20260601090100000",
        "20260601090000",
        12.5,
    );
    logger.write_all(&data).await.unwrap();
    let ack = read_replies(&mut logger, 1, WAIT).await;
    assert_eq!(ack.len(), 1, "{ack:?}");
    assert!(
        ack[0].contains("CN=9014") && ack[0].contains(&proposed),
        "{ack:?}"
    );
    drop(logger);
    let confirmed = assignment(&app, &monitor).await;
    assert!(confirmed["confirmed_at"].is_i64(), "{confirmed}");
    assert_eq!(
        count(
            &db,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'hj212_quarantine'"
        )
        .await,
        1
    );

    // The logger forgets its MN (reset) and asks again: it is answered with the same MN at once, and no new
    // quarantine entry is made.
    let replies = exchange(
        gateway.addr,
        &[hardware_ids(LOGGER, "20260602080000000")],
        2,
        WAIT,
    )
    .await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].contains("CN=9013"));
    assert_eq!(
        parse(&replies[1]),
        (1002, proposed.clone(), LOGGER.to_string())
    );
    gateway.stop().await;
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine").await,
        1
    );
    assert_eq!(assignment(&app, &monitor).await["sent_count"], 2);

    // The devices page lists the assignment.
    let devices = app
        .send(
            axum::http::Request::get("/ingest/devices")
                .header(axum::http::header::COOKIE, &session.cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        devices.body.contains(LOGGER) && devices.body.contains("数采仪入网"),
        "{}",
        devices.body
    );
});
