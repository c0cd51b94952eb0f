//! The 69 published packets of `fixtures/hj212/samples.txt`, each followed by a `# ` line with its source
//! and the CRC verdict computed independently by the researcher.

use hj212::crc::CrcVerdict;
use hj212::frame::{FrameDecoder, FrameError, FrameWarning, decode_all};
use hj212::{DataFlag, Packet, PeriodKind, ProtocolVersion, Suffix};

struct Sample {
    packet: String,
    note: String,
}

fn load_samples() -> Vec<Sample> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/hj212/samples.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let lines: Vec<&str> = text.lines().collect();
    let samples: Vec<Sample> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("##"))
        .map(|(index, line)| Sample {
            packet: (*line).to_owned(),
            note: lines.get(index + 1).copied().unwrap_or("").to_owned(),
        })
        .collect();
    assert_eq!(samples.len(), 69, "the corpus announces 69 packets");
    samples
}

fn expected_verdict(note: &str) -> &'static str {
    if note.contains("CRC OK") {
        "ok"
    } else if note.contains("matches Modbus CRC16 printed low-byte-first") {
        "variant"
    } else {
        assert!(
            note.contains("CRC MISMATCH (computed"),
            "unexpected annotation: {note}"
        );
        "bad"
    }
}

/// `LEN MISMATCH (declared 428, actual 431 bytes)` → (428, 431).
fn expected_length_mismatch(note: &str) -> Option<(usize, usize)> {
    let rest = note.split("LEN MISMATCH (declared ").nth(1)?;
    let (declared, rest) = rest.split_once(", actual ")?;
    let (actual, _) = rest.split_once(' ')?;
    Some((declared.parse().ok()?, actual.parse().ok()?))
}

#[test]
fn every_sample_frames_with_the_annotated_crc_verdict_and_length_check() {
    let samples = load_samples();
    let mut counts = [0usize; 3];
    for sample in &samples {
        let wire = format!("{}\r\n", sample.packet);
        let mut results = decode_all(wire.as_bytes());
        assert_eq!(results.len(), 1, "{}", sample.packet);
        let frame = results
            .remove(0)
            .unwrap_or_else(|error| panic!("{error}: {}", sample.packet));
        assert_eq!(frame.raw(), wire.as_bytes());
        let verdict = frame.crc_verdict();
        assert_eq!(
            verdict.label(),
            expected_verdict(&sample.note),
            "{}",
            sample.packet
        );
        counts[match verdict {
            CrcVerdict::Ok => 0,
            CrcVerdict::Variant => 1,
            CrcVerdict::Bad { .. } => 2,
        }] += 1;

        let mismatch = frame.warnings().iter().find_map(|warning| match warning {
            FrameWarning::LengthMismatch { declared, actual } => Some((*declared, *actual)),
            _ => None,
        });
        assert_eq!(
            mismatch,
            expected_length_mismatch(&sample.note),
            "{}",
            sample.packet
        );
        let oversize = frame
            .warnings()
            .iter()
            .any(|warning| matches!(warning, FrameWarning::Oversize { .. }));
        assert_eq!(oversize, frame.declared_len() > 1024, "{}", sample.packet);

        let packet = Packet::parse(frame.segment())
            .unwrap_or_else(|error| panic!("{error}: {}", sample.packet));
        assert!(packet.cn >= 1000, "{}", sample.packet);
    }
    assert_eq!(
        counts,
        [51, 5, 13],
        "the corpus header: 51 CRC-OK, 5 Modbus-swapped, 13 mismatches"
    );
}

