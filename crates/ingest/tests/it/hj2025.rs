//! HJ 212-2025 through the gateway over real TCP: SM4-encrypted packets opened with the device's keys (and
//! quarantined without one), heartbeats, and the 1014 key rotation confirmed by the device's 9012.

use std::time::Duration;

use hj212::Packet;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(700);
const KEY: &[u8; 16] = b"k3Y!x9Qa7Lm2Pz0W";
const OLD_KEY: &[u8; 16] = b"Rt5#uV8nB1cE6gH4";

async fn so2_at(db: &kernel::Db, point_id: i64, ts: i64) -> Option<f64> {
    sqlx::query_scalar(
        "SELECT a21026 FROM readings WHERE point_id = $1 AND period = 'minute' AND ts = $2",
    )
    .bind(point_id)
    .bind(ts)
    .fetch_optional(db.pool())
    .await
    .unwrap()
    .flatten()
}

testkit::db_test!(encrypted_packets_are_opened_with_the_devices_keys, |db| {
    let (device_id, point_id) = register(&db, "QS2025A", "123456", "2025", "strict").await;
    let (keyless_id, _) = register(&db, "QS2025B", "123456", "2025", "strict").await;
    let now = kernel::time::now_ts();
    let old_key_id = add_key(&db, device_id, OLD_KEY, now - 10 * 86_400).await;
    // Registering a second key retires the first; packets sent under the old key still open.
    let key_id = add_key(&db, device_id, KEY, now).await;
    let gateway = start(&db, ingest::Config::default()).await;

    let current = encrypted_minute(
        "QS2025A",
        "123456",
        KEY,
        "20260101120100000",
        "20260101120000",
        21.5,
    );
    assert_ne!(
        hj212::frame::decode_all(&current)[0]
            .as_ref()
            .unwrap()
            .crc_verdict(),
        hj212::CrcVerdict::Ok,
        "the packet really is encrypted"
    );
    let older = encrypted_minute(
        "QS2025A",
        "123456",
        OLD_KEY,
        "20260101120200000",
        "20260101120100",
        22.5,
    );
    let replies = exchange(gateway.addr, &[current.clone(), older], 2, WAIT).await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].contains("CN=9014") && replies[0].contains("QN=20260101120100000"));
    assert!(replies[0].contains("Flag=8"), "2025 replies: {replies:?}");
    assert!(replies[1].contains("QN=20260101120200000"));
    // 2026-01-01 12:00 CST = 04:00 UTC.
    assert_eq!(so2_at(&db, point_id, 1_767_240_000).await, Some(21.5));
    assert_eq!(so2_at(&db, point_id, 1_767_240_060).await, Some(22.5));
    let keys_used: Vec<(Option<i64>, String)> = sqlx::query_as(
        "SELECT key_id, encoding FROM hj212_packets WHERE device_id = $1 ORDER BY data_time",
    )
    .bind(device_id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(
        keys_used.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![Some(key_id), Some(old_key_id)]
    );
    // Evidence is the packet as received: the ciphertext, not the plaintext.
    let stored: String = sqlx::query_scalar("SELECT packet FROM hj212_packets WHERE key_id = $1")
        .bind(key_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(!stored.contains("a21026-Avg"), "{stored}");

    // The same kind of packet from a device without a key: quarantined under that device, never acknowledged.
    let keyless = encrypted_minute(
        "QS2025B",
        "123456",
        KEY,
        "20260101120100000",
        "20260101120000",
        1.0,
    );
    // A wrong key for the first device: not opened either.
    let wrong = encrypted_minute(
        "QS2025A",
        "123456",
        b"Zz9Yy8Xx7Ww6Vv5U",
        "20260101120300000",
        "20260101120200",
        3.0,
    );
    let replies = exchange(gateway.addr, &[keyless, wrong], 1, QUIET).await;
    assert!(replies.is_empty(), "{replies:?}");
    gateway.stop().await;
    let rows: Vec<(String, Option<i64>, String)> =
        sqlx::query_as("SELECT reason, device_id, mn FROM hj212_quarantine ORDER BY mn")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "bad_crc".to_string(),
                Some(device_id),
                "QS2025A".to_string()
            ),
            (
                "bad_crc".to_string(),
                Some(keyless_id),
                "QS2025B".to_string()
            ),
        ]
    );
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
        2
    );
});

