//! HJ 212-2025 encryption of the CP data region: SM4-ECB with a 16-byte key, no padding. Every full 16-byte
//! block between `CP=&&` and the closing `&&` is encrypted; a tail shorter than 16 bytes stays in clear. The CRC
//! is computed over the plaintext before encrypting, and the length field is the plaintext length (SM4-ECB
//! without padding keeps the length). No flag marks an encrypted packet: a receiver tries its keys and keeps
//! the one whose plaintext passes the CRC.

use ::sm4::Sm4;
use ::sm4::cipher::generic_array::GenericArray;
use ::sm4::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};

use crate::crc::CrcVerdict;
use crate::frame::Frame;

pub const KEY_LEN: usize = 16;
const BLOCK: usize = 16;
const CP_MARKER: &[u8] = b"CP=&&";

/// A device's SM4 key.
pub type Sm4Key = [u8; KEY_LEN];

/// Encrypts the full blocks of a CP data region in place; the tail (< 16 bytes) stays in clear.
pub fn encrypt_region(key: &Sm4Key, region: &mut [u8]) {
    let cipher = Sm4::new(GenericArray::from_slice(key));
    for block in region.chunks_exact_mut(BLOCK) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
}

/// Decrypts the full blocks of a CP data region in place.
pub fn decrypt_region(key: &Sm4Key, region: &mut [u8]) {
    let cipher = Sm4::new(GenericArray::from_slice(key));
    for block in region.chunks_exact_mut(BLOCK) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
}

/// Where the data region lies inside a segment: after the first `CP=&&` (the header is always in clear), up
/// to the closing `&&`.
fn cp_region(segment: &[u8]) -> Option<std::ops::Range<usize>> {
    let marker = segment
        .windows(CP_MARKER.len())
        .position(|window| window == CP_MARKER)?;
    let start = marker + CP_MARKER.len();
    let end = segment.len().checked_sub(2)?;
    (end >= start && &segment[end..] == b"&&").then_some(start..end)
}

/// Encrypts the CP region of an encoded plaintext packet (as built by [`crate::encode`]); the CRC already on
/// the wire is the plaintext CRC, as the standard requires. Returns `None` if there is no CP region.
pub fn encrypt_packet(key: &Sm4Key, wire: &[u8]) -> Option<Vec<u8>> {
    let mut out = wire.to_vec();
    // `##` + 4 digits, segment, 4 CRC digits, CRLF.
    let segment_end = out.len().checked_sub(6)?;
    let region = cp_region(out.get(6..segment_end)?)?;
    encrypt_region(key, &mut out[6 + region.start..6 + region.end]);
    Some(out)
}

/// The frame with its CP region decrypted by `key` (CRC not checked: see [`open`]).
pub fn decrypt_frame(key: &Sm4Key, frame: &Frame) -> Option<Frame> {
    let segment_range = frame.segment_range();
    let region = cp_region(frame.segment())?;
    let mut raw = frame.raw().to_vec();
    decrypt_region(
        key,
        &mut raw[segment_range.start + region.start..segment_range.start + region.end],
    );
    Some(Frame::from_parts(
        raw,
        segment_range,
        frame.declared_len(),
        frame.warnings().to_vec(),
    ))
}

/// What [`open`] made of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Not encrypted: the CRC matches as received (also every CP shorter than one block).
    Plain,
    /// Decrypted with the candidate key at this index; the frame holds the plaintext.
    Decrypted { key_index: usize, frame: Frame },
    /// Neither as received nor with any key does the CRC match (wrong key, corruption, or a bad CRC).
    Unreadable,
}

/// Reads a frame that may be encrypted: as received first, then with each candidate key (current key first,
/// then older ones, so packets sent around a key rotation are not lost). The CRC over the plaintext decides,
/// the Modbus variant counting as a match — but the HJ 212 CRC carries only 8 bits from one byte to the next,
/// so a ciphertext passes it by chance once in about 256 packets (measured: 0.4 % of encrypted packets were
/// taken for plain ones before this check). A reading therefore counts only if its segment is also text
/// (UTF-8), which plaintext always is and ciphertext almost never; a frame that passes as received but is
/// not text is still [`Opened::Plain`] when no key gives text.
pub fn open<'k>(frame: &Frame, candidates: impl IntoIterator<Item = &'k Sm4Key>) -> Opened {
    let passes = |verdict: CrcVerdict| matches!(verdict, CrcVerdict::Ok | CrcVerdict::Variant);
    let is_text = |frame: &Frame| std::str::from_utf8(frame.segment()).is_ok();
    let plain = passes(frame.crc_verdict());
    if plain && is_text(frame) {
        return Opened::Plain;
    }
    for (key_index, key) in candidates.into_iter().enumerate() {
        if let Some(decrypted) = decrypt_frame(key, frame)
            && passes(decrypted.crc_verdict())
            && is_text(&decrypted)
        {
            return Opened::Decrypted {
                key_index,
                frame: decrypted,
            };
        }
    }
    if plain {
        Opened::Plain
    } else {
        Opened::Unreadable
    }
}

