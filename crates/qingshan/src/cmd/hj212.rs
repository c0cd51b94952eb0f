//! `qingshan hj212 decode`: reads HJ 212 packets one per line (files or stdin) and reports, per packet, whether
//! it is accepted, its version, CRC verdict, header, DataTime and decoded values with flags, or the errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
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

fn run_decode(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut unreadable = false;
    if args.files.is_empty() {
        decode_stream("-", std::io::stdin().lock(), args, &mut out)?;
    }
    for path in &args.files {
        match std::fs::File::open(path) {
            Ok(file) => decode_stream(
                &path.display().to_string(),
                BufReader::new(file),
                args,
                &mut out,
            )
            .with_context(|| format!("reading {}", path.display()))?,
            Err(error) => {
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
) -> anyhow::Result<()> {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
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
        let mut wire = text.to_vec();
        wire.extend_from_slice(b"\r\n");
        for report in decode_line(source, number, &wire, args.crc_mode) {
            if args.json {
                serde_json::to_writer(&mut *out, &report)?;
                writeln!(out)?;
            } else {
                write_text(&report, out)?;
            }
        }
    }
}

/// One decoded value: a measurement with its flag, or a parameter such as `QnRtn` or `SystemTime`.
#[derive(Debug, Serialize)]
struct ValueReport {
    key: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    factor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    /// The unit of the HJ 212 code table (flue gas / wastewater); ambient air stations report gases in µg/m³.
    #[serde(skip_serializing_if = "Option::is_none")]
    default_unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<String>,
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
    qn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    st: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cn: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_time_utc: Option<String>,
    values: Vec<ValueReport>,
    warnings: Vec<String>,
    errors: Vec<String>,
}

fn decode_line<'a>(
    source: &'a str,
    line: usize,
    wire: &'a [u8],
    crc_mode: CrcMode,
) -> Vec<PacketReport<'a>> {
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
    let mut reports = Vec::new();
    for result in decode_all(wire) {
        let mut report = empty();
        let frame = match result {
            Ok(frame) => frame,
            Err(error) => {
                report.errors.push(error.to_string());
                reports.push(report);
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
        match Packet::parse(frame.segment()) {
            Ok(packet) => fill_packet(&mut report, &packet),
            Err(error) => report.errors.push(error.to_string()),
        }
        report.accepted = report.errors.is_empty();
        reports.push(report);
    }
    reports
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

fn fill_packet(report: &mut PacketReport<'_>, packet: &Packet<'_>) {
    report.version = Some(packet.version().label());
    report.qn = packet.request_qn().map(str::to_owned);
    report.st = packet.st.map(str::to_owned);
    report.cn = Some(packet.cn);
    report.command = command_code(packet.cn).map(|entry| entry.name);
    report.mn = packet.mn.map(str::to_owned);
    report.flag = packet.flag;
    report.data_time = packet.cp.param("DataTime").map(str::to_owned);
    report.data_time_utc = packet
        .data_time()
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    report
        .warnings
        .extend(packet.warnings.iter().map(|warning| format!("{warning:?}")));
    for reading in packet.readings() {
        let known = pollutant_code(reading.factor);
        report.values.push(ValueReport {
            key: reading.name.to_owned(),
            value: reading.raw_value.to_owned(),
            factor: Some(reading.factor.to_owned()),
            name: known.map(|entry| entry.name),
            default_unit: known.map(|entry| entry.unit),
            flag: reading.flag_text.map(str::to_owned),
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
            key: item.name.to_owned(),
            value: item.value.to_owned(),
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
        ("QN", report.qn.clone()),
        ("ST", report.st.clone()),
        (
            "CN",
            report.cn.map(|cn| match report.command {
                Some(name) => format!("{cn} {name}"),
                None => cn.to_string(),
            }),
        ),
        ("MN", report.mn.clone()),
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
            (Some(factor), None) if !value.key.starts_with(factor.as_str()) => {
                write!(out, "  ({factor})")?
            }
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

    fn decode(line: &str, mode: CrcMode) -> Vec<PacketReport<'static>> {
        let wire: &'static [u8] = format!("{line}\r\n").into_bytes().leak();
        decode_line("test", 1, wire, mode)
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
        assert!(report.accepted);
        assert_eq!(
            (report.version, report.crc, report.cn),
            (Some("2005"), Some("ok"), Some(2011))
        );
        assert_eq!(
            report.data_time_utc.as_deref(),
            Some("2016-08-23T16:38:17.000Z")
        );
        let cod = &report.values[1];
        assert_eq!(
            (
                cod.key.as_str(),
                cod.value.as_str(),
                cod.factor.as_deref(),
                cod.flag.as_deref()
            ),
            ("011-Rtd", "231.0", Some("w01018"), Some("N"))
        );
    }

    #[test]
    fn crc_mode_decides_acceptance_of_the_modbus_variant() {
        let line = "##0190ST=31;CN=2061;PW=123456;MN=7568770259402;Flag=0;CP=&&DataTime=20221008100000;B02-Min=1.6960&&7BC0";
        let reports = decode(line, CrcMode::Ignore);
        assert!(reports[0].accepted);
        assert_eq!(reports[0].crc, Some("bad"));
        let reports = decode(line, CrcMode::AcceptVariant);
        assert!(!reports[0].accepted);
        assert_eq!(reports[0].crc_found.as_deref(), Some("7BC0"));
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
        assert!(!reports[0].accepted);
        assert!(reports[0].errors[0].contains("skipped 7 bytes"));
    }
}