testkit::db_test!(heartbeats_are_answered_and_refresh_the_device_state, |db| {
    let (device_id, _) = register(&db, "QS2025H", "123456", "2025", "strict").await;
    let gateway = start(&db, ingest::Config::default()).await;
    // Flag 8: no answer wanted; Flag 9: a 9013 with the heartbeat's QN.
    let quiet = packet_2025("QS2025H", "123456", "20260101120000000", 9015, 8, "");
    let asking = packet_2025("QS2025H", "123456", "20260101120030000", 9015, 9, "");
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    stream.write_all(&quiet).await.unwrap();
    stream.write_all(&asking).await.unwrap();
    let replies = read_replies(&mut stream, 1, WAIT).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].contains("CN=9013")
            && replies[0].contains("QN=20260101120030000")
            && replies[0].contains("ST=91")
            && replies[0].contains("Flag=8"),
        "{replies:?}"
    );
    // An unregistered device's heartbeat is quarantined and not answered.
    let stranger = packet_2025("QS2025X", "123456", "20260101120100000", 9015, 9, "");
    stream.write_all(&stranger).await.unwrap();
    assert!(read_replies(&mut stream, 1, QUIET).await.is_empty());
    drop(stream);
    gateway.stop().await;
    // Heartbeats are not data: no packet stored, but the device was seen.
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
        0
    );
    let state = ingest::devices::state(&db, device_id)
        .await
        .unwrap()
        .unwrap();
    assert!(state.last_packet_at.is_some());
    assert_eq!(state.packets, 0);
    assert_eq!(state.errors, 0);
    assert_eq!(
        count(
            &db,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine WHERE mn = 'QS2025X'"
        )
        .await,
        1
    );
});

fn new_key_of(command: &hj212::Frame, under: &[u8; 16]) -> ([u8; 16], String) {
    let hj212::sm4::Opened::Decrypted { frame, .. } = hj212::sm4::open(command, [under]) else {
        panic!("the 1014 is encrypted with the current key");
    };
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(packet.cn, 1014);
    let key = hj212::sm4::key_from_text(packet.cp.param("NewSK").unwrap()).unwrap();
    (key, packet.qn.unwrap().to_string())
}

testkit::db_test!(a_due_key_is_rotated_with_1014_and_confirmed_by_9012, |db| {
    let (device_id, point_id) = register(&db, "QS2025R", "123456", "2025", "strict").await;
    let now = kernel::time::now_ts();
    // 85 days old: inside the 7-day margin before the 90-day limit.
    let old_id = add_key(&db, device_id, KEY, now - 85 * 86_400).await;
    let gateway = start(&db, ingest::Config::default()).await;
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    let first = encrypted_minute(
        "QS2025R",
        "123456",
        KEY,
        "20260101120100000",
        "20260101120000",
        5.0,
    );
    stream.write_all(&first).await.unwrap();
    let frames = read_frames(&mut stream, 2, WAIT).await;
    assert_eq!(frames.len(), 2);
    assert!(String::from_utf8_lossy(frames[0].raw()).contains("CN=9014"));
    let (new_key, qn) = new_key_of(&frames[1], KEY);
    assert_ne!(&new_key, KEY);
    hj212::keys::validate_key(&new_key).unwrap();
    let pending: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT state, issued_qn FROM hj212_keys WHERE device_id = $1 ORDER BY id")
            .bind(device_id)
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        pending,
        vec![
            ("current".to_string(), None),
            ("pending".to_string(), Some(qn.clone()))
        ]
    );
    // The device answers 9011 then 9012 ExeRtn=1 with the command's QN, then uses the new key.
    let ack = packet_2025("QS2025R", "123456", &qn, 9011, 8, "QnRtn=1");
    let done = packet_2025("QS2025R", "123456", &qn, 9012, 8, "ExeRtn=1");
    let next = encrypted_minute(
        "QS2025R",
        "123456",
        &new_key,
        "20260101120200000",
        "20260101120100",
        6.0,
    );
    stream.write_all(&ack).await.unwrap();
    stream.write_all(&done).await.unwrap();
    stream.write_all(&next).await.unwrap();
    let replies = read_replies(&mut stream, 1, WAIT).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("QN=20260101120200000") && replies[0].contains("CN=9014"));
    // A fresh key: the next packets start no new rotation.
    let later = encrypted_minute(
        "QS2025R",
        "123456",
        &new_key,
        "20260101120300000",
        "20260101120200",
        7.0,
    );
    stream.write_all(&later).await.unwrap();
    let replies = read_replies(&mut stream, 2, QUIET).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    drop(stream);
    gateway.stop().await;

    assert_eq!(so2_at(&db, point_id, 1_767_240_060).await, Some(6.0));
    let states: Vec<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT id, state, valid_from, valid_to FROM hj212_keys WHERE device_id = $1 ORDER BY id",
    )
    .bind(device_id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(states.len(), 2);
    assert_eq!((states[0].0, states[0].1.as_str()), (old_id, "retired"));
    assert!(states[0].3.is_some(), "the old key has its end");
    assert_eq!(states[1].1, "current");
    assert!(states[1].2.is_some(), "the new key has its start");
    let new_id = states[1].0;
    let used: Option<i64> =
        sqlx::query_scalar("SELECT key_id FROM hj212_packets WHERE qn = '20260101120200000'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(used, Some(new_id));
    // Audited, without the key.
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, COALESCE(after_json, '') FROM audit_log WHERE entity = 'hj212_key' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(
        audit.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        vec!["issue", "confirm"]
    );
    let new_text = std::str::from_utf8(&new_key).unwrap();
    assert!(audit.iter().all(|(_, after)| !after.contains(new_text)));
});

