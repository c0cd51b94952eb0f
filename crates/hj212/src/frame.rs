//! Framing: `##` + 4-digit length + data segment + 4 hex CRC + CRLF, cut out of a TCP byte stream.
//!
//! The length field is authoritative (2025 ciphertext may hold CR, LF and `#`). When the bytes at the
//! declared end are not a CRC followed by CRLF, the decoder falls back to the first `&&XXXX` + CRLF after the
//! header (devices that count characters instead of bytes, or simply miscount) and reports the mismatch as a
//! warning. Garbage and Modbus noise between packets are skipped up to the next `##`.

use std::ops::Range;

use serde::Serialize;
use thiserror::Error;

use crate::crc::{self, CrcVerdict};

/// The length field has four decimal digits.
pub const MAX_DECLARED_LEN: usize = 9999;
/// The standard's limit for the data segment; longer segments are accepted with a warning.
pub const STANDARD_MAX_SEGMENT: usize = 1024;
/// `##` + length digits.
const HEADER_LEN: usize = 6;
/// The longest frame the length field can describe: header, segment, CRC, CRLF.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_DECLARED_LEN + 4 + 2;
/// Default cap on bytes buffered by one decoder: a maximal frame plus a generous read.
pub const DEFAULT_BUFFER_CAP: usize = 64 * 1024;

/// Something tolerated while framing, worth recording with the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum FrameWarning {
    /// Data segment longer than the standard's 1024 bytes (seen in the field up to 1623).
    Oversize { declared: usize },
    /// The declared length does not match the segment actually delimited by `&&XXXX` + CRLF.
    LengthMismatch { declared: usize, actual: usize },
    /// The frame was not followed by CR LF.
    MissingCrlf,
}

/// Bytes that could not be framed. The decoder always makes progress after reporting one.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum FrameError {
    #[error("skipped {skipped} bytes that are not an HJ 212 packet")]
    Garbage { skipped: usize },
    #[error("`##` not followed by four length digits")]
    BadLength,
    #[error(
        "no CRC and end of packet where the length field ({declared}) says, nor anywhere before the next `##`"
    )]
    Unterminated { declared: usize },
    #[error("stream ended inside a packet ({buffered} bytes)")]
    Truncated { buffered: usize },
    #[error("buffer cap exceeded: {discarded} bytes discarded")]
    Overflow { discarded: usize },
}

/// One framed packet: the raw bytes as received plus where the segment and CRC are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    raw: Vec<u8>,
    segment: Range<usize>,
    declared_len: usize,
    warnings: Vec<FrameWarning>,
}

impl Frame {
    /// Builds a frame around an already decoded segment (used after SM4 decryption and by the encoder).
    pub(crate) fn from_parts(
        raw: Vec<u8>,
        segment: Range<usize>,
        declared_len: usize,
        warnings: Vec<FrameWarning>,
    ) -> Frame {
        Frame {
            raw,
            segment,
            declared_len,
            warnings,
        }
    }

    /// The bytes as received, from `##` through CRLF (kept as evidence).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The data segment: what the CRC covers and what [`crate::Packet::parse`] reads.
    pub fn segment(&self) -> &[u8] {
        &self.raw[self.segment.clone()]
    }

    pub(crate) fn segment_range(&self) -> Range<usize> {
        self.segment.clone()
    }

    /// The four CRC characters as sent.
    pub fn crc_field(&self) -> &[u8] {
        &self.raw[self.segment.end..self.segment.end + 4]
    }

    pub fn declared_len(&self) -> usize {
        self.declared_len
    }

    pub fn warnings(&self) -> &[FrameWarning] {
        &self.warnings
    }

    pub fn crc_verdict(&self) -> CrcVerdict {
        crc::check(self.segment(), self.crc_field())
    }
}

enum Scan {
    NeedMore,
    Complete(Frame, usize),
    Reject(FrameError, usize),
}

fn is_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_hexdigit)
}

fn parse_length(digits: &[u8]) -> Option<usize> {
    digits.iter().try_fold(0usize, |acc, &digit| {
        digit
            .is_ascii_digit()
            .then(|| acc * 10 + usize::from(digit - b'0'))
    })
}

/// Length of the line ending at `bytes` start: 2 for CRLF, 1 for a lone LF, 0 otherwise.
fn terminator_len(bytes: &[u8]) -> usize {
    match bytes {
        [b'\r', b'\n', ..] => 2,
        [b'\n', ..] => 1,
        _ => 0,
    }
}

