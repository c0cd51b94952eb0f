//! The data segment: an unordered key/value header (QN, ST, CN, PW, MN, Flag, PNUM, PNO, RF) and the CP data
//! area (`name=value`, `,` within a subject, `;` between subjects). Parsing borrows from the segment.
//!
//! Tolerated: any field order, missing QN/Flag, `FLAG` spelling, `,` between header fields, a missing `;`
//! before `CP`, spaces around items and `=`, empty items (`,,`, `;&&`), a bare `Flag=` after a value,
//! 13-digit QNs, any MN. Whatever is odd is kept and reported as a warning, never dropped silently.

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

use crate::codes;
use crate::time::{parse_cst, parse_qn};
use crate::version::{FLAG_ACK, FLAG_SUBPACKET, ProtocolVersion};

/// Why a data segment could not be read as a packet at all.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum PacketError {
    #[error(
        "data segment is not UTF-8 (first bad byte at {valid_up_to}); encrypted without a key?"
    )]
    NotUtf8 { valid_up_to: usize },
    #[error("no `CP=&&` data area")]
    MissingCp,
    #[error("no CN command code")]
    MissingCn,
    #[error("CN `{0}` is not a number")]
    BadCn(String),
}

/// Something odd that was tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", content = "text", rename_all = "snake_case")]
pub enum PacketWarning<'a> {
    /// A header item that is not `KEY=value`.
    MalformedHeaderItem(&'a str),
    /// A header key given twice; the first value is kept.
    DuplicateHeaderField(&'a str),
    /// A header key the standard does not define (kept in `extra_header`).
    UnknownHeaderField(&'a str),
    /// `Flag`, `PNUM` or `PNO` that is not a number in range.
    BadNumber(&'a str),
    /// CP item without `=`.
    MalformedCpItem(&'a str),
    /// The data area does not end with `&&`.
    CpNotClosed,
    /// `Flag=X` with no code, attached to the value just before it (e.g. `a34001-Rtd=92;Flag=N`).
    BareFlagAttached(&'a str),
}

/// The part after `-` in `code-Suffix`, or the implied kind of a key without suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Suffix {
    Rtd,
    Min,
    Avg,
    Max,
    Cou,
    ZsRtd,
    ZsMin,
    ZsAvg,
    ZsMax,
    Flag,
    EFlag,
    ZsFlag,
    SampleTime,
    Info,
    Sn,
    /// Treatment facility state `SBxxx-RS` (0 off, 1 run, 2 calibration, 3 maintenance, 4 alarm, 5 blowback).
    Rs,
    /// Treatment facility daily run hours `SBxxx-RT`.
    Rt,
    /// Noise.
    Data,
    DayData,
    NightData,
    /// Any other suffix (`ValidNum`, `Ala`, `SampleRd`, ...); the text is in [`CpItem::name`].
    Other,
}

impl Suffix {
    const KNOWN: [Suffix; 20] = [
        Suffix::Rtd,
        Suffix::Min,
        Suffix::Avg,
        Suffix::Max,
        Suffix::Cou,
        Suffix::ZsRtd,
        Suffix::ZsMin,
        Suffix::ZsAvg,
        Suffix::ZsMax,
        Suffix::Flag,
        Suffix::EFlag,
        Suffix::ZsFlag,
        Suffix::SampleTime,
        Suffix::Info,
        Suffix::Sn,
        Suffix::Rs,
        Suffix::Rt,
        Suffix::Data,
        Suffix::DayData,
        Suffix::NightData,
    ];

    fn parse(text: &str) -> Suffix {
        // The common suffixes first, as byte patterns the compiler checks inline (no memcmp calls).
        match text.as_bytes() {
            [b'R', b't', b'd'] => Suffix::Rtd,
            [b'F', b'l', b'a', b'g'] => Suffix::Flag,
            [b'A', b'v', b'g'] => Suffix::Avg,
            [b'M', b'i', b'n'] => Suffix::Min,
            [b'M', b'a', b'x'] => Suffix::Max,
            [b'C', b'o', b'u'] => Suffix::Cou,
            [b'Z', b's', b'R', b't', b'd'] => Suffix::ZsRtd,
            _ => Suffix::KNOWN
                .into_iter()
                .find(|suffix| suffix.as_str().eq_ignore_ascii_case(text))
                .unwrap_or(Suffix::Other),
        }
    }

    /// The suffix as written by the standard; empty for [`Suffix::Other`] (its text is in [`CpItem::name`]).
    pub fn as_str(&self) -> &'static str {
        match self {
            Suffix::Rtd => "Rtd",
            Suffix::Min => "Min",
            Suffix::Avg => "Avg",
            Suffix::Max => "Max",
            Suffix::Cou => "Cou",
            Suffix::ZsRtd => "ZsRtd",
            Suffix::ZsMin => "ZsMin",
            Suffix::ZsAvg => "ZsAvg",
            Suffix::ZsMax => "ZsMax",
            Suffix::Flag => "Flag",
            Suffix::EFlag => "EFlag",
            Suffix::ZsFlag => "ZsFlag",
            Suffix::SampleTime => "SampleTime",
            Suffix::Info => "Info",
            Suffix::Sn => "SN",
            Suffix::Rs => "RS",
            Suffix::Rt => "RT",
            Suffix::Data => "Data",
            Suffix::DayData => "DayData",
            Suffix::NightData => "NightData",
            Suffix::Other => "",
        }
    }

    /// Whether the value is a measurement (as opposed to a flag, a time, an id or text).
    pub fn is_measurement(&self) -> bool {
        matches!(
            self,
            Suffix::Rtd
                | Suffix::Min
                | Suffix::Avg
                | Suffix::Max
                | Suffix::Cou
                | Suffix::ZsRtd
                | Suffix::ZsMin
                | Suffix::ZsAvg
                | Suffix::ZsMax
                | Suffix::Rs
                | Suffix::Rt
                | Suffix::Data
                | Suffix::DayData
                | Suffix::NightData
        )
    }
}

/// A CP key: a parameter such as `DataTime`, or `code-Suffix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Key<'a> {
    Param { name: &'a str },
    Measure { code: &'a str, suffix: Suffix },
}

/// One `key=value` of the data area; `group` counts the `;`-separated subjects from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpItem<'a> {
    /// The key as sent (suffixes are matched case-insensitively in `key`, kept verbatim here).
    pub name: &'a str,
    pub key: Key<'a>,
    pub value: &'a str,
    pub group: u16,
}

/// Data flags (HJ 212-2017 Table 8). Lower-case letters seen in the field are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DataFlag {
    /// N 正常
    Normal,
    /// F 停运
    Stopped,
    /// M 维护
    Maintenance,
    /// S 手工输入的设定值
    ManualSet,
    /// D 故障
    Fault,
    /// C 校准
    Calibration,
    /// T 超测量上限 (above the instrument's range, not an emission limit)
    AboveRange,
    /// B 通讯异常
    CommunicationFault,
}

impl DataFlag {
    pub fn parse(text: &str) -> Option<DataFlag> {
        let [letter] = text.as_bytes() else {
            return None;
        };
        Some(match letter.to_ascii_uppercase() {
            b'N' => DataFlag::Normal,
            b'F' => DataFlag::Stopped,
            b'M' => DataFlag::Maintenance,
            b'S' => DataFlag::ManualSet,
            b'D' => DataFlag::Fault,
            b'C' => DataFlag::Calibration,
            b'T' => DataFlag::AboveRange,
            b'B' => DataFlag::CommunicationFault,
            _ => return None,
        })
    }

    pub fn letter(self) -> char {
        match self {
            DataFlag::Normal => 'N',
            DataFlag::Stopped => 'F',
            DataFlag::Maintenance => 'M',
            DataFlag::ManualSet => 'S',
            DataFlag::Fault => 'D',
            DataFlag::Calibration => 'C',
            DataFlag::AboveRange => 'T',
            DataFlag::CommunicationFault => 'B',
        }
    }
}

/// Which period a data upload covers, from its CN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// 2011: DataTime is the sampling moment.
    RealTime,
    /// 2051: DataTime is the start of the minute period.
    Minute,
    /// 2061: DataTime is the start of the hour.
    Hour,
    /// 2031: DataTime is the start of the day.
    Day,
}

impl PeriodKind {
    pub fn from_cn(cn: u16) -> Option<PeriodKind> {
        match cn {
            2011 => Some(PeriodKind::RealTime),
            2051 => Some(PeriodKind::Minute),
            2061 => Some(PeriodKind::Hour),
            2031 => Some(PeriodKind::Day),
            _ => None,
        }
    }
}

/// The data area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cp<'a> {
    /// The text between `CP=&&` and the closing `&&`.
    pub raw: &'a str,
    pub items: Vec<CpItem<'a>>,
}

