//! Code tables: system codes (ST), command codes (CN), pollutant codes with names and default units, and the
//! HJ/T 212-2005 → HJ 212-2017 pollutant code map (standard Appendix B, "原编码" column).

use std::sync::OnceLock;

use serde::Serialize;

/// A system code (ST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SystemCode {
    pub code: &'static str,
    pub name: &'static str,
}

/// HJ 212-2017 Table 5, plus 44/45 from HJ 212-2025.
pub const SYSTEM_CODES: &[SystemCode] = &[
    SystemCode {
        code: "21",
        name: "地表水质量监测",
    },
    SystemCode {
        code: "22",
        name: "空气质量监测",
    },
    SystemCode {
        code: "23",
        name: "声环境质量监测",
    },
    SystemCode {
        code: "24",
        name: "地下水质量监测",
    },
    SystemCode {
        code: "25",
        name: "土壤质量监测",
    },
    SystemCode {
        code: "26",
        name: "海水质量监测",
    },
    SystemCode {
        code: "27",
        name: "挥发性有机物监测",
    },
    SystemCode {
        code: "31",
        name: "大气环境污染源",
    },
    SystemCode {
        code: "32",
        name: "地表水体环境污染源",
    },
    SystemCode {
        code: "33",
        name: "地下水体环境污染源",
    },
    SystemCode {
        code: "34",
        name: "海洋环境污染源",
    },
    SystemCode {
        code: "35",
        name: "土壤环境污染源",
    },
    SystemCode {
        code: "36",
        name: "声环境污染源",
    },
    SystemCode {
        code: "37",
        name: "振动环境污染源",
    },
    SystemCode {
        code: "38",
        name: "放射性环境污染源",
    },
    SystemCode {
        code: "39",
        name: "工地扬尘污染源",
    },
    SystemCode {
        code: "41",
        name: "电磁环境污染源",
    },
    SystemCode {
        code: "44",
        name: "用电监控 (2025)",
    },
    SystemCode {
        code: "45",
        name: "关键生产工况监控 (2025)",
    },
    SystemCode {
        code: "51",
        name: "烟气排放过程监控",
    },
    SystemCode {
        code: "52",
        name: "污水排放过程监控",
    },
    SystemCode {
        code: "91",
        name: "系统交互",
    },
];

pub fn system_code(code: &str) -> Option<&'static SystemCode> {
    SYSTEM_CODES.iter().find(|entry| entry.code == code)
}

/// Who sends a command and how it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Host → field, answered with 9011 (and 9012 when done).
    Request,
    /// Field → host data; answered with 9014 when the A bit is set.
    Upload,
    /// Either way; answered with 9013.
    Notify,
    /// One of the 9011–9014 replies.
    Reply,
}

/// A command code (CN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommandCode {
    pub code: u16,
    pub name: &'static str,
    /// What a field device sending this CN expects (the host-side view used by the gateway).
    pub from_field: CommandKind,
    /// First edition that defines it (2005-only commands are marked 2005).
    pub since: &'static str,
}

const fn command(
    code: u16,
    name: &'static str,
    from_field: CommandKind,
    since: &'static str,
) -> CommandCode {
    CommandCode {
        code,
        name,
        from_field,
        since,
    }
}