/// Position of the next `##` at or after `from`.
fn find_start(buf: &[u8], from: usize) -> Option<usize> {
    let mut index = from;
    while index + 1 < buf.len() {
        match buf[index + 1..].iter().position(|&byte| byte == b'#') {
            Some(offset) => {
                let hash = index + 1 + offset;
                if buf[hash - 1] == b'#' {
                    // In a run of `#`, the packet starts at the last two.
                    let run = buf[hash + 1..]
                        .iter()
                        .take_while(|&&byte| byte == b'#')
                        .count();
                    return Some(hash - 1 + run);
                }
                index = hash;
            }
            None => return None,
        }
    }
    None
}

/// First `&&` + 4 hex + line end after the header; returns the index of the CRC.
fn find_terminator(buf: &[u8]) -> Option<usize> {
    let mut index = HEADER_LEN;
    while index + 8 <= buf.len() {
        let offset = buf[index..].windows(2).position(|pair| pair == b"&&")?;
        let amp = index + offset;
        let crc_at = amp + 2;
        if crc_at + 5 <= buf.len()
            && is_hex(&buf[crc_at..crc_at + 4])
            && terminator_len(&buf[crc_at + 4..]) > 0
        {
            return Some(crc_at);
        }
        index = amp + 1;
    }
    None
}

/// Whether a frame that ends exactly at the declared length can be cut here (`buf` starts with `##`).
fn complete_by_length(buf: &[u8], at_eof: bool) -> Option<(usize, usize)> {
    let declared = parse_length(buf.get(2..HEADER_LEN)?)?;
    let crc_at = HEADER_LEN + declared;
    let end = crc_at + 4;
    if buf.len() < end || !is_hex(&buf[crc_at..end]) {
        return None;
    }
    let rest = &buf[end..];
    let terminator = terminator_len(rest);
    let ends_here = terminator > 0
        || rest.starts_with(b"##")
        || (rest.is_empty() && at_eof)
        || (rest == b"\r" && at_eof);
    ends_here.then_some((crc_at, end + terminator.max(usize::from(rest == b"\r"))))
}

fn build(buf: &[u8], crc_at: usize, consumed: usize, declared: usize) -> Frame {
    let segment_len = crc_at - HEADER_LEN;
    let mut warnings = Vec::new();
    if declared > STANDARD_MAX_SEGMENT {
        warnings.push(FrameWarning::Oversize { declared });
    }
    if segment_len != declared {
        warnings.push(FrameWarning::LengthMismatch {
            declared,
            actual: segment_len,
        });
    }
    if consumed == crc_at + 4 || buf[crc_at + 4] != b'\r' {
        warnings.push(FrameWarning::MissingCrlf);
    }
    Frame::from_parts(
        buf[..consumed].to_vec(),
        HEADER_LEN..crc_at,
        declared,
        warnings,
    )
}

/// Tries to cut one frame from `buf`, which starts with `##`.
fn scan(buf: &[u8], at_eof: bool) -> Scan {
    if buf.len() < HEADER_LEN {
        return if at_eof {
            Scan::Reject(
                FrameError::Truncated {
                    buffered: buf.len(),
                },
                buf.len(),
            )
        } else {
            Scan::NeedMore
        };
    }
    let Some(declared) = parse_length(&buf[2..HEADER_LEN]) else {
        return Scan::Reject(FrameError::BadLength, 2);
    };
    if let Some((crc_at, consumed)) = complete_by_length(buf, at_eof) {
        return Scan::Complete(build(buf, crc_at, consumed, declared), consumed);
    }
    let declared_end_buffered = buf.len() >= HEADER_LEN + declared + 4 + 2;
    let next_start = find_start(buf, 2);
    if let Some(crc_at) = find_terminator(buf)
        && next_start.is_none_or(|start| crc_at < start)
    {
        let consumed = crc_at + 4 + terminator_len(&buf[crc_at + 4..]);
        return Scan::Complete(build(buf, crc_at, consumed, declared), consumed);
    }
    if let Some(start) = next_start {
        // Either the length is wrong and there is no terminator before the next packet, or this `##` was noise
        // whose "length" would swallow a real packet that is already complete.
        if declared_end_buffered || complete_by_length(&buf[start..], at_eof).is_some() {
            return Scan::Reject(FrameError::Unterminated { declared }, start);
        }
    }
    if at_eof {
        // A last packet without CRLF whose length is wrong: accept `&&XXXX` at the very end.
        let len = buf.len();
        if len >= HEADER_LEN + 6 && &buf[len - 6..len - 4] == b"&&" && is_hex(&buf[len - 4..]) {
            return Scan::Complete(build(buf, len - 4, len, declared), len);
        }
        return Scan::Reject(FrameError::Truncated { buffered: len }, len);
    }
    // Without a next `##` the terminator may still come (a device that under-counts its length).
    if buf.len() >= MAX_FRAME_LEN {
        return Scan::Reject(FrameError::Unterminated { declared }, 2);
    }
    Scan::NeedMore
}