#[test]
fn the_whole_corpus_as_one_noisy_stream_in_odd_chunks() {
    let samples = load_samples();
    let mut stream = Vec::new();
    for (index, sample) in samples.iter().enumerate() {
        stream.extend_from_slice(sample.packet.as_bytes());
        stream.extend_from_slice(b"\r\n");
        if index % 7 == 3 {
            // A Modbus-TCP read request between packets, as in the rx.log capture.
            stream.extend_from_slice(&[
                0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0B,
            ]);
        }
    }
    for chunk_size in [1, 7, 64, 1500, stream.len()] {
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        let mut garbage = 0;
        for chunk in stream.chunks(chunk_size) {
            decoder.push(chunk);
            while let Some(result) = decoder.next_frame() {
                match result {
                    Ok(frame) => frames.push(frame),
                    Err(FrameError::Garbage { skipped }) => garbage += skipped,
                    Err(error) => panic!("chunk {chunk_size}: {error}"),
                }
            }
        }
        decoder.finish();
        assert!(decoder.next_frame().is_none());
        assert_eq!(frames.len(), 69, "chunk size {chunk_size}");
        assert_eq!(
            garbage,
            12 * samples
                .iter()
                .enumerate()
                .filter(|(index, _)| index % 7 == 3)
                .count()
        );
        for (frame, sample) in frames.iter().zip(&samples) {
            assert_eq!(
                &frame.raw()[..frame.raw().len() - 2],
                sample.packet.as_bytes()
            );
        }
    }
}

fn frame_line(line: &str) -> hj212::Frame {
    decode_all(format!("{line}\r\n").as_bytes())
        .remove(0)
        .unwrap()
}

#[test]
fn standard_appendix_a_example() {
    let frame = frame_line(
        "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80",
    );
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(packet.qn, Some("20160801085857223"));
    assert_eq!(
        packet.qn_time().unwrap().to_rfc3339(),
        "2016-08-01T00:58:57.223+00:00"
    );
    assert_eq!(packet.st, Some("32"));
    assert_eq!(packet.cn, 1062);
    assert_eq!(packet.pw, Some("100000"));
    assert_eq!(packet.mn, Some("010000A8900016F000169DC0"));
    assert_eq!(packet.flag, Some(5));
    assert_eq!(packet.version(), ProtocolVersion::Hj2017);
    assert!(packet.ack_requested());
    assert_eq!(packet.cp.param("RtdInterval"), Some("30"));
    assert!(packet.readings().is_empty());
}

#[test]
fn a_2005_packet_without_qn_and_flag_maps_its_codes() {
    let frame = frame_line(
        "##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980",
    );
    assert_eq!(frame.crc_verdict(), CrcVerdict::Ok);
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!((packet.qn, packet.flag), (None, None));
    assert_eq!(packet.version(), ProtocolVersion::Hj2005);
    assert_eq!(
        packet.data_time().unwrap().to_rfc3339(),
        "2016-08-23T16:38:17+00:00"
    );
    let readings = packet.readings();
    let summary: Vec<(&str, &str, Option<f64>, Option<DataFlag>)> = readings
        .iter()
        .map(|reading| (reading.code, reading.factor, reading.value, reading.flag))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("B01", "w00000", Some(36.91), None),
            ("011", "w01018", Some(231.0), Some(DataFlag::Normal)),
            ("060", "w21003", Some(1.803), Some(DataFlag::Normal)),
        ]
    );
    assert!(
        readings
            .iter()
            .all(|reading| reading.period == Some(PeriodKind::RealTime)
                && reading.mn == "LD130133000015")
    );
}

#[test]
fn subpacket_with_zs_values_and_fault_flags() {
    let samples = load_samples();
    let sample = samples
        .iter()
        .find(|sample| sample.packet.contains("Flag=6;PNUM=2;PNO=2"))
        .unwrap();
    let frame = frame_line(&sample.packet);
    let packet = Packet::parse(frame.segment()).unwrap();
    assert!(packet.is_subpacket());
    assert!(!packet.ack_requested());
    assert_eq!((packet.pnum, packet.pno), (Some(2), Some(2)));
    assert_eq!(packet.period(), Some(PeriodKind::Minute));
    assert_eq!(packet.cp.measure("a21018", Suffix::ZsMax), Some("0.00"));
    let readings = packet.readings();
    assert_eq!(readings.len(), 7 * 2 + 4 * 7);
    assert!(
        readings
            .iter()
            .all(|reading| reading.flag == Some(DataFlag::Fault))
    );
}

