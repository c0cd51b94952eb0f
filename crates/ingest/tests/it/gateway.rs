//! Real TCP against the gateway: replies only after commit, duplicates stored once, quarantine, the corpus
//! replayed whole, split, joined and corrupted.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::*;
use hj212::{FrameDecoder, Packet};
use ingest::model::Device;
use ingest::service::{self, Decision};

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(700);

fn qn_of(reply: &str) -> &str {
    reply
        .split(';')
        .find_map(|f| f.strip_prefix("QN=").or_else(|| f.split("QN=").nth(1)))
        .unwrap_or("")
}

testkit::db_test!(
    acknowledged_only_once_stored_and_resends_stored_once,
    |db| {
        let (device_id, point_id) = register(&db, "QS-MN-0001", "123456", "2017", "strict").await;
        let gateway = start(&db, ingest::Config::default()).await;
        let p1 = minute_packet(
            "QS-MN-0001",
            "123456",
            "20260101120100000",
            "20260101120000",
            11.5,
        );
        let p2 = minute_packet(
            "QS-MN-0001",
            "123456",
            "20260101120200000",
            "20260101120100",
            12.5,
        );
        let p3 = minute_packet(
            "QS-MN-0001",
            "123456",
            "20260101120300000",
            "20260101120200",
            13.5,
        );

        // Whole: the reply names the packet's QN, and by the time it arrives the packet and its values are stored.
        let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, &p1)
            .await
            .unwrap();
        let replies = read_replies(&mut stream, 1, WAIT).await;
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert!(
            replies[0].contains("CN=9014") && replies[0].contains("QN=20260101120100000"),
            "{replies:?}"
        );
        assert!(
            hj212::frame::decode_all(format!("{}\r\n", replies[0]).as_bytes())[0]
                .as_ref()
                .unwrap()
                .crc_verdict()
                == hj212::CrcVerdict::Ok
        );
        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
            1
        );
        let so2: Option<f64> = sqlx::query_scalar(
            "SELECT a21026 FROM readings WHERE point_id = $1 AND period = 'minute' AND ts = $2",
        )
        .bind(point_id)
        .bind(1_767_240_000_i64)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(so2, Some(11.5));

        // The same packet again (a device that missed the reply), split byte by byte, then two joined in one write.
        let mut split: Vec<Vec<u8>> = p1.iter().map(|b| vec![*b]).collect();
        split.push([p2.clone(), p3.clone()].concat());
        for chunk in &split {
            tokio::io::AsyncWriteExt::write_all(&mut stream, chunk)
                .await
                .unwrap();
        }
        let replies = read_replies(&mut stream, 3, WAIT).await;
        let qns: Vec<&str> = replies.iter().map(|r| qn_of(r)).collect();
        assert_eq!(
            qns,
            [
                "20260101120100000",
                "20260101120200000",
                "20260101120300000"
            ],
            "{replies:?}"
        );
        drop(stream);
        gateway.stop().await;

        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
            3
        );
        // The gateway's minutes were rolled up into their hour (3 of 60 minutes: an invalid hour) and day.
        let hour: (i64, f64) = sqlx::query_as(
            "SELECT n, mean FROM reading_rollups WHERE point_id = $1 AND factor = 'a21026' AND period = 'hour'",
        )
        .bind(point_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(hour, (3, 12.5));
        let days: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM reading_rollups WHERE point_id = $1 AND period = 'day'",
        )
        .bind(point_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(days >= 1);
        let stored: Vec<(i64, Option<f64>, Option<f64>)> = sqlx::query_as(
        "SELECT ts, a21026, a19001 FROM readings WHERE point_id = $1 AND period = 'minute' ORDER BY ts",
    )
    .bind(point_id)
    .fetch_all(db.pool())
    .await
    .unwrap();
        assert_eq!(
            stored,
            vec![
                (1_767_240_000, Some(11.5), Some(9.5)),
                (1_767_240_060, Some(12.5), Some(9.5)),
                (1_767_240_120, Some(13.5), Some(9.5))
            ]
        );
        let packet: String =
            sqlx::query_scalar("SELECT packet FROM hj212_packets ORDER BY id LIMIT 1")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            packet.as_bytes(),
            &p1[..],
            "stored verbatim, line end included"
        );
        let state = ingest::devices::state(&db, device_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state.packets, state.duplicates, state.errors), (3, 1, 0));
        assert!(!state.online, "offline once the connection closed");
        assert_eq!(state.last_data_time, Some(1_767_240_120));
        assert!(state.clock_drift_seconds.is_some());
    }
);