impl<'a> Cp<'a> {
    /// Parses a data area (without `CP=&&` and the closing `&&`), appending oddities to `warnings`.
    pub fn parse(raw: &'a str, warnings: &mut Vec<PacketWarning<'a>>) -> Cp<'a> {
        // ~15 bytes per item in the corpus (7 at least): one allocation per packet, rarely a second.
        let mut items = Vec::with_capacity(raw.len() / 12 + 1);
        for_each_item(raw, |item, group| {
            push_cp_item(&mut items, item, group, warnings)
        });
        Cp { raw, items }
    }

    /// The first value of a parameter (`DataTime`, `QnRtn`, ...).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.items.iter().find_map(|item| match item.key {
            Key::Param { name: key } if key == name => Some(item.value),
            _ => None,
        })
    }

    /// The first value of a key exactly as sent (`w01018-CompleteTime`).
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.items
            .iter()
            .find(|item| item.name == name)
            .map(|item| item.value)
    }

    /// The value of `code-suffix`.
    pub fn measure(&self, code: &str, suffix: Suffix) -> Option<&'a str> {
        self.items.iter().find_map(|item| match item.key {
            Key::Measure {
                code: key,
                suffix: key_suffix,
            } if key == code && key_suffix == suffix => Some(item.value),
            _ => None,
        })
    }

    /// `DataTime` as UTC.
    pub fn data_time(&self) -> Option<DateTime<Utc>> {
        self.param("DataTime").and_then(parse_cst)
    }
}