#[test]
fn modbus_variant_oversize_and_odd_flags_from_a_receiver_log() {
    let samples = load_samples();
    let sample = samples
        .iter()
        .find(|sample| sample.packet.starts_with("##1623"))
        .unwrap();
    let frame = frame_line(&sample.packet);
    assert_eq!(frame.crc_verdict(), CrcVerdict::Variant);
    assert_eq!(
        frame.warnings(),
        &[FrameWarning::Oversize { declared: 1623 }]
    );
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(packet.cp.measure("815", Suffix::Max), Some("0.000"));

    let lower_case = samples
        .iter()
        .find(|sample| {
            sample.packet.contains("a01006-Flag=m") || sample.packet.contains("a21003-Flag=m")
        })
        .unwrap();
    let frame = frame_line(&lower_case.packet);
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(packet.cp.param("DATState"), Some("3"));
    let no2 = packet
        .readings()
        .into_iter()
        .find(|reading| reading.code == "a21003" && reading.suffix == Suffix::Avg)
        .unwrap();
    assert_eq!(
        (no2.value, no2.flag, no2.flag_text),
        (Some(0.011), Some(DataFlag::Maintenance), Some("m"))
    );
}

#[test]
fn replies_epoch_qn_and_2005_qn_inside_cp() {
    let frame = frame_line(
        "##0081QN=1617936069734;ST=21;CN=9012;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&ExeRtn=1&&F3C1",
    );
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(
        packet.qn_time().unwrap().to_rfc3339(),
        "2021-04-09T02:41:09.734+00:00"
    );
    assert_eq!(packet.cp.param("ExeRtn"), Some("1"));

    let frame = frame_line("##0088ST=91;CN=3012;CP=&&QN=20040516010100001;RS=1&&23AD");
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(packet.qn, None);
    assert_eq!(packet.request_qn(), Some("20040516010100001"));
    assert_eq!(packet.mn, None);
}

#[test]
fn bare_flag_and_trailing_separator() {
    let samples = load_samples();
    let bare = samples
        .iter()
        .find(|sample| sample.packet.contains("a34001-Rtd=92;Flag=N"))
        .unwrap();
    let frame = frame_line(&bare.packet);
    let packet = Packet::parse(frame.segment()).unwrap();
    let tsp = packet.readings()[0];
    assert_eq!(
        (tsp.code, tsp.value, tsp.flag),
        ("a34001", Some(92.0), Some(DataFlag::Normal))
    );

    let trailing = samples
        .iter()
        .find(|sample| sample.packet.starts_with("##0481"))
        .unwrap();
    let frame = frame_line(&trailing.packet);
    assert_eq!(
        frame.warnings(),
        &[FrameWarning::LengthMismatch {
            declared: 481,
            actual: 482
        }]
    );
    let packet = Packet::parse(frame.segment()).unwrap();
    assert_eq!(packet.flag, Some(7));
    assert!(packet.is_subpacket());
    assert_eq!(packet.readings().len(), 13);
    assert!(packet.warnings.is_empty(), "{:?}", packet.warnings);
}

#[test]
fn codes_2005_map_only_within_the_medium_of_the_system() {
    let samples = load_samples();
    let flue_gas = samples
        .iter()
        .find(|sample| sample.packet.starts_with("##0679"))
        .unwrap();
    let frame = frame_line(&flue_gas.packet);
    let packet = Packet::parse(frame.segment()).unwrap();
    let factor = |code: &str| {
        packet
            .readings()
            .into_iter()
            .find(|reading| reading.code == code)
            .map(|reading| reading.factor)
    };
    assert_eq!(factor("01"), Some("a34013"));
    assert_eq!(factor("02"), Some("a21026"));
    assert_eq!(factor("S01"), Some("a19001"));
    assert_eq!(factor("S04"), Some("a01017"));

    let receiver_log = samples
        .iter()
        .find(|sample| sample.packet.starts_with("##0872"))
        .unwrap();
    let frame = frame_line(&receiver_log.packet);
    let packet = Packet::parse(frame.segment()).unwrap();
    let chromium = packet
        .readings()
        .into_iter()
        .find(|reading| reading.code == "023")
        .unwrap();
    assert_eq!(
        chromium.factor, "023",
        "a water code under ST=31 is not mapped"
    );
}
