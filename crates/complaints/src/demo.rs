//! Simulated complaints for the demo (全部为模拟数据): a deterministic run of cases from 2024-01-01 to a given
//! day across every channel, category and street, with recurring sources (repeats), cases left overdue and
//! escalated, and a 24-hour duty roster. Every case and shift is flagged `simulated`.

use chrono::{Duration, NaiveDate, NaiveTime};
use kernel::Db;
use kernel::rng::SplitMix64;
use kernel::time::{DAY_SECONDS, cst_local_to_ts, now_ts};

use crate::model::{CaseAction, Category, Channel, DutyRole, NewComplaint, Satisfaction};
use crate::repo;
use crate::service::{self, Caller};

/// What [`generate`] created.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub complaints: usize,
    pub repeats: usize,
    pub open: usize,
    pub escalated: usize,
    pub shifts: usize,
}

const ACTOR: &str = "demo";
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "丽", "建国", "秀英",
];
const DUTY_PEOPLE: &[(&str, &str)] = &[
    ("刘信访", "022-24390001"),
    ("孙值班", "022-24390002"),
    ("钱值守", "022-24390003"),
    ("吴应急", "022-24390004"),
];
const DUTY_LEADERS: &[(&str, &str)] = &[("王局长", "022-24390101"), ("何副局长", "022-24390102")];

fn weighted<T: Copy>(rng: &mut SplitMix64, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.below(total as usize) as u32;
    for (item, weight) in items {
        if pick < *weight {
            return *item;
        }
        pick -= weight;
    }
    items[0].0
}

fn title_for(category: Category) -> &'static str {
    match category {
        Category::NoiseTraffic => "夜间渣土车鸣笛噪声扰民",
        Category::NoiseConstruction => "工地夜间施工噪声",
        Category::NoiseIndustrial => "厂区设备运行噪声",
        Category::NoiseSocial => "商铺高音喇叭、广场舞噪声",
        Category::CateringFumes => "饭店油烟直排",
        Category::Odour => "企业异味扰民",
        Category::Dust => "工地、堆场扬尘",
        Category::Water => "河道排污、水体发黑",
        Category::Waste => "固体废物倾倒",
        Category::Radiation => "基站辐射担忧",
        Category::Ecology => "绿地、湿地被占用",
        Category::Other => "其他环境问题",
    }
}

/// What a stream of the generator is for (the first part of its key).
const HOTSPOTS: u64 = 1;
const DAY: u64 = 2;
const CASE: u64 = 3;

