//! `qingshan hj212 decode`: reads HJ 212 packets one per line (files or stdin) and reports, per packet, whether
//! it is accepted, its version, CRC verdict, header, DataTime and decoded values with flags, or the errors.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock, mpsc};

use anyhow::Context as _;
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, Timelike, Utc};
use clap::{Args, Subcommand};
use hj212::codes::{command_code, pollutant_code};
use hj212::frame::{FrameWarning, decode_all};
use hj212::time::parse_cst;
use hj212::{CrcMode, CrcVerdict, Key, Packet};
use kernel::byte_scan::{bytes_equal, words};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct Hj212Args {
    #[command(subcommand)]
    pub command: Hj212Command,
}

#[derive(Debug, Subcommand)]
pub enum Hj212Command {
    /// Decode packets, one per line (blank lines and lines starting with `#` are skipped).
    Decode(DecodeArgs),
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// One JSON object per packet instead of text.
    #[arg(long)]
    pub json: bool,
    /// CRC policy deciding acceptance: strict, accept-variant (Modbus low-byte-first too) or ignore.
    #[arg(long, default_value = "accept-variant", value_parser = parse_crc_mode)]
    pub crc_mode: CrcMode,
    /// Files to read; standard input when none.
    pub files: Vec<PathBuf>,
}

fn parse_crc_mode(text: &str) -> Result<CrcMode, String> {
    CrcMode::parse(text)
        .ok_or_else(|| format!("`{text}`: expected strict, accept-variant or ignore"))
}

pub fn run(args: Hj212Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Hj212Command::Decode(decode) => run_decode(&decode),
    }
}

/// Output is written in chunks this large: one system call per chunk instead of one per line (stdout alone is
/// line-buffered).
const IO_CHUNK: usize = 1 << 16;
/// Input is decoded in chunks of whole lines of about this size: large enough that handing a chunk to a worker
/// costs nothing next to decoding it, small enough that a few chunks in flight per worker stay a few MiB.
const DECODE_CHUNK: usize = 1 << 20;

