//! Loads the generated district into the registry through the registry's own bulk services, which check every
//! record as the API does (a generator bug is a load error, not bad data).

use std::str::FromStr;

use kernel::Db;
use registry::model::{
    CrcMode, DepartmentInput, DepartmentKind, DeviceInput, District, EnterpriseInput,
    EnterpriseStatus, IdentifierInput, KeyCategory, Medium, OutletInput, OutletKind, PointInput,
    PointKind, PointLevel, Program, Protocol, SiteInput, StreetInput, WaterKind,
};
use registry::service::{self, SeedEnterprise, SeedOutlet};

use crate::district::{DEPARTMENTS, STREETS};
use crate::generate::DemoDistrict;

const ACTOR: &str = "demo";

fn parse<T: FromStr>(what: &str, text: &str) -> anyhow::Result<T> {
    T::from_str(text)
        .map_err(|_| anyhow::anyhow!("demo generator produced an unknown {what} {text:?}"))
}

fn explain(err: kernel::AppError) -> anyhow::Error {
    anyhow::anyhow!(
        "demo data refused by the registry: {}",
        err.public_message()
    )
}

/// The district, its streets and the departments; returns (id, name, code) of each street.
pub async fn organisation(db: &Db, code: &str) -> anyhow::Result<Vec<(i64, String, String)>> {
    let mut tx = db.begin_write().await?;
    let district = District {
        code: code.to_string(),
        name: "东丽区".to_string(),
        city: "天津市".to_string(),
        center_lon: Some(117.313967),
        center_lat: Some(39.087764),
        simulated: true,
    };
    service::seed_district(&mut tx, ACTOR, &district)
        .await
        .map_err(explain)?;
    let streets: Vec<StreetInput> = STREETS
        .iter()
        .map(|(code, name, lon, lat)| StreetInput {
            code: (*code).to_string(),
            name: (*name).to_string(),
            district_code: Some(district.code.clone()),
            center_lon: Some(*lon),
            center_lat: Some(*lat),
        })
        .collect();
    let ids = service::seed_streets(&mut tx, ACTOR, &streets)
        .await
        .map_err(explain)?;
    let departments = DEPARTMENTS
        .iter()
        .map(|(code, name, kind, duties)| {
            Ok(DepartmentInput {
                code: (*code).to_string(),
                name: (*name).to_string(),
                kind: parse::<DepartmentKind>("department kind", kind)?,
                duties: (*duties).to_string(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    service::seed_departments(&mut tx, ACTOR, &departments)
        .await
        .map_err(explain)?;
    tx.commit().await?;
    Ok(ids
        .into_iter()
        .zip(STREETS)
        .map(|(id, (code, name, ..))| (id, (*name).to_string(), (*code).to_string()))
        .collect())
}

/// Enterprises with their sites, outlets and permit numbers, the monitoring points (stations, sections and the
/// online-monitored outlets) and the devices that feed them.
pub async fn enterprises_and_points(
    db: &Db,
    district: &DemoDistrict,
    streets: &[(i64, String, String)],
) -> anyhow::Result<()> {
    let street_id = |code: &str| -> anyhow::Result<i64> {
        streets
            .iter()
            .find(|(_, _, c)| c == code)
            .map(|(id, ..)| *id)
            .ok_or_else(|| anyhow::anyhow!("demo street {code:?} missing"))
    };
    let mut batch = Vec::with_capacity(district.enterprises.len());
    for e in &district.enterprises {
        let street = street_id(e.street_code)?;
        let key_categories = e
            .key_categories
            .iter()
            .map(|c| parse::<KeyCategory>("key category", c))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outlets = e
            .outlets
            .iter()
            .map(|o| {
                Ok(SeedOutlet {
                    site_index: Some(0),
                    outlet: OutletInput {
                        site_id: None,
                        code: o.code.clone(),
                        name: o.name.clone(),
                        medium: parse::<Medium>("medium", o.medium)?,
                        kind: parse::<OutletKind>("outlet kind", o.kind)?,
                        lon: Some(e.lon),
                        lat: Some(e.lat),
                        online_monitored: o.online.is_some(),
                    },
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        batch.push(SeedEnterprise {
            enterprise: EnterpriseInput {
                uscc: e.uscc.clone(),
                name: e.name.clone(),
                industry_code: e.industry_code.to_string(),
                industry_name: e.industry_name.to_string(),
                street_id: street,
                address: e.address.clone(),
                lon: Some(e.lon),
                lat: Some(e.lat),
                legal_representative: Some(e.legal_representative.clone()),
                contact_phone: Some(e.contact_phone.clone()),
                key_discharger: e.key_discharger,
                key_categories,
                status: Some(parse::<EnterpriseStatus>("status", e.status)?),
                version: None,
            },
            identifiers: e
                .permit_number
                .iter()
                .map(|p| IdentifierInput {
                    program: Program::Permit,
                    identifier: p.clone(),
                    note: "排污许可证（模拟）".to_string(),
                })
                .collect(),
            sites: vec![SiteInput {
                name: format!("{}厂区", e.name.trim_end_matches("有限公司")),
                address: e.address.clone(),
                street_id: Some(street),
                lon: Some(e.lon),
                lat: Some(e.lat),
            }],
            outlets,
        });
    }

    let mut tx = db.begin_write().await?;
    let seeded = service::seed_enterprises(&mut tx, ACTOR, true, &batch)
        .await
        .map_err(explain)?;

    // Stations and sections first, then one point per online-monitored outlet.
    let mut points = Vec::new();
    for p in &district.points {
        points.push(PointInput {
            code: p.code.clone(),
            name: p.name.clone(),
            kind: p.kind,
            level: parse::<PointLevel>("point level", p.level)?,
            street_id: Some(street_id(p.street_code)?),
            lon: Some(p.lon),
            lat: Some(p.lat),
            owner: p.owner.to_string(),
            water_body: p.water_body.map(str::to_string),
            water_kind: p
                .water_kind
                .map(|k| parse::<WaterKind>("water kind", k))
                .transpose()?,
            target_class: p.target_class,
            outlet_id: None,
            active: Some(true),
            version: None,
        });
    }
    let mut device_specs = Vec::new();
    for (e, ids) in district.enterprises.iter().zip(&seeded) {
        for (o, outlet_id) in e.outlets.iter().zip(&ids.outlet_ids) {
            let Some(device) = &o.online else { continue };
            points.push(PointInput {
                code: format!("{}-{}", e.uscc, o.code),
                name: format!("{} {}", e.name, o.name),
                kind: PointKind::Outlet,
                level: PointLevel::Enterprise,
                street_id: Some(street_id(e.street_code)?),
                lon: Some(e.lon),
                lat: Some(e.lat),
                owner: e.name.clone(),
                water_body: None,
                water_kind: None,
                target_class: None,
                outlet_id: Some(*outlet_id),
                active: Some(true),
                version: None,
            });
            device_specs.push((points.len() - 1, device));
        }
    }
    let point_ids = service::seed_points(&mut tx, ACTOR, true, &points)
        .await
        .map_err(explain)?;
    let devices = device_specs
        .into_iter()
        .map(|(index, d)| {
            Ok(DeviceInput {
                mn: d.mn.clone(),
                password: Some(d.password.clone()),
                protocol: parse::<Protocol>("protocol", d.protocol)?,
                crc_mode: Some(parse::<CrcMode>("CRC mode", d.crc_mode)?),
                point_id: point_ids[index],
                model: "模拟数采仪 DL-212".to_string(),
                active: Some(true),
                version: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    service::seed_devices(&mut tx, ACTOR, &devices)
        .await
        .map_err(explain)?;
    tx.commit().await?;
    Ok(())
}
