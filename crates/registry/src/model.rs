//! Domain types of the registry. Input arrives as loose `…Input` structs (what a client may send); parsing turns
//! it into a `…Draft` whose fields are already valid (`Uscc`, `IndustryCode`, closed enums), so the service and
//! the repository never see an unchecked value.

use std::fmt;
use std::str::FromStr;

use kernel::AppError;
use kernel::validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a device password looks like to roles that may not see it.
pub const MASKED_PASSWORD: &str = "******";

// ---------------------------------------------------------------------------------------------------------------
// 统一社会信用代码 (GB 32100-2015)
// ---------------------------------------------------------------------------------------------------------------

/// The 31 characters a unified social credit code may use, in the order of their values (0–30):
/// digits and capital letters without I, O, Z, S and V.
const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Registration-authority codes (position 1) of GB 32100-2015 and its amendments.
const USCC_AUTHORITIES: &str = "123456789ANY";

/// A unified social credit code (统一社会信用代码), checked per GB 32100-2015: 18 characters from the 31-character
/// set, a known registration-authority character, a registration-type character, a 6-digit administrative
/// division code and the check character (weights 3^i mod 31).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Uscc(String);

/// Why a text is not a unified social credit code; the message is what a user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    #[error(
        "character {position} ({found:?}) is not allowed (digits and capital letters except I, O, Z, S, V)"
    )]
    Character { position: usize, found: char },
    #[error("registration authority {0:?} is unknown")]
    Authority(char),
    #[error("registration type {0:?} is not a digit 1–9")]
    Type(char),
    #[error("characters 3–8 must be a 6-digit division code")]
    Division,
    #[error("check character is {found:?}, expected {expected:?}")]
    Check { found: char, expected: char },
}

fn uscc_value(c: char) -> Option<u32> {
    USCC_CHARSET.find(c).and_then(|i| u32::try_from(i).ok())
}