/// HJ 212-2017 Table 9, the 2005-only commands seen in the field and the 2025 additions.
pub const COMMAND_CODES: &[CommandCode] = &[
    command(1000, "设置超时时间及重发次数", CommandKind::Request, "2017"),
    command(1001, "上传数采仪硬件序号", CommandKind::Notify, "2025"),
    command(1002, "设置数采仪MN编码", CommandKind::Request, "2025"),
    command(1011, "提取/上传现场机时间", CommandKind::Upload, "2017"),
    command(1012, "设置现场机时间", CommandKind::Request, "2017"),
    command(1013, "现场机时间校准请求", CommandKind::Notify, "2017"),
    command(1014, "密钥获取/设置", CommandKind::Notify, "2025"),
    command(1061, "提取实时数据间隔", CommandKind::Upload, "2017"),
    command(1062, "设置实时数据间隔", CommandKind::Request, "2017"),
    command(1063, "提取分钟数据间隔", CommandKind::Upload, "2017"),
    command(1064, "设置分钟数据间隔", CommandKind::Request, "2017"),
    command(1072, "设置现场机访问密码", CommandKind::Request, "2017"),
    command(2011, "实时数据", CommandKind::Upload, "2017"),
    command(2012, "停止察看实时数据", CommandKind::Notify, "2017"),
    command(2013, "原始监测数据", CommandKind::Upload, "2025"),
    command(2021, "设备运行状态", CommandKind::Upload, "2017"),
    command(2022, "停止察看设备运行状态", CommandKind::Notify, "2017"),
    command(2031, "日数据", CommandKind::Upload, "2017"),
    command(2041, "设备日运行时间", CommandKind::Upload, "2017"),
    command(2051, "分钟数据", CommandKind::Upload, "2017"),
    command(2052, "噪声单次测量数据", CommandKind::Upload, "2025"),
    command(2061, "小时数据", CommandKind::Upload, "2017"),
    command(2062, "自动标样核查数据", CommandKind::Upload, "2025"),
    command(2072, "报警事件 (2005)", CommandKind::Upload, "2005"),
    command(2081, "数采仪开机时间", CommandKind::Upload, "2017"),
    command(2111, "炉膛温度5分钟均值", CommandKind::Upload, "2025"),
    command(3011, "零点/量程校准", CommandKind::Request, "2017"),
    command(3012, "即时采样", CommandKind::Request, "2017"),
    command(3013, "启动清洗/反吹", CommandKind::Request, "2017"),
    command(3014, "比对采样", CommandKind::Request, "2017"),
    command(3015, "超标留样", CommandKind::Upload, "2017"),
    command(3016, "设置采样时间周期", CommandKind::Request, "2017"),
    command(3017, "提取采样时间周期", CommandKind::Upload, "2017"),
    command(3018, "提取出样时间", CommandKind::Upload, "2017"),
    command(3019, "提取设备唯一标识", CommandKind::Upload, "2017"),
    command(3020, "提取现场机信息", CommandKind::Upload, "2017"),
    command(3021, "设置现场机参数", CommandKind::Request, "2017"),
    command(3022, "下发即时留样任务", CommandKind::Request, "2025"),
    command(3024, "启动自动标样核查", CommandKind::Request, "2025"),
    command(9011, "请求应答", CommandKind::Reply, "2017"),
    command(9012, "执行结果", CommandKind::Reply, "2017"),
    command(9013, "通知应答", CommandKind::Reply, "2017"),
    command(9014, "数据应答", CommandKind::Reply, "2017"),
    command(9015, "心跳包", CommandKind::Notify, "2025"),
];

pub fn command_code(code: u16) -> Option<&'static CommandCode> {
    COMMAND_CODES.iter().find(|entry| entry.code == code)
}

/// A pollutant or parameter code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PollutantCode {
    pub code: &'static str,
    /// The HJ/T 212-2005 code ("原编码"), when the standard gives one.
    pub code_2005: Option<&'static str>,
    pub name: &'static str,
    pub unit: &'static str,
}

const fn pollutant(
    code: &'static str,
    code_2005: Option<&'static str>,
    name: &'static str,
    unit: &'static str,
) -> PollutantCode {
    PollutantCode {
        code,
        code_2005,
        name,
        unit,
    }
}

/// The codes this platform meets most: flue gas, wastewater, ambient air, 2025 additions.
pub const POLLUTANT_CODES: &[PollutantCode] = &[
    pollutant("a00000", Some("B02"), "废气流量", "m³/s"),
    pollutant("a34013", Some("01"), "烟尘", "mg/m³"),
    pollutant("a21026", Some("02"), "二氧化硫", "mg/m³"),
    pollutant("a21002", Some("03"), "氮氧化物", "mg/m³"),
    pollutant("a21005", Some("04"), "一氧化碳", "mg/m³"),
    pollutant("a21028", Some("05"), "硫化氢", "mg/m³"),
    pollutant("a21024", Some("08"), "氯化氢", "mg/m³"),
    pollutant("a19001", Some("S01"), "氧气含量", "%"),
    pollutant("a01011", Some("S02"), "烟气流速", "m/s"),
    pollutant("a01012", Some("S03"), "烟气温度", "°C"),
    pollutant("a01017", Some("S04"), "烟气动压", "kPa"),
    pollutant("a01014", Some("S05"), "烟气湿度", "%"),
    pollutant("a01015", Some("S06"), "制冷温度", "°C"),
    pollutant("a01016", Some("S07"), "烟道截面积", "m²"),
    pollutant("a01013", Some("S08"), "烟气压力", "kPa"),
    pollutant("a24088", None, "非甲烷总烃", "mg/m³"),
    pollutant("w00000", Some("B01"), "污水流量", "L/s"),
    pollutant("w01001", Some("001"), "pH值", ""),
    pollutant("w01012", Some("003"), "悬浮物", "mg/L"),
    pollutant("w01018", Some("011"), "化学需氧量", "mg/L"),
    pollutant("w01017", Some("010"), "五日生化需氧量", "mg/L"),
    pollutant("w21003", Some("060"), "氨氮", "mg/L"),
    pollutant("w21001", Some("065"), "总氮", "mg/L"),
    pollutant("w21011", Some("101"), "总磷", "mg/L"),
    pollutant("w22001", Some("080"), "石油类", "mg/L"),
    pollutant("w20116", Some("023"), "总铬", "mg/L"),
    pollutant("w20117", Some("024"), "六价铬", "µg/L"),
    pollutant("a34002", None, "PM10", "µg/m³"),
    pollutant("a34004", None, "PM2.5", "µg/m³"),
    pollutant("a34001", None, "总悬浮颗粒物 TSP", "µg/m³"),
    pollutant("a21004", None, "二氧化氮", "µg/m³"),
    pollutant("a21003", None, "一氧化氮", "µg/m³"),
    pollutant("a05024", None, "臭氧", "µg/m³"),
    pollutant("a01001", None, "温度", "°C"),
    pollutant("a01002", None, "湿度", "%"),
    pollutant("a01006", None, "气压", "kPa"),
    pollutant("a01007", None, "风速", "m/s"),
    pollutant("a01008", None, "风向", "°"),
    pollutant("a01901", None, "炉膛温度 (2025)", "°C"),
    pollutant("LA", None, "A声级", "dB(A)"),
    pollutant("Leq", None, "等效声级", "dB(A)"),
];