testkit::db_test!(
    refused_packets_are_quarantined_not_stored_nor_acknowledged,
    |db| {
        let (device_id, _) = register(&db, "QS-MN-0002", "123456", "2017", "strict").await;
        let gateway = start(&db, ingest::Config::default()).await;
        let unknown = minute_packet(
            "QS-MN-9999",
            "123456",
            "20260101120100000",
            "20260101120000",
            1.0,
        );
        let wrong_password = minute_packet(
            "QS-MN-0002",
            "000000",
            "20260101120100000",
            "20260101120000",
            1.0,
        );
        let mut corrupted = minute_packet(
            "QS-MN-0002",
            "123456",
            "20260101120100000",
            "20260101120000",
            1.0,
        );
        // A value digit changed in transit: 1 → 7.
        let at = corrupted
            .windows(9)
            .position(|w| w == b"a21026-Av")
            .unwrap()
            + 11;
        corrupted[at] = b'7';
        let garbage = b"\x00\x01\x02\x03GET / HTTP/1.1\r\n##12".to_vec();
        let replies = exchange(
            gateway.addr,
            &[garbage, unknown.clone(), wrong_password, corrupted, unknown],
            1,
            QUIET,
        )
        .await;
        gateway.stop().await;
        assert!(
            replies.is_empty(),
            "nothing refused is acknowledged: {replies:?}"
        );
        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
            0
        );
        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM readings").await,
            0
        );
        let reasons: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT reason, mn FROM hj212_quarantine ORDER BY id")
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(
            reasons,
            vec![
                ("unknown_device".to_string(), Some("QS-MN-9999".to_string())),
                ("wrong_password".to_string(), Some("QS-MN-0002".to_string())),
                ("bad_crc".to_string(), Some("QS-MN-0002".to_string())),
            ],
            "the unknown device's resend is kept once"
        );
        let state = ingest::devices::state(&db, device_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state.packets, state.errors), (0, 2));
        assert!(state.last_error.unwrap().starts_with("bad_crc"));
    }
);

// The corpus with its own MNs registered (except one, and one with another password): what the gateway
// answers and stores must match what the protocol crate and the checks decide packet by packet.
testkit::db_test!(
    sample_corpus_replayed_whole_split_joined_and_corrupted,
    |db| {
        let samples = samples();
        let mut registry: HashMap<String, Device> = HashMap::new();
        for line in &samples {
            for frame in hj212::frame::decode_all(format!("{line}\r\n").as_bytes())
                .into_iter()
                .flatten()
            {
                let Ok(packet) = Packet::parse(frame.segment()) else {
                    continue;
                };
                let Some(mn) = packet.mn.filter(|mn| !mn.is_empty()) else {
                    continue;
                };
                if registry.contains_key(mn) || mn == "ZLDSZ20210127" {
                    continue;
                }
                let password = if mn == "Y80110010000010" {
                    "not-this-one"
                } else {
                    packet.pw.unwrap_or("")
                };
                let protocol = match packet.version() {
                    hj212::ProtocolVersion::Hj2005 => "2005",
                    hj212::ProtocolVersion::Hj2025 => "2025",
                    _ => "2017",
                };
                let (id, point_id) = register(&db, mn, password, protocol, "accept_variant").await;
                registry.insert(
                    mn.to_string(),
                    Device {
                        id,
                        mn: mn.to_string(),
                        password: password.to_string(),
                        protocol: protocol.to_string(),
                        crc_mode: hj212::CrcMode::AcceptVariant,
                        point_id,
                        active: true,
                    },
                );
            }
        }
        // Each packet once more with a digit of its data area changed: a bad CRC (or, rarely, a different MN).
        let corrupted: Vec<String> = samples
            .iter()
            .filter_map(|line| {
                let at = line.find("DataTime=")? + 9;
                let mut bytes = line.clone().into_bytes();
                bytes[at + 3] = if bytes[at + 3] == b'9' { b'8' } else { b'9' };
                String::from_utf8(bytes).ok()
            })
            .collect();
        let all: Vec<String> = samples.iter().chain(&corrupted).cloned().collect();

        // What should happen, decided offline with the same checks.
        let mut expected_replies = 0;
        let mut accepted_keys = HashSet::new();
        let mut quarantined_keys = HashSet::new();
        let stream: Vec<u8> = all
            .iter()
            .flat_map(|l| format!("{l}\r\n").into_bytes())
            .collect();
        let mut decoder = FrameDecoder::new();
        decoder.push(&stream);
        decoder.finish();
        for frame in decoder.by_ref().flatten() {
            let decision = match Packet::parse(frame.segment()) {
                // As the gateway: the header's MN names the device also when the segment cannot be read.
                Err(e) => service::unopened(
                    &frame,
                    &e,
                    registry.get(service::header_mn(frame.segment()).unwrap_or("")),
                    "peer",
                    0,
                ),
                Ok(packet) => service::decide(
                    &frame,
                    &packet,
                    registry.get(packet.mn.unwrap_or("")),
                    "peer",
                    0,
                ),
            };
            match decision {
                Decision::Accept { packet, reply } => {
                    expected_replies += usize::from(reply.is_some());
                    accepted_keys.insert(packet.dedup_key);
                }
                Decision::Quarantine(q) => {
                    quarantined_keys.insert(q.dedup_key);
                }
                Decision::Heartbeat { reply, .. } | Decision::Answer { reply } => {
                    expected_replies += usize::from(reply.is_some());
                }
                // A logger without an MN: answered, and its first 1001 kept for review.
                Decision::Onboarding {
                    quarantined, reply, ..
                } => {
                    expected_replies += usize::from(reply.is_some());
                    quarantined_keys.insert(quarantined.dedup_key);
                }
            }
        }
        assert!(
            expected_replies >= 3,
            "the corpus has uploads asking for a reply"
        );
        assert!(!quarantined_keys.is_empty() && accepted_keys.len() >= 20);

        let gateway = start(&db, ingest::Config::default()).await;
        // Whole: one write per packet. Split: 7-byte writes. Joined: everything in one write.
        let whole: Vec<Vec<u8>> = all
            .iter()
            .map(|l| format!("{l}\r\n").into_bytes())
            .collect();
        let split: Vec<Vec<u8>> = stream.chunks(7).map(<[u8]>::to_vec).collect();
        for chunks in [whole, split, vec![stream.clone()]] {
            let replies = exchange(gateway.addr, &chunks, expected_replies, WAIT).await;
            assert_eq!(replies.len(), expected_replies, "{replies:?}");
            assert!(
                replies.iter().all(
                    |r| r.contains("ST=91") && (r.contains("CN=9014") || r.contains("CN=9013"))
                )
            );
        }
        gateway.stop().await;
        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets").await,
            accepted_keys.len() as i64,
            "each accepted packet stored once over three replays"
        );
        assert_eq!(
            count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine").await,
            quarantined_keys.len() as i64
        );
        for reason in ["unknown_device", "wrong_password", "bad_crc"] {
            let n = count(&db, &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine WHERE reason = '{reason}'")).await;
            assert!(n > 0, "no {reason} in quarantine");
        }
        // A concrete value: JLYP01_AIR01_0001's minute upload, NO2 (a21004) average 4 at 2022-05-13 16:26 CST.
        let point_id = registry["JLYP01_AIR01_0001"].point_id;
        let no2: Option<f64> = sqlx::query_scalar(
            "SELECT a21004 FROM readings WHERE point_id = $1 AND period = 'minute' AND ts = $2",
        )
        .bind(point_id)
        .bind(1_652_430_360_i64)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(no2, Some(4.0));
    }
);

