//! Feeds arbitrary bytes, split at a fuzzer-chosen point, through the whole receive path: framing, CRC,
//! SM4 opening with a test key, parsing, readings, reply encoding and sub-packet reassembly. Any panic is a bug.
//!
//! Run: `cargo +nightly fuzz run decode` from the repository root (needs cargo-fuzz; not part of CI).
#![no_main]

use hj212::frame::FrameDecoder;
use hj212::reassembly::Reassembler;
use hj212::sm4::{Opened, open};
use hj212::{Packet, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(bytes.len());
    let key = *b"0000000000000000";
    let now = chrono::DateTime::UNIX_EPOCH;
    let mut reassembler = Reassembler::new(4);
    let mut decoder = FrameDecoder::with_cap(0);
    for part in [&bytes[..split], &bytes[split..]] {
        decoder.push(part);
        while let Some(result) = decoder.next_frame() {
            let Ok(frame) = result else { continue };
            let frame = match open(&frame, [&key]) {
                Opened::Decrypted { frame, .. } => frame,
                Opened::Plain | Opened::Unreadable => frame,
            };
            if let Ok(packet) = Packet::parse(frame.segment()) {
                let _ = packet.readings();
                let _ = encode::reply_to(&packet);
                let _ = reassembler.offer(&packet, now);
            }
        }
    }
    decoder.finish();
    while decoder.next_frame().is_some() {}
});
