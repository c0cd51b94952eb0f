//! Decode throughput on the sample corpus: `cargo bench -p hj212 --bench decode`.
//!
//! The corpus (69 packets, `fixtures/hj212/samples.txt`) is fed as one TCP-like byte stream with CRLF after
//! each packet; counters report packets and bytes per second.

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use hj212::frame::FrameDecoder;
use hj212::{CrcVerdict, Frame, Packet, crc};

fn main() {
    divan::main();
}

/// The corpus as a byte stream, and the number of packets in it.
fn corpus() -> (Vec<u8>, usize) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/hj212/samples.txt"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("the benchmark needs {path}: {error}"));
    let mut stream = Vec::new();
    let mut packets = 0;
    for line in text.lines().filter(|line| line.starts_with("##")) {
        stream.extend_from_slice(line.as_bytes());
        stream.extend_from_slice(b"\r\n");
        packets += 1;
    }
    (stream, packets)
}

/// The corpus framed beforehand.
fn framed() -> Vec<Frame> {
    let (stream, _) = corpus();
    let mut decoder = FrameDecoder::new();
    decoder.push(&stream);
    std::iter::from_fn(|| decoder.next_frame())
        .filter_map(Result::ok)
        .collect()
}

/// Streams the corpus through a fresh decoder per iteration and applies `per_frame` to every frame.
fn bench_stream(bencher: Bencher, per_frame: fn(&Frame) -> usize) {
    let (stream, packets) = corpus();
    bencher
        .counter(ItemsCount::new(packets))
        .counter(BytesCount::new(stream.len()))
        .bench(|| {
            let mut decoder = FrameDecoder::new();
            decoder.push(divan::black_box(&stream));
            std::iter::from_fn(|| decoder.next_frame())
                .filter_map(Result::ok)
                .map(|frame| per_frame(&frame))
                .sum::<usize>()
        });
}

/// Framing alone.
#[divan::bench]
fn frame_only(bencher: Bencher) {
    bench_stream(bencher, |frame| frame.segment().len());
}

/// CRC over every data segment (no framing).
#[divan::bench]
fn crc_only(bencher: Bencher) {
    let frames = framed();
    bencher.counter(ItemsCount::new(frames.len())).bench(|| {
        frames
            .iter()
            .map(|frame| crc::hj212_crc(divan::black_box(frame.segment())))
            .fold(0u16, |acc, crc| acc ^ crc)
    });
}

/// The target: framing + CRC verdict (with the Modbus-variant check when the standard CRC fails) + parsing of
/// header and CP into key/values.
#[divan::bench]
fn decode_crc_parse(bencher: Bencher) {
    bench_stream(bencher, |frame| {
        let verdict = frame.crc_verdict();
        Packet::parse(frame.segment()).map_or(0, |packet| {
            packet.cp.items.len() + usize::from(verdict == CrcVerdict::Ok)
        })
    });
}

/// Everything a gateway does before storing: also readings with flags and numbers, times, 2005 code mapping.
#[divan::bench]
fn decode_crc_parse_readings(bencher: Bencher) {
    bench_stream(bencher, |frame| {
        let _ = frame.crc_verdict();
        Packet::parse(frame.segment()).map_or(0, |packet| {
            let readings = packet.readings();
            readings
                .iter()
                .filter(|reading| reading.value.is_some() && reading.data_time.is_some())
                .count()
        })
    });
}

/// Parsing alone, on segments framed beforehand.
#[divan::bench]
fn parse_only(bencher: Bencher) {
    let frames = framed();
    bencher.counter(ItemsCount::new(frames.len())).bench(|| {
        frames
            .iter()
            .map(|frame| {
                Packet::parse(divan::black_box(frame.segment()))
                    .map_or(0, |packet| packet.cp.items.len())
            })
            .sum::<usize>()
    });
}

/// Building the 9014 acknowledgement a gateway sends for each upload that asks for one.
#[divan::bench]
fn encode_data_ack(bencher: Bencher) {
    let frames = framed();
    let packets: Vec<Packet<'_>> = frames
        .iter()
        .filter_map(|frame| Packet::parse(frame.segment()).ok())
        .collect();
    bencher.counter(ItemsCount::new(packets.len())).bench(|| {
        packets
            .iter()
            .map(|packet| {
                hj212::encode::data_response(divan::black_box(packet)).map_or(0, |wire| wire.len())
            })
            .sum::<usize>()
    });
}