/// Creates the simulated cases and roster. Needs the district's streets (and uses its enterprises when there
/// are any). Deterministic for a given `seed`: each day's cases come from that day's own stream and each case's
/// steps from the case's own, so a demo created later holds the same cases for the same days (only the cases
/// still open at its creation have moved on since). Run it once on an empty complaints area.
pub async fn generate(db: &Db, seed: u64, today: NaiveDate) -> anyhow::Result<DemoSummary> {
    // A street without a centre gets the district's (东丽区 is about 117.31°E 39.09°N).
    let streets: Vec<(i64, f64, f64)> = registry::service::streets(db)
        .await?
        .into_iter()
        .map(|s| {
            (
                s.id,
                s.center_lon.unwrap_or(117.31),
                s.center_lat.unwrap_or(39.09),
            )
        })
        .collect();
    anyhow::ensure!(
        !streets.is_empty(),
        "the complaints demo needs streets; create the registry demo first"
    );
    let enterprises = registry::service::enterprises(db).await?;
    let start =
        NaiveDate::from_ymd_opt(2024, 1, 1).ok_or_else(|| anyhow::anyhow!("bad start date"))?;
    let mut summary = DemoSummary::default();
    let system = Caller::System(ACTOR);
    // Cases move on up to now, or to the end of `today` when that is earlier (tests of a past day).
    let now = now_ts().min(kernel::time::cst_day_start(today + Duration::days(1)));

    // The roster: an officer and a leader from 08:30 to 08:30 the next day, every day, two weeks ahead.
    let handover = NaiveTime::from_hms_opt(8, 30, 0).unwrap_or_default();
    let mut day = start;
    let mut conn = db.begin_write().await?;
    while day <= today + Duration::days(14) {
        let from = cst_local_to_ts(day.and_time(handover));
        let index = usize::try_from((day - start).num_days()).unwrap_or(0);
        for (role, (name, phone)) in [
            (DutyRole::Officer, DUTY_PEOPLE[index % DUTY_PEOPLE.len()]),
            (
                DutyRole::Leader,
                DUTY_LEADERS[(index / 7) % DUTY_LEADERS.len()],
            ),
        ] {
            repo::insert_shift(
                &mut conn,
                from,
                from + DAY_SECONDS,
                role,
                None,
                name,
                phone,
                "模拟排班",
                true,
                ACTOR,
                now,
            )
            .await?;
            summary.shifts += 1;
        }
        day += Duration::days(1);
    }
    conn.commit().await?;

    // Recurring sources: a few places and enterprises that keep drawing complaints.
    let mut rng = SplitMix64::keyed(seed, &[HOTSPOTS]);
    let hotspots: Vec<(usize, f64, f64, Category)> = (0..16)
        .map(|i| {
            let s = rng.below(streets.len());
            let (_, lon, lat) = streets[s];
            let category = [
                Category::CateringFumes,
                Category::NoiseConstruction,
                Category::NoiseSocial,
                Category::Odour,
                Category::Dust,
                Category::NoiseIndustrial,
            ][i % 6];
            (
                s,
                lon + rng.range(-0.02, 0.02),
                lat + rng.range(-0.015, 0.015),
                category,
            )
        })
        .collect();

    let channels = [
        (Channel::Hotline12369, 30),
        (Channel::Wechat12369, 14),
        (Channel::Citizen12345, 30),
        (Channel::Letter, 5),
        (Channel::Visit, 4),
        (Channel::CentralInspection, 2),
        (Channel::MunicipalInspection, 3),
        (Channel::GridOfficer, 7),
        (Channel::Patrol, 5),
    ];
    let categories = [
        (Category::NoiseTraffic, 5),
        (Category::NoiseConstruction, 14),
        (Category::NoiseIndustrial, 6),
        (Category::NoiseSocial, 14),
        (Category::CateringFumes, 16),
        (Category::Odour, 12),
        (Category::Dust, 12),
        (Category::Water, 6),
        (Category::Waste, 6),
        (Category::Radiation, 2),
        (Category::Ecology, 2),
        (Category::Other, 5),
    ];
    // About 1,500 cases from 2024-01-01 to the end of 2026 (1,096 days).
    let per_day: f64 = 1_500.0 / 1_096.0;
    let mut day = start;
    while day <= today {
        let day_number = u64::try_from((day - start).num_days()).unwrap_or(0);
        let mut rng = SplitMix64::keyed(seed, &[DAY, day_number]);
        // About 1.4 cases a day, more in summer (noise, fumes).
        let month = chrono::Datelike::month(&day);
        let summer = (5..=9).contains(&month);
        let expected = per_day * if summer { 1.3 } else { 0.8 };
        let mut n = expected.floor() as i64;
        if rng.chance((expected - expected.floor()).clamp(0.0, 1.0)) {
            n += 1;
        }
        for case_number in 0..n {
            let mut rng = SplitMix64::keyed(seed, &[CASE, day_number, case_number as u64]);
            let minute = if rng.chance(0.3) {
                // Evenings and nights: the duty officer's share.
                rng.int_in(18 * 60..24 * 60)
            } else {
                rng.int_in(8 * 60 + 40..17 * 60 + 20)
            };
            let received_at = kernel::time::cst_day_start(day) + minute * 60;
            if received_at > now {
                continue;
            }
            let channel = weighted(&mut rng, &channels);
            let (street_index, lon, lat, category, enterprise_id, object) = if rng.chance(0.22) {
                let h = hotspots[rng.below(hotspots.len())];
                let lon = h.1 + rng.range(-0.0008, 0.0008);
                let lat = h.2 + rng.range(-0.0006, 0.0006);
                (h.0, lon, lat, h.3, None, format!("{}附近", title_for(h.3)))
            } else if !enterprises.is_empty() && rng.chance(0.25) {
                let e = &enterprises[rng.below(enterprises.len())];
                let (id, street_id, lon, lat) = (e.id, Some(e.street_id), e.lon, e.lat);
                let s = streets
                    .iter()
                    .position(|(sid, _, _)| Some(*sid) == street_id)
                    .unwrap_or(0);
                let category = weighted(
                    &mut rng,
                    &[
                        (Category::Odour, 4),
                        (Category::NoiseIndustrial, 3),
                        (Category::Water, 2),
                        (Category::Waste, 1),
                    ],
                );
                let (slon, slat) = (streets[s].1, streets[s].2);
                (
                    s,
                    lon.unwrap_or(slon),
                    lat.unwrap_or(slat),
                    category,
                    Some(id),
                    String::new(),
                )
            } else {
                let s = rng.below(streets.len());
                let (_, slon, slat) = streets[s];
                let category = weighted(&mut rng, &categories);
                (
                    s,
                    slon + rng.range(-0.03, 0.03),
                    slat + rng.range(-0.02, 0.02),
                    category,
                    None,
                    String::new(),
                )
            };
            let anonymous = rng.chance(0.15);
            let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            let phone = format!("139{:08}", rng.below(100_000_000));
            let new = NewComplaint {
                channel: channel.as_str().to_string(),
                category: category.as_str().to_string(),
                title: title_for(category).to_string(),
                description: format!("（模拟）群众反映：{}，请核查处理。", title_for(category)),
                enterprise_id,
                object_name: Some(object),
                address: Some("东丽区（模拟地址）".to_string()),
                street_id: Some(streets[street_index].0),
                lon: Some(lon),
                lat: Some(lat),
                reporter_name: Some(name),
                reporter_phone: Some(phone),
                anonymous,
                received_at: Some(received_at),
                // Handovers carry the handing body's deadline: 15 days for central, 30 for municipal teams
                // (simulated; the real one is on each 交办单).
                handover_deadline: service::is_handover(channel).then(|| {
                    let days = if channel == Channel::CentralInspection {
                        15
                    } else {
                        30
                    };
                    (day + Duration::days(days)).format("%Y-%m-%d").to_string()
                }),
                handover_ref: service::is_handover(channel).then(|| {
                    format!(
                        "{}{}{:04}",
                        if channel == Channel::CentralInspection {
                            "ZY"
                        } else {
                            "SJ"
                        },
                        day.format("%Y%m%d"),
                        summary.complaints % 10_000
                    )
                }),
            };
            let case = service::file_complaint(db, system, new, true).await?;
            summary.complaints += 1;
            summary.repeats += usize::from(case.is_repeat);
            let left_open = walk(
                db,
                system,
                &mut rng,
                case.id,
                case.handover_deadline.is_some(),
                streets[street_index].0,
                received_at,
                now,
            )
            .await?;
            summary.open += usize::from(left_open);
        }
        day += Duration::days(1);
    }
    summary.escalated = service::escalate_overdue(db, system, now).await?.len();
    Ok(summary)
}

