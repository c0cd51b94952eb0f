//! What an unauthenticated device can do to the gateway (issue 12): bytes PostgreSQL refuses as text, a row
//! that fails taking its batch with it. On both backends.

use crate::onboarding::hardware_ids;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use ingest::model::{AcceptedPacket, QuarantineReason, QuarantinedPacket, StoredBytes};
use ingest::writer::{self, Job, Stored};
use kernel::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use webtest::TestApp;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

/// A frame around any segment (NUL and bytes that are not UTF-8 included), with the right length and CRC.
fn raw_frame(segment: &[u8]) -> Vec<u8> {
    hj212::encode::frame_segment(segment).expect("frames")
}

/// The attacker's packets: an unregistered MN with NUL bytes in MN, QN and values; or bytes that are not UTF-8.
fn hostile(i: usize) -> Vec<u8> {
    if i.is_multiple_of(2) {
        raw_frame(
            format!(
                "QN=2026010112000\0{i:03};ST=31;CN=2051;PW=123456;MN=EVIL\0{i};Flag=5;CP=&&DataTime=20260101120000;a21026-Avg=1\0{i},a21026-Flag=N&&"
            )
            .as_bytes(),
        )
    } else {
        let mut segment = format!(
            "QN=20260101120000{i:03};ST=31;CN=2051;PW=123456;MN=EVIL-{i};Flag=5;CP=&&DataTime=20260101120000;a21026-Avg="
        )
        .into_bytes();
        segment.extend_from_slice(&[0xff, 0xfe, 0x00, b'1', 0xc3]);
        segment.extend_from_slice(format!("{i}&&").as_bytes());
        raw_frame(&segment)
    }
}

fn stored_bytes(packet: &str, encoding: &str) -> Vec<u8> {
    match encoding {
        "utf8" => packet.as_bytes().to_vec(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(packet)
            .expect("base64"),
        other => panic!("unknown encoding {other}"),
    }
}

testkit::db_test!(
    nul_and_non_utf8_bytes_of_an_unknown_device_do_not_stop_a_registered_one,
    |db| {
        let app = TestApp::new(db.clone()).await;
        let (device_id, point_id) = register(&db, "QS-GOOD-1", "123456", "2017", "strict").await;
        let gateway = start(&db, ingest::Config::default()).await;
        const N: usize = 30;
        let mut stream = Vec::new();
        let mut attacks = Vec::new();
        for i in 0..N {
            let attack = hostile(i);
            let good = minute_packet(
                "QS-GOOD-1",
                "123456",
                &format!("20260101{:02}{:02}00000", 12 + i / 60, i % 60),
                &format!("20260101{:02}{:02}00", 12 + i / 60, i % 60),
                i as f64,
            );
            stream.extend_from_slice(&attack);
            stream.extend_from_slice(&good);
            attacks.push(attack);
        }
        // Everything in one write: the writer's batches hold both devices' packets.
        let replies = exchange(gateway.addr, &[stream], N, WAIT).await;
        gateway.stop().await;
        assert_eq!(
            replies.len(),
            N,
            "every packet of the registered device acknowledged: {replies:?}"
        );
        assert!(replies.iter().all(|r| r.contains("CN=9014")), "{replies:?}");
        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
            N as i64
        );
        let minutes: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM readings WHERE point_id = $1 AND period = 'minute'",
        )
        .bind(point_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(minutes, N as i64);
        let state = ingest::devices::state(&db, device_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state.packets, state.errors), (N as i64, 0));

        // The attacker's packets are in the quarantine, byte for byte.
        let rows: Vec<(Option<String>, String, String, String)> =
            sqlx::query_as("SELECT mn, reason, packet, encoding FROM hj212_quarantine ORDER BY id")
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(rows.len(), N);
        let mut stored: Vec<Vec<u8>> = rows
            .iter()
            .map(|(_, _, packet, encoding)| stored_bytes(packet, encoding))
            .collect();
        stored.sort();
        attacks.sort();
        assert_eq!(stored, attacks, "the quarantined bytes are the bytes sent");
        assert!(
            rows.iter()
                .all(|(_, reason, _, _)| reason == "unknown_device")
        );
        // MNs with a NUL are kept with U+FFFD in its place (model::storable_text).
        assert!(
            rows.iter()
                .any(|(mn, _, _, _)| mn.as_deref() == Some("EVIL\u{FFFD}0")),
            "{rows:?}"
        );
        // What the review shows: the bytes, escaped.
        let (entries, total) =
            ingest::repo::quarantine(&db, &ingest::repo::QuarantineFilter::default(), 100, 0)
                .await
                .unwrap();
        assert_eq!(total, N as i64);
        assert!(
            entries
                .iter()
                .any(|e| e.packet_text.contains("a21026-Avg=1\\x000,")),
            "{:?}",
            entries.iter().map(|e| &e.packet_text).collect::<Vec<_>>()
        );
        assert!(entries.iter().any(|e| {
            e.packet_text
                .contains("a21026-Avg=\\xFF\\xFE\\x001\\xC31&&")
        }));
        // The review page and the API show them so, and the page decodes the packet from its stored bytes.
        let nul = entries
            .iter()
            .find(|e| e.mn.as_deref() == Some("EVIL\u{FFFD}0"))
            .unwrap();
        let token = app.token(Role::Monitoring).await;
        let reply = app
            .get_with_token(&format!("/api/v1/ingest/quarantine/{}", nul.id), &token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json()["encoding"], "base64");
        let shown = reply.json()["packet_text"].as_str().unwrap().to_string();
        assert!(
            shown.starts_with("##0121QN=2026010112000\\x00000;"),
            "{shown}"
        );
        let session = app.session(Role::Monitoring).await;
        let page = app
            .send(
                Request::get(format!("/ingest/quarantine/{}", nul.id))
                    .header(header::COOKIE, &session.cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("MN=EVIL\\x000;"), "{}", page.body);
        assert!(
            page.body.contains("<td>2051</td>"),
            "decoded: {}",
            page.body
        );
    }
);