/// A `key=value` item: the whole item (for warnings) and its key and value if it has `=`, all trimmed.
type Item<'a> = (&'a str, Option<(&'a str, &'a str)>);

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const LOW_BITS: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// High bit set in every byte of `word` equal to `byte` (exact: no carries cross bytes).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ (ONES * u64::from(byte));
    !(((diff & LOW_BITS).wrapping_add(LOW_BITS)) | diff) & HIGH_BITS
}

/// Calls `each(item, subject)` for every non-empty item separated by `;` or `,`; `subject` counts the `;`
/// before the item. Separators and `=` are found eight bytes at a time: this scan is most of the parse.
fn for_each_item<'a, F: FnMut(Item<'a>, u16)>(text: &'a str, mut each: F) {
    let bytes = text.as_bytes();
    let mut scanner = ItemScanner {
        text,
        subject: 0,
        start: 0,
        equals: None,
        quoted_until: 0,
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let Ok(word_bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(word_bytes);
        let mut mask = bytes_equal(word, b';') | bytes_equal(word, b',') | bytes_equal(word, b'=');
        while mask != 0 {
            let offset = mask.trailing_zeros() as usize / 8;
            scanner.structural(base + offset, chunk[offset], &mut each);
            mask &= mask - 1;
        }
        base += 8;
    }
    for (offset, &byte) in chunks.remainder().iter().enumerate() {
        if matches!(byte, b';' | b',' | b'=') {
            scanner.structural(base + offset, byte, &mut each);
        }
    }
    scanner.emit(bytes.len(), &mut each);
}

struct ItemScanner<'a> {
    text: &'a str,
    subject: u16,
    start: usize,
    equals: Option<usize>,
    /// Inside a `//…//` log value (`i11001-Info=//…//`), separators belong to the text.
    quoted_until: usize,
}