testkit::db_test!(
    a_field_1014_request_gets_a_9013_and_a_new_key_refused_by_9012,
    |db| {
        let (device_id, _) = register(&db, "QS2025Q", "123456", "2025", "strict").await;
        add_key(&db, device_id, KEY, kernel::time::now_ts()).await;
        let gateway = start(&db, ingest::Config::default()).await;
        let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
        let request = packet_2025(
            "QS2025Q",
            "123456",
            "20260101120000000",
            1014,
            9,
            "SKCreateTime=20260101120000000",
        );
        stream.write_all(&request).await.unwrap();
        let frames = read_frames(&mut stream, 2, WAIT).await;
        assert_eq!(frames.len(), 2);
        let notify = String::from_utf8_lossy(frames[0].raw()).into_owned();
        assert!(
            notify.contains("CN=9013") && notify.contains("QN=20260101120000000"),
            "{notify}"
        );
        let (_, qn) = new_key_of(&frames[1], KEY);
        // The device refuses: the key is abandoned, the current one stays.
        let refused = packet_2025("QS2025Q", "123456", &qn, 9012, 8, "ExeRtn=2");
        let next = encrypted_minute(
            "QS2025Q",
            "123456",
            KEY,
            "20260101120200000",
            "20260101120100",
            6.0,
        );
        stream.write_all(&refused).await.unwrap();
        stream.write_all(&next).await.unwrap();
        let replies = read_replies(&mut stream, 1, WAIT).await;
        assert!(replies[0].contains("QN=20260101120200000"), "{replies:?}");
        drop(stream);
        gateway.stop().await;
        let states: Vec<String> =
            sqlx::query_scalar("SELECT state FROM hj212_keys WHERE device_id = $1 ORDER BY id")
                .bind(device_id)
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(states, vec!["current", "abandoned"]);
    }
);

testkit::db_test!(device_keys_are_sealed_under_the_master_key, |db| {
    let clear_db = db.clone();
    let master = kernel::secrets::MasterKey::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let db = db.with_master_key(master);
    let (sealed_id, sealed_point) = register(&db, "QSSEAL01", "123456", "2025", "strict").await;
    let (clear_id, clear_point) = register(&db, "QSSEAL02", "123456", "2025", "strict").await;
    let now = kernel::time::now_ts();
    add_key(&db, sealed_id, KEY, now).await;
    // A key stored before sealing existed (a handle without the master key writes it in clear).
    add_key(&clear_db, clear_id, OLD_KEY, now).await;
    let stored = |device_id: i64| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT key_text FROM hj212_keys WHERE device_id = $1")
                .bind(device_id)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    let text = stored(sealed_id).await;
    assert!(
        text.starts_with("sm4gcm1:") && !text.contains("k3Y"),
        "{text}"
    );
    assert_eq!(
        stored(clear_id).await,
        std::str::from_utf8(OLD_KEY).unwrap()
    );

    // The gateway seals the clear key at start and opens both devices' packets.
    let gateway = start(&db, ingest::Config::default()).await;
    let packets = [
        encrypted_minute(
            "QSSEAL01",
            "123456",
            KEY,
            "20260101120100000",
            "20260101120000",
            7.5,
        ),
        encrypted_minute(
            "QSSEAL02",
            "123456",
            OLD_KEY,
            "20260101120100000",
            "20260101120000",
            8.5,
        ),
    ];
    let replies = exchange(gateway.addr, &packets, 2, WAIT).await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies.iter().all(|r| r.contains("CN=9014")), "{replies:?}");
    gateway.stop().await;
    assert!(stored(clear_id).await.starts_with("sm4gcm1:"));
    assert_eq!(so2_at(&db, sealed_point, 1_767_240_000).await, Some(7.5));
    assert_eq!(so2_at(&db, clear_point, 1_767_240_000).await, Some(8.5));

    // Without the master key the sealed keys are unusable: the next packet is not acknowledged.
    let gateway = start(&clear_db, ingest::Config::default()).await;
    let next = encrypted_minute(
        "QSSEAL01",
        "123456",
        KEY,
        "20260101120200000",
        "20260101120100",
        9.5,
    );
    assert!(exchange(gateway.addr, &[next], 1, QUIET).await.is_empty());
    gateway.stop().await;
    assert_eq!(so2_at(&db, sealed_point, 1_767_240_060).await, None);
});
