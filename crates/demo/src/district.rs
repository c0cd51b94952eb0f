//! The fixed parts of the simulated district: its streets, the bureau's departments and the external
//! departments it works with. Coordinates are approximate street centres inside Dongli's boundary.

/// (code, name, centre longitude, centre latitude)
pub const STREETS: &[(&str, &str, f64, f64)] = &[
    ("zgz", "张贵庄街道", 117.305, 39.103),
    ("fnc", "丰年村街道", 117.282, 39.128),
    ("wx", "万新街道", 117.268, 39.098),
    ("wuxia", "无瑕街道", 117.330, 39.128),
    ("xl", "新立街道", 117.405, 39.118),
    ("hm", "华明街道", 117.372, 39.168),
    ("jz", "金钟街道", 117.262, 39.200),
    ("jlc", "军粮城街道", 117.452, 39.058),
    ("jq", "金桥街道", 117.378, 39.072),
    ("dlh", "东丽湖街道", 117.462, 39.205),
    ("hx", "华新街道", 117.330, 39.158),
];

/// (code, name, kind, duties)
pub const DEPARTMENTS: &[(&str, &str, &str, &str)] = &[
    ("office", "办公室", "bureau", "综合协调、值班值守"),
    (
        "air",
        "大气环境科",
        "bureau",
        "大气污染防治、重污染天气应对",
    ),
    ("water", "水生态环境科", "bureau", "水环境质量、入河排污口"),
    (
        "soil",
        "土壤与固体废物科",
        "bureau",
        "土壤、地下水、危险废物",
    ),
    (
        "monitoring",
        "生态环境监测站",
        "bureau",
        "空气站、断面、在线监测",
    ),
    (
        "enforcement",
        "生态环境保护综合行政执法支队",
        "bureau",
        "现场执法、双随机检查、案件",
    ),
    ("petition", "信访办公室", "bureau", "信访投诉、12369"),
    ("law", "法制科", "bureau", "行政处罚审核、信用评价"),
    (
        "traffic-police",
        "公安东丽分局交警支队",
        "external",
        "机动车路检路查、禁行区",
    ),
    (
        "police",
        "公安东丽分局",
        "external",
        "涉环境犯罪、社会生活噪声",
    ),
    (
        "urban",
        "城市管理委员会",
        "external",
        "餐饮油烟、露天焚烧、渣土",
    ),
    (
        "housing",
        "住房和建设委员会",
        "external",
        "建筑施工扬尘与噪声",
    ),
    ("water-affairs", "水务局", "external", "河湖长制、排水管网"),
    (
        "market",
        "市场监督管理局",
        "external",
        "油品质量、机动车检验机构",
    ),
];
