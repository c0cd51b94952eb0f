//! The registry's messages in Chinese: what forms and the workbook import preview show for the English
//! messages of the model, the service and `kernel::validate`. The API keeps the English originals (clients match
//! on them).

/// Messages of the registry and of `kernel::validate` that forms show, in Chinese. The API keeps the English
/// originals (clients match on them); anything not listed here is shown as it is.
const CHINESE: &[(&str, &str)] = &[
    ("is required for a new device", "新设备必须设置访问密码"),
    ("is required for an air station", "空气站必须选择街道"),
    ("is required for a water section", "水质断面必填"),
    (
        "is required for an outlet point",
        "排放口在线监测点位必须填写排放口",
    ),
    ("is required when lon is given", "填写经度时须同时填写纬度"),
    ("is required when lat is given", "填写纬度时须同时填写经度"),
    ("is required", "必填"),
    (
        "must be a longitude between 73 and 136",
        "经度须在 73–136 之间",
    ),
    ("must be a latitude between 3 and 54", "纬度须在 3–54 之间"),
    ("must be a date YYYY-MM-DD", "日期格式应为 YYYY-MM-DD"),
    (
        "must be a GB/T 4754 code",
        "应为 GB/T 4754 行业代码：字母 A–T 加 2–4 位数字，如 C3120",
    ),
    (
        "may contain only letters, digits",
        "只能包含字母、数字、“-”和“_”",
    ),
    ("must be a telephone number", "应为电话号码"),
    ("must be 1–5", "应为 1–5（GB 3838 Ⅰ–Ⅴ 类）"),
    ("only a key discharger", "只有重点排污单位才选择重点类别"),
    (
        "an HJ 212 MN has only letters and digits",
        "MN 只能由字母和数字组成，最多 24 位",
    ),
    (
        "at most 32 printable characters",
        "最多 32 个可见字符，且不能含 ; , = &",
    ),
    (
        "an air station is national",
        "空气站的级别应为国控、市控、区控或微站",
    ),
    (
        "a water section is national",
        "水质断面的级别应为国控、市控或区控",
    ),
    (
        "an outlet point has level enterprise",
        "排放口在线监测点位的级别应为企业自控",
    ),
    ("is not a site of this enterprise", "不是本企业的厂区"),
    (
        "change the status with",
        "状态请在企业档案页变更，以保留历史",
    ),
    ("no street with id", "街道不存在"),
    ("no monitoring point with id", "监测点位不存在"),
    ("no outlet with id", "排放口不存在"),
    ("no such district", "辖区不存在"),
    ("no district is configured yet", "尚未设置辖区"),
    (
        "the record has changed",
        "记录已被他人修改，请刷新页面后重新填写",
    ),
    (
        "the record was changed by someone else",
        "记录已被他人修改，请刷新页面后重新填写",
    ),
    (
        "an enterprise with this unified social credit code is already registered",
        "该统一社会信用代码已登记",
    ),
    (
        "another enterprise is registered with this unified social credit code",
        "另一家企业已使用该统一社会信用代码",
    ),
    (
        "a street with this code or name already exists",
        "已有相同代码或名称的街道",
    ),
    (
        "a department with this code already exists",
        "已有相同代码的部门",
    ),
    (
        "a monitoring point with this code already exists",
        "已有相同编码的监测点位",
    ),
    (
        "a device with this MN is already registered",
        "该 MN 已登记",
    ),
    (
        "this enterprise already has an outlet with this code",
        "本企业已有相同编号的排放口",
    ),
    (
        "this identifier is already registered",
        "该标识已登记在某企业名下",
    ),
    ("must be 18 characters", "统一社会信用代码应为 18 位"),
    (
        "is not allowed (digits and capital letters",
        "含有不允许的字符（只能是数字和除 I、O、Z、S、V 以外的大写字母）",
    ),
    ("registration authority", "第 1 位登记管理部门代码无效"),
    ("registration type", "第 2 位机构类别代码应为 1–9"),
    ("characters 3–8 must be", "第 3–8 位应为 6 位行政区划码"),
];

/// The Chinese text of a form message (see [`CHINESE`]).
pub fn chinese(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("check character is ") {
        // "check character is 'X', expected 'T'"
        let quoted: Vec<&str> = rest.split('\'').skip(1).step_by(2).collect();
        if let [found, expected] = quoted.as_slice() {
            return format!(
                "校验码（第 18 位）为 {found}，按 GB 32100-2015 应为 {expected}，请核对代码"
            );
        }
    }
    if let Some(list) = message.strip_prefix("must be one of ") {
        return format!("应为以下之一：{list}");
    }
    if let Some(value) = message.strip_suffix(" is not a whole number") {
        return format!("{value} 不是整数");
    }
    if let Some(value) = message.strip_suffix(" is not a number") {
        return format!("{value} 不是数字");
    }
    if let Some(rest) = message.strip_prefix("must be at most ")
        && let Some(n) = rest.strip_suffix(" characters")
    {
        return format!("最多 {n} 个字符");
    }
    CHINESE
        .iter()
        .find(|(english, _)| message.contains(english))
        .map(|(_, zh)| (*zh).to_string())
        .unwrap_or_else(|| message.to_string())
}

#[cfg(test)]
mod tests {
    use super::chinese;

    #[test]
    fn form_messages_read_in_chinese() {
        assert_eq!(chinese("is required"), "必填");
        assert_eq!(chinese("is required for a water section"), "水质断面必填");
        assert_eq!(
            chinese("check character is 'X', expected 'T'"),
            "校验码（第 18 位）为 X，按 GB 32100-2015 应为 T，请核对代码"
        );
        assert_eq!(chinese("must be at most 64 characters"), "最多 64 个字符");
        assert_eq!(chinese("\"abc\" is not a number"), "\"abc\" 不是数字");
        assert_eq!(
            chinese("must be one of river, lake"),
            "应为以下之一：river, lake"
        );
        assert_eq!(chinese("something new"), "something new");
    }
}