/// The check character for the first 17 characters of a code (all from the charset).
fn uscc_check_char(body: &[u32]) -> char {
    let mut weight = 1_u32;
    let mut sum = 0_u32;
    for value in body {
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    USCC_CHARSET.chars().nth(check as usize).unwrap_or('0')
}

impl Uscc {
    /// Parses a code; surrounding spaces are trimmed and lower-case letters accepted.
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let code: String = text.trim().to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        let mut values = Vec::with_capacity(18);
        for (i, &c) in chars.iter().enumerate() {
            match uscc_value(c) {
                Some(v) => values.push(v),
                None => {
                    return Err(UsccError::Character {
                        position: i + 1,
                        found: c,
                    });
                }
            }
        }
        if !USCC_AUTHORITIES.contains(chars[0]) {
            return Err(UsccError::Authority(chars[0]));
        }
        if !('1'..='9').contains(&chars[1]) {
            return Err(UsccError::Type(chars[1]));
        }
        if !chars[2..8].iter().all(char::is_ascii_digit) {
            return Err(UsccError::Division);
        }
        let expected = uscc_check_char(&values[..17]);
        if chars[17] != expected {
            return Err(UsccError::Check {
                found: chars[17],
                expected,
            });
        }
        Ok(Uscc(code))
    }

    /// Completes 17 valid characters with their check character (for generated demo data).
    pub fn with_check_char(first17: &str) -> Result<Uscc, UsccError> {
        let values: Option<Vec<u32>> = first17.chars().map(uscc_value).collect();
        match values {
            Some(values) if values.len() == 17 => {
                Uscc::parse(&format!("{first17}{}", uscc_check_char(&values)))
            }
            _ => Err(UsccError::Length(first17.chars().count() + 1)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative division code (e.g. 120110 for 东丽区).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Closed lists
// ---------------------------------------------------------------------------------------------------------------

/// Declares a closed list stored as snake_case text, with its Chinese label. `$text` is a `tt`, not a `literal`:
/// a `literal` fragment reaches the derives wrapped in an invisible group, which utoipa does not read, so the
/// OpenAPI document listed the variant names (`AirStation`) instead of the texts (`air_station`).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:tt, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The Chinese name shown on pages.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            pub fn texts() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }

            /// Parses the stored text, naming `field` in the error.
            pub fn parse_field(field: &str, text: &str) -> Result<Self, AppError> {
                text.trim().parse().map_err(|_| {
                    AppError::validation(field, format!("must be one of {}", Self::texts().join(", ")))
                })
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(text: &str) -> Result<Self, ()> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text).ok_or(())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// 企业状态.
    EnterpriseStatus {
        Operating => "operating", "在产";
        UnderConstruction => "under_construction", "在建";
        Suspended => "suspended", "停产";
        Closed => "closed", "关闭";
    }
}

text_enum! {
    /// 重点排污单位类别 (a key discharger may be listed in several).
    KeyCategory {
        Water => "water", "水环境";
        Air => "air", "大气环境";
        Soil => "soil", "土壤";
        Noise => "noise", "声环境";
        Risk => "risk", "环境风险";
    }
}

text_enum! {
    /// The programs whose identifiers an enterprise record links (the ECHO pattern). Device MNs are not stored
    /// here: they are derived from the enterprise's outlets, points and devices.
    Program {
        Permit => "permit", "排污许可证编号";
        HazardousWaste => "hazardous_waste", "危险废物产生/经营单位编码";
        PollutionSource => "pollution_source", "污染源编码";
        EmergencyPlan => "emergency_plan", "突发环境事件应急预案备案编号";
    }
}

text_enum! {
    /// 部门类别: bureau departments or other agencies the bureau works with.
    DepartmentKind {
        Bureau => "bureau", "局内科室";
        External => "external", "外部门";
    }
}

text_enum! {
    /// 排放口介质.
    Medium {
        Gas => "gas", "废气";
        Water => "water", "废水";
    }
}

text_enum! {
    /// 排放口类型 (HJ 608 / permit practice).
    OutletKind {
        Main => "main", "主要排放口";
        General => "general", "一般排放口";
        Special => "special", "特殊排放口";
    }
}

text_enum! {
    /// 点位类型.
    PointKind {
        AirStation => "air_station", "空气站";
        WaterSection => "water_section", "水质断面";
        Outlet => "outlet", "排放口在线监测";
    }
}

text_enum! {
    /// 点位级别 (控制级别).
    PointLevel {
        National => "national", "国控";
        Municipal => "municipal", "市控";
        District => "district", "区控";
        Micro => "micro", "微站";
        Enterprise => "enterprise", "企业自控";
    }
}

text_enum! {
    /// 水体类型.
    WaterKind {
        River => "river", "河流";
        Lake => "lake", "湖库";
    }
}

text_enum! {
    /// HJ 212 protocol version a device speaks.
    Protocol {
        V2005 => "2005", "HJ/T 212-2005";
        V2017 => "2017", "HJ 212-2017";
        V2025 => "2025", "HJ 212-2025";
    }
}

text_enum! {
    /// How the gateway treats a device's CRC.
    CrcMode {
        Strict => "strict", "严格校验";
        AcceptVariant => "accept_variant", "接受 Modbus 变体";
        Ignore => "ignore", "不校验";
    }
}

impl PointLevel {
    /// The control tier, from the top (national 0) down to the enterprise's own: lists show national points
    /// first.
    pub fn tier(self) -> usize {
        Self::ALL
            .iter()
            .position(|level| *level == self)
            .unwrap_or(Self::ALL.len())
    }
}

impl PointKind {
    /// Kinds whose points the public may see.
    pub fn is_public(self) -> bool {
        matches!(self, PointKind::AirStation | PointKind::WaterSection)
    }

    /// The levels a point of this kind may have: air stations are national, municipal, district or micro;
    /// water sections national, municipal or district; outlet points are the enterprise's own.
    pub fn check_level(self, level: PointLevel) -> Result<(), AppError> {
        let (allowed, message) = match self {
            PointKind::AirStation => (
                matches!(
                    level,
                    PointLevel::National
                        | PointLevel::Municipal
                        | PointLevel::District
                        | PointLevel::Micro
                ),
                "an air station is national, municipal, district or micro",
            ),
            PointKind::WaterSection => (
                matches!(
                    level,
                    PointLevel::National | PointLevel::Municipal | PointLevel::District
                ),
                "a water section is national, municipal or district",
            ),
            PointKind::Outlet => (
                level == PointLevel::Enterprise,
                "an outlet point has level enterprise",
            ),
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::validation("level", message))
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Small newtypes and field checks
// ---------------------------------------------------------------------------------------------------------------

/// An industry code of GB/T 4754-2017 (国民经济行业分类): a section letter A–T followed by 2–4 digits,
/// e.g. `C3120` 炼钢, `C2521` 炼焦.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndustryCode(String);

impl IndustryCode {
    pub fn parse(field: &str, text: &str) -> Result<IndustryCode, AppError> {
        let code = text.trim().to_ascii_uppercase();
        let mut chars = code.chars();
        let section_ok = chars.next().is_some_and(|c| ('A'..='T').contains(&c));
        let digits: Vec<char> = chars.collect();
        if section_ok && (2..=4).contains(&digits.len()) && digits.iter().all(char::is_ascii_digit)
        {
            Ok(IndustryCode(code))
        } else {
            Err(AppError::validation(
                field,
                "must be a GB/T 4754 code: a letter A–T and 2–4 digits, e.g. C3120",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A code made of letters, digits, `-` and `_` (point codes, outlet codes, department and street codes,
/// programme identifiers, HJ 212 MNs).
fn code(field: &str, text: &str, max_chars: usize) -> Result<String, AppError> {
    let value = validate::required(field, text, max_chars)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(value)
    } else {
        Err(AppError::validation(
            field,
            "may contain only letters, digits, '-' and '_'",
        ))
    }
}

fn phone(field: &str, value: Option<&str>) -> Result<Option<String>, AppError> {
    let value = validate::optional(field, value, 30)?;
    if let Some(v) = &value
        && !v
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '(' | ')'))
    {
        return Err(AppError::validation(field, "must be a telephone number"));
    }
    Ok(value)
}

// ---------------------------------------------------------------------------------------------------------------
// Organisation
// ---------------------------------------------------------------------------------------------------------------

/// 区 — the district every street belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct District {
    /// Administrative division code, e.g. `120110`.
    pub code: String,
    pub name: String,
    pub city: String,
    pub center_lon: Option<f64>,
    pub center_lat: Option<f64>,
    pub simulated: bool,
}

/// The province-level codes of GB/T 2260 (the first two digits of every division code).
const PROVINCE_CODES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// Checks a county-level administrative division code (GB/T 2260): six digits, a known province, then the
/// prefecture and the county, neither `00` (`120100` is Tianjin's city districts as a whole, `120000` Tianjin).
/// The message is in Chinese and English: the setup page, the CLI and the API show it as it is.
pub fn county_division_code(field: &str, text: &str) -> Result<String, AppError> {
    let code = text.trim();
    let wrong = |zh: &str, en: &str| {
        Err(AppError::validation(
            field,
            format!(
                "{zh}：县级行政区划代码（GB/T 2260）是 6 位数字，如东丽区 120110；{en}: a county-level code of \
                 GB/T 2260 is six digits, e.g. 120110"
            ),
        ))
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return wrong("应为 6 位数字", "must be six digits");
    }
    if !PROVINCE_CODES.contains(&&code[..2]) {
        return wrong("前两位不是省级代码", "the first two digits are no province");
    }
    if &code[2..4] == "00" || &code[4..] == "00" {
        return wrong(
            "这是省或市的代码，不是区县的",
            "this is a province or a city as a whole, not a district or county",
        );
    }
    Ok(code.to_string())
}

/// A required Chinese name ending in one of `suffixes` (the kind of division it names); bilingual messages.
fn division_name(
    field: &str,
    text: &str,
    suffixes: &[&str],
    example: &str,
) -> Result<String, AppError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(AppError::validation(field, "必填；is required"));
    }
    if name.chars().count() > 32 {
        return Err(AppError::validation(
            field,
            "不能超过 32 个字符；must be at most 32 characters",
        ));
    }
    if suffixes.iter().any(|s| name.ends_with(s)) && name.chars().count() >= 2 {
        Ok(name.to_string())
    } else {
        let list = suffixes.join("、");
        Err(AppError::validation(
            field,
            format!(
                "应为以 {list} 结尾的全称，如 {example}；must be the full name ending in {}, e.g. {example}",
                suffixes.join(", ")
            ),
        ))
    }
}

/// The district as the administrator sets it up (`qingshan init`, `/setup`, `POST /api/v1/district`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DistrictInput {
    /// County-level administrative division code (GB/T 2260), e.g. `120110`.
    pub code: String,
    /// The district's (county's) full name, e.g. `东丽区`.
    pub name: String,
    /// The city (prefecture) it belongs to, e.g. `天津市`.
    pub city: String,
}

impl DistrictInput {
    pub fn parse(&self) -> Result<District, AppError> {
        Ok(District {
            code: county_division_code("code", &self.code)?,
            name: division_name("name", &self.name, &["区", "县", "市", "旗"], "东丽区")?,
            city: division_name(
                "city",
                &self.city,
                &["市", "州", "盟", "地区", "省", "自治区"],
                "天津市",
            )?,
            center_lon: None,
            center_lat: None,
            simulated: false,
        })
    }
}

/// 街道.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Street {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub district_code: String,
    pub center_lon: Option<f64>,
    pub center_lat: Option<f64>,
    pub created_at: i64,
}

/// A street as a client sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StreetInput {
    pub code: String,
    pub name: String,
    /// Defaults to the district (there is one).
    pub district_code: Option<String>,
    pub center_lon: Option<f64>,
    pub center_lat: Option<f64>,
}

impl StreetInput {
    pub fn parse(&self) -> Result<StreetInput, AppError> {
        validate::coordinates(self.center_lon, self.center_lat)
            .map_err(rename_coordinates("center_"))?;
        Ok(StreetInput {
            code: code("code", &self.code, 32)?,
            name: validate::required("name", &self.name, 64)?,
            district_code: validate::optional("district_code", self.district_code.as_deref(), 16)?,
            center_lon: self.center_lon,
            center_lat: self.center_lat,
        })
    }
}

fn rename_coordinates(prefix: &'static str) -> impl Fn(AppError) -> AppError {
    move |err| match err {
        AppError::Validation { field, message } => AppError::Validation {
            field: format!("{prefix}{field}"),
            message,
        },
        other => other,
    }
}

/// 部门: a department of the bureau or an external agency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: DepartmentKind,
    pub duties: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub kind: DepartmentKind,
    #[serde(default)]
    pub duties: String,
}

impl DepartmentInput {
    pub fn parse(&self) -> Result<DepartmentInput, AppError> {
        Ok(DepartmentInput {
            code: code("code", &self.code, 32)?,
            name: validate::required("name", &self.name, 64)?,
            kind: self.kind,
            duties: validate::optional("duties", Some(&self.duties), 500)?.unwrap_or_default(),
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Enterprises
// ---------------------------------------------------------------------------------------------------------------

/// 企业: the one record every program's identifiers link to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Enterprise {
    pub id: i64,
    /// 统一社会信用代码.
    pub uscc: String,
    pub name: String,
    /// GB/T 4754-2017 industry code.
    pub industry_code: String,
    pub industry_name: String,
    pub street_id: i64,
    pub street_name: String,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub legal_representative: Option<String>,
    pub contact_phone: Option<String>,
    /// 重点排污单位.
    pub key_discharger: bool,
    pub key_categories: Vec<KeyCategory>,
    pub status: EnterpriseStatus,
    /// Generated demo data, not a real enterprise.
    pub simulated: bool,
    /// Increases with every change; send it back with an update to detect concurrent edits.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An enterprise as a client sends it, for create and update.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseInput {
    /// 统一社会信用代码 (GB 32100-2015, check character verified).
    pub uscc: String,
    pub name: String,
    pub industry_code: String,
    pub industry_name: String,
    pub street_id: i64,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub legal_representative: Option<String>,
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub key_discharger: bool,
    #[serde(default)]
    pub key_categories: Vec<KeyCategory>,
    /// The initial status on create (default `operating`). An update must not change it: status changes go
    /// through `POST /enterprises/{id}/status`, which keeps the history.
    pub status: Option<EnterpriseStatus>,
    /// On update: the version last read; a stale one gives 409.
    pub version: Option<i64>,
}

/// A checked enterprise, ready to store.
#[derive(Debug, Clone)]
pub struct EnterpriseDraft {
    pub uscc: Uscc,
    pub name: String,
    pub industry_code: IndustryCode,
    pub industry_name: String,
    pub street_id: i64,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub legal_representative: Option<String>,
    pub contact_phone: Option<String>,
    pub key_discharger: bool,
    pub key_categories: Vec<KeyCategory>,
    pub status: Option<EnterpriseStatus>,
}

impl EnterpriseInput {
    pub fn parse(&self) -> Result<EnterpriseDraft, AppError> {
        let uscc =
            Uscc::parse(&self.uscc).map_err(|e| AppError::validation("uscc", e.to_string()))?;
        validate::coordinates(self.lon, self.lat)?;
        let mut key_categories = self.key_categories.clone();
        key_categories.sort_by_key(|c| c.as_str());
        key_categories.dedup();
        if !self.key_discharger && !key_categories.is_empty() {
            return Err(AppError::validation(
                "key_categories",
                "only a key discharger (key_discharger = true) has key categories",
            ));
        }
        Ok(EnterpriseDraft {
            uscc,
            name: validate::required("name", &self.name, 100)?,
            industry_code: IndustryCode::parse("industry_code", &self.industry_code)?,
            industry_name: validate::required("industry_name", &self.industry_name, 64)?,
            street_id: self.street_id,
            address: validate::required("address", &self.address, 200)?,
            lon: self.lon,
            lat: self.lat,
            legal_representative: validate::optional(
                "legal_representative",
                self.legal_representative.as_deref(),
                32,
            )?,
            contact_phone: phone("contact_phone", self.contact_phone.as_deref())?,
            key_discharger: self.key_discharger,
            key_categories,
            status: self.status,
        })
    }
}

/// Filters of the enterprise list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnterpriseFilter {
    pub street_id: Option<i64>,
    /// GB/T 4754 code or its prefix (`C31` matches every steel code).
    pub industry_code: Option<String>,
    pub key_discharger: Option<bool>,
    pub status: Option<EnterpriseStatus>,
    /// Part of the name or of the USCC.
    pub q: Option<String>,
}

/// One entry of an enterprise's status history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusRecord {
    pub id: i64,
    pub enterprise_id: i64,
    pub status: EnterpriseStatus,
    /// `YYYY-MM-DD`, the day the status took effect (CST calendar).
    pub effective_date: String,
    pub note: String,
    pub changed_by: String,
    pub changed_at: i64,
}

/// A status change as a client sends it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    pub status: EnterpriseStatus,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
    #[serde(default)]
    pub note: String,
    pub version: Option<i64>,
}

impl StatusChange {
    /// The effective date, normalised to `YYYY-MM-DD`, and the note.
    pub fn parse(&self) -> Result<(String, String), AppError> {
        let date = kernel::time::parse_date(&self.effective_date)
            .ok_or_else(|| AppError::validation("effective_date", "must be a date YYYY-MM-DD"))?;
        let note = validate::optional("note", Some(&self.note), 500)?.unwrap_or_default();
        Ok((date.format("%Y-%m-%d").to_string(), note))
    }
}

/// An identifier the enterprise holds in another program.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Identifier {
    pub id: i64,
    pub enterprise_id: i64,
    pub program: Program,
    pub identifier: String,
    pub note: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentifierInput {
    pub program: Program,
    pub identifier: String,
    #[serde(default)]
    pub note: String,
}

impl IdentifierInput {
    pub fn parse(&self) -> Result<IdentifierInput, AppError> {
        Ok(IdentifierInput {
            program: self.program,
            identifier: code("identifier", &self.identifier, 64)?.to_ascii_uppercase(),
            note: validate::optional("note", Some(&self.note), 200)?.unwrap_or_default(),
        })
    }
}

/// 厂区 / 场所: a site of an enterprise (an enterprise may operate in several streets).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Site {
    pub id: i64,
    pub enterprise_id: i64,
    pub name: String,
    pub address: String,
    pub street_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SiteInput {
    pub name: String,
    pub address: String,
    /// Defaults to the enterprise's street.
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

impl SiteInput {
    pub fn parse(&self) -> Result<SiteInput, AppError> {
        validate::coordinates(self.lon, self.lat)?;
        Ok(SiteInput {
            name: validate::required("name", &self.name, 100)?,
            address: validate::required("address", &self.address, 200)?,
            ..self.clone()
        })
    }
}

/// 排放口.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Outlet {
    pub id: i64,
    pub enterprise_id: i64,
    pub site_id: Option<i64>,
    /// The permit's outlet code, e.g. `DA001` (gas) or `DW001` (water).
    pub code: String,
    pub name: String,
    pub medium: Medium,
    pub kind: OutletKind,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub online_monitored: bool,
    pub created_at: i64,
}

/// An outlet as a picker lists it (`GET /api/v1/outlets`): with its enterprise, so that people choose it by
/// name rather than by id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutletChoice {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub medium: Medium,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub online_monitored: bool,
    /// What a picker shows: `企业名称 · 编号 名称`.
    pub label: String,
}