testkit::db_test!(sub_packets_are_acknowledged_each_and_stored_whole, |db| {
    let (device_id, point_id) = register(&db, "QS-SUB-1", "123456", "2017", "strict").await;
    let gateway = start(&db, ingest::Config::default()).await;
    // One minute record split in three (Flag 7: 2017, acknowledgement wanted, PNUM/PNO), parts out of order.
    let part = |pno: u32, cp: &str| {
        let qn = format!("2026010112010000{pno}");
        let header = hj212::encode::Header {
            qn: Some(&qn),
            st: "31",
            cn: 2051,
            pw: "123456",
            mn: "QS-SUB-1",
            flag: Some(7),
            subpacket: Some((3, pno)),
            backfill: false,
        };
        hj212::encode::encode(&header, &format!("DataTime=20260101120000;{cp}")).unwrap()
    };
    let parts = vec![
        part(2, "a21002-Avg=30.5,a21002-Flag=N"),
        part(1, "a21026-Avg=11.5,a21026-Flag=N"),
        part(3, "a19001-Avg=9.5,a19001-Flag=N"),
    ];
    let replies = exchange(gateway.addr, &parts, 3, WAIT).await;
    assert_eq!(replies.len(), 3, "{replies:?}");
    for (reply, pno) in replies.iter().zip([2, 1, 3]) {
        assert!(reply.contains("CN=9014"), "{reply}");
        assert_eq!(qn_of(reply), format!("2026010112010000{pno}"));
    }
    gateway.stop().await;
    let row: (Option<f64>, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT a21026, a21002, a19001 FROM readings WHERE point_id = $1 AND period = 'minute' AND ts = $2",
    )
    .bind(point_id)
    .bind(1_767_240_000_i64)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(row, (Some(11.5), Some(30.5), Some(9.5)));
    let state = ingest::devices::state(&db, device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.packets, state.errors), (3, 0));
});