impl<'a> ItemScanner<'a> {
    fn structural<F: FnMut(Item<'a>, u16)>(&mut self, position: usize, byte: u8, each: &mut F) {
        if position < self.quoted_until {
            return;
        }
        if byte == b'=' {
            if self.equals.is_none() {
                self.equals = Some(position);
                self.quoted_until = quoted_value_end(self.text.as_bytes(), position + 1);
            }
            return;
        }
        self.emit(position, each);
        if byte == b';' {
            self.subject = self.subject.saturating_add(1);
        }
        self.start = position + 1;
        self.equals = None;
    }

    fn emit<F: FnMut(Item<'a>, u16)>(&self, end: usize, each: &mut F) {
        let text = self.text;
        let item = match self.equals {
            Some(equals) => {
                let key_value = (
                    text[self.start..equals].trim_ascii(),
                    text[equals + 1..end].trim_ascii(),
                );
                // The whole item only serves warnings; trimmed there.
                (&text[self.start..end], Some(key_value))
            }
            None => {
                let whole = text[self.start..end].trim_ascii();
                if whole.is_empty() {
                    return;
                }
                (whole, None)
            }
        };
        each(item, self.subject);
    }
}

/// If the value at `from` is a `//…//` log, the position just after its closing `//` (which must end the item);
/// otherwise 0.
fn quoted_value_end(bytes: &[u8], from: usize) -> usize {
    if !bytes[from..].starts_with(b"//") {
        return 0;
    }
    let mut search = from + 2;
    while let Some(offset) = bytes
        .get(search..)
        .and_then(|rest| rest.windows(2).position(|pair| pair == b"//"))
    {
        let close = search + offset + 2;
        // A `/` run: the closing pair is the last two.
        let close = close
            + bytes[close..]
                .iter()
                .take_while(|&&byte| byte == b'/')
                .count();
        if matches!(
            bytes
                .get(close..)
                .and_then(|rest| rest.trim_ascii_start().first()),
            None | Some(b';' | b',')
        ) {
            return close;
        }
        search = close;
    }
    0
}

/// Where `CP=&&` starts: found from the first `&`, which in practice belongs to it.
fn find_cp_marker(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|&byte| byte == b'&') {
        let amp = from + offset;
        if amp >= 3 && &bytes[amp - 3..amp] == b"CP=" && bytes.get(amp + 1) == Some(&b'&') {
            return Some(amp - 3);
        }
        from = amp + 1;
    }
    None
}

fn push_cp_item<'a>(
    items: &mut Vec<CpItem<'a>>,
    (item, key_value): Item<'a>,
    group: u16,
    warnings: &mut Vec<PacketWarning<'a>>,
) {
    let Some((name, value)) = key_value else {
        warnings.push(PacketWarning::MalformedCpItem(item.trim_ascii()));
        return;
    };
    let key = match name.bytes().position(|byte| byte == b'-') {
        Some(dash) if dash > 0 => Key::Measure {
            code: &name[..dash],
            suffix: Suffix::parse(&name[dash + 1..]),
        },
        _ if name == "Flag" => match items.last() {
            Some(CpItem {
                key: Key::Measure { code, .. },
                ..
            }) => {
                warnings.push(PacketWarning::BareFlagAttached(item.trim_ascii()));
                Key::Measure {
                    code,
                    suffix: Suffix::Flag,
                }
            }
            _ => Key::Param { name },
        },
        // 2025 writes facility state as `SB1=1` instead of `SB1-RS=1`.
        _ if name.len() > 2
            && name.starts_with("SB")
            && name[2..].bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            Key::Measure {
                code: name,
                suffix: Suffix::Rs,
            }
        }
        _ => Key::Param { name },
    };
    items.push(CpItem {
        name,
        key,
        value,
        group,
    });
}

