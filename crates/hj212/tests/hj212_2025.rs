//! HJ 212-2025 packets after the standard's examples (built with the caoyiliang/HJ212 library, with length and
//! CRC recomputed; the RF line built from the field order HJ 212-2025 documents).

use hj212::crc::CrcVerdict;
use hj212::encode::{ReplyKind, reply_to, required_reply};
use hj212::frame::decode_all;
use hj212::{Packet, ProtocolVersion, Suffix};

const REFERENCE_2025: &[&str] = &[
    "##0087QN=20240601085857223;ST=32;CN=9015;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&F001",
    "##0087QN=20240601085857223;ST=91;CN=9013;PW=123456;MN=010000A8900016F000169DC0;Flag=8;CP=&&&&3900",
    "##0174QN=20240601085857223;ST=32;CN=1001;PW=123456;MN=;Flag=9;CP=&&i23005-Info=6970000000001ABCDEFG1234;i23006-Info=A800200A8C6D;i23007-Info=E86A643C7BBC;i23008-Info=A763742C1AE1&&F141",
    "##0123QN=20240601085857223;ST=32;CN=1002;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&i23005-Info=6970000000001ABCDEFG1234&&6FC0",
    "##0117QN=20240601085857223;ST=32;CN=1014;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&SKCreateTime=20240601085857223&&E381",
    "##0140QN=20240601085857223;ST=32;CN=1014;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&SKCreateTime=20240601085857223,NewSK=0000000000000000&&EA41",
    "##0094QN=20240601085857223;ST=91;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=8;CP=&&QnRtn=1&&21C0",
    "##0229QN=20240601085857223;ST=32;CN=2013;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240601090000;w01018-SampleTime=20240601090109,w01018-CompleteTime=20240601094200,w01018-SampleType=1,w01018-Avg=17.5,,w01018-Flag=N&&4540",
    "##0123QN=20240601085857223;ST=36;CN=2052;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240601080000;LA-Data=55.2&&9FC1",
    "##0175QN=20240601085857223;ST=32;CN=2062;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240601080000;w01018-SampleRd=15.3;w01018-StandardValue=12;w01018-ResultType=1&&DD01",
    "##0125QN=20240601085857223;ST=31;CN=2111;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240601011000;a01901-Avg=868&&6300",
    "##0099QN=20240601085857223;ST=32;CN=3022;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&PolId=w01018&&FB41",
    "##0099QN=20240601085857223;ST=32;CN=3024;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&PolId=w01018&&3AC0",
    "##0117QN=20240601085857223;ST=32;CN=3011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&PolId=w01018,CalibrationType=0&&9301",
    "##0134QN=20240601085857223;ST=44;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&BeginTime=20240601064500;EndTime=20240601084500&&C741",
    "##0177QN=20240601085857223;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;RF=1;CP=&&DataTime=20240601084000;a21026-Min=30.7,a21026-Avg=50.4,a21026-Max=60.5,a21026-Flag=N&&D4C1",
    // Appendix A.2 plaintexts (their CRC is carried unchanged by the encrypted packets).
    "##0295QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N&&2200",
    "##0234QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01014-Min=3.20,a01014-Avg=3.20,a01014-Max=3.20,a01014-Flag=N&&B541",
];

fn parse(line: &str) -> (hj212::Frame, usize) {
    let mut frames = decode_all(format!("{line}\r\n").as_bytes());
    let count = frames.len();
    (frames.remove(0).unwrap(), count)
}

#[test]
fn every_reference_packet_frames_with_a_good_crc_and_parses_as_2025() {
    for line in REFERENCE_2025 {
        let (frame, count) = parse(line);
        assert_eq!(count, 1);
        assert_eq!(frame.crc_verdict(), CrcVerdict::Ok, "{line}");
        assert!(
            frame.warnings().is_empty(),
            "{line}: {:?}",
            frame.warnings()
        );
        let packet = Packet::parse(frame.segment()).unwrap();
        assert_eq!(packet.version(), ProtocolVersion::Hj2025, "{line}");
        assert!(packet.warnings.is_empty(), "{line}: {:?}", packet.warnings);
    }
}

#[test]
fn onboarding_heartbeat_key_request_and_backfill() {
    let (frame, _) = parse(REFERENCE_2025[2]);
    let onboarding = Packet::parse(frame.segment()).unwrap();
    assert_eq!(onboarding.mn, Some(""));
    let ids = onboarding.hardware_ids().unwrap();
    assert_eq!(ids.logger_id, "6970000000001ABCDEFG1234");
    assert_eq!(ids.cpu_id, Some("A800200A8C6D"));
    assert_eq!(ids.macs, [Some("E86A643C7BBC"), Some("A763742C1AE1")]);
    assert_eq!(required_reply(&onboarding), Some(ReplyKind::NotifyAck));

    let (frame, _) = parse(REFERENCE_2025[0]);
    let heartbeat = Packet::parse(frame.segment()).unwrap();
    let (expected, _) = parse(REFERENCE_2025[1]);
    assert_eq!(reply_to(&heartbeat).unwrap().unwrap(), expected.raw());

    let (frame, _) = parse(REFERENCE_2025[5]);
    let key_issue = Packet::parse(frame.segment()).unwrap();
    assert_eq!(key_issue.cp.param("NewSK"), Some("0000000000000000"));
    assert_eq!(
        key_issue.cp.param("SKCreateTime"),
        Some("20240601085857223")
    );

    let (frame, _) = parse(REFERENCE_2025[15]);
    let backfill = Packet::parse(frame.segment()).unwrap();
    assert!(backfill.backfill);
    assert_eq!(required_reply(&backfill), Some(ReplyKind::DataAck));
    let readings = backfill.readings();
    assert_eq!(readings.len(), 3);
    assert_eq!(readings[1].value, Some(50.4));
    assert_eq!(readings[1].suffix, Suffix::Avg);

    let (frame, _) = parse(REFERENCE_2025[7]);
    let raw_data = Packet::parse(frame.segment()).unwrap();
    assert_eq!(
        raw_data.cp.value("w01018-CompleteTime"),
        Some("20240601094200")
    );
    assert_eq!(
        raw_data.readings().len(),
        1,
        "only -Avg is a measurement; ,, tolerated"
    );
}