impl OutletChoice {
    pub fn label_of(enterprise_name: &str, code: &str, name: &str) -> String {
        format!("{enterprise_name} · {code} {name}")
    }
}

/// Filters of the outlet search.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutletFilter {
    /// Part of the outlet's code or name, or of its enterprise's name.
    pub q: Option<String>,
    pub enterprise_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutletInput {
    pub site_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub medium: Medium,
    pub kind: OutletKind,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub online_monitored: bool,
}

impl OutletInput {
    pub fn parse(&self) -> Result<OutletInput, AppError> {
        validate::coordinates(self.lon, self.lat)?;
        Ok(OutletInput {
            code: code("code", &self.code, 32)?.to_ascii_uppercase(),
            name: validate::required("name", &self.name, 100)?,
            ..self.clone()
        })
    }
}

/// One identifier on the enterprise profile: registered in a program, or derived (device MNs).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgramIdentifier {
    /// The stored identifier's id (to remove it); `None` for the USCC and for derived identifiers.
    pub id: Option<i64>,
    /// A [`Program`] name, or `device_mn` for identifiers derived from devices.
    pub program: String,
    pub program_label: String,
    pub identifier: String,
    pub note: String,
    /// `registered` (stored with the enterprise) or `derived` (found through outlets → points → devices).
    pub source: String,
}