/// A parsed packet, borrowing from its data segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Packet<'a> {
    pub qn: Option<&'a str>,
    pub st: Option<&'a str>,
    pub cn: u16,
    pub pw: Option<&'a str>,
    pub mn: Option<&'a str>,
    pub flag: Option<u8>,
    pub pnum: Option<u32>,
    pub pno: Option<u32>,
    /// `RF=1` (HJ 212-2025): a backfilled (resent) packet.
    pub backfill: bool,
    /// Header fields the standard does not define, in order.
    pub extra_header: Vec<(&'a str, &'a str)>,
    pub cp: Cp<'a>,
    pub warnings: Vec<PacketWarning<'a>>,
}

const CP_MARKER: &str = "CP=&&";

fn set_once<'a, T>(
    slot: &mut Option<T>,
    value: T,
    key: &'a str,
    warnings: &mut Vec<PacketWarning<'a>>,
) {
    if slot.is_some() {
        warnings.push(PacketWarning::DuplicateHeaderField(key));
    } else {
        *slot = Some(value);
    }
}

fn parse_number<'a, T: std::str::FromStr>(
    value: &'a str,
    warnings: &mut Vec<PacketWarning<'a>>,
) -> Option<T> {
    let parsed = value.parse().ok();
    if parsed.is_none() {
        warnings.push(PacketWarning::BadNumber(value));
    }
    parsed
}

impl<'a> Packet<'a> {
    /// Parses a data segment (as cut by the frame decoder, after decryption for 2025 packets).
    pub fn parse(segment: &'a [u8]) -> Result<Packet<'a>, PacketError> {
        let text = std::str::from_utf8(segment).map_err(|error| PacketError::NotUtf8 {
            valid_up_to: error.valid_up_to(),
        })?;
        Packet::parse_str(text)
    }

    pub fn parse_str(text: &'a str) -> Result<Packet<'a>, PacketError> {
        let marker = find_cp_marker(text).ok_or(PacketError::MissingCp)?;
        let mut warnings = Vec::new();
        let body = &text[marker + CP_MARKER.len()..];
        let cp_raw = match body.strip_suffix("&&") {
            Some(inner) => inner,
            None => {
                warnings.push(PacketWarning::CpNotClosed);
                body
            }
        };

        let mut packet = Packet {
            qn: None,
            st: None,
            cn: 0,
            pw: None,
            mn: None,
            flag: None,
            pnum: None,
            pno: None,
            backfill: false,
            extra_header: Vec::new(),
            cp: Cp {
                raw: cp_raw,
                items: Vec::new(),
            },
            warnings: Vec::new(),
        };
        let mut cn_text = None;
        for_each_item(&text[..marker], |(item, key_value), _| {
            let Some((key, value)) = key_value else {
                warnings.push(PacketWarning::MalformedHeaderItem(item.trim_ascii()));
                return;
            };
            // Header keys are at most 4 letters; upper-case them on the stack (`FLAG` is seen in the field).
            let mut upper = [0u8; 4];
            let upper = match upper.get_mut(..key.len()) {
                Some(slot) => {
                    slot.copy_from_slice(key.as_bytes());
                    slot.make_ascii_uppercase();
                    &*slot
                }
                None => &[],
            };
            match upper {
                b"QN" => set_once(&mut packet.qn, value, key, &mut warnings),
                b"ST" => set_once(&mut packet.st, value, key, &mut warnings),
                b"CN" => set_once(&mut cn_text, value, key, &mut warnings),
                b"PW" => set_once(&mut packet.pw, value, key, &mut warnings),
                b"MN" => set_once(&mut packet.mn, value, key, &mut warnings),
                b"FLAG" => {
                    if let Some(flag) = parse_number(value, &mut warnings) {
                        set_once(&mut packet.flag, flag, key, &mut warnings);
                    }
                }
                b"PNUM" => {
                    if let Some(pnum) = parse_number(value, &mut warnings) {
                        set_once(&mut packet.pnum, pnum, key, &mut warnings);
                    }
                }
                b"PNO" => {
                    if let Some(pno) = parse_number(value, &mut warnings) {
                        set_once(&mut packet.pno, pno, key, &mut warnings);
                    }
                }
                b"RF" => packet.backfill = value == "1",
                _ => {
                    warnings.push(PacketWarning::UnknownHeaderField(key));
                    packet.extra_header.push((key, value));
                }
            }
        });
        let cn_text = cn_text.ok_or(PacketError::MissingCn)?;
        packet.cn = cn_text
            .parse()
            .map_err(|_| PacketError::BadCn(cn_text.to_owned()))?;
        packet.cp = Cp::parse(cp_raw, &mut warnings);
        packet.warnings = warnings;
        Ok(packet)
    }

    pub fn version(&self) -> ProtocolVersion {
        ProtocolVersion::from_flag(self.flag)
    }

    /// The A bit: the sender asks for a reply.
    pub fn ack_requested(&self) -> bool {
        self.flag.is_some_and(|flag| flag & FLAG_ACK != 0)
    }

    /// Part of a split upload: the D bit, or PNUM/PNO present without it (seen in the field).
    pub fn is_subpacket(&self) -> bool {
        self.flag.is_some_and(|flag| flag & FLAG_SUBPACKET != 0)
            || (self.pnum.is_some() && self.pno.is_some())
    }

    /// The QN a reply must echo: the header QN, or (2005 replies) the QN inside CP.
    pub fn request_qn(&self) -> Option<&'a str> {
        self.qn.or_else(|| self.cp.param("QN"))
    }

    /// QN as a time (17-digit CST or 13-digit epoch milliseconds).
    pub fn qn_time(&self) -> Option<DateTime<Utc>> {
        self.qn.and_then(parse_qn)
    }

    pub fn data_time(&self) -> Option<DateTime<Utc>> {
        self.cp.data_time()
    }

    pub fn period(&self) -> Option<PeriodKind> {
        PeriodKind::from_cn(self.cn)
    }

    /// Every measurement of the packet with its flag, ready to be stored as readings.
    pub fn readings(&self) -> Vec<Reading<'a>> {
        let mn = self.mn.unwrap_or("");
        let period = self.period();
        let data_time = self.data_time();
        let mut readings = Vec::with_capacity(self.cp.items.len());
        readings.extend(self.measurements().map(|measurement| Reading {
            mn,
            name: measurement.name,
            code: measurement.code,
            factor: measurement.factor,
            suffix: measurement.suffix,
            period,
            data_time,
            raw_value: measurement.raw_value,
            value: measurement.raw_value.parse().ok(),
            flag: measurement.flag_text.and_then(DataFlag::parse),
            flag_text: measurement.flag_text,
        }));
        readings
    }

