//! The registry's devices as the gateway, its status pages and the simulator see them. Devices, their points
//! and their MNs are the registry's: read through `registry::service`, and registered through it (a simulated
//! logger's point and device, each with its audit entry). This area adds what it keeps of them: their state,
//! keys and MN assignments (`repo`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use kernel::{AppResult, Db};
use registry::model::{CrcMode, DeviceInput, PointKind, PointLevel, PointRegistration, Protocol};

use crate::model::{Device, DeviceState, KeyState, MnAssignment, parse_crc_mode};
use crate::repo;
use crate::simulate::{SimDevice, SimProtocol};

/// Who registers the simulator's points and devices in the audit log.
const SIMULATOR: &str = "qingshan simulate";

/// Every registered device, for the gateway's in-memory directory (refreshed periodically).
pub async fn all(db: &Db) -> AppResult<Vec<Device>> {
    Ok(registry::service::devices(db)
        .await?
        .into_iter()
        .map(|d| Device {
            id: d.id,
            mn: d.mn,
            password: d.password,
            protocol: d.protocol.as_str().to_string(),
            crc_mode: parse_crc_mode(d.crc_mode.as_str()),
            point_id: d.point_id,
            active: d.active,
        })
        .collect())
}

/// A device's state: the registry's part (MN, point, active) with what the gateway stored, if anything.
fn state_of(device: registry::model::Device, stored: Option<DeviceState>) -> DeviceState {
    DeviceState {
        device_id: device.id,
        mn: device.mn,
        point_id: device.point_id,
        point_name: device.point_name,
        active: device.active,
        ..stored.unwrap_or_default()
    }
}

/// Every registered device with what the gateway last saw of it (zeros for one that never connected), by MN.
/// How many times this process has changed what the gateway keeps of its devices outside the audit log
/// (their state, its quarantine, MN assignments sent and confirmed). Answers showing those are kept while it is
/// unchanged (`kernel::area::KeptAnswers::version`); bumped after the change is committed, so an answer
/// computed before the commit is never kept under the new count.
pub fn gateway_changes() -> u64 {
    GATEWAY_CHANGES.load(Ordering::Acquire)
}

static GATEWAY_CHANGES: AtomicU64 = AtomicU64::new(0);

/// Counts a committed change of the gateway's records (see [`gateway_changes`]).
pub(crate) fn note_gateway_change() {
    GATEWAY_CHANGES.fetch_add(1, Ordering::AcqRel);
}

pub async fn states(db: &Db) -> AppResult<Vec<DeviceState>> {
    let mut devices = registry::service::devices(db).await?;
    devices.sort_by(|a, b| a.mn.cmp(&b.mn));
    let mut stored: HashMap<i64, DeviceState> = repo::stored_states(db, None)
        .await?
        .into_iter()
        .map(|s| (s.device_id, s))
        .collect();
    Ok(devices
        .into_iter()
        .map(|d| {
            let seen = stored.remove(&d.id);
            state_of(d, seen)
        })
        .collect())
}

/// The state of a registered device (zeros when it never connected), or `None` for an unknown id.
pub async fn state(db: &Db, device_id: i64) -> AppResult<Option<DeviceState>> {
    let device = registry::service::device_in(&mut *db.pool().acquire().await?, device_id).await?;
    let Some(device) = device else {
        return Ok(None);
    };
    let stored = repo::stored_states(db, Some(device_id)).await?;
    Ok(Some(state_of(device, stored.into_iter().next())))
}

/// The assignments with the MNs of their devices filled in from the registry.
pub async fn with_mns(db: &Db, mut assignments: Vec<MnAssignment>) -> AppResult<Vec<MnAssignment>> {
    if assignments.is_empty() {
        return Ok(assignments);
    }
    let mns: HashMap<i64, String> = registry::service::devices(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.mn))
        .collect();
    for assignment in &mut assignments {
        if let Some(mn) = mns.get(&assignment.device_id) {
            assignment.mn = mn.clone();
        }
    }
    Ok(assignments)
}

/// The first `n` active devices as the simulator drives them: MN, password, edition and, for an HJ 212-2025
/// device with a current key, that key (its packets are then SM4-encrypted).
pub async fn active_for_simulation(db: &Db, n: usize) -> AppResult<Vec<SimDevice>> {
    let devices: Vec<_> = registry::service::devices(db)
        .await?
        .into_iter()
        .filter(|d| d.active)
        .take(n)
        .collect();
    let mut current: HashMap<i64, hj212::sm4::Sm4Key> = HashMap::new();
    if devices.iter().any(|d| d.protocol == Protocol::V2025) {
        for key in repo::live_keys(db, None).await? {
            if key.state == KeyState::Current {
                current.insert(key.device_id, key.key);
            }
        }
    }
    Ok(devices
        .into_iter()
        .map(|d| SimDevice {
            key: (d.protocol == Protocol::V2025)
                .then(|| current.get(&d.id).copied())
                .flatten(),
            protocol: SimProtocol::parse(d.protocol.as_str()).unwrap_or(SimProtocol::Hj2017),
            mn: d.mn,
            password: d.password,
        })
        .collect())
}