fn accepted(device_id: i64, point_id: i64, minute: i64, crc: &'static str) -> Box<AcceptedPacket> {
    let wire = format!("##packet {minute}\r\n");
    Box::new(AcceptedPacket {
        received_at: 1_767_240_000,
        peer: "127.0.0.1:1".into(),
        device_id,
        point_id,
        mn: "QS-W-1".into(),
        cn: 2051,
        qn: Some(format!("qn-{minute}")),
        data_time: Some(1_767_240_000 + minute * 60),
        bytes: StoredBytes::of(wire.as_bytes()),
        crc,
        dedup_key: ingest::model::packet_key(Some(minute), "QS-W-1", wire.as_bytes()),
        readings: vec![readings::Reading {
            point_id,
            factor: "a21026".into(),
            ts: 1_767_240_000 + minute * 60,
            period: readings::Period::Minute,
            value: Some(minute as f64),
            flag: readings::DataFlag::default(),
        }],
        clock_drift_seconds: None,
        warning: None,
        key_id: None,
    })
}

fn quarantined(n: usize, encoding: &'static str) -> Box<QuarantinedPacket> {
    let wire = format!("##refused {n}\r\n");
    Box::new(QuarantinedPacket {
        received_at: 1_767_240_000,
        peer: "127.0.0.1:1".into(),
        mn: Some(format!("MN-{n}")),
        device_id: None,
        reason: QuarantineReason::UnknownDevice,
        detail: "test".into(),
        bytes: StoredBytes {
            text: wire.clone(),
            encoding,
        },
        dedup_key: ingest::model::dedup_key("", wire.as_bytes()),
    })
}

// A batch in which one packet and one quarantine row cannot be stored (values the schema's CHECKs refuse):
// the other jobs of the same batch are stored and acknowledged all the same.
testkit::db_test!(a_job_that_cannot_be_stored_fails_alone, |db| {
    let (device_id, point_id) = register(&db, "QS-W-1", "123456", "2017", "strict").await;
    let (jobs, queue) = mpsc::channel(64);
    let mut verdicts = Vec::new();
    for minute in 0..10 {
        // Minute 4 has a CRC verdict the table refuses.
        let crc = if minute == 4 { "refused" } else { "ok" };
        let (done, stored) = oneshot::channel();
        jobs.send(Job::Accepted {
            packet: accepted(device_id, point_id, minute, crc),
            done,
        })
        .await
        .unwrap();
        verdicts.push(stored);
        let encoding = if minute == 7 { "refused" } else { "utf8" };
        jobs.send(Job::Quarantined(quarantined(minute as usize, encoding)))
            .await
            .unwrap();
    }
    drop(jobs);
    // Everything is queued before the writer starts: its first batch holds all of it.
    writer::spawn(db.clone(), queue, 1_000).await.unwrap();
    let mut outcome = Vec::new();
    for stored in verdicts {
        outcome.push(stored.await.unwrap());
    }
    let mut expected = vec![Stored::New; 10];
    expected[4] = Stored::Failed;
    assert_eq!(outcome, expected);
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
        9
    );
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM readings").await,
        9
    );
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine").await,
        9
    );
    let state = ingest::devices::state(&db, device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.packets, 9);
});