/// NewSK is sent as 16 characters whose ASCII bytes are the key (the 2025 test key is `0000000000000000`).
pub fn key_from_text(text: &str) -> Option<Sm4Key> {
    text.as_bytes().try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::decode_all;
    use crate::packet::Packet;

    const TEST_KEY: Sm4Key = *b"0000000000000000";

    /// HJ 212-2025 Appendix A.2 examples (plaintext packet, ciphertext of the CP region, clear tail).
    const VECTORS: &[(&str, &str, &str)] = &[
        (
            "##0295QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N&&2200",
            "E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD33D285CC76F57F2CA7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E1C2B3075592B4D1E09C4D8BB27BE97B559E3DA6643781A6F477769DEEB009B10DFFF3426922725D607DC4480F0CAC5F70DB2587B124BCB281592721D6E4BC180A97E5E111499CBE822E31C8D7761553543AA24207C290997BBDE64F9266BC5F529A172E381C1D898CA1A0D771A914A7B2D7467C70B94F1D4A7B0350A48DBF8B41",
            "",
        ),
        (
            "##0234QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01014-Min=3.20,a01014-Avg=3.20,a01014-Max=3.20,a01014-Flag=N&&B541",
            "E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD33D285CC76F57F2CA7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E13B391A1D2A454B65388D5D9435DBF021528C7BF9755EF16518710C0CAC0ADEF9C5156CD0A5A17674AC0ED2ABC40023E9EF70128554B82438E91ADCE98A0D03A4",
            "g=N",
        ),
    ];

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn appendix_a2_vectors_encrypt_and_decrypt() {
        for (plain_line, cipher_hex, tail) in VECTORS {
            let plain_wire = format!("{plain_line}\r\n").into_bytes();
            let encrypted = encrypt_packet(&TEST_KEY, &plain_wire).unwrap();
            let cp_start = plain_line.find("CP=&&").unwrap() + 5;
            let cipher = hex(cipher_hex);
            let region = &encrypted[cp_start..encrypted.len() - 8];
            assert_eq!(&region[..cipher.len()], cipher.as_slice());
            assert_eq!(&region[cipher.len()..], tail.as_bytes());
            assert_eq!(
                &encrypted[..cp_start],
                &plain_wire[..cp_start],
                "header in clear"
            );
            assert_eq!(
                &encrypted[encrypted.len() - 8..],
                &plain_wire[plain_wire.len() - 8..],
                "&&, plaintext CRC, CRLF"
            );

            // Framed by length although the ciphertext may hold CR, LF and `#`.
            let frame = decode_all(&encrypted).remove(0).unwrap();
            assert!(matches!(frame.crc_verdict(), CrcVerdict::Bad { .. }));
            let wrong_key = *b"1111111111111111";
            let Opened::Decrypted { key_index, frame } = open(&frame, [&wrong_key, &TEST_KEY])
            else {
                panic!("not decrypted")
            };
            assert_eq!(key_index, 1);
            assert_eq!(frame.raw(), plain_wire.as_slice());
            let packet = Packet::parse(frame.segment()).unwrap();
            assert_eq!(packet.cp.measure("a01014", crate::Suffix::Flag), Some("N"));
        }
    }

    #[test]
    fn plain_and_unreadable_frames() {
        let plain = decode_all(format!("{}\r\n", VECTORS[1].0).as_bytes())
            .remove(0)
            .unwrap();
        assert_eq!(open(&plain, [&TEST_KEY]), Opened::Plain);
        let encrypted = encrypt_packet(&TEST_KEY, plain.raw()).unwrap();
        let frame = decode_all(&encrypted).remove(0).unwrap();
        assert_eq!(open(&frame, [b"1111111111111111"]), Opened::Unreadable);
        assert_eq!(key_from_text("0000000000000000"), Some(TEST_KEY));
        assert_eq!(key_from_text("000"), None);
    }

    /// About one ciphertext in 256 passes the HJ 212 CRC as received; it must still be decrypted.
    #[test]
    fn a_ciphertext_that_passes_the_crc_by_chance_is_still_decrypted() {
        let mut chance = None;
        for millis in 0..5_000 {
            // The measured value changes the ciphertext.
            let segment = format!(
                "QN=20261201134511000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;\
                 CP=&&DataTime=20261121080000;a21026-Avg={millis}.5,a21026-Flag=N;a21002-Avg=44.610,a21002-Flag=N&&",
            );
            let wire = crate::encode::frame_segment(segment.as_bytes()).unwrap();
            let encrypted = encrypt_packet(&TEST_KEY, &wire).unwrap();
            let frame = decode_all(&encrypted).remove(0).unwrap();
            if frame.crc_verdict() == CrcVerdict::Ok {
                chance = Some((wire, frame));
                break;
            }
        }
        let (wire, frame) = chance.expect("a ciphertext passing the CRC within 5,000 packets");
        match open(&frame, [b"1111111111111111", &TEST_KEY]) {
            Opened::Decrypted { key_index, frame } => {
                assert_eq!(key_index, 1);
                assert_eq!(frame.raw(), wire.as_slice());
            }
            other => panic!("decrypted expected, got {other:?}"),
        }
        // Without the right key it is what it seemed: a frame whose CRC matches.
        assert_eq!(open(&frame, [b"1111111111111111"]), Opened::Plain);
    }
}