    /// The measurements of [`Packet::readings`] as sent, in order, with their factor and flag text but
    /// without converting values or times: what a viewer that only shows them needs.
    pub fn measurements(&self) -> impl Iterator<Item = Measurement<'a>> + '_ {
        let items = &self.cp.items;
        let any_flag = items.iter().any(|item| {
            matches!(
                item.key,
                Key::Measure {
                    suffix: Suffix::Flag,
                    ..
                }
            )
        });
        let medium = self.st.and_then(codes::medium_of_system);
        items.iter().enumerate().filter_map(move |(index, item)| {
            let Key::Measure { code, suffix } = item.key else {
                return None;
            };
            if !suffix.is_measurement() {
                return None;
            }
            Some(Measurement {
                name: item.name,
                code,
                factor: codes::normalized_code_in(medium, code),
                suffix,
                raw_value: item.value,
                flag_text: if any_flag {
                    find_flag(items, index, code)
                } else {
                    None
                },
            })
        })
    }
}

/// The `-Flag` of `code` for the value at `index`: in the same subject (after, then before the value), else
/// anywhere in the data area.
fn find_flag<'a>(items: &[CpItem<'a>], index: usize, code: &str) -> Option<&'a str> {
    let group = items[index].group;
    let is_flag_of = |item: &CpItem<'a>| match item.key {
        Key::Measure {
            code: other,
            suffix: Suffix::Flag,
        } if other == code => Some(item.value),
        _ => None,
    };
    let after = items[index + 1..]
        .iter()
        .take_while(|item| item.group == group);
    let before = items[..index]
        .iter()
        .rev()
        .take_while(|item| item.group == group);
    after.chain(before).find_map(is_flag_of).or_else(|| {
        items
            .iter()
            .filter(|item| item.group != group)
            .find_map(is_flag_of)
    })
}

