//! The simulated district, generated deterministically from a seed: enterprises across Dongli's industries
//! (steel and coking works included), their outlets and online-monitoring devices, the air stations (the
//! national station 1021A 跃进路, municipal stations, micro-stations) and the nine surface-water sections.
//! Everything here is fictitious; names are invented, and every record is flagged `simulated`.

use crate::district::STREETS;
use kernel::rng::SplitMix64;
use registry::model::PointKind;

pub struct DemoEnterprise {
    pub uscc: String,
    pub name: String,
    pub industry_code: &'static str,
    pub industry_name: &'static str,
    pub street_code: &'static str,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    pub legal_representative: String,
    pub contact_phone: String,
    pub key_discharger: bool,
    pub key_categories: Vec<&'static str>,
    pub status: &'static str,
    pub permit_number: Option<String>,
    pub outlets: Vec<DemoOutlet>,
}

pub struct DemoOutlet {
    pub code: String,
    pub name: String,
    pub medium: &'static str,
    pub kind: &'static str,
    pub online: Option<DemoDevice>,
}

pub struct DemoDevice {
    pub mn: String,
    pub password: String,
    pub protocol: &'static str,
    pub crc_mode: &'static str,
}

pub struct DemoPoint {
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub level: &'static str,
    pub street_code: &'static str,
    pub lon: f64,
    pub lat: f64,
    pub owner: &'static str,
    pub water_body: Option<&'static str>,
    pub water_kind: Option<&'static str>,
    pub target_class: Option<i64>,
}

pub struct DemoDistrict {
    pub enterprises: Vec<DemoEnterprise>,
    pub points: Vec<DemoPoint>,
}

/// (GB/T 4754-2017 code, name, gas outlet, water outlet, share of key dischargers, relative frequency)
const INDUSTRIES: &[(&str, &str, bool, bool, f64, u32)] = &[
    ("C3110", "炼铁", true, true, 1.0, 2),
    ("C3120", "炼钢", true, true, 1.0, 2),
    ("C3130", "钢压延加工", true, false, 0.8, 4),
    ("C2521", "炼焦", true, true, 1.0, 2),
    ("C2614", "有机化学原料制造", true, true, 0.7, 8),
    ("C2641", "涂料制造", true, false, 0.5, 8),
    ("C3360", "金属表面处理及热处理加工", true, true, 0.6, 14),
    ("C3311", "金属结构制造", true, false, 0.1, 30),
    ("C3670", "汽车零部件及配件制造", true, false, 0.15, 30),
    ("C2319", "包装装潢及其他印刷", true, false, 0.2, 20),
    ("C2927", "日用塑料制品制造", true, false, 0.05, 20),
    ("C3021", "水泥制品制造", true, false, 0.1, 12),
    ("C3982", "电子电路制造", true, true, 0.4, 8),
    ("C1469", "其他调味品、发酵制品制造", false, true, 0.2, 8),
    ("D4430", "热力生产和供应", true, false, 0.9, 10),
    ("N4620", "污水处理及其再生利用", false, true, 1.0, 6),
    ("O8111", "汽车修理与维护", true, false, 0.0, 40),
    ("E4710", "住宅房屋建筑", true, false, 0.0, 26),
    ("H6210", "正餐服务", true, false, 0.0, 40),
    ("G5921", "仓储（危险化学品）", true, false, 0.1, 10),
];

const BRANDS: &[&str] = &[
    "津东", "丽华", "金桥", "海畅", "东润", "华骏", "新港", "鑫隆", "恒盛", "宏达", "瑞丰", "正泰",
    "泰和", "嘉禾", "永利", "昌盛", "远航", "博远", "精诚", "德润", "兴业", "万通", "安泰", "汇丰",
    "中捷", "海林", "宝成", "聚源", "天朗", "明远",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: &[&str] = &[
    "建国", "志强", "海燕", "丽娟", "伟", "磊", "静", "敏", "军", "洋", "勇", "艳", "杰", "娜",
    "涛", "明",
];
const ROADS: &[&str] = &[
    "津塘公路",
    "跃进路",
    "成林道",
    "先锋东路",
    "程永路",
    "东金路",
    "驯海路",
    "华明大道",
    "杨北公路",
    "津汉公路",
    "津北公路",
    "登州南路",
];

/// GB/T 4754 industry nouns for company names.
fn company_noun(industry: &str) -> &'static str {
    match industry {
        "C3110" | "C3120" => "钢铁",
        "C3130" => "钢管",
        "C2521" => "焦化",
        "C2614" => "化工",
        "C2641" => "涂料",
        "C3360" => "表面处理",
        "C3311" => "钢结构",
        "C3670" => "汽车部件",
        "C2319" => "印刷包装",
        "C2927" => "塑料制品",
        "C3021" => "建材",
        "C3982" => "电子",
        "C1469" => "食品",
        "D4430" => "热电",
        "N4620" => "水务",
        "O8111" => "汽车维修",
        "E4710" => "建设工程",
        "H6210" => "餐饮",
        _ => "物流",
    }
}

