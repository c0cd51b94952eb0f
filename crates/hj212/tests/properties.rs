//! Property tests: decoding never panics on arbitrary bytes, and encode → decode is the identity.

use hj212::crc::CrcVerdict;
use hj212::encode::{Header, encode};
use hj212::frame::{FrameDecoder, decode_all};
use hj212::sm4::{Opened, encrypt_packet, open};
use hj212::{Key, Packet};
use proptest::prelude::*;

/// Bytes that look like HJ 212 often enough to reach deep code paths.
fn packetish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"##0123456789&&;;,,==CPQNSTMFlagRtd-\r\n \xff\x00".to_vec();
    prop::collection::vec(prop::sample::select(alphabet), 0..600)
}

fn exercise(bytes: &[u8], chunk: usize) {
    let mut decoder = FrameDecoder::with_cap(0);
    let key = *b"0000000000000000";
    let check = |decoder: &mut FrameDecoder| {
        while let Some(result) = decoder.next_frame() {
            let Ok(frame) = result else { continue };
            let _ = frame.crc_verdict();
            if let Ok(packet) = Packet::parse(frame.segment()) {
                let _ = packet.readings();
                let _ = packet.version();
                let _ = hj212::encode::reply_to(&packet);
            }
            let _ = open(&frame, [&key]);
        }
    };
    for part in bytes.chunks(chunk.max(1)) {
        decoder.push(part);
        check(&mut decoder);
    }
    decoder.finish();
    check(&mut decoder);
    assert_eq!(
        decoder.buffered(),
        0,
        "everything is consumed at end of stream"
    );
}

#[derive(Debug, Clone)]
struct GeneratedPacket {
    qn: Option<String>,
    st: String,
    cn: u16,
    pw: String,
    mn: String,
    flag: Option<u8>,
    subpacket: Option<(u32, u32)>,
    backfill: bool,
    /// Subjects of `key=value` items.
    groups: Vec<Vec<(String, String)>>,
}

fn generated_packet() -> impl Strategy<Value = GeneratedPacket> {
    // A value starting with `//` is a log quoted up to its closing `//`, so generated values do not.
    let item = (
        "[a-z][a-z0-9]{0,6}(-[A-Z][a-zA-Z]{0,8})?",
        "[0-9A-Za-z.+_:-][0-9A-Za-z.+_:/-]{0,11}",
    );
    (
        (
            prop::option::of("[0-9]{17}"),
            "[0-9]{2,3}",
            1000u16..10000,
            "[0-9A-Za-z]{0,24}",
            "[0-9A-Za-z_]{0,24}",
        ),
        (
            any::<Option<u8>>(),
            prop::option::of((1u32..100, 1u32..100)),
            any::<bool>(),
        ),
        prop::collection::vec(prop::collection::vec(item, 1..5), 0..8),
    )
        .prop_map(
            |((qn, st, cn, pw, mn), (flag, subpacket, backfill), groups)| GeneratedPacket {
                qn,
                st,
                cn,
                pw,
                mn,
                flag,
                subpacket,
                backfill,
                groups,
            },
        )
}

fn cp_text(groups: &[Vec<(String, String)>]) -> String {
    groups
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn encode_generated(packet: &GeneratedPacket) -> Vec<u8> {
    let header = Header {
        qn: packet.qn.as_deref(),
        st: &packet.st,
        cn: packet.cn,
        pw: &packet.pw,
        mn: &packet.mn,
        flag: packet.flag,
        subpacket: packet.subpacket,
        backfill: packet.backfill,
    };
    encode(&header, &cp_text(&packet.groups)).unwrap()
}

fn assert_decodes_to(segment: &[u8], expected: &GeneratedPacket) {
    let packet = Packet::parse(segment).unwrap();
    assert_eq!(packet.qn, expected.qn.as_deref());
    assert_eq!(packet.st, Some(expected.st.as_str()));
    assert_eq!(packet.cn, expected.cn);
    assert_eq!(packet.pw, Some(expected.pw.as_str()));
    assert_eq!(packet.mn, Some(expected.mn.as_str()));
    assert_eq!(packet.flag, expected.flag);
    assert_eq!(packet.pnum.zip(packet.pno), expected.subpacket);
    assert_eq!(packet.backfill, expected.backfill);
    assert!(packet.warnings.is_empty(), "{:?}", packet.warnings);
    let decoded: Vec<(usize, String, String)> = packet
        .cp
        .items
        .iter()
        .map(|item| {
            if let Key::Measure { code, .. } = item.key {
                assert!(item.name.starts_with(code));
            }
            (
                usize::from(item.group),
                item.name.to_owned(),
                item.value.to_owned(),
            )
        })
        .collect();
    let expected_items: Vec<(usize, String, String)> = expected
        .groups
        .iter()
        .enumerate()
        .flat_map(|(group, items)| {
            items
                .iter()
                .map(move |(key, value)| (group, key.clone(), value.clone()))
        })
        .collect();
    assert_eq!(decoded, expected_items);
}

proptest! {
    // Cheap cases: more of them than the default 256 (a short `##` inside noise once slipped through 256);
    // PROPTEST_CASES still overrides.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..300) {
        exercise(&bytes, chunk);
    }

    #[test]
    fn decoding_packet_like_bytes_never_panics(bytes in packetish_bytes(), chunk in 1usize..64) {
        exercise(&bytes, chunk);
    }

    #[test]
    fn encode_then_decode_is_the_identity(packet in generated_packet(), split in 0usize..2000) {
        let wire = encode_generated(&packet);
        let mut decoder = FrameDecoder::new();
        let split = split.min(wire.len());
        decoder.push(&wire[..split]);
        let mut frames: Vec<_> = std::iter::from_fn(|| decoder.next_frame()).collect();
        decoder.push(&wire[split..]);
        frames.extend(std::iter::from_fn(|| decoder.next_frame()));
        prop_assert_eq!(frames.len(), 1);
        let frame = frames.remove(0).unwrap();
        prop_assert_eq!(frame.raw(), wire.as_slice());
        prop_assert!(frame.warnings().is_empty());
        prop_assert_eq!(frame.crc_verdict(), CrcVerdict::Ok);
        assert_decodes_to(frame.segment(), &packet);
    }

    #[test]
    fn sm4_encrypt_then_open_is_the_identity(packet in generated_packet(), key in prop::array::uniform16(33u8..127)) {
        let wire = encode_generated(&packet);
        let encrypted = encrypt_packet(&key, &wire).unwrap();
        prop_assert_eq!(encrypted.len(), wire.len());
        let frame = decode_all(&encrypted).remove(0).unwrap();
        match open(&frame, [&key]) {
            // Unchanged when CP is shorter than one block; otherwise only if the ciphertext happens to pass the
            // CRC (1 in 32768: the ambiguity the 2025 design accepts).
            Opened::Plain => prop_assume!(frame.raw() == wire.as_slice()),
            Opened::Decrypted { frame: plain, .. } => {
                prop_assert_eq!(plain.raw(), wire.as_slice());
                assert_decodes_to(plain.segment(), &packet);
            }
            Opened::Unreadable => prop_assert!(false, "the right key was offered"),
        }
    }
}
