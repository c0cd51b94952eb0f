//! Building packets: the platform's replies (9011–9014) and its commands to field devices.
//!
//! Replies echo the QN, PW and MN of the packet answered, with `ST=91` and the version's `Flag` without the A
//! bit (4 for 2017, 8 for 2025, as in the standard's examples). A 2005 device gets `Flag=0` and, as 2005
//! replies do, the QN inside CP. Commands carry `Flag` = version bits + A (the standard's `Flag=5` for 2017).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::codes::{CommandKind, command_code};
use crate::crc::{format_crc, hj212_crc};
use crate::frame::MAX_DECLARED_LEN;
use crate::packet::Packet;
use crate::time::{format_cst, format_cst_millis};
use crate::version::{FLAG_ACK, FLAG_SUBPACKET, ProtocolVersion};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("data segment of {0} bytes does not fit the 4-digit length field")]
    TooLong(usize),
    #[error("{field} = {value} is outside the range the standard allows")]
    OutOfRange { field: &'static str, value: u32 },
    #[error(
        "`{0}` contains a character that would break the packet grammar (`;`, `,`, `=`, `&`, CR, LF)"
    )]
    UnsafeText(String),
}

/// Header fields of a packet to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub qn: Option<&'a str>,
    pub st: &'a str,
    pub cn: u16,
    pub pw: &'a str,
    pub mn: &'a str,
    pub flag: Option<u8>,
    /// PNUM and PNO of a sub-packet.
    pub subpacket: Option<(u32, u32)>,
    /// `RF=1` (2025 backfill).
    pub backfill: bool,
}

fn check_text(text: &str) -> Result<(), EncodeError> {
    if text
        .bytes()
        .any(|byte| matches!(byte, b';' | b',' | b'=' | b'&' | b'\r' | b'\n'))
    {
        return Err(EncodeError::UnsafeText(text.to_owned()));
    }
    Ok(())
}

/// Writes `##` + length + segment + CRC + CRLF.
pub fn encode(header: &Header<'_>, cp: &str) -> Result<Vec<u8>, EncodeError> {
    for text in [header.qn.unwrap_or(""), header.st, header.pw, header.mn] {
        check_text(text)?;
    }
    let mut segment = String::with_capacity(96 + cp.len());
    if let Some(qn) = header.qn {
        let _ = write!(segment, "QN={qn};");
    }
    let _ = write!(
        segment,
        "ST={};CN={};PW={};MN={};",
        header.st, header.cn, header.pw, header.mn
    );
    if let Some(flag) = header.flag {
        let _ = write!(segment, "Flag={flag};");
    }
    if let Some((pnum, pno)) = header.subpacket {
        let _ = write!(segment, "PNUM={pnum};PNO={pno};");
    }
    if header.backfill {
        segment.push_str("RF=1;");
    }
    let _ = write!(segment, "CP=&&{cp}&&");
    frame_segment(segment.as_bytes())
}

/// Wraps a ready data segment into a frame.
pub fn frame_segment(segment: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if segment.len() > MAX_DECLARED_LEN {
        return Err(EncodeError::TooLong(segment.len()));
    }
    let mut wire = Vec::with_capacity(segment.len() + 12);
    wire.extend_from_slice(format!("##{:04}", segment.len()).as_bytes());
    wire.extend_from_slice(segment);
    wire.extend_from_slice(&format_crc(hj212_crc(segment)));
    wire.extend_from_slice(b"\r\n");
    Ok(wire)
}

/// Builds a CP data area: `;` between subjects, `,` within one.
#[derive(Debug, Default, Clone)]
pub struct CpWriter {
    text: String,
}

impl CpWriter {
    pub fn new() -> CpWriter {
        CpWriter::default()
    }

    /// Starts a new subject with `key=value`.
    pub fn subject(&mut self, key: &str, value: &str) -> &mut CpWriter {
        if !self.text.is_empty() {
            self.text.push(';');
        }
        let _ = write!(self.text, "{key}={value}");
        self
    }

