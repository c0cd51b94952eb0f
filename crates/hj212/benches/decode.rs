//! Decode throughput on the sample corpus: `cargo bench -p hj212 --bench decode`.
//!
//! The corpus (69 packets, `shared/data/hj212/samples.txt`) is fed as one TCP-like byte stream with CRLF after
//! each packet; counters report packets and bytes per second.

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use hj212::frame::FrameDecoder;
use hj212::{Packet, crc};

fn main() {
    divan::main();
}

/// The corpus as a byte stream, and the number of packets in it.
fn corpus() -> (Vec<u8>, usize) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/hj212/samples.txt"
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

fn drain(stream: &[u8], mut per_frame: impl FnMut(&hj212::Frame) -> usize) -> usize {
    let mut decoder = FrameDecoder::new();
    decoder.push(stream);
    let mut total = 0;
    while let Some(result) = decoder.next_frame() {
        if let Ok(frame) = result {
            total += per_frame(&frame);
        }
    }
    total
}

/// Framing alone.
#[divan::bench]
fn frame_only(bencher: Bencher) {
    let (stream, packets) = corpus();
    bencher
        .counter(ItemsCount::new(packets))
        .counter(BytesCount::new(stream.len()))
        .bench(|| drain(divan::black_box(&stream), |frame| frame.segment().len()));
}

/// CRC over every data segment (no framing).
#[divan::bench]
fn crc_only(bencher: Bencher) {
    let (stream, packets) = corpus();
    let segments: Vec<&[u8]> = stream
        .split(|&byte| byte == b'\n')
        .filter(|line| line.len() > 12)
        .map(|line| &line[6..line.len() - 5])
        .collect();
    bencher.counter(ItemsCount::new(packets)).bench(|| {
        segments
            .iter()
            .map(|segment| crc::hj212_crc(divan::black_box(segment)))
            .fold(0u16, |acc, crc| acc ^ crc)
    });
}

/// The target: framing + CRC verdict + parsing of header and CP into key/values.
#[divan::bench]
fn decode_crc_parse(bencher: Bencher) {
    let (stream, packets) = corpus();
    bencher
        .counter(ItemsCount::new(packets))
        .counter(BytesCount::new(stream.len()))
        .bench(|| {
            drain(divan::black_box(&stream), |frame| {
                let verdict = frame.crc_verdict();
                match Packet::parse(frame.segment()) {
                    Ok(packet) => {
                        packet.cp.items.len() + usize::from(verdict == hj212::CrcVerdict::Ok)
                    }
                    Err(_) => 0,
                }
            })
        });
}

/// Everything a gateway does before storing: also readings with flags and numbers, times, 2005 code mapping.
#[divan::bench]
fn decode_crc_parse_readings(bencher: Bencher) {
    let (stream, packets) = corpus();
    bencher
        .counter(ItemsCount::new(packets))
        .counter(BytesCount::new(stream.len()))
        .bench(|| {
            drain(divan::black_box(&stream), |frame| {
                let _ = frame.crc_verdict();
                match Packet::parse(frame.segment()) {
                    Ok(packet) => packet
                        .readings()
                        .iter()
                        .filter(|reading| reading.value.is_some() && reading.data_time.is_some())
                        .count(),
                    Err(_) => 0,
                }
            })
        });
}

/// Parsing alone, on segments framed beforehand.
#[divan::bench]
fn parse_only(bencher: Bencher) {
    let (stream, packets) = corpus();
    let mut decoder = FrameDecoder::new();
    decoder.push(&stream);
    let frames: Vec<hj212::Frame> = std::iter::from_fn(|| decoder.next_frame())
        .filter_map(Result::ok)
        .collect();
    bencher.counter(ItemsCount::new(packets)).bench(|| {
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
    let (stream, _) = corpus();
    let mut decoder = FrameDecoder::new();
    decoder.push(&stream);
    let frames: Vec<hj212::Frame> = std::iter::from_fn(|| decoder.next_frame())
        .filter_map(Result::ok)
        .collect();
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