/// Registers a simulated outlet point and its device unless the MN exists; both are marked simulated in the
/// registry (`monitoring_points.simulated`, model `qingshan simulate`). HJ 212-2017: MN `QS-SIM-0001`…,
/// password `sim-0001`…; HJ/T 212-2005: `QS-SIM05-0001`…, `s05-0001`…; HJ 212-2025: `QS-SIM25-0001`…,
/// `s25-0001`…, and a current SM4 key.
pub async fn register_simulated(
    db: &Db,
    number: usize,
    protocol: SimProtocol,
) -> AppResult<SimDevice> {
    let (mn, password) = match protocol {
        SimProtocol::Hj2005 => (format!("QS-SIM05-{number:04}"), format!("s05-{number:04}")),
        SimProtocol::Hj2017 => (format!("QS-SIM-{number:04}"), format!("sim-{number:04}")),
        SimProtocol::Hj2025 => (format!("QS-SIM25-{number:04}"), format!("s25-{number:04}")),
    };
    let device_id = match registry::service::device_by_mn(db, &mn).await? {
        Some(device) => device.id,
        None => {
            let mut tx = db.begin_write().await?;
            let point = registry::service::register_point_in(
                &mut tx,
                SIMULATOR,
                &PointRegistration {
                    code: match protocol {
                        SimProtocol::Hj2005 => format!("SIM05-{number:04}"),
                        SimProtocol::Hj2017 => format!("SIM-{number:04}"),
                        SimProtocol::Hj2025 => format!("SIM25-{number:04}"),
                    },
                    name: match protocol {
                        SimProtocol::Hj2017 => format!("模拟排放口 {number:04}"),
                        other => format!("模拟排放口（HJ 212-{}）{number:04}", other.label()),
                    },
                    kind: PointKind::Outlet,
                    level: PointLevel::Enterprise,
                    street_id: None,
                    lon: None,
                    lat: None,
                    owner: SIMULATOR.into(),
                    simulated: true,
                },
            )
            .await?;
            let device = registry::service::register_simulated_device_in(
                &mut tx,
                SIMULATOR,
                &DeviceInput {
                    mn: mn.clone(),
                    password: Some(password.clone()),
                    protocol: match protocol {
                        SimProtocol::Hj2005 => Protocol::V2005,
                        SimProtocol::Hj2017 => Protocol::V2017,
                        SimProtocol::Hj2025 => Protocol::V2025,
                    },
                    crc_mode: Some(match protocol {
                        SimProtocol::Hj2005 | SimProtocol::Hj2017 => CrcMode::AcceptVariant,
                        SimProtocol::Hj2025 => CrcMode::Strict,
                    }),
                    point_id: point.id,
                    model: SIMULATOR.into(),
                    active: None,
                    version: None,
                },
            )
            .await?;
            if protocol == SimProtocol::Hj2025 {
                repo::insert_random_key(
                    &mut tx,
                    db.master_key(),
                    device.id,
                    kernel::time::now_ts(),
                )
                .await?;
            }
            tx.commit().await?;
            device.id
        }
    };
    let key = match protocol {
        SimProtocol::Hj2005 | SimProtocol::Hj2017 => None,
        SimProtocol::Hj2025 => repo::live_keys(db, Some(device_id))
            .await?
            .into_iter()
            .find(|k| k.state == KeyState::Current)
            .map(|k| k.key),
    };
    Ok(SimDevice {
        mn,
        password,
        protocol,
        key,
    })
}

/// Gives every simulated HJ 212-2025 device without a current key one (random, source `registered`, as a key
/// registered out of band), so that the demo's devices send encrypted packets as the standard asks; returns
/// how many got one. Devices of real points are never touched.
pub async fn key_simulated_2025(db: &Db) -> AppResult<usize> {
    let simulated_points: HashSet<i64> = registry::service::points(db)
        .await?
        .into_iter()
        .filter(|p| p.simulated)
        .map(|p| p.id)
        .collect();
    let keyed = repo::devices_with_current_key(db).await?;
    let keyless: Vec<i64> = registry::service::devices(db)
        .await?
        .into_iter()
        .filter(|d| {
            d.protocol == Protocol::V2025
                && simulated_points.contains(&d.point_id)
                && !keyed.contains(&d.id)
        })
        .map(|d| d.id)
        .collect();
    let now = kernel::time::now_ts();
    for &device_id in &keyless {
        let mut tx = db.begin_write().await?;
        repo::insert_random_key(&mut tx, db.master_key(), device_id, now).await?;
        tx.commit().await?;
    }
    Ok(keyless.len())
}

/// The latest `limit` MN assignments (current ones first, newest first), with their MNs.
pub async fn assignments(db: &Db, limit: i64) -> AppResult<Vec<MnAssignment>> {
    with_mns(db, repo::assignments(db, limit).await?).await
}

/// The assignment made when a device was registered from this quarantined 1001, with its MN.
pub async fn assignment_for_quarantine(
    db: &Db,
    quarantine_id: i64,
) -> AppResult<Option<MnAssignment>> {
    let found = repo::assignment_for_quarantine(db, quarantine_id).await?;
    Ok(with_mns(db, found.into_iter().collect()).await?.pop())
}