    /// Adds `key=value` to the current subject.
    pub fn item(&mut self, key: &str, value: &str) -> &mut CpWriter {
        if !self.text.is_empty() {
            self.text.push(',');
        }
        let _ = write!(self.text, "{key}={value}");
        self
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Which reply the platform owes a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// 9014 data response: an upload with the A bit set.
    DataAck,
    /// 9013 notify response: notifications (1013, 1001, 1014 from the field) and heartbeats asking for one.
    NotifyAck,
}

/// The reply the standard asks for, if any. Sub-packets are answered each on its own, with their own QN.
pub fn required_reply(packet: &Packet<'_>) -> Option<ReplyKind> {
    match packet.cn {
        9011..=9014 => None,
        // 9015 heartbeat: Flag 9 asks for 9013, Flag 8 does not.
        9015 => packet.ack_requested().then_some(ReplyKind::NotifyAck),
        cn => match command_code(cn).map(|entry| entry.from_field) {
            Some(CommandKind::Notify) => Some(ReplyKind::NotifyAck),
            Some(CommandKind::Upload) | None => {
                packet.ack_requested().then_some(ReplyKind::DataAck)
            }
            Some(CommandKind::Request | CommandKind::Reply) => None,
        },
    }
}

fn reply(
    packet: &Packet<'_>,
    cn: u16,
    cp_items: &[(&str, String)],
) -> Result<Vec<u8>, EncodeError> {
    let version = packet.version();
    let qn = packet.request_qn();
    let mut cp = CpWriter::new();
    let qn_in_cp = version == ProtocolVersion::Hj2005 && qn.is_some();
    if qn_in_cp && let Some(qn) = qn {
        cp.subject("QN", qn);
    }
    for (key, value) in cp_items {
        cp.subject(key, value);
    }
    let flag_bits = match version {
        ProtocolVersion::Unknown(_) => ProtocolVersion::Hj2017.flag_bits(),
        known => known.flag_bits(),
    };
    let header = Header {
        qn: if qn_in_cp { None } else { qn },
        st: "91",
        cn,
        pw: packet.pw.unwrap_or(""),
        mn: packet.mn.unwrap_or(""),
        flag: Some(flag_bits),
        subpacket: None,
        backfill: false,
    };
    encode(&header, cp.as_str())
}

/// 9011 request response with `QnRtn` (1 = ready to execute; see [`crate::codes::qn_rtn_text`]).
pub fn request_response(packet: &Packet<'_>, qn_rtn: u16) -> Result<Vec<u8>, EncodeError> {
    reply(packet, 9011, &[("QnRtn", qn_rtn.to_string())])
}

/// 9012 execution result with `ExeRtn` (1 = success; see [`crate::codes::exe_rtn_text`]).
pub fn execution_result(packet: &Packet<'_>, exe_rtn: u16) -> Result<Vec<u8>, EncodeError> {
    reply(packet, 9012, &[("ExeRtn", exe_rtn.to_string())])
}

/// 9013 notify response (also the answer to a 9015 heartbeat).
pub fn notify_response(packet: &Packet<'_>) -> Result<Vec<u8>, EncodeError> {
    reply(packet, 9013, &[])
}

/// 9014 data response.
pub fn data_response(packet: &Packet<'_>) -> Result<Vec<u8>, EncodeError> {
    reply(packet, 9014, &[])
}

/// The reply [`required_reply`] asks for, encoded.
pub fn reply_to(packet: &Packet<'_>) -> Option<Result<Vec<u8>, EncodeError>> {
    required_reply(packet).map(|kind| match kind {
        ReplyKind::DataAck => data_response(packet),
        ReplyKind::NotifyAck => notify_response(packet),
    })
}

/// The device a command is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub st: &'a str,
    pub pw: &'a str,
    pub mn: &'a str,
    pub version: ProtocolVersion,
}

/// History data a host can request with BeginTime/EndTime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    /// 2011 with a time range (2025, e.g. electricity monitoring ST 44).
    RealTime,
    /// 2051
    Minute,
    /// 2061
    Hour,
    /// 2031
    Day,
}