// --- Connections: valid frames, addresses -----------------------------------------------------------------------

/// Waits until the server closes `stream` (end of stream or reset); false if it is still open after `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

fn minute(i: usize) -> (String, String) {
    (
        format!("20260101{:02}{:02}00000", 12 + i / 60, i % 60),
        format!("20260101{:02}{:02}00", 12 + i / 60, i % 60),
    )
}

testkit::db_test!(a_trickle_without_valid_frames_is_closed, |db| {
    register(&db, "QS-TRICKLE-1", "123456", "2017", "strict").await;
    let config = ingest::Config {
        valid_frame_timeout: Duration::from_secs(2),
        ..ingest::Config::default()
    };
    let gateway = start(&db, config).await;

    // A byte every 100 ms, never a frame: the idle timeout (600 s) alone kept this open for ever.
    let mut trickle = TcpStream::connect(gateway.addr).await.unwrap();
    let (mut reader, mut writer) = trickle.split();
    let closed = tokio::select! {
        closed = async {
            let mut buffer = [0u8; 64];
            matches!(
                tokio::time::timeout(Duration::from_secs(20), reader.read(&mut buffer)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        } => closed,
        _ = async {
            loop {
                if writer.write_all(b"#").await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } => unreachable!(),
    };
    assert!(
        closed,
        "a trickling connection is closed after the valid-frame timeout"
    );

    // A device sending a packet every 250 ms for longer than the timeout stays connected: each frame counts.
    let mut device = TcpStream::connect(gateway.addr).await.unwrap();
    for i in 0..16 {
        let (qn, data_time) = minute(i);
        device
            .write_all(&minute_packet(
                "QS-TRICKLE-1",
                "123456",
                &qn,
                &data_time,
                1.0,
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let replies = read_replies(&mut device, 16, WAIT).await;
    assert_eq!(replies.len(), 16, "{replies:?}");
    drop(device);
    gateway.stop().await;
});

testkit::db_test!(one_address_holds_at_most_its_connections, |db| {
    register(&db, "QS-IP-1", "123456", "2017", "strict").await;
    let config = ingest::Config {
        max_connections_per_ip: 2,
        per_ip_exempt_loopback: false,
        ..ingest::Config::default()
    };
    let gateway = start(&db, config).await;
    let from = |ip: [u8; 4]| {
        let addr = gateway.addr;
        async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind((ip, 0).into()).unwrap();
            socket.connect(addr).await.unwrap()
        }
    };
    let first = from([127, 0, 0, 1]).await;
    let mut second = from([127, 0, 0, 1]).await;
    // Both held: the second answers.
    let (qn, data_time) = minute(0);
    second
        .write_all(&minute_packet("QS-IP-1", "123456", &qn, &data_time, 1.0))
        .await
        .unwrap();
    assert_eq!(read_replies(&mut second, 1, WAIT).await.len(), 1);
    // The third from the same address is closed at once.
    let mut third = from([127, 0, 0, 1]).await;
    assert!(
        closed_within(&mut third, WAIT).await,
        "the connection over the address's cap is closed"
    );
    // Another address is not affected.
    let mut other = from([127, 0, 0, 2]).await;
    let (qn, data_time) = minute(1);
    other
        .write_all(&minute_packet("QS-IP-1", "123456", &qn, &data_time, 2.0))
        .await
        .unwrap();
    assert_eq!(read_replies(&mut other, 1, WAIT).await.len(), 1);
    // A connection closed frees its place.
    drop(first);
    let mut answered = false;
    for attempt in 2..40 {
        let mut again = from([127, 0, 0, 1]).await;
        let (qn, data_time) = minute(attempt);
        if again
            .write_all(&minute_packet("QS-IP-1", "123456", &qn, &data_time, 3.0))
            .await
            .is_ok()
            && read_replies(&mut again, 1, Duration::from_secs(1))
                .await
                .len()
                == 1
        {
            answered = true;
            break;
        }
    }
    assert!(answered, "a place freed is taken again");
    drop((second, other));
    gateway.stop().await;
});

// --- Onboarding flood -------------------------------------------------------------------------------------------

/// Sends `bytes` as fast as the gateway takes them, until it closes the connection; then waits for the close.
async fn flood(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let drain = async {
        let mut buffer = [0u8; 4096];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_secs(3), reader.read(&mut buffer)).await
        {
            if n == 0 {
                break;
            }
        }
    };
    let send = async {
        let _ = writer.write_all(bytes).await;
    };
    tokio::join!(drain, send);
}

testkit::db_test!(an_onboarding_flood_stores_at_most_the_caps, |db| {
    let config = ingest::Config::default();
    let (per_connection, cap) = (
        config.max_loggers_per_connection,
        config.max_quarantined_per_connection,
    );
    let gateway = start(&db, config).await;
    // 3,000 1001s of distinct loggers without a device on one connection: all were quarantined.
    let burst: Vec<u8> = (0..3_000)
        .flat_map(|i| {
            hardware_ids(
                &format!("LOGGER{i:06}"),
                &format!("20260101120000{:03}", i % 1000),
            )
        })
        .collect();
    flood(gateway.addr, &burst).await;
    // A logger id of 9 kB is not stored whole.
    let huge = hardware_ids(&"X".repeat(9_000), "20260101120000000");
    assert!(huge.len() > 9_000);
    flood(gateway.addr, &huge).await;
    gateway.stop().await;

    let onboarding = count(
        &db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine WHERE detail LIKE 'no MN%'",
    )
    .await;
    assert!(
        onboarding >= 1 && onboarding <= per_connection as i64,
        "{onboarding} onboarding entries from one connection (at most {per_connection}, cap {cap})"
    );
    let (packet, encoding, detail): (String, String, String) = sqlx::query_as(
        "SELECT packet, encoding, detail FROM hj212_quarantine WHERE detail LIKE 'CN 1001 with%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let bytes = stored_bytes(&packet, &encoding);
    assert_eq!(bytes.len(), ingest::service::CUT_PACKET_BYTES);
    assert_eq!(&bytes[..], &huge[..bytes.len()]);
    assert!(detail.contains("9000 bytes"), "{detail}");
    let largest: i64 = count(
        &db,
        "SELECT CAST(MAX(LENGTH(packet) + LENGTH(detail) + LENGTH(COALESCE(mn, ''))) AS BIGINT) FROM hj212_quarantine",
    )
    .await;
    assert!(largest < 2_000, "no entry near 9 kB: {largest}");
});

testkit::db_test!(
    one_address_adds_at_most_its_allowance_to_the_quarantine,
    |db| {
        let config = ingest::Config {
            per_ip_exempt_loopback: false,
            quarantine_per_ip_per_hour: 10,
            onboarding_per_ip_per_hour: 3,
            ..ingest::Config::default()
        };
        let gateway = start(&db, config).await;
        // Unknown devices' packets, each distinct, over three connections.
        for connection in 0..3 {
            let packets: Vec<u8> = (0..20)
                .flat_map(|i| {
                    let (qn, data_time) = minute(connection * 20 + i);
                    minute_packet(
                        &format!("QS-UNKNOWN-{connection}-{i}"),
                        "1",
                        &qn,
                        &data_time,
                        1.0,
                    )
                })
                .collect();
            flood(gateway.addr, &packets).await;
        }
        // Loggers without a device, four per connection (under the per-connection maximum), three connections.
        for connection in 0..3 {
            let packets: Vec<u8> = (0..4)
                .flat_map(|i| hardware_ids(&format!("L{connection}-{i}"), "20260101120000000"))
                .collect();
            flood(gateway.addr, &packets).await;
        }
        gateway.stop().await;
        let refused = count(
            &db,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine WHERE detail NOT LIKE 'no MN%'",
        )
        .await;
        assert!((1..=10).contains(&refused), "{refused}");
        let onboarding = count(
            &db,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine WHERE detail LIKE 'no MN%'",
        )
        .await;
        assert!((1..=3).contains(&onboarding), "{onboarding}");
    }
);