/// Logger hardware identifiers a 2025 device sends with CN 1001 before it has an MN (onboarding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HardwareIds<'a> {
    /// `i23005-Info`: the logger id that 1002 addresses when assigning the MN.
    pub logger_id: &'a str,
    /// `i23006-Info`
    pub cpu_id: Option<&'a str>,
    /// `i23007-Info`, `i23008-Info`
    pub macs: [Option<&'a str>; 2],
}

impl<'a> Packet<'a> {
    /// The hardware ids of a 1001 onboarding notification.
    pub fn hardware_ids(&self) -> Option<HardwareIds<'a>> {
        if self.cn != 1001 {
            return None;
        }
        Some(HardwareIds {
            logger_id: self.cp.measure("i23005", Suffix::Info)?,
            cpu_id: self.cp.measure("i23006", Suffix::Info),
            macs: [
                self.cp.measure("i23007", Suffix::Info),
                self.cp.measure("i23008", Suffix::Info),
            ],
        })
    }
}

/// One measurement of a data area as sent: see [`Packet::measurements`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement<'a> {
    /// The CP key as sent (`w01018-Rtd`).
    pub name: &'a str,
    /// The code as sent.
    pub code: &'a str,
    /// The HJ 212-2017 code, as in [`Reading::factor`].
    pub factor: &'a str,
    pub suffix: Suffix,
    pub raw_value: &'a str,
    /// The flag as sent.
    pub flag_text: Option<&'a str>,
}