/// Streaming decoder: push bytes as they arrive, then drain with [`FrameDecoder::next_frame`].
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    start: usize,
    cap: usize,
    at_eof: bool,
    pending_overflow: usize,
    waiting: Option<Waiting>,
}

/// A packet start seen but incomplete: what was already examined, so a client trickling bytes does not make
/// every push rescan the whole partial packet. Offsets are relative to the packet start.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    examined: usize,
    declared_end: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::with_cap(DEFAULT_BUFFER_CAP)
    }
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// A decoder that never holds more than `cap` bytes (at least one maximal frame).
    pub fn with_cap(cap: usize) -> FrameDecoder {
        FrameDecoder {
            buffer: Vec::new(),
            start: 0,
            cap: cap.max(MAX_FRAME_LEN),
            at_eof: false,
            pending_overflow: 0,
            waiting: None,
        }
    }

    /// Bytes held, not yet framed.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Appends received bytes. Past the cap the oldest bytes are dropped and reported as
    /// [`FrameError::Overflow`] by the next call to [`FrameDecoder::next_frame`].
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let excess = (self.buffer.len() + bytes.len()).saturating_sub(self.cap);
        if excess > 0 {
            let from_buffer = excess.min(self.buffer.len());
            self.buffer.drain(..from_buffer);
            let from_input = excess - from_buffer;
            self.pending_overflow += excess;
            self.waiting = None;
            self.buffer.extend_from_slice(&bytes[from_input..]);
        } else {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// Marks the end of the stream: what is left is framed without waiting for more bytes.
    pub fn finish(&mut self) {
        self.at_eof = true;
    }

    /// The next frame or framing error, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        if self.pending_overflow > 0 {
            let discarded = std::mem::take(&mut self.pending_overflow);
            return Some(Err(FrameError::Overflow { discarded }));
        }
        // Line ends and blanks between packets are not worth reporting.
        while self.start < self.buffer.len()
            && matches!(self.buffer[self.start], b'\r' | b'\n' | b' ' | b'\t')
        {
            self.start += 1;
        }
        let available = &self.buffer[self.start..];
        if available.is_empty() {
            return None;
        }
        match find_start(available, 0) {
            Some(0) => {}
            Some(offset) => {
                self.start += offset;
                self.waiting = None;
                return Some(Err(FrameError::Garbage { skipped: offset }));
            }
            None => {
                // Keep a trailing `#`: it may be the first half of the next `##`.
                let keep = usize::from(!self.at_eof && available.last() == Some(&b'#'));
                let skipped = available.len() - keep;
                if skipped == 0 {
                    return None;
                }
                self.start += skipped;
                self.waiting = None;
                return Some(Err(FrameError::Garbage { skipped }));
            }
        }
        let available = &self.buffer[self.start..];
        if let Some(waiting) = self.waiting
            && !self.at_eof
        {
            // Nothing can end the packet until its declared end arrives, a line ends or a new `##` starts.
            let fresh = available.get(waiting.examined..).unwrap_or_default();
            if available.len() < waiting.declared_end
                && !fresh.iter().any(|&byte| byte == b'\n' || byte == b'#')
            {
                self.waiting = Some(Waiting {
                    examined: available.len(),
                    ..waiting
                });
                return None;
            }
        }
        self.waiting = None;
        match scan(available, self.at_eof) {
            Scan::NeedMore => {
                let declared_end = available
                    .get(2..HEADER_LEN)
                    .and_then(parse_length)
                    .map_or(HEADER_LEN, |declared| HEADER_LEN + declared + 6);
                self.waiting = Some(Waiting {
                    examined: available.len(),
                    declared_end,
                });
                None
            }
            Scan::Complete(frame, consumed) => {
                self.start += consumed;
                Some(Ok(frame))
            }
            Scan::Reject(error, skip) => {
                self.start += skip;
                Some(Err(error))
            }
        }
    }
}

impl Iterator for FrameDecoder {
    type Item = Result<Frame, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame()
    }
}