fn run_decode(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::with_capacity(IO_CHUNK, std::io::stdout().lock());
    match decode_inputs(args, &mut out).and_then(|code| Ok(out.flush().map(|()| code)?)) {
        // The reader went away (`| head`): a filter stops there, quietly and successfully.
        Err(error) if is_broken_pipe(&error) => Ok(ExitCode::SUCCESS),
        result => result,
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn decode_inputs(args: &DecodeArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut unreadable = false;
    if args.files.is_empty() {
        decode_stream("-", std::io::stdin().lock(), args, out)?;
    }
    for path in &args.files {
        match std::fs::File::open(path) {
            Ok(file) => decode_stream(&path.display().to_string(), file, args, out)
                .with_context(|| format!("reading {}", path.display()))?,
            Err(error) => {
                // What was decoded before goes out first, so that the message follows it on a terminal.
                out.flush()?;
                eprintln!("错误 error: cannot read {}: {error}", path.display());
                unreadable = true;
            }
        }
    }
    Ok(if unreadable {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Decodes one input. Lines are independent (each is framed on its own), so chunks of whole lines are decoded
/// by as many workers as there are cores and their reports written in input order. A read error ends the
/// input after the reports of every complete line read before it, as a line-by-line reader would.
fn decode_stream(
    source: &str,
    reader: impl Read,
    args: &DecodeArgs,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    decode_stream_on(source, reader, args, out, workers)
}

fn decode_stream_on(
    source: &str,
    reader: impl Read,
    args: &DecodeArgs,
    out: &mut impl Write,
    workers: usize,
) -> std::io::Result<()> {
    let decoder = ChunkDecoder::new(source, args);
    let mut chunks = LineChunks::new(reader);
    if workers <= 1 {
        let mut input = Vec::new();
        let mut output = Vec::new();
        while let Some(first_line) = chunks.next_chunk(&mut input)? {
            output.clear();
            decoder.decode(first_line, &input, &mut output)?;
            out.write_all(&output)?;
        }
        return Ok(());
    }
    decode_in_parallel(&decoder, &mut chunks, workers, out)
}

/// A chunk of whole lines on its way to a worker and back: its place in the input, the number of its first
/// line, its bytes and the buffer its reports go to (both buffers are reused for later chunks).
struct Chunk {
    sequence: u64,
    first_line: usize,
    input: Vec<u8>,
    output: Vec<u8>,
}

fn decode_in_parallel(
    decoder: &ChunkDecoder<'_>,
    chunks: &mut LineChunks<impl Read>,
    workers: usize,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let (to_workers, work) = mpsc::sync_channel::<Chunk>(workers);
    let work = Mutex::new(work);
    std::thread::scope(|scope| {
        // Dropped when this closure returns, which ends the workers before the scope waits for them.
        let to_workers = to_workers;
        let (to_writer, decoded) = mpsc::channel::<std::io::Result<Chunk>>();
        for _ in 0..workers {
            let (work, to_writer) = (&work, to_writer.clone());
            scope.spawn(move || {
                // Ends when the sender is gone: the input is done, or the writer failed.
                let next = || work.lock().ok()?.recv().ok();
                while let Some(mut chunk) = next() {
                    chunk.output.clear();
                    let result = decoder
                        .decode(chunk.first_line, &chunk.input, &mut chunk.output)
                        .map(|()| chunk);
                    if to_writer.send(result).is_err() {
                        return;
                    }
                }
            });
        }
        drop(to_writer);
        // Two chunks per worker in flight: one being decoded, one waiting, so no worker waits for the reader.
        let most_in_flight = 2 * workers;
        let mut spare: Vec<Chunk> = Vec::new();
        let mut waiting_to_write: BTreeMap<u64, Chunk> = BTreeMap::new();
        let (mut next_to_read, mut next_to_write) = (0u64, 0u64);
        let mut read_error = None;
        loop {
            while read_error.is_none() && next_to_read - next_to_write < most_in_flight as u64 {
                let mut chunk = spare.pop().unwrap_or(Chunk {
                    sequence: 0,
                    first_line: 0,
                    input: Vec::new(),
                    output: Vec::new(),
                });
                match chunks.next_chunk(&mut chunk.input) {
                    Ok(Some(first_line)) => {
                        chunk.sequence = next_to_read;
                        chunk.first_line = first_line;
                        next_to_read += 1;
                        if to_workers.send(chunk).is_err() {
                            return Err(std::io::Error::other("decoding workers ended"));
                        }
                    }
                    Ok(None) => break,
                    Err(error) => read_error = Some(error),
                }
            }
            if next_to_write == next_to_read {
                return read_error.map_or(Ok(()), Err);
            }
            let chunk = decoded
                .recv()
                .map_err(|_| std::io::Error::other("decoding workers ended"))??;
            waiting_to_write.insert(chunk.sequence, chunk);
            while let Some(chunk) = waiting_to_write.remove(&next_to_write) {
                out.write_all(&chunk.output)?;
                next_to_write += 1;
                spare.push(chunk);
            }
        }
    })
}

/// Cuts an input into chunks of whole lines, counting lines.
struct LineChunks<R> {
    reader: R,
    /// The start of a line whose end has not been read yet.
    carry: Vec<u8>,
    next_line: usize,
    at_end: bool,
}

impl<R: Read> LineChunks<R> {
    fn new(reader: R) -> Self {
        LineChunks {
            reader,
            carry: Vec::new(),
            next_line: 1,
            at_end: false,
        }
    }

    /// Fills `chunk` with the next whole lines (the last line of the input may lack its line end) and returns
    /// the number of the first, or `None` at the end of the input. One read per chunk, more only while no line
    /// end has come, so that a pipe's packets are decoded as they arrive.
    fn next_chunk(&mut self, chunk: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
        chunk.clear();
        std::mem::swap(chunk, &mut self.carry);
        loop {
            if self.at_end {
                break;
            }
            let start = chunk.len();
            chunk.resize(start + DECODE_CHUNK, 0);
            let read = loop {
                match self.reader.read(&mut chunk[start..]) {
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    result => break result,
                }
            };
            let read = match read {
                Ok(read) => read,
                Err(error) => {
                    chunk.truncate(start);
                    std::mem::swap(chunk, &mut self.carry);
                    return Err(error);
                }
            };
            chunk.truncate(start + read);
            if read == 0 {
                self.at_end = true;
            } else if let Some(last_end) = chunk[start..].iter().rposition(|&byte| byte == b'\n') {
                self.carry.extend_from_slice(&chunk[start + last_end + 1..]);
                chunk.truncate(start + last_end + 1);
                break;
            }
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        let first_line = self.next_line;
        let line_ends = count_line_ends(chunk);
        self.next_line += line_ends + usize::from(chunk.last() != Some(&b'\n'));
        Ok(Some(first_line))
    }
}

/// Decodes chunks of lines into the report of every packet, as JSON lines or text.
struct ChunkDecoder<'a> {
    source: &'a str,
    /// `{"source":"…","line":`: the same for every report of the input, escaped once.
    json_prefix: Vec<u8>,
    json: bool,
    crc_mode: CrcMode,
}

impl<'a> ChunkDecoder<'a> {
    fn new(source: &'a str, args: &DecodeArgs) -> Self {
        let mut json_prefix = b"{\"source\":".to_vec();
        push_json_str(&mut json_prefix, source);
        json_prefix.extend_from_slice(b",\"line\":");
        ChunkDecoder {
            source,
            json_prefix,
            json: args.json,
            crc_mode: args.crc_mode,
        }
    }

    /// Appends the reports of the lines of `chunk`, the first of which is line `first_line`, to `out`.
    fn decode(&self, first_line: usize, chunk: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        let mut wire = Vec::new();
        for (number, line) in (first_line..).zip(lines(chunk)) {
            let text = line.trim_ascii();
            if text.is_empty() || text.starts_with(b"#") && !text.starts_with(b"##") {
                continue;
            }
            wire.clear();
            wire.extend_from_slice(text);
            wire.extend_from_slice(b"\r\n");
            decode_line(self.source, number, &wire, self.crc_mode, &mut |report| {
                if self.json {
                    write_json(report, &self.json_prefix, out);
                    Ok(())
                } else {
                    write_text(report, out)
                }
            })?;
        }
        Ok(())
    }
}

/// One decoded value: a measurement with its flag, or a parameter such as `QnRtn` or `SystemTime`.
#[derive(Debug, Serialize)]
struct ValueReport<'a> {
    key: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    factor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    /// The unit of the HJ 212 code table (flue gas / wastewater); ambient air stations report gases in µg/m³.
    #[serde(skip_serializing_if = "Option::is_none")]
    default_unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct PacketReport<'a> {
    source: &'a str,
    line: usize,
    accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crc: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crc_expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crc_found: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    st: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cn: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_time_utc: Option<UtcTime>,
    values: Vec<ValueReport<'a>>,
    warnings: Vec<String>,
    errors: Vec<String>,
}

/// Decodes the packets of one line and hands each report to `emit`; the reports borrow from the decoded frames,
/// so nothing is copied for them.
fn decode_line(
    source: &str,
    line: usize,
    wire: &[u8],
    crc_mode: CrcMode,
    emit: &mut dyn FnMut(&PacketReport<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let empty = || PacketReport {
        source,
        line,
        accepted: false,
        version: None,
        crc: None,
        crc_expected: None,
        crc_found: None,
        qn: None,
        st: None,
        cn: None,
        command: None,
        mn: None,
        flag: None,
        data_time: None,
        data_time_utc: None,
        values: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    for result in decode_all(wire) {
        let mut report = empty();
        let frame = match result {
            Ok(frame) => frame,
            Err(error) => {
                report.errors.push(error.to_string());
                emit(&report)?;
                continue;
            }
        };
        report
            .warnings
            .extend(frame.warnings().iter().map(describe_frame_warning));
        let verdict = frame.crc_verdict();
        report.crc = Some(verdict.label());
        if let CrcVerdict::Bad { expected, found } = verdict {
            report.crc_expected = Some(format!("{expected:04X}"));
            report.crc_found = Some(found.map_or_else(
                || String::from_utf8_lossy(frame.crc_field()).into_owned(),
                |value| format!("{value:04X}"),
            ));
            if !crc_mode.accepts(verdict) {
                report
                    .errors
                    .push(format!("CRC mismatch: expected {expected:04X}"));
            }
        }
        if verdict == CrcVerdict::Variant && !crc_mode.accepts(verdict) {
            report.errors.push(
                "CRC is the Modbus low-byte-first variant (refused in strict mode)".to_owned(),
            );
        }
        let packet = Packet::parse(frame.segment());
        match &packet {
            Ok(packet) => fill_packet(&mut report, packet),
            Err(error) => report.errors.push(error.to_string()),
        }
        report.accepted = report.errors.is_empty();
        emit(&report)?;
    }
    Ok(())
}

fn describe_frame_warning(warning: &FrameWarning) -> String {
    match warning {
        FrameWarning::Oversize { declared } => {
            format!("data segment of {declared} bytes exceeds the standard's 1024")
        }
        FrameWarning::LengthMismatch { declared, actual } => {
            format!("length field says {declared}, segment has {actual} bytes")
        }
        FrameWarning::MissingCrlf => "no CR LF after the CRC".to_owned(),
    }
}

/// A UTC time as the reports show it: `2016-08-23T16:38:17.000Z`.
#[derive(Debug, Clone, Copy)]
struct UtcTime(DateTime<Utc>);

impl UtcTime {
    /// Appends the time. The years of four digits (all that DataTimes give, but the first eight hours of year
    /// 0000) are written digit by digit; other years and leap seconds as chrono writes them.
    fn push_to(self, out: &mut Vec<u8>) {
        let time = self.0;
        let nanos = time.nanosecond();
        let Ok(year @ 0..=9999) = u32::try_from(time.year()) else {
            return self.push_with_chrono(out);
        };
        if nanos >= 1_000_000_000 {
            return self.push_with_chrono(out);
        }
        let mut text = *b"0000-00-00T00:00:00.000Z";
        for (range, value) in [
            (0..4, year),
            (5..7, time.month()),
            (8..10, time.day()),
            (11..13, time.hour()),
            (14..16, time.minute()),
            (17..19, time.second()),
            (20..23, nanos / 1_000_000),
        ] {
            put_digits(&mut text[range], value);
        }
        out.extend_from_slice(&text);
    }

    fn push_with_chrono(self, out: &mut Vec<u8>) {
        static FORMAT: OnceLock<Vec<Item<'static>>> = OnceLock::new();
        let format = FORMAT.get_or_init(|| StrftimeItems::new("%Y-%m-%dT%H:%M:%S%.3fZ").collect());
        // Writing into a `Vec` cannot fail.
        let _ = write!(out, "{}", self.0.format_with_items(format.iter()));
    }
}

/// Fills `slot` with the last `slot.len()` decimal digits of `value`, zero-padded.
fn put_digits(slot: &mut [u8], mut value: u32) {
    for byte in slot.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl std::fmt::Display for UtcTime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = Vec::with_capacity(24);
        self.push_to(&mut text);
        formatter.write_str(&String::from_utf8_lossy(&text))
    }
}

impl Serialize for UtcTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn fill_packet<'a>(report: &mut PacketReport<'a>, packet: &Packet<'a>) {
    report.version = Some(packet.version().label());
    report.qn = packet.request_qn();
    report.st = packet.st;
    report.cn = Some(packet.cn);
    report.command = command_code(packet.cn).map(|entry| entry.name);
    report.mn = packet.mn;
    report.flag = packet.flag;
    report.data_time = packet.cp.param("DataTime");
    report.data_time_utc = report.data_time.and_then(parse_cst).map(UtcTime);
    report
        .warnings
        .extend(packet.warnings.iter().map(|warning| format!("{warning:?}")));
    report.values.reserve(packet.cp.items.len());
    for measurement in packet.measurements() {
        let known = pollutant_code(measurement.factor);
        report.values.push(ValueReport {
            key: measurement.name,
            value: measurement.raw_value,
            factor: Some(measurement.factor),
            name: known.map(|entry| entry.name),
            default_unit: known.map(|entry| entry.unit),
            flag: measurement.flag_text,
        });
    }
    // Parameters and non-measurement items (QnRtn, SystemTime, -Info, -SN, ...), DataTime shown above.
    for item in &packet.cp.items {
        let shown = match item.key {
            Key::Param { name } => name != "DataTime",
            Key::Measure { suffix, .. } => {
                !suffix.is_measurement() && suffix != hj212::Suffix::Flag
            }
        };
        if !shown {
            continue;
        }
        report.values.push(ValueReport {
            key: item.name,
            value: item.value,
            factor: None,
            name: None,
            default_unit: None,
            flag: None,
        });
    }
}

/// The report as one JSON line, byte for byte what `serde_json` writes for [`PacketReport`] (a test holds the
/// two together), appended to `out` without serde's call per field and per string: that was most of the
/// command's time. `prefix` is the report's opening up to the line number (see [`ChunkDecoder`]).
fn write_json(report: &PacketReport<'_>, prefix: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(prefix);
    push_decimal(out, report.line as u64);
    out.extend_from_slice(if report.accepted {
        b",\"accepted\":true"
    } else {
        b",\"accepted\":false"
    });
    push_str_field(out, "version", report.version);
    push_str_field(out, "crc", report.crc);
    push_str_field(out, "crc_expected", report.crc_expected.as_deref());
    push_str_field(out, "crc_found", report.crc_found.as_deref());
    push_str_field(out, "qn", report.qn);
    push_str_field(out, "st", report.st);
    if let Some(cn) = report.cn {
        push_key(out, "cn");
        push_decimal(out, u64::from(cn));
    }
    push_str_field(out, "command", report.command);
    push_str_field(out, "mn", report.mn);
    if let Some(flag) = report.flag {
        push_key(out, "flag");
        push_decimal(out, u64::from(flag));
    }
    push_str_field(out, "data_time", report.data_time);
    if let Some(time) = report.data_time_utc {
        // Digits and `-:.TZ+`: nothing to escape.
        push_key(out, "data_time_utc");
        out.push(b'"');
        time.push_to(out);
        out.push(b'"');
    }
    push_key(out, "values");
    out.push(b'[');
    for (index, value) in report.values.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        push_json_str(out, value.key);
        push_str_field(out, "value", Some(value.value));
        push_str_field(out, "factor", value.factor);
        push_str_field(out, "name", value.name);
        push_str_field(out, "default_unit", value.default_unit);
        push_str_field(out, "flag", value.flag);
        out.push(b'}');
    }
    out.push(b']');
    for (key, texts) in [("warnings", &report.warnings), ("errors", &report.errors)] {
        push_key(out, key);
        out.push(b'[');
        for (index, text) in texts.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            push_json_str(out, text);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}\n");
}

/// `,"key":` (every field but the first).
fn push_key(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

fn push_str_field(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        push_key(out, key);
        push_json_str(out, value);
    }
}

fn push_decimal(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Whether any byte is a control character, `"` or `\\`, eight bytes at a time: this runs on every string
/// of every report.
fn needs_escape(bytes: &[u8]) -> bool {
    // A control character has its three high bits clear.
    const HIGH_THREE: u64 = 0xE0E0_E0E0_E0E0_E0E0;
    words(bytes).any(|word| {
        bytes_equal(word & HIGH_THREE, 0) | bytes_equal(word, b'"') | bytes_equal(word, b'\\') != 0
    })
}

/// The lines of `bytes`, each with its LF (the last one may lack it): what `split_inclusive` gives, the line
/// ends found eight bytes at a time instead of one by one.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let line_ends = words(bytes).enumerate().flat_map(|(index, word)| {
        let mut found = bytes_equal(word, b'\n');
        std::iter::from_fn(move || {
            if found == 0 {
                return None;
            }
            let at = index * 8 + found.trailing_zeros() as usize / 8;
            found &= found - 1;
            Some(at + 1)
        })
    });
    let unterminated = (bytes.last().is_some_and(|&byte| byte != b'\n')).then_some(bytes.len());
    let mut start = 0;
    line_ends.chain(unterminated).map(move |end| {
        let line = &bytes[start..end];
        start = end;
        line
    })
}

/// The number of LF in `bytes`, eight bytes at a time.
fn count_line_ends(bytes: &[u8]) -> usize {
    words(bytes)
        .map(|word| bytes_equal(word, b'\n').count_ones() as usize)
        .sum()
}

/// `text` as a JSON string, escaped as `serde_json` escapes: `"`, `\` and the control characters, nothing else.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.push(b'"');
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        start = index + 1;
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_text(report: &PacketReport<'_>, out: &mut impl Write) -> std::io::Result<()> {
    let verdict = if report.accepted {
        "accepted"
    } else {
        "rejected"
    };
    write!(out, "{}:{} {verdict}", report.source, report.line)?;
    if let Some(version) = report.version {
        write!(out, " version={version}")?;
    }
    if let Some(crc) = report.crc {
        write!(out, " crc={crc}")?;
        if let (Some(expected), Some(found)) = (&report.crc_expected, &report.crc_found) {
            write!(out, " (expected {expected}, found {found})")?;
        }
    }
    let fields = [
        ("QN", report.qn.map(str::to_owned)),
        ("ST", report.st.map(str::to_owned)),
        (
            "CN",
            report.cn.map(|cn| match report.command {
                Some(name) => format!("{cn} {name}"),
                None => cn.to_string(),
            }),
        ),
        ("MN", report.mn.map(str::to_owned)),
        ("Flag", report.flag.map(|flag| flag.to_string())),
        (
            "DataTime",
            report
                .data_time
                .as_ref()
                .map(|text| match report.data_time_utc {
                    Some(utc) => format!("{text} CST = {utc}"),
                    None => format!("{text} (not a valid time)"),
                }),
        ),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            write!(out, " {name}={value}")?;
        }
    }
    writeln!(out)?;
    for value in &report.values {
        write!(out, "    {} = {}", value.key, value.value)?;
        if let Some(flag) = &value.flag {
            write!(out, " [{flag}]")?;
        }
        match (&value.factor, value.name) {
            (Some(factor), Some(name)) => write!(out, "  ({factor} {name})")?,
            (Some(factor), None) if !value.key.starts_with(factor) => write!(out, "  ({factor})")?,
            _ => {}
        }
        writeln!(out)?;
    }
    for warning in &report.warnings {
        writeln!(out, "    warning: {warning}")?;
    }
    for error in &report.errors {
        writeln!(out, "    error: {error}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reports of one line, as their JSON.
    fn decode(line: &str, mode: CrcMode) -> Vec<serde_json::Value> {
        let wire = format!("{line}\r\n").into_bytes();
        let mut reports = Vec::new();
        decode_line("test", 1, &wire, mode, &mut |report| {
            reports.push(serde_json::to_value(report)?);
            Ok(())
        })
        .unwrap();
        reports
    }

    #[test]
    fn accepted_2005_packet_with_mapped_codes() {
        let reports = decode(
            "##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980",
            CrcMode::Strict,
        );
        let [report] = reports.as_slice() else {
            panic!("one packet")
        };
        assert_eq!(report["accepted"], true);
        assert_eq!(
            (&report["version"], &report["crc"], &report["cn"]),
            (&"2005".into(), &"ok".into(), &2011.into())
        );
        assert_eq!(report["data_time_utc"], "2016-08-23T16:38:17.000Z");
        let cod = &report["values"][1];
        assert_eq!(
            (&cod["key"], &cod["value"], &cod["factor"], &cod["flag"]),
            (
                &"011-Rtd".into(),
                &"231.0".into(),
                &"w01018".into(),
                &"N".into()
            )
        );
    }

    #[test]
    fn crc_mode_decides_acceptance_of_the_modbus_variant() {
        let line = "##0190ST=31;CN=2061;PW=123456;MN=7568770259402;Flag=0;CP=&&DataTime=20221008100000;B02-Min=1.6960&&7BC0";
        let reports = decode(line, CrcMode::Ignore);
        assert_eq!(reports[0]["accepted"], true);
        assert_eq!(reports[0]["crc"], "bad");
        let reports = decode(line, CrcMode::AcceptVariant);
        assert_eq!(reports[0]["accepted"], false);
        assert_eq!(reports[0]["crc_found"], "7BC0");
    }

    #[test]
    fn the_sample_corpus_accepts_good_and_variant_crcs_only() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/hj212/samples.txt"
        );
        let file = std::fs::File::open(path).unwrap_or_else(|error| panic!("{path}: {error}"));
        let args = DecodeArgs {
            json: true,
            crc_mode: CrcMode::AcceptVariant,
            files: Vec::new(),
        };
        let mut out = Vec::new();
        decode_stream("samples", file, &args, &mut out).unwrap();
        let reports: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(reports.len(), 69);
        let accepted = reports
            .iter()
            .filter(|report| report["accepted"] == true)
            .count();
        assert_eq!(accepted, 51 + 5);
        let variants = reports
            .iter()
            .filter(|report| report["crc"] == "variant")
            .count();
        assert_eq!(variants, 5);
        assert!(
            reports.iter().all(|report| report["cn"].is_u64()),
            "every packet parses"
        );
    }

    #[test]
    fn an_unreadable_file_fails_the_command() {
        let args = Hj212Args {
            command: Hj212Command::Decode(DecodeArgs {
                json: true,
                crc_mode: CrcMode::Strict,
                files: vec![PathBuf::from("/nonexistent/hj212-packets.txt")],
            }),
        };
        assert_eq!(run(args).unwrap(), ExitCode::FAILURE);
    }

    fn samples() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/hj212/samples.txt"
        );
        std::fs::read(path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn decode_args(json: bool, crc_mode: CrcMode) -> DecodeArgs {
        DecodeArgs {
            json,
            crc_mode,
            files: Vec::new(),
        }
    }

    /// What `decode_stream_on` writes, and how it ended.
    fn decode_on(
        input: impl Read,
        args: &DecodeArgs,
        workers: usize,
    ) -> (Vec<u8>, std::io::Result<()>) {
        let mut out = Vec::new();
        let result = decode_stream_on("in", input, args, &mut out, workers);
        (out, result)
    }

    #[test]
    fn the_json_writer_writes_what_serde_json_writes() {
        let corpus = samples();
        let odd = [
            "##0050ST=32;CN=2011;MN=\"q\\\u{1}\u{7f}\t\r\u{c}\u{8}\u{1f}é中;CP=&&a-Rtd=1,a-Flag=\"&&1234",
            "##0030CN=2011;CP=&&DataTime=00000101000000&&4000",
            "##0030CN=2011;CP=&&DataTime=99991231235959999&&4000",
            "##0020ST=31;CN=x;CP=&&&&4000",
            "hello",
        ];
        let mut lines: Vec<Vec<u8>> = corpus
            .split(|&byte| byte == b'\n')
            .map(|line| line.trim_ascii().to_vec())
            .collect();
        lines.extend(odd.iter().map(|line| line.as_bytes().to_vec()));
        let mut reports = 0;
        for mode in [CrcMode::Strict, CrcMode::AcceptVariant, CrcMode::Ignore] {
            let decoder = ChunkDecoder::new("samples \"quoted\"", &decode_args(true, mode));
            for line in &lines {
                let mut wire = line.clone();
                wire.extend_from_slice(b"\r\n");
                decode_line(decoder.source, 7, &wire, mode, &mut |report| {
                    let mut ours = Vec::new();
                    write_json(report, &decoder.json_prefix, &mut ours);
                    let mut theirs = serde_json::to_vec(report)?;
                    theirs.push(b'\n');
                    assert_eq!(
                        String::from_utf8_lossy(&ours),
                        String::from_utf8_lossy(&theirs)
                    );
                    reports += 1;
                    Ok(())
                })
                .unwrap();
            }
        }
        assert!(reports > 3 * 69, "{reports}");
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..=0x7f).map(char::from).collect();
        for text in [
            "",
            "plain",
            "exactly8",
            "a longer plain text of many words",
            "\"",
            "\\",
            "中文 µg/m³",
            &every_byte,
            "tail after eight: 12345678\u{1}",
        ] {
            let mut ours = Vec::new();
            push_json_str(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        // One byte to escape at every place of the words the check reads.
        for length in 1..=17 {
            for at in 0..length {
                for special in ['"', '\\', '\u{0}', '\u{1f}', '\n'] {
                    let text: String = (0..length)
                        .map(|index| if index == at { special } else { 'é' })
                        .collect();
                    let mut ours = Vec::new();
                    push_json_str(&mut ours, &text);
                    assert_eq!(ours, serde_json::to_vec(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn line_ends_are_counted_exactly() {
        for text in [
            &b""[..],
            b"\n",
            b"\n\n\n\n\n\n\n\n\n",
            b"a\nb\r\n\x0b\x0a\x8a\xff\n",
            b"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\n\n",
        ] {
            let expected = text.iter().filter(|&&byte| byte == b'\n').count();
            assert_eq!(count_line_ends(text), expected, "{text:?}");
            for end in 0..=text.len() {
                let text = &text[..end];
                let expected: Vec<&[u8]> = text.split_inclusive(|&byte| byte == b'\n').collect();
                assert_eq!(lines(text).collect::<Vec<_>>(), expected, "{text:?}");
            }
        }
    }

    #[test]
    fn utc_times_are_written_as_chrono_writes_them() {
        let format = "%Y-%m-%dT%H:%M:%S%.3fZ";
        let times = [
            "0000-01-01T00:00:00Z",
            "-0001-12-31T16:00:00Z",
            "2016-08-23T16:38:17.123Z",
            "2024-02-29T23:59:59.999Z",
            "9999-12-31T15:59:59.999Z",
            "+10000-01-01T00:00:00Z",
        ];
        for text in times {
            let time: DateTime<Utc> = text.parse().unwrap();
            let mut ours = Vec::new();
            UtcTime(time).push_to(&mut ours);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                time.format(format).to_string()
            );
            assert_eq!(UtcTime(time).to_string(), time.format(format).to_string());
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|day| day.and_hms_milli_opt(23, 59, 59, 1_500))
            .unwrap()
            .and_utc();
        assert_eq!(UtcTime(leap).to_string(), leap.format(format).to_string());
    }

    #[test]
    fn chunks_in_parallel_give_the_reports_of_one_reader_in_order() {
        // Several chunks of whole lines: CRLF and LF, comments, blank lines, garbage, no final line end.
        let mut input = Vec::new();
        let corpus = samples();
        while input.len() < 3 * DECODE_CHUNK + 1000 {
            input.extend_from_slice(&corpus);
            input.extend_from_slice(b"\n# a comment\n\ngarbage\r\n");
            input.extend(corpus.iter().filter(|&&byte| byte != b'\r'));
        }
        input.extend_from_slice(b"##0020ST=31;CN=2011;CP=&&&&4000");
        for json in [true, false] {
            let args = decode_args(json, CrcMode::AcceptVariant);
            let (one, result) = decode_on(input.as_slice(), &args, 1);
            result.unwrap();
            let (three, result) = decode_on(input.as_slice(), &args, 3);
            result.unwrap();
            assert!(one == three, "parallel output differs (json {json})");
            // Line numbers are those of the whole input.
            let lines = input.split(|&byte| byte == b'\n').count();
            let last = String::from_utf8_lossy(&one);
            let last = last
                .lines()
                .rev()
                .find(|line| line.starts_with("in:"))
                .map(str::to_owned);
            if !json {
                assert!(
                    last.is_some_and(|line| line.starts_with(&format!("in:{lines} "))),
                    "the last line is line {lines}"
                );
            }
        }
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_one_line() {
        let mut input = b"##0020ST=31;CN=2011;CP=&&".to_vec();
        input.resize(2 * DECODE_CHUNK, b'a');
        input.extend_from_slice(b"&&4000\n##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\n");
        let (out, result) = decode_on(input.as_slice(), &decode_args(true, CrcMode::Strict), 2);
        result.unwrap();
        let reports: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(reports.last().unwrap()["line"], 2);
        assert_eq!(reports.last().unwrap()["accepted"], true);
    }

    /// Gives its bytes a few at a time, interrupted now and then, then fails.
    struct FailingReader {
        bytes: Vec<u8>,
        at: usize,
        calls: usize,
    }

    impl Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            if self.at == self.bytes.len() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let count = buf.len().min(1000).min(self.bytes.len() - self.at);
            buf[..count].copy_from_slice(&self.bytes[self.at..self.at + count]);
            self.at += count;
            Ok(count)
        }
    }

    #[test]
    fn a_read_error_ends_the_input_after_the_lines_read_whole() {
        let corpus = samples().repeat(50);
        // The error comes in the middle of a packet: its line is not reported, all before it are.
        let cut = corpus.len() - 100;
        let whole_lines = &corpus[..=corpus[..cut]
            .iter()
            .rposition(|&byte| byte == b'\n')
            .unwrap()];
        let args = decode_args(true, CrcMode::Strict);
        let (expected, result) = decode_on(whole_lines, &args, 1);
        result.unwrap();
        for workers in [1, 2] {
            let reader = FailingReader {
                bytes: corpus[..cut].to_vec(),
                at: 0,
                calls: 0,
            };
            let (out, result) = decode_on(reader, &args, workers);
            assert_eq!(result.unwrap_err().to_string(), "disk on fire");
            assert!(out == expected, "{workers} workers");
        }
    }

    /// Takes `room` bytes, then fails as a closed pipe does.
    struct ClosedPipe {
        room: usize,
    }

    impl Write for ClosedPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let count = buf.len().min(self.room);
            self.room -= count;
            Ok(count)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_ends_the_workers() {
        let input = samples().repeat(100);
        let mut out = ClosedPipe { room: 1000 };
        let result = decode_stream_on(
            "in",
            input.as_slice(),
            &decode_args(true, CrcMode::Strict),
            &mut out,
            2,
        );
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        let reports = decode("hello", CrcMode::Strict);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0]["accepted"], false);
        let error = reports[0]["errors"][0].as_str().unwrap();
        assert!(error.contains("skipped 7 bytes"), "{error}");
    }
}