/// One measurement as the gateway stores it: point by MN, factor, time, period, value, flag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reading<'a> {
    pub mn: &'a str,
    /// The CP key as sent (`w01018-Rtd`).
    pub name: &'a str,
    /// The code as sent.
    pub code: &'a str,
    /// The HJ 212-2017 code (2005 codes mapped when the ST says air or water, see
    /// [`codes::normalized_code`]).
    pub factor: &'a str,
    pub suffix: Suffix,
    pub period: Option<PeriodKind>,
    pub data_time: Option<DateTime<Utc>>,
    pub raw_value: &'a str,
    /// `None` when the value is not a number.
    pub value: Option<f64>,
    pub flag: Option<DataFlag>,
    /// The flag as sent, also when it is not one of N F M S D C T B.
    pub flag_text: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_in_any_order_with_odd_spellings() {
        let packet = Packet::parse_str(
            "ST=32;CN=2051;QN=20190424002721168;PW=123456;,MN=23040281003022; FLAG = 5CP=&&DataTime=20190416003000&&",
        )
        .unwrap();
        assert_eq!(packet.qn, Some("20190424002721168"));
        assert_eq!(packet.st, Some("32"));
        assert_eq!(packet.cn, 2051);
        assert_eq!(packet.mn, Some("23040281003022"));
        assert_eq!(packet.flag, Some(5));
        assert_eq!(packet.version(), ProtocolVersion::Hj2017);
        assert!(packet.ack_requested());
        assert_eq!(packet.cp.param("DataTime"), Some("20190416003000"));
        assert!(packet.warnings.is_empty(), "{:?}", packet.warnings);
    }

    #[test]
    fn missing_cn_and_cp_are_errors() {
        assert_eq!(
            Packet::parse_str("ST=32;CP=&&&&"),
            Err(PacketError::MissingCn)
        );
        assert_eq!(
            Packet::parse_str("ST=32;CN=x1;CP=&&&&"),
            Err(PacketError::BadCn("x1".into()))
        );
        assert_eq!(
            Packet::parse_str("ST=32;CN=2011"),
            Err(PacketError::MissingCp)
        );
        assert_eq!(
            Packet::parse(b"CN=2011;CP=&&\xff&&"),
            Err(PacketError::NotUtf8 { valid_up_to: 13 })
        );
    }

    #[test]
    fn backfill_and_unknown_header_fields() {
        let packet = Packet::parse_str(
            "QN=1;ST=31;CN=2051;PW=1;MN=2;Flag=9;RF=1;XX=3;CP=&&DataTime=20240601084000",
        )
        .unwrap();
        assert!(packet.backfill);
        assert_eq!(packet.extra_header, vec![("XX", "3")]);
        assert_eq!(
            packet.warnings,
            vec![
                PacketWarning::CpNotClosed,
                PacketWarning::UnknownHeaderField("XX")
            ]
        );
        assert_eq!(packet.version(), ProtocolVersion::Hj2025);
    }

    #[test]
    fn cp_grammar() {
        let mut warnings = Vec::new();
        let cp = Cp::parse(
            "DataTime=20160801084000;w01018-Cou=10.5 , w01018-Min = 40.1,,w01018-Flag=N;SB1-RS=1;SB2=0;a34001-Rtd=92;Flag=N;junk;",
            &mut warnings,
        );
        assert_eq!(cp.param("DataTime"), Some("20160801084000"));
        assert_eq!(cp.measure("w01018", Suffix::Min), Some("40.1"));
        assert_eq!(cp.measure("w01018", Suffix::Cou), Some("10.5"));
        assert_eq!(cp.measure("SB1", Suffix::Rs), Some("1"));
        assert_eq!(cp.measure("SB2", Suffix::Rs), Some("0"));
        assert_eq!(cp.measure("a34001", Suffix::Flag), Some("N"));
        assert_eq!(
            warnings,
            vec![
                PacketWarning::BareFlagAttached("Flag=N"),
                PacketWarning::MalformedCpItem("junk")
            ]
        );
        let groups: Vec<u16> = cp.items.iter().map(|item| item.group).collect();
        assert_eq!(groups, vec![0, 1, 1, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn word_scan_finds_exactly_the_matching_bytes() {
        for target in [b';', b',', b'='] {
            for pattern in [
                [target, 0, 0x80, target, 0xFF, target ^ 1, target, 0x3C],
                [0; 8],
                [target; 8],
            ] {
                let mask = bytes_equal(u64::from_le_bytes(pattern), target);
                for (index, byte) in pattern.iter().enumerate() {
                    assert_eq!(
                        mask >> (index * 8 + 7) & 1 == 1,
                        *byte == target,
                        "{pattern:?} at {index}"
                    );
                }
            }
        }
    }

    #[test]
    fn log_values_between_slashes_keep_their_separators() {
        let mut warnings = Vec::new();
        let cp = Cp::parse(
            "DataTime=20240601080000;i11001-Info=//2024-06-01 08:00 pump=on; flow, low//;i12001-Info=0,i12002-Info=//x//",
            &mut warnings,
        );
        assert_eq!(
            cp.measure("i11001", Suffix::Info),
            Some("//2024-06-01 08:00 pump=on; flow, low//")
        );
        assert_eq!(cp.measure("i12001", Suffix::Info), Some("0"));
        assert_eq!(cp.measure("i12002", Suffix::Info), Some("//x//"));
        assert_eq!(
            cp.items.iter().map(|item| item.group).collect::<Vec<_>>(),
            vec![0, 1, 2, 2]
        );
        assert!(warnings.is_empty());
        // An unclosed `//` is not a log: separators split as usual.
        let cp = Cp::parse("a-Info=//x;b-Rtd=1", &mut warnings);
        assert_eq!(cp.measure("b", Suffix::Rtd), Some("1"));
    }

    #[test]
    fn flags() {
        assert_eq!(DataFlag::parse("N"), Some(DataFlag::Normal));
        assert_eq!(DataFlag::parse("d"), Some(DataFlag::Fault));
        assert_eq!(DataFlag::parse("T"), Some(DataFlag::AboveRange));
        assert_eq!(DataFlag::parse("X"), None);
        assert_eq!(DataFlag::parse("NN"), None);
    }
}