/// Moves a simulated case along: most are accepted, handled, replied and closed within their clocks; some
/// run late, a few are refused, recent ones stay open. Returns whether the case stays open. A handover is
/// never extended (its deadline is the handing body's).
#[allow(clippy::too_many_arguments)]
async fn walk(
    db: &Db,
    caller: Caller<'_>,
    rng: &mut SplitMix64,
    id: i64,
    handover: bool,
    street_id: i64,
    received_at: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let hour = 3600;
    let mut at = received_at + rng.int_in(1..48) * hour;
    let step = |at: i64| at <= now;
    if !step(at) {
        return Ok(true);
    }
    if rng.chance(0.04) {
        service::act(
            db,
            caller,
            id,
            CaseAction::NotAccept {
                reason: "不属于生态环境部门职责，已告知向住建部门反映（模拟）".into(),
            },
            at,
        )
        .await?;
        return Ok(false);
    }
    service::act(db, caller, id, CaseAction::Accept { note: None }, at).await?;
    at += rng.int_in(1..8) * hour;
    if !step(at) {
        return Ok(true);
    }
    service::act(
        db,
        caller,
        id,
        CaseAction::Assign {
            street_id: Some(street_id),
            department_id: None,
            note: Some("交属地街道办理（模拟）".into()),
        },
        at,
    )
    .await?;
    at += rng.int_in(4..30) * hour;
    if !step(at) {
        return Ok(true);
    }
    service::act(db, caller, id, CaseAction::StartHandling { note: None }, at).await?;
    at += rng.int_in(2..48) * hour;
    if !step(at) {
        return Ok(true);
    }
    let violation = rng.chance(0.3);
    service::act(
        db,
        caller,
        id,
        CaseAction::SiteCheck {
            checked_at: Some(at),
            inspectors: "执法人员甲、乙（模拟）".into(),
            findings: if violation {
                "现场核实情况属实（模拟）".into()
            } else {
                "现场未发现问题（模拟）".into()
            },
            violation_found: violation,
        },
        at,
    )
    .await?;
    // A few cases are never finished: they become overdue and are escalated.
    if rng.chance(0.03) {
        return Ok(true);
    }
    if rng.chance(0.05) && !handover {
        service::act(
            db,
            caller,
            id,
            CaseAction::RequestExtension {
                days: 30,
                reason: "需第三方监测（模拟）".into(),
            },
            at,
        )
        .await?;
        if step(at + DAY_SECONDS) {
            service::act(
                db,
                caller,
                id,
                CaseAction::DecideExtension {
                    approve: true,
                    note: None,
                },
                at + DAY_SECONDS,
            )
            .await?;
        }
    }
    let late = rng.chance(0.06);
    at += if late {
        rng.int_in(62..80)
    } else {
        rng.int_in(3..40)
    } * DAY_SECONDS;
    if !step(at) {
        return Ok(true);
    }
    service::act(
        db,
        caller,
        id,
        CaseAction::Reply {
            result: if violation {
                "已责令整改（模拟）".into()
            } else {
                "经核查未发现违法行为，已解释说明（模拟）".into()
            },
            measures: if violation {
                "责令改正，跟踪复查（模拟）".into()
            } else {
                "加强巡查（模拟）".into()
            },
            penalty_case_ref: (violation && rng.chance(0.3))
                .then(|| format!("津东环罚〔模拟〕{}号", id)),
        },
        at,
    )
    .await?;
    at += rng.int_in(1..5) * DAY_SECONDS;
    if !step(at) {
        return Ok(true);
    }
    let satisfaction = weighted(
        rng,
        &[
            (Satisfaction::Satisfied, 70),
            (Satisfaction::Basically, 20),
            (Satisfaction::Unsatisfied, 10),
        ],
    );
    if satisfaction == Satisfaction::Unsatisfied && rng.chance(0.5) {
        service::act(
            db,
            caller,
            id,
            CaseAction::Reopen {
                reason: "举报人不满意（模拟）".into(),
            },
            at,
        )
        .await?;
        return Ok(true);
    }
    service::act(
        db,
        caller,
        id,
        CaseAction::Close {
            satisfaction,
            note: None,
        },
        at,
    )
    .await?;
    Ok(false)
}