/// The entry of a 2017 code.
pub fn pollutant_code(code: &str) -> Option<&'static PollutantCode> {
    code_index().find(&code_index().by_code, code)
}

/// The HJ 212-2017 code for a 2005 code, if the standard maps it (e.g. `011` → `w01018`, `S01` → `a19001`).
pub fn map_2005_code(code: &str) -> Option<&'static str> {
    // 2005 codes have 2 or 3 characters; 2017 codes never do, so most lookups end here.
    if !(2..=3).contains(&code.len()) {
        return None;
    }
    code_index()
        .find(&code_index().by_code_2005, code)
        .map(|entry| entry.code)
}

/// The code table sorted by each kind of code packed into an integer ([`short_code_key`]): both lookups run for
/// every value a decoder shows or stores, and comparing integers in a binary search costs a fraction of
/// comparing the code with every entry's text in turn.
struct CodeIndex {
    by_code: Vec<(u64, &'static PollutantCode)>,
    by_code_2005: Vec<(u64, &'static PollutantCode)>,
}

impl CodeIndex {
    fn find(
        &self,
        sorted: &[(u64, &'static PollutantCode)],
        code: &str,
    ) -> Option<&'static PollutantCode> {
        let key = short_code_key(code)?;
        let index = sorted.binary_search_by_key(&key, |&(key, _)| key).ok()?;
        Some(sorted[index].1)
    }
}

fn code_index() -> &'static CodeIndex {
    static INDEX: OnceLock<CodeIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let keyed = |code: Option<&'static str>, entry: &'static PollutantCode| {
            code.and_then(short_code_key).map(|key| (key, entry))
        };
        let mut by_code: Vec<_> = POLLUTANT_CODES
            .iter()
            .filter_map(|entry| keyed(Some(entry.code), entry))
            .collect();
        let mut by_code_2005: Vec<_> = POLLUTANT_CODES
            .iter()
            .filter_map(|entry| keyed(entry.code_2005, entry))
            .collect();
        by_code.sort_by_key(|&(key, _)| key);
        by_code_2005.sort_by_key(|&(key, _)| key);
        CodeIndex {
            by_code,
            by_code_2005,
        }
    })
}

/// A code of at most 7 bytes as one integer: its bytes, then its length in the last byte (so that `LA` and
/// `LA\0` differ). Longer codes are in no table.
fn short_code_key(code: &str) -> Option<u64> {
    let bytes = code.as_bytes();
    if bytes.len() > 7 {
        return None;
    }
    let mut packed = [0u8; 8];
    packed[..bytes.len()].copy_from_slice(bytes);
    packed[7] = bytes.len() as u8;
    Some(u64::from_le_bytes(packed))
}

/// What a system monitors, as far as the 2005 code map is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    Air,
    Water,
}

/// The medium of a system code: air quality, VOCs, flue gas, dust, flue-gas process → air; surface, ground and
/// sea water quality, water pollution sources, wastewater process → water; anything else unknown.
pub fn medium_of_system(st: &str) -> Option<Medium> {
    match st {
        "22" | "27" | "31" | "39" | "51" => Some(Medium::Air),
        "21" | "24" | "26" | "32" | "33" | "34" | "52" => Some(Medium::Water),
        _ => None,
    }
}