/// The ECHO-style profile (企业环境档案): the enterprise and everything that links to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseProfile {
    pub enterprise: Enterprise,
    pub street: Street,
    pub status_history: Vec<StatusRecord>,
    pub identifiers: Vec<ProgramIdentifier>,
    pub sites: Vec<Site>,
    pub outlets: Vec<Outlet>,
    pub points: Vec<MonitoringPoint>,
    /// Empty for roles that may not read devices; passwords are always masked here.
    pub devices: Vec<Device>,
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring points and devices
// ---------------------------------------------------------------------------------------------------------------

/// 监测点位: an air station, a water section or a monitored outlet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonitoringPoint {
    pub id: i64,
    /// e.g. `1021A` for a national air station.
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub level: PointLevel,
    pub street_id: Option<i64>,
    pub street_name: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Who operates it (a department, a company).
    pub owner: String,
    pub water_body: Option<String>,
    pub water_kind: Option<WaterKind>,
    /// Target class of GB 3838 (1–5 for I–V) for a water section.
    pub target_class: Option<i64>,
    /// The outlet it monitors (kind `outlet`).
    pub outlet_id: Option<i64>,
    /// The enterprise owning that outlet.
    pub enterprise_id: Option<i64>,
    pub active: bool,
    pub simulated: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MonitoringPoint {
    /// What a picker shows and accepts: `编号 名称` (1021A 跃进路).
    pub fn picker_label(&self) -> String {
        format!("{} {}", self.code, self.name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PointInput {
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub level: PointLevel,
    /// Required for air stations; taken from the enterprise for outlets.
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub owner: String,
    pub water_body: Option<String>,
    pub water_kind: Option<WaterKind>,
    pub target_class: Option<i64>,
    pub outlet_id: Option<i64>,
    pub active: Option<bool>,
    pub version: Option<i64>,
}

impl PointInput {
    /// The checks every point passes however it arrives: coordinates, code, name, owner, water body, and the
    /// levels its kind allows.
    fn check_fields(&self) -> Result<PointInput, AppError> {
        validate::coordinates(self.lon, self.lat)?;
        let mut out = self.clone();
        out.code = code("code", &self.code, 32)?;
        out.name = validate::required("name", &self.name, 100)?;
        out.owner = validate::required("owner", &self.owner, 100)?;
        out.water_body = validate::optional("water_body", self.water_body.as_deref(), 64)?;
        self.kind.check_level(self.level)?;
        Ok(out)
    }

    /// Checks the fields and the rules between them (kind ↔ level, water fields, outlet link).
    pub fn parse(&self) -> Result<PointInput, AppError> {
        let mut out = self.check_fields()?;
        match self.kind {
            PointKind::AirStation => {
                if self.street_id.is_none() {
                    return Err(AppError::validation(
                        "street_id",
                        "is required for an air station",
                    ));
                }
                out.water_body = None;
                out.water_kind = None;
                out.target_class = None;
                out.outlet_id = None;
            }
            PointKind::WaterSection => {
                if out.water_body.is_none() {
                    return Err(AppError::validation(
                        "water_body",
                        "is required for a water section",
                    ));
                }
                if self.water_kind.is_none() {
                    return Err(AppError::validation(
                        "water_kind",
                        "is required for a water section",
                    ));
                }
                if let Some(class) = self.target_class
                    && !(1..=5).contains(&class)
                {
                    return Err(AppError::validation(
                        "target_class",
                        "must be 1–5 (GB 3838 class I–V)",
                    ));
                }
                out.outlet_id = None;
            }
            PointKind::Outlet => {
                if self.outlet_id.is_none() {
                    return Err(AppError::validation(
                        "outlet_id",
                        "is required for an outlet point",
                    ));
                }
                out.water_body = None;
                out.water_kind = None;
                out.target_class = None;
            }
        }
        Ok(out)
    }
}

/// A point another area registers on meeting one the registry does not know: a station in an imported file,
/// a simulated data logger. Checked as the API checks a point (code, name, owner, coordinates, the levels of
/// its kind, an existing street); what the API also asks for — an air station's street, a section's water
/// body and class, an outlet point's outlet — may be unknown to the file and is completed in the registry.
#[derive(Debug, Clone)]
pub struct PointRegistration {
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub level: PointLevel,
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub owner: String,
    /// Generated data (`qingshan simulate`), marked so in the registry.
    pub simulated: bool,
}

impl PointRegistration {
    pub fn parse(&self) -> Result<PointInput, AppError> {
        PointInput {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind,
            level: self.level,
            street_id: self.street_id,
            lon: self.lon,
            lat: self.lat,
            owner: self.owner.clone(),
            water_body: None,
            water_kind: None,
            target_class: None,
            outlet_id: None,
            active: Some(true),
            version: None,
        }
        .check_fields()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointFilter {
    pub kind: Option<PointKind>,
    pub level: Option<PointLevel>,
    pub street_id: Option<i64>,
    /// Part of the code or the name.
    pub q: Option<String>,
}

/// 监测设备: a data logger speaking HJ 212 for one point.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: i64,
    /// HJ 212 MN (设备唯一标识).
    pub mn: String,
    /// `******` unless the caller is an administrator or in the monitoring department.
    pub password: String,
    pub protocol: Protocol,
    pub crc_mode: CrcMode,
    pub point_id: i64,
    pub point_name: String,
    pub model: String,
    pub active: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Device {
    pub fn masked(mut self) -> Device {
        self.password = MASKED_PASSWORD.to_string();
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceInput {
    pub mn: String,
    /// Required on create. On update, empty, absent or `******` keeps the stored password.
    pub password: Option<String>,
    pub protocol: Protocol,
    /// Default `strict`.
    pub crc_mode: Option<CrcMode>,
    pub point_id: i64,
    #[serde(default)]
    pub model: String,
    pub active: Option<bool>,
    pub version: Option<i64>,
}

/// A checked device; `password` is `None` when an update keeps the stored one.
#[derive(Debug, Clone)]
pub struct DeviceDraft {
    pub mn: String,
    pub password: Option<String>,
    pub protocol: Protocol,
    pub crc_mode: CrcMode,
    pub point_id: i64,
    pub model: String,
    pub active: bool,
}

impl DeviceInput {
    pub fn parse(&self) -> Result<DeviceDraft, AppError> {
        let mn = validate::required("mn", &self.mn, 24)?;
        if !mn.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::validation(
                "mn",
                "an HJ 212 MN has only letters and digits (at most 24)",
            ));
        }
        let password = match self.password.as_deref().map(str::trim) {
            None | Some("") | Some(MASKED_PASSWORD) => None,
            Some(pw) => {
                // The password travels inside the packet header (`PW=…;`), so the protocol's delimiters are out.
                if pw.chars().count() > 32
                    || !pw
                        .chars()
                        .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '=' | '&'))
                {
                    return Err(AppError::validation(
                        "password",
                        "at most 32 printable characters without ; , = &",
                    ));
                }
                Some(pw.to_string())
            }
        };
        Ok(DeviceDraft {
            mn,
            password,
            protocol: self.protocol,
            crc_mode: self.crc_mode.unwrap_or(CrcMode::Strict),
            point_id: self.point_id,
            model: validate::optional("model", Some(&self.model), 64)?.unwrap_or_default(),
            active: self.active.unwrap_or(true),
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceFilter {
    pub point_id: Option<i64>,
    /// Part of the MN or the model.
    pub q: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// What other areas read
// ---------------------------------------------------------------------------------------------------------------

/// An active point monitoring a registered outlet, with the outlet's medium and its enterprise: what the alarm
/// worker judges and scopes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoredOutlet {
    pub point_id: i64,
    pub outlet_id: i64,
    pub medium: Medium,
    pub enterprise_id: i64,
    /// The enterprise's street (the one street scoping follows).
    pub street_id: i64,
    pub industry_code: String,
    /// The enterprise is generated demo data.
    pub simulated: bool,
}

/// How many records the registry holds, for overviews and the demo's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RegistryCounts {
    pub streets: i64,
    pub enterprises: i64,
    pub outlets: i64,
    pub points: i64,
    pub devices: i64,
}

/// One street's share of the registry (the overview page's rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreetCounts {
    pub street_id: i64,
    pub name: String,
    pub enterprises: i64,
    pub key_dischargers: i64,
    pub air_stations: i64,
    pub water_sections: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_weights_are_powers_of_three() {
        let mut w = 1_u32;
        let weights: Vec<u32> = (0..17)
            .map(|_| {
                let current = w;
                w = w * 3 % 31;
                current
            })
            .collect();
        assert_eq!(
            weights,
            [
                1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
            ]
        );
    }

    #[test]
    fn industry_codes() {
        assert!(IndustryCode::parse("x", "C3120").is_ok());
        assert!(IndustryCode::parse("x", "c25").is_ok());
        assert!(IndustryCode::parse("x", "Z3120").is_err());
        assert!(IndustryCode::parse("x", "C31201").is_err());
        assert!(IndustryCode::parse("x", "").is_err());
    }

    #[test]
    fn enums_round_trip() {
        for status in EnterpriseStatus::ALL {
            assert_eq!(status.as_str().parse::<EnterpriseStatus>(), Ok(*status));
        }
        assert_eq!(serde_json::to_string(&Protocol::V2017).unwrap(), "\"2017\"");
        assert!(PointKind::parse_field("kind", "outlet").is_ok());
        assert!(PointKind::parse_field("kind", "lake").is_err());
    }
}
