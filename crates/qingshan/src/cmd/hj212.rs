//! `qingshan hj212 decode`: reads HJ 212 packets one per line (files or stdin) and reports, per packet, whether
//! it is accepted, its version, CRC verdict, header, DataTime and decoded values with flags, or the errors.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::Context as _;
use chrono::format::{Item, StrftimeItems};
use clap::{Args, Subcommand};
use hj212::codes::{command_code, pollutant_code};
use hj212::frame::{FrameWarning, decode_all};
use hj212::{CrcMode, CrcVerdict, Key, Packet};
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

/// Input is read, and output written, in chunks this large: one system call per chunk instead of one per line
/// (stdout alone is line-buffered).
const IO_CHUNK: usize = 1 << 16;

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

fn decode_stream(
    source: &str,
    reader: impl Read,
    args: &DecodeArgs,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(IO_CHUNK, reader);
    let mut line = Vec::new();
    let mut wire = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() || text.starts_with(b"#") && !text.starts_with(b"##") {
            continue;
        }
        wire.clear();
        wire.extend_from_slice(text);
        wire.extend_from_slice(b"\r\n");
        decode_line(source, number, &wire, args.crc_mode, &mut |report| {
            if args.json {
                serde_json::to_writer(&mut *out, report)?;
                out.write_all(b"\n")
            } else {
                write_text(report, out)
            }
        })?;
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
    data_time_utc: Option<String>,
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

/// `2016-08-23T16:38:17.000Z`, parsed once rather than per packet.
fn utc_format() -> &'static [Item<'static>] {
    static FORMAT: OnceLock<Vec<Item<'static>>> = OnceLock::new();
    FORMAT.get_or_init(|| StrftimeItems::new("%Y-%m-%dT%H:%M:%S%.3fZ").collect())
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
    report.data_time_utc = packet
        .data_time()
        .map(|time| time.format_with_items(utc_format().iter()).to_string());
    report
        .warnings
        .extend(packet.warnings.iter().map(|warning| format!("{warning:?}")));
    for reading in packet.readings() {
        let known = pollutant_code(reading.factor);
        report.values.push(ValueReport {
            key: reading.name,
            value: reading.raw_value,
            factor: Some(reading.factor),
            name: known.map(|entry| entry.name),
            default_unit: known.map(|entry| entry.unit),
            flag: reading.flag_text,
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
                .map(|text| match &report.data_time_utc {
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

    #[test]
    fn garbage_is_reported_not_fatal() {
        let reports = decode("hello", CrcMode::Strict);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0]["accepted"], false);
        let error = reports[0]["errors"][0].as_str().unwrap();
        assert!(error.contains("skipped 7 bytes"), "{error}");
    }
}