/// Frames every packet in a complete byte string (a line of a log, a test vector).
pub fn decode_all(bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
    let mut decoder = FrameDecoder::with_cap(bytes.len() + MAX_FRAME_LEN);
    decoder.push(bytes);
    decoder.finish();
    decoder.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPENDIX_A: &[u8] =
        b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

    fn frames(decoder: &mut FrameDecoder) -> Vec<Result<Frame, FrameError>> {
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    #[test]
    fn one_packet_byte_by_byte() {
        let mut decoder = FrameDecoder::new();
        let mut got = Vec::new();
        for &byte in APPENDIX_A {
            decoder.push(&[byte]);
            got.extend(frames(&mut decoder));
        }
        assert_eq!(got.len(), 1);
        let frame = got.remove(0).unwrap();
        assert_eq!(frame.raw(), APPENDIX_A);
        assert_eq!(frame.crc_field(), b"1C80");
        assert_eq!(frame.crc_verdict(), CrcVerdict::Ok);
        assert!(frame.warnings().is_empty());
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn an_oversize_packet_trickled_byte_by_byte_frames() {
        let segment = format!("ST=31;CN=2011;PW=1;MN=2;CP=&&{}&&", "a-Rtd=1;".repeat(1200));
        let wire = crate::encode::frame_segment(segment.as_bytes()).unwrap();
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        for &byte in &wire {
            decoder.push(&[byte]);
            frames.extend(std::iter::from_fn(|| decoder.next_frame()));
        }
        assert_eq!(frames.len(), 1);
        let frame = frames.remove(0).unwrap();
        assert_eq!(frame.raw(), wire.as_slice());
        assert_eq!(
            frame.warnings(),
            &[FrameWarning::Oversize {
                declared: segment.len()
            }]
        );
    }

    #[test]
    fn noise_between_packets_is_reported_and_skipped() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\x00\x01\x03\x00\x00\x00\x06\x01#");
        stream.extend_from_slice(APPENDIX_A);
        stream.extend_from_slice(b"garbage");
        stream.extend_from_slice(APPENDIX_A);
        let mut decoder = FrameDecoder::new();
        decoder.push(&stream);
        let got = frames(&mut decoder);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], Err(FrameError::Garbage { skipped: 9 }));
        assert!(got[1].is_ok());
        assert_eq!(got[2], Err(FrameError::Garbage { skipped: 7 }));
        assert!(got[3].is_ok());
    }

    #[test]
    fn bogus_length_in_noise_does_not_swallow_the_next_packet() {
        let mut stream = b"##9999xx".to_vec();
        stream.extend_from_slice(APPENDIX_A);
        let mut decoder = FrameDecoder::new();
        decoder.push(&stream);
        let got = frames(&mut decoder);
        assert_eq!(got[0], Err(FrameError::Unterminated { declared: 9999 }));
        assert_eq!(got[1].as_ref().unwrap().raw(), APPENDIX_A);
    }

    #[test]
    fn wrong_length_falls_back_to_the_terminator() {
        let packet = b"##0088ST=91;CN=3012;CP=&&QN=20040516010100001;RS=1&&23AD\r\n";
        let mut decoder = FrameDecoder::new();
        decoder.push(packet);
        let frame = decoder.next_frame().unwrap().unwrap();
        assert_eq!(frame.segment(), &packet[6..packet.len() - 6]);
        assert_eq!(
            frame.warnings(),
            &[FrameWarning::LengthMismatch {
                declared: 88,
                actual: 46
            }]
        );
    }

    #[test]
    fn missing_crlf_at_end_of_stream() {
        let mut decoder = FrameDecoder::new();
        decoder.push(&APPENDIX_A[..APPENDIX_A.len() - 2]);
        assert!(decoder.next_frame().is_none(), "waits for the line end");
        decoder.finish();
        let frame = decoder.next_frame().unwrap().unwrap();
        assert_eq!(frame.warnings(), &[FrameWarning::MissingCrlf]);
        assert_eq!(frame.crc_verdict(), CrcVerdict::Ok);
    }

    #[test]
    fn a_second_start_too_short_for_a_length_is_reported_at_end_of_stream() {
        let mut decoder = FrameDecoder::new();
        let mut got = Vec::new();
        for &byte in b"##0000##" {
            decoder.push(&[byte]);
            got.extend(frames(&mut decoder));
        }
        decoder.finish();
        got.extend(frames(&mut decoder));
        assert_eq!(got, vec![Err(FrameError::Truncated { buffered: 8 })]);
    }

    #[test]
    fn overflow_is_reported_and_memory_bounded() {
        let mut decoder = FrameDecoder::with_cap(0);
        let noise = vec![b'#'; MAX_FRAME_LEN + 100];
        decoder.push(&noise);
        assert!(decoder.buffered() <= MAX_FRAME_LEN);
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameError::Overflow { discarded: 100 }))
        );
    }

    #[test]
    fn truncated_at_end_of_stream() {
        let mut decoder = FrameDecoder::new();
        decoder.push(&APPENDIX_A[..40]);
        assert!(decoder.next_frame().is_none());
        decoder.finish();
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameError::Truncated { buffered: 40 }))
        );
        assert_eq!(decoder.next_frame(), None);
    }
}