/// The code a reading should be stored under: a 2005 code mapped when the system's medium matches the 2017
/// code's (water codes start with `w`, air codes with `a`), everything else as sent. 2005-era devices also sent
/// non-standard 3-digit codes under flue-gas systems (`023`, `112`, `8xx` under ST 31): those must not turn into
/// water pollutants, so an unknown or mismatching medium leaves the code alone.
pub fn normalized_code<'a>(st: Option<&str>, code: &'a str) -> &'a str {
    normalized_code_in(st.and_then(medium_of_system), code)
}

/// [`normalized_code`] with the system's medium already found (once per packet rather than per value).
pub fn normalized_code_in(medium: Option<Medium>, code: &str) -> &str {
    let Some(medium) = medium else {
        return code;
    };
    let prefix = match medium {
        Medium::Air => 'a',
        Medium::Water => 'w',
    };
    match map_2005_code(code) {
        Some(mapped) if mapped.starts_with(prefix) => mapped,
        _ => code,
    }
}

/// QnRtn (HJ 212-2017 Table 7).
pub fn qn_rtn_text(code: u16) -> Option<&'static str> {
    Some(match code {
        1 => "准备执行请求",
        2 => "请求被拒绝",
        3 => "PW错误",
        4 => "MN错误",
        5 => "ST错误",
        6 => "Flag错误",
        7 => "QN错误",
        8 => "CN错误",
        9 => "CRC校验错误",
        100 => "未知错误",
        _ => return None,
    })
}

/// ExeRtn (HJ 212-2017 Table 6).
pub fn exe_rtn_text(code: u16) -> Option<&'static str> {
    Some(match code {
        1 => "执行成功",
        2 => "执行失败，但不知道原因",
        3 => "命令请求条件错误",
        4 => "通讯超时",
        5 => "系统繁忙不能执行",
        6 => "系统故障",
        100 => "没有数据",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pollutant_code_is_found_and_unique() {
        for entry in POLLUTANT_CODES {
            assert_eq!(pollutant_code(entry.code), Some(entry), "{}", entry.code);
        }
        for unknown in [
            "", "a", "a3400", "a340044", "a34004\0", "zzz", "LAeq", "la", "LA\0",
        ] {
            assert_eq!(pollutant_code(unknown), None, "{unknown:?}");
        }
        for entry in POLLUTANT_CODES {
            if let Some(old) = entry.code_2005 {
                assert_eq!(map_2005_code(old), Some(entry.code), "{old}");
            }
        }
        for unknown in ["0", "1", "B0", "B011", "s01", "01\0", "999"] {
            assert_eq!(map_2005_code(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn map_from_2005_codes() {
        assert_eq!(map_2005_code("B01"), Some("w00000"));
        assert_eq!(map_2005_code("011"), Some("w01018"));
        assert_eq!(map_2005_code("060"), Some("w21003"));
        assert_eq!(map_2005_code("01"), Some("a34013"));
        assert_eq!(map_2005_code("S08"), Some("a01013"));
        assert_eq!(map_2005_code("a21026"), None);
        assert_eq!(normalized_code(Some("31"), "a21026"), "a21026");
        assert_eq!(normalized_code(Some("31"), "02"), "a21026");
        assert_eq!(normalized_code(Some("32"), "011"), "w01018");
        // A water code under a flue-gas system, and an unknown system, stay as sent.
        assert_eq!(normalized_code(Some("31"), "023"), "023");
        assert_eq!(normalized_code(Some("101"), "011"), "011");
        assert_eq!(normalized_code(None, "011"), "011");
    }

    #[test]
    fn tables_have_unique_keys() {
        for (index, entry) in POLLUTANT_CODES.iter().enumerate() {
            assert!(
                POLLUTANT_CODES[index + 1..]
                    .iter()
                    .all(|other| other.code != entry.code),
                "{}",
                entry.code
            );
            if let Some(old) = entry.code_2005 {
                assert!(
                    POLLUTANT_CODES[index + 1..]
                        .iter()
                        .all(|other| other.code_2005 != Some(old)),
                    "{old}"
                );
            }
        }
        for (index, entry) in COMMAND_CODES.iter().enumerate() {
            assert!(
                COMMAND_CODES[index + 1..]
                    .iter()
                    .all(|other| other.code != entry.code),
                "{}",
                entry.code
            );
        }
        assert_eq!(command_code(9015).map(|entry| entry.name), Some("心跳包"));
        assert_eq!(
            system_code("32").map(|entry| entry.name),
            Some("地表水体环境污染源")
        );
    }
}