/// The code characters of GB 32100-2015 (I, O, Z, S, V are not used), in value order.
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid unified social credit code for an enterprise registered in Dongli (division 120110): the
/// organisation code carries its GB 11714 check character and the whole its GB 32100 check character.
pub fn uscc(rng: &mut SplitMix64) -> String {
    let digits: Vec<u32> = (0..8).map(|_| rng.below(10) as u32).collect();
    const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = digits.iter().zip(ORG_WEIGHTS).map(|(d, w)| d * w).sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from_digit(c, 10).unwrap_or('0'),
    };
    let mut code = String::from("91120110");
    for d in &digits {
        code.push(char::from_digit(*d, 10).unwrap_or('0'));
    }
    code.push(org_check);
    let sum: usize = code
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let value = USCC_CHARS.iter().position(|c| *c == b).unwrap_or(0);
            let weight = (0..i).fold(1usize, |w, _| w * 3 % 31);
            value * weight
        })
        .sum();
    let check = (31 - sum % 31) % 31;
    code.push(USCC_CHARS[check] as char);
    code
}

fn street_code(index: usize) -> &'static str {
    STREETS[index % STREETS.len()].0
}

fn near(rng: &mut SplitMix64, street: &'static str, spread: f64) -> (f64, f64) {
    let (_, _, lon, lat) = STREETS
        .iter()
        .find(|s| s.0 == street)
        .copied()
        .unwrap_or(STREETS[0]);
    // A degree of longitude is shorter than one of latitude at 39°N; widen the spread to keep it round.
    (
        round6(lon + rng.range(-spread, spread) * 1.3),
        round6(lat + rng.range(-spread, spread)),
    )
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub fn generate(seed: u64, enterprise_count: usize) -> DemoDistrict {
    let mut rng = SplitMix64::new(seed);
    let total_weight: u32 = INDUSTRIES.iter().map(|i| i.5).sum();
    let mut enterprises = Vec::with_capacity(enterprise_count);
    let mut used_names = std::collections::HashSet::new();
    let mut device_seq = 0u32;
    for n in 0..enterprise_count {
        // The first six are the district's heavy industry: two steel works, a tube mill, two coking plants
        // and a heating plant; the rest follow the industry mix.
        let industry = match n {
            0 => INDUSTRIES[0],
            1 => INDUSTRIES[1],
            2 => INDUSTRIES[2],
            3 | 4 => INDUSTRIES[3],
            5 => INDUSTRIES[14],
            _ => {
                let mut pick = (rng.next_u64() % u64::from(total_weight)) as u32;
                let mut chosen = INDUSTRIES[0];
                for ind in INDUSTRIES {
                    if pick < ind.5 {
                        chosen = *ind;
                        break;
                    }
                    pick -= ind.5;
                }
                chosen
            }
        };
        let (code, industry_name, gas, water, key_share, _) = industry;
        // Heavy industry sits in the east (军粮城, 金桥, 新立); the rest anywhere.
        let street = if n < 6 {
            ["jlc", "jlc", "jq", "jlc", "xl", "jq"][n]
        } else {
            street_code(rng.below(STREETS.len()))
        };
        let name = loop {
            let brand = rng.pick(BRANDS);
            let suffix = if rng.chance(0.3) { "集团" } else { "" };
            let candidate = format!("天津{brand}{}{suffix}有限公司", company_noun(code));
            if used_names.insert(candidate.clone()) {
                break candidate;
            }
            if used_names.len() > 5000 {
                break format!("天津{brand}{}第{n}有限公司", company_noun(code));
            }
        };
        let (lon, lat) = near(&mut rng, street, 0.015);
        let key = rng.chance(key_share);
        let mut key_categories = Vec::new();
        // Key-discharger categories as the registry spells them (air, water, soil, noise, risk).
        if key && gas {
            key_categories.push("air");
        }
        if key && water {
            key_categories.push("water");
        }
        if key && matches!(code, "C3110" | "C3120" | "C2521" | "C2614" | "C3360") {
            key_categories.push("soil");
            key_categories.push("risk");
        }
        let status = match rng.below(40) {
            0 => "suspended",
            1 => "closed",
            2 => "under_construction",
            _ => "operating",
        };
        let uscc = uscc(&mut rng);
        let permit_number =
            (key || rng.chance(0.4)).then(|| format!("{uscc}{:03}P", 1 + rng.below(3)));
        let mut outlets = Vec::new();
        let mut new_device = |rng: &mut SplitMix64| {
            device_seq += 1;
            DemoDevice {
                mn: format!("1201100{:017}", 10_000 + device_seq),
                password: format!("{:06}", rng.below(1_000_000)),
                protocol: match rng.below(20) {
                    0 | 1 => "2005",
                    2 => "2025",
                    _ => "2017",
                },
                crc_mode: if rng.chance(0.1) {
                    "accept_variant"
                } else {
                    "strict"
                },
            }
        };
        if gas {
            let stacks = if matches!(code, "C3110" | "C3120" | "C2521") {
                3
            } else {
                1
            };
            for i in 1..=stacks {
                let main = key && i == 1;
                outlets.push(DemoOutlet {
                    code: format!("DA{i:03}"),
                    name: match code {
                        "C2521" => ["焦炉烟囱", "装煤地面站", "推焦地面站"][i - 1].to_string(),
                        "C3110" | "C3120" => {
                            ["烧结机头", "高炉出铁场", "转炉二次除尘"][i - 1].to_string()
                        }
                        "D4430" => "燃气锅炉烟囱".to_string(),
                        "H6210" => "油烟排放口".to_string(),
                        _ => format!("{i}号废气排放口"),
                    },
                    medium: "gas",
                    kind: if main { "main" } else { "general" },
                    online: (key && (main || matches!(code, "C3110" | "C3120" | "C2521")))
                        .then(|| new_device(&mut rng)),
                });
            }
        }
        if water {
            outlets.push(DemoOutlet {
                code: "DW001".to_string(),
                name: "废水总排放口".to_string(),
                medium: "water",
                kind: if key { "main" } else { "general" },
                online: key.then(|| new_device(&mut rng)),
            });
        }
        let street_name = STREETS
            .iter()
            .find(|s| s.0 == street)
            .map(|s| s.1)
            .unwrap_or("");
        enterprises.push(DemoEnterprise {
            address: format!(
                "天津市东丽区{}{}{}号",
                street_name.trim_end_matches("街道"),
                rng.pick(ROADS),
                1 + rng.below(300)
            ),
            uscc,
            name,
            industry_code: code,
            industry_name,
            street_code: street,
            lon,
            lat,
            legal_representative: format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN)),
            contact_phone: format!("022-{}{:07}", 2 + rng.below(6), rng.below(10_000_000)),
            key_discharger: key,
            key_categories,
            status,
            permit_number,
            outlets,
        });
    }
    DemoDistrict {
        enterprises,
        points: points(&mut rng),
    }
}