impl HistoryKind {
    pub fn cn(self) -> u16 {
        match self {
            HistoryKind::RealTime => 2011,
            HistoryKind::Minute => 2051,
            HistoryKind::Hour => 2061,
            HistoryKind::Day => 2031,
        }
    }
}

/// Commands the platform sends to field devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// 1011: read the field clock (optionally of one instrument).
    GetTime { pol_id: Option<&'a str> },
    /// 1012: set the field clock.
    SetTime {
        pol_id: Option<&'a str>,
        time: DateTime<Utc>,
    },
    /// 1061
    GetRtdInterval,
    /// 1062: real-time upload interval, 30–3600 s.
    SetRtdInterval { seconds: u16 },
    /// 1063
    GetMinInterval,
    /// 1064: minute-data interval, one of 1 2 3 4 5 6 10 12 15 20 30 min.
    SetMinInterval { minutes: u8 },
    /// 2011 without a range: start real-time uploads.
    StartRealTime,
    /// 2011/2051/2061/2031 history request for [begin, end].
    History {
        kind: HistoryKind,
        begin: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// 1002 (2025): assign the MN in the header to the logger with this `i23005-Info` hardware id.
    SetMn { logger_id: &'a str },
    /// 1014 (2025): issue a new SM4 key (16 printable ASCII characters).
    SetKey {
        created: DateTime<Utc>,
        key: &'a [u8; 16],
    },
}

impl Command<'_> {
    pub fn cn(&self) -> u16 {
        match self {
            Command::GetTime { .. } => 1011,
            Command::SetTime { .. } => 1012,
            Command::GetRtdInterval => 1061,
            Command::SetRtdInterval { .. } => 1062,
            Command::GetMinInterval => 1063,
            Command::SetMinInterval { .. } => 1064,
            Command::StartRealTime => 2011,
            Command::History { kind, .. } => kind.cn(),
            Command::SetMn { .. } => 1002,
            Command::SetKey { .. } => 1014,
        }
    }

    fn data_area(&self) -> Result<String, EncodeError> {
        let mut cp = CpWriter::new();
        match self {
            Command::GetTime { pol_id } => {
                if let Some(pol_id) = pol_id {
                    check_text(pol_id)?;
                    cp.subject("PolId", pol_id);
                }
            }
            Command::SetTime { pol_id, time } => {
                if let Some(pol_id) = pol_id {
                    check_text(pol_id)?;
                    cp.subject("PolId", pol_id);
                }
                cp.subject("SystemTime", &format_cst(*time));
            }
            Command::GetRtdInterval | Command::GetMinInterval | Command::StartRealTime => {}
            Command::SetRtdInterval { seconds } => {
                if !(30..=3600).contains(seconds) {
                    return Err(EncodeError::OutOfRange {
                        field: "RtdInterval",
                        value: u32::from(*seconds),
                    });
                }
                cp.subject("RtdInterval", &seconds.to_string());
            }
            Command::SetMinInterval { minutes } => {
                if ![1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].contains(minutes) {
                    return Err(EncodeError::OutOfRange {
                        field: "MinInterval",
                        value: u32::from(*minutes),
                    });
                }
                cp.subject("MinInterval", &minutes.to_string());
            }
            Command::History { begin, end, .. } => {
                cp.subject("BeginTime", &format_cst(*begin))
                    .subject("EndTime", &format_cst(*end));
            }
            Command::SetMn { logger_id } => {
                check_text(logger_id)?;
                cp.subject("i23005-Info", logger_id);
            }
            Command::SetKey { created, key } => {
                let key_text = std::str::from_utf8(key.as_slice())
                    .ok()
                    .filter(|text| text.bytes().all(|byte| byte.is_ascii_graphic()))
                    .ok_or_else(|| EncodeError::UnsafeText(format!("{key:?}")))?;
                check_text(key_text)?;
                cp.subject("SKCreateTime", &format_cst_millis(*created))
                    .item("NewSK", key_text);
            }
        }
        Ok(cp.as_str().to_owned())
    }

    /// The command as a packet; `qn` (the request id the replies will echo) is written as 17-digit CST.
    pub fn encode(&self, target: &Target<'_>, qn: DateTime<Utc>) -> Result<Vec<u8>, EncodeError> {
        // 2005 hosts sent requests with Flag=3 (observed in 2005-era code); later editions: version + A.
        let flag = match target.version {
            ProtocolVersion::Hj2005 => FLAG_ACK | FLAG_SUBPACKET,
            version => version.flag_bits() | FLAG_ACK,
        };
        let qn = format_cst_millis(qn);
        let header = Header {
            qn: Some(&qn),
            st: target.st,
            cn: self.cn(),
            pw: target.pw,
            mn: target.mn,
            flag: Some(flag),
            subpacket: None,
            backfill: false,
        };
        encode(&header, &self.data_area()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::decode_all;
    use crate::time::parse_cst;

    fn parse_wire(wire: &[u8]) -> (Vec<u8>, crate::CrcVerdict) {
        let frame = decode_all(wire).remove(0).unwrap();
        assert!(frame.warnings().is_empty());
        (frame.segment().to_vec(), frame.crc_verdict())
    }

    #[test]
    fn standard_appendix_a_example_is_reproduced() {
        let target = Target {
            st: "32",
            pw: "100000",
            mn: "010000A8900016F000169DC0",
            version: ProtocolVersion::Hj2017,
        };
        let qn = crate::time::parse_qn("20160801085857223").unwrap();
        let wire = Command::SetRtdInterval { seconds: 30 }
            .encode(&target, qn)
            .unwrap();
        assert_eq!(
            wire,
            b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
        );
    }

    #[test]
    fn data_ack_matches_the_reference_example() {
        let upload = Packet::parse_str(
            "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w01018-Rtd=1&&",
        )
        .unwrap();
        assert_eq!(required_reply(&upload), Some(ReplyKind::DataAck));
        assert_eq!(
            reply_to(&upload).unwrap().unwrap(),
            b"##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&3240\r\n"
        );
    }

    #[test]
    fn heartbeat_2025_gets_the_reference_9013() {
        let heartbeat =
            Packet::parse_str("QN=20240601085857223;ST=32;CN=9015;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&").unwrap();
        assert_eq!(
            reply_to(&heartbeat).unwrap().unwrap(),
            b"##0087QN=20240601085857223;ST=91;CN=9013;PW=123456;MN=010000A8900016F000169DC0;Flag=8;CP=&&&&3900\r\n"
        );
        let quiet = Packet::parse_str("QN=1;ST=32;CN=9015;PW=1;MN=2;Flag=8;CP=&&&&").unwrap();
        assert_eq!(required_reply(&quiet), None);
    }

    #[test]
    fn reply_9011_matches_the_2025_reference() {
        let request = Packet::parse_str(
            "QN=20240601085857223;ST=32;CN=1014;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&SKCreateTime=20240601085857223&&",
        )
        .unwrap();
        assert_eq!(required_reply(&request), Some(ReplyKind::NotifyAck));
        assert_eq!(
            request_response(&request, 1).unwrap(),
            b"##0094QN=20240601085857223;ST=91;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=8;CP=&&QnRtn=1&&21C0\r\n"
        );
    }

    #[test]
    fn replies_to_2005_carry_the_qn_inside_cp() {
        let request =
            Packet::parse_str("QN=20040516010101001;ST=32;CN=2051;PW=123456;MN=88888880000001;CP=&&DataTime=20040516010000&&").unwrap();
        let wire = request_response(&request, 1).unwrap();
        let (segment, verdict) = parse_wire(&wire);
        assert_eq!(verdict, crate::CrcVerdict::Ok);
        assert_eq!(
            std::str::from_utf8(&segment).unwrap(),
            "ST=91;CN=9011;PW=123456;MN=88888880000001;Flag=0;CP=&&QN=20040516010101001;QnRtn=1&&"
        );
    }

    #[test]
    fn commands_round_trip() {
        let target = Target {
            st: "31",
            pw: "123456",
            mn: "010000A8900016F000169DC0",
            version: ProtocolVersion::Hj2025,
        };
        let qn = parse_cst("20240601085857").unwrap();
        let begin = parse_cst("20240601064500").unwrap();
        let end = parse_cst("20240601084500").unwrap();
        let key = *b"0000000000000000";
        let cases: Vec<(Command<'_>, &str)> = vec![
            (
                Command::GetTime {
                    pol_id: Some("w01018"),
                },
                "PolId=w01018",
            ),
            (
                Command::SetTime {
                    pol_id: None,
                    time: begin,
                },
                "SystemTime=20240601064500",
            ),
            (Command::GetRtdInterval, ""),
            (Command::SetMinInterval { minutes: 10 }, "MinInterval=10"),
            (Command::GetMinInterval, ""),
            (Command::StartRealTime, ""),
            (
                Command::History {
                    kind: HistoryKind::Hour,
                    begin,
                    end,
                },
                "BeginTime=20240601064500;EndTime=20240601084500",
            ),
            (
                Command::History {
                    kind: HistoryKind::Day,
                    begin,
                    end,
                },
                "BeginTime=20240601064500;EndTime=20240601084500",
            ),
            (
                Command::SetMn {
                    logger_id: "6970000000001ABCDEFG1234",
                },
                "i23005-Info=6970000000001ABCDEFG1234",
            ),
            (
                Command::SetKey {
                    created: qn,
                    key: &key,
                },
                "SKCreateTime=20240601085857000,NewSK=0000000000000000",
            ),
        ];
        for (command, cp) in cases {
            let wire = command.encode(&target, qn).unwrap();
            let (segment, verdict) = parse_wire(&wire);
            assert_eq!(verdict, crate::CrcVerdict::Ok);
            let packet = Packet::parse(&segment).unwrap();
            assert_eq!(packet.cn, command.cn());
            assert_eq!(packet.qn, Some("20240601085857000"));
            assert_eq!(packet.flag, Some(9));
            assert_eq!(packet.cp.raw, cp);
            assert!(packet.warnings.is_empty());
        }
    }

    #[test]
    fn reference_2025_history_request_for_electricity() {
        let target = Target {
            st: "44",
            pw: "123456",
            mn: "010000A8900016F000169DC0",
            version: ProtocolVersion::Hj2025,
        };
        let qn = crate::time::parse_qn("20240601085857223").unwrap();
        let begin = parse_cst("20240601064500").unwrap();
        let end = parse_cst("20240601084500").unwrap();
        let wire = Command::History {
            kind: HistoryKind::RealTime,
            begin,
            end,
        }
        .encode(&target, qn)
        .unwrap();
        assert_eq!(wire, b"##0134QN=20240601085857223;ST=44;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&BeginTime=20240601064500;EndTime=20240601084500&&C741\r\n");
    }

    #[test]
    fn out_of_range_and_unsafe_values_are_refused() {
        let target = Target {
            st: "31",
            pw: "1;2",
            mn: "m",
            version: ProtocolVersion::Hj2017,
        };
        let qn = parse_cst("20240601085857").unwrap();
        assert!(matches!(
            Command::GetRtdInterval.encode(&target, qn),
            Err(EncodeError::UnsafeText(_))
        ));
        let target = Target {
            pw: "123456",
            ..target
        };
        assert_eq!(
            Command::SetRtdInterval { seconds: 29 }.encode(&target, qn),
            Err(EncodeError::OutOfRange {
                field: "RtdInterval",
                value: 29
            })
        );
        assert_eq!(
            Command::SetMinInterval { minutes: 7 }.encode(&target, qn),
            Err(EncodeError::OutOfRange {
                field: "MinInterval",
                value: 7
            })
        );
        assert!(matches!(
            Command::SetKey {
                created: qn,
                key: b"000000000000000;"
            }
            .encode(&target, qn),
            Err(EncodeError::UnsafeText(_))
        ));
        assert_eq!(
            frame_segment(&vec![b'a'; 10_000]),
            Err(EncodeError::TooLong(10_000))
        );
    }
}