fn points(rng: &mut SplitMix64) -> Vec<DemoPoint> {
    let mut points = Vec::new();
    let air = |code: String,
               name: String,
               level: &'static str,
               street: &'static str,
               rng: &mut SplitMix64,
               owner: &'static str| {
        let (lon, lat) = near(rng, street, 0.01);
        DemoPoint {
            code,
            name,
            kind: PointKind::AirStation,
            level,
            street_code: street,
            lon,
            lat,
            owner,
            water_body: None,
            water_kind: None,
            target_class: None,
        }
    };
    points.push(air(
        "1021A".into(),
        "跃进路".into(),
        "national",
        "wx",
        rng,
        "中国环境监测总站",
    ));
    for (i, (street, name)) in [
        ("dlh", "东丽湖"),
        ("jlc", "军粮城"),
        ("hm", "华明"),
        ("jz", "金钟"),
    ]
    .iter()
    .enumerate()
    {
        points.push(air(
            format!("DL-SK{:02}", i + 1),
            format!("{name}（市控）"),
            "municipal",
            street,
            rng,
            "天津市生态环境监测中心",
        ));
    }
    for i in 0..40 {
        let street = street_code(i);
        let street_name = STREETS[i % STREETS.len()].1.trim_end_matches("街道");
        points.push(air(
            format!("DL-WZ{:03}", i + 1),
            format!("{street_name}微站{}", i / STREETS.len() + 1),
            "micro",
            street,
            rng,
            "东丽区生态环境监测站",
        ));
    }
    // (code, name, water body, river/lake, level, street, target class). One section in nine is the
    // 11.1 % "class III or better" of the year's target.
    const SECTIONS: &[(&str, &str, &str, &str, &str, &str, i64)] = &[
        (
            "DL-GK01",
            "海河东丽段",
            "海河",
            "river",
            "national",
            "jq",
            4,
        ),
        (
            "DL-GK02",
            "北塘排水河出境",
            "北塘排水河",
            "river",
            "national",
            "hm",
            5,
        ),
        (
            "DL-SK-W01",
            "新地河军粮城",
            "新地河",
            "river",
            "municipal",
            "jlc",
            5,
        ),
        (
            "DL-SK-W02",
            "袁家河金钟",
            "袁家河",
            "river",
            "municipal",
            "jz",
            5,
        ),
        (
            "DL-SK-W03",
            "东减河新立",
            "东减河",
            "river",
            "municipal",
            "xl",
            4,
        ),
        (
            "DL-SK-W04",
            "西减河无瑕",
            "西减河",
            "river",
            "municipal",
            "wuxia",
            4,
        ),
        (
            "DL-SK-W05",
            "黑猪河华明",
            "黑猪河",
            "river",
            "municipal",
            "hm",
            5,
        ),
        (
            "DL-SK-W06",
            "月牙河万新",
            "月牙河",
            "river",
            "municipal",
            "wx",
            4,
        ),
        (
            "DL-SK-W07",
            "东丽湖湖心",
            "东丽湖",
            "lake",
            "municipal",
            "dlh",
            3,
        ),
    ];
    for (code, name, body, kind, level, street, target) in SECTIONS {
        let (lon, lat) = near(rng, street, 0.008);
        points.push(DemoPoint {
            code: (*code).to_string(),
            name: (*name).to_string(),
            kind: PointKind::WaterSection,
            level,
            street_code: street,
            lon,
            lat,
            owner: if *level == "national" {
                "中国环境监测总站"
            } else {
                "天津市生态环境监测中心"
            },
            water_body: Some(body),
            water_kind: Some(kind),
            target_class: Some(*target),
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = generate(42, 50);
        let b = generate(42, 50);
        let c = generate(43, 50);
        let names = |d: &DemoDistrict| {
            d.enterprises
                .iter()
                .map(|e| e.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
    }

    #[test]
    fn shape_of_the_district() {
        let d = generate(crate::DEFAULT_SEED, 300);
        assert_eq!(d.enterprises.len(), 300);
        let air = d
            .points
            .iter()
            .filter(|p| p.kind == PointKind::AirStation)
            .count();
        let water = d
            .points
            .iter()
            .filter(|p| p.kind == PointKind::WaterSection)
            .count();
        assert_eq!((air, water), (45, 9));
        assert!(
            d.points
                .iter()
                .any(|p| p.code == "1021A" && p.name == "跃进路" && p.level == "national")
        );
        assert!(d.enterprises.iter().any(|e| e.industry_code == "C2521"));
        assert!(d.enterprises.iter().any(|e| e.industry_code == "C3110"));
        let devices = d
            .enterprises
            .iter()
            .flat_map(|e| &e.outlets)
            .filter(|o| o.online.is_some())
            .count();
        assert!(devices > 30, "{devices} devices");
        let mut usccs: Vec<_> = d.enterprises.iter().map(|e| e.uscc.clone()).collect();
        usccs.sort();
        usccs.dedup();
        assert_eq!(usccs.len(), 300);
        // Every street has enterprises and micro-stations.
        for (code, ..) in STREETS {
            assert!(
                d.enterprises.iter().any(|e| e.street_code == *code),
                "{code}"
            );
            assert!(
                d.points
                    .iter()
                    .any(|p| p.street_code == *code && p.level == "micro"),
                "{code}"
            );
        }
    }

    #[test]
    fn uscc_check_character_matches_a_published_code() {
        // The check character algorithm, applied to a published code's first 17 characters
        // (91350100M000100Y4 → 3).
        let body = "91350100M000100Y4";
        let sum: usize = body
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                USCC_CHARS.iter().position(|c| *c == b).unwrap()
                    * (0..i).fold(1usize, |w, _| w * 3 % 31)
            })
            .sum();
        assert_eq!(USCC_CHARS[(31 - sum % 31) % 31] as char, '3');
    }
}
