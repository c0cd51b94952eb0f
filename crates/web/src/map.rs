//! The base map every map page draws (the dashboard's, the complaints map): the district boundary at
//! `/map/district.geojson` and its streets at `/map/streets.geojson`. Both are plain GeoJSON files, not API
//! resources: the bureau supplies its own as files in `<data dir>/geo/` (web-assets/MAP-PROVENANCE.md).
//!
//! The streets are the bureau's `<data dir>/geo/streets.geojson` when it exists (each feature matched to a
//! registry street by `properties.code`, the feature `id`, or `properties.name`), else a simulated partition
//! of the district polygon ([`partition`]) around each street's centre, marked `"simulated": true` so that the
//! page says 街道边界为模拟划分.

pub mod partition;

use std::path::Path;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kernel::{AppError, AppResult, AppState, Db};
use serde_json::{Value, json};

use partition::Polygon;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/map/district.geojson", get(district_geojson))
        .route("/map/streets.geojson", get(streets_geojson))
}

/// Where the simulated partition says it comes from (shown in the map's caption).
const SIMULATED_SOURCE: &str = "以各街道中心为种子的泰森多边形，裁剪到区界";

/// The district boundary file's bytes: `<data dir>/geo/district.geojson` when the bureau has put its
/// sanctioned boundary there, else the packaged Tianjin districts (web-assets/MAP-PROVENANCE.md).
async fn district_file(data_dir: &Path) -> Option<Vec<u8>> {
    let configured = data_dir.join("geo").join("district.geojson");
    match tokio::fs::read(&configured).await {
        Ok(bytes) => Some(bytes),
        Err(_) => crate::assets::vendored("tianjin.geojson"),
    }
}

fn geojson_response(body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    // Short: a boundary the bureau replaces, or a street it adds, shows within the minute.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

async fn district_geojson(State(state): State<AppState>) -> Response {
    match district_file(&state.config.data_dir).await {
        Some(bytes) => geojson_response(bytes),
        None => AppError::not_found("no district map is configured").into_response(),
    }
}

async fn streets_geojson(State(state): State<AppState>) -> Response {
    match street_map(&state.db, &state.config.data_dir).await {
        Ok(collection) => geojson_response(collection.to_string().into_bytes()),
        Err(e) => e.into_response(),
    }
}

/// The polygons of one GeoJSON geometry (`Polygon` or `MultiPolygon`; anything else has none). GeoJSON rings
/// repeat their first vertex at the end; [`Polygon`] rings do not.
pub fn polygons_of(geometry: &Value) -> Vec<Polygon> {
    fn ring(value: &Value) -> Option<partition::Ring> {
        let mut ring: partition::Ring = value
            .as_array()?
            .iter()
            .map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
            .collect::<Option<_>>()?;
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        (ring.len() >= 3).then_some(ring)
    }
    fn polygon(value: &Value) -> Option<Polygon> {
        let rings: Polygon = value.as_array()?.iter().map(ring).collect::<Option<_>>()?;
        (!rings.is_empty()).then_some(rings)
    }
    let coordinates = &geometry["coordinates"];
    match geometry["type"].as_str() {
        Some("Polygon") => polygon(coordinates).into_iter().collect(),
        Some("MultiPolygon") => coordinates
            .as_array()
            .map(|ps| ps.iter().filter_map(polygon).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A GeoJSON geometry (closed rings, coordinates to 1e-6°, about 0.1 m) of one or more polygons.
fn geometry_of(polygons: &[Polygon]) -> Value {
    let round = |v: f64| (v * 1e6).round() / 1e6;
    let polygon = |p: &Polygon| -> Value {
        p.iter()
            .map(|ring| {
                let mut closed: Vec<Value> = ring
                    .iter()
                    .map(|[x, y]| json!([round(*x), round(*y)]))
                    .collect();
                if let Some(first) = closed.first().cloned() {
                    closed.push(first);
                }
                Value::Array(closed)
            })
            .collect()
    };
    match polygons {
        [one] => json!({ "type": "Polygon", "coordinates": polygon(one) }),
        many => json!({
            "type": "MultiPolygon",
            "coordinates": many.iter().map(polygon).collect::<Vec<_>>()
        }),
    }
}

/// The features of a FeatureCollection (or the one Feature) in a GeoJSON text.
fn features(text: &[u8]) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    match value["type"].as_str() {
        Some("FeatureCollection") => Ok(value["features"].as_array().cloned().unwrap_or_default()),
        Some("Feature") => Ok(vec![value]),
        other => Err(format!(
            "expected a FeatureCollection, found type {}",
            other.unwrap_or("(none)")
        )),
    }
}

/// The district's own polygons in the boundary file: the features whose `id` or `properties.adcode` is the
/// district code, or every feature when none is (a file of the district alone needs no code).
pub fn district_polygons(text: &[u8], district_code: &str) -> Vec<Polygon> {
    let Ok(all) = features(text) else {
        return Vec::new();
    };
    let is_own = |f: &&Value| {
        let id = match &f["id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let adcode = match &f["properties"]["adcode"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        !district_code.is_empty() && (id == district_code || adcode == district_code)
    };
    let own: Vec<&Value> = all.iter().filter(is_own).collect();
    let chosen: Vec<&Value> = if own.is_empty() {
        all.iter().collect()
    } else {
        own
    };
    chosen
        .into_iter()
        .flat_map(|f| polygons_of(&f["geometry"]))
        .collect()
}

/// A street as the map needs it: who it is and where its centre is, if known.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetSeed {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// The street's centre (registry), else the mean of its monitoring points' positions.
    pub centre: Option<[f64; 2]>,
}

/// One street's map feature: its polygons and the point its label goes on (ECharts reads `properties.cp`).
fn street_feature(street: &StreetSeed, polygons: &[Polygon], simulated: bool) -> Value {
    let largest = polygons
        .iter()
        .max_by(|a, b| partition::area(a).total_cmp(&partition::area(b)));
    let label = largest.and_then(partition::label_point).or(street.centre);
    json!({
        "type": "Feature",
        "id": street.code,
        "properties": {
            "street_id": street.id,
            "code": street.code,
            "name": street.name,
            "cp": label,
            "simulated": simulated,
        },
        "geometry": geometry_of(polygons),
    })
}

/// The simulated street map: the Voronoi partition of the district around the streets' centres. Streets with
/// no known centre, or whose centre lies so far outside the district that no part of it is nearest, are
/// listed under `missing`.
pub fn simulated_streets(district: &[Polygon], streets: &[StreetSeed]) -> Value {
    let placed: Vec<(&StreetSeed, [f64; 2])> = streets
        .iter()
        .filter_map(|s| Some((s, s.centre?)))
        .collect();
    let seeds: Vec<[f64; 2]> = placed.iter().map(|(_, c)| *c).collect();
    let cells = partition::voronoi_cells(district, &seeds);
    let mut features = Vec::new();
    let mut drawn = Vec::new();
    for ((street, _), cell) in placed.iter().zip(&cells) {
        if !cell.is_empty() {
            features.push(street_feature(street, cell, true));
            drawn.push(street.id);
        }
    }
    json!({
        "type": "FeatureCollection",
        "simulated": true,
        "source": SIMULATED_SOURCE,
        "missing": missing(streets, &drawn),
        "features": features,
    })
}

/// The names of the streets that have no feature.
fn missing(streets: &[StreetSeed], drawn: &[i64]) -> Vec<String> {
    streets
        .iter()
        .filter(|s| !drawn.contains(&s.id))
        .map(|s| s.name.clone())
        .collect()
}

/// The bureau's street map: each supplied feature matched to a registry street by `properties.code`, the
/// feature `id`, or `properties.name` (also `properties.street`, `properties.名称`); the unmatched features'
/// names are listed under `unmatched`, the streets without a feature under `missing`.
pub fn supplied_streets(text: &[u8], streets: &[StreetSeed]) -> Result<Value, String> {
    let supplied = features(text)?;
    let mut by_street: Vec<(&StreetSeed, Vec<Polygon>)> = Vec::new();
    let mut unmatched = Vec::new();
    for feature in &supplied {
        let props = &feature["properties"];
        let text_of = |v: &Value| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let code = text_of(&props["code"]).or_else(|| text_of(&feature["id"]));
        let name = ["name", "street", "名称"]
            .iter()
            .find_map(|k| text_of(&props[*k]));
        let street = streets
            .iter()
            .find(|s| code.as_deref() == Some(s.code.as_str()))
            .or_else(|| {
                streets
                    .iter()
                    .find(|s| name.as_deref() == Some(s.name.as_str()))
            });
        let polygons = polygons_of(&feature["geometry"]);
        match street {
            Some(street) if !polygons.is_empty() => {
                match by_street.iter_mut().find(|(s, _)| s.id == street.id) {
                    Some((_, existing)) => existing.extend(polygons),
                    None => by_street.push((street, polygons)),
                }
            }
            _ => unmatched.push(name.or(code).unwrap_or_else(|| "（无名称）".into())),
        }
    }
    // In the registry's order, so that the colours and the legend do not depend on the file's order.
    by_street.sort_by_key(|(s, _)| streets.iter().position(|t| t.id == s.id));
    let drawn: Vec<i64> = by_street.iter().map(|(s, _)| s.id).collect();
    Ok(json!({
        "type": "FeatureCollection",
        "simulated": false,
        "source": "本局提供的街道边界",
        "unmatched": unmatched,
        "missing": missing(streets, &drawn),
        "features": by_street
            .iter()
            .map(|(s, polygons)| street_feature(s, polygons, false))
            .collect::<Vec<_>>(),
    }))
}

/// The registry's streets with their centres (a street without one is placed at the mean of its monitoring
/// points that have a position).
async fn street_seeds(db: &Db) -> AppResult<Vec<StreetSeed>> {
    let streets = registry::service::streets(db).await?;
    let points = registry::service::points(db).await?;
    Ok(streets
        .into_iter()
        .map(|s| {
            let centre = match (s.center_lon, s.center_lat) {
                (Some(lon), Some(lat)) => Some([lon, lat]),
                _ => {
                    let own: Vec<[f64; 2]> = points
                        .iter()
                        .filter(|p| p.street_id == Some(s.id))
                        .filter_map(|p| Some([p.lon?, p.lat?]))
                        .collect();
                    let n = own.len() as f64;
                    (!own.is_empty()).then(|| {
                        [
                            own.iter().map(|p| p[0]).sum::<f64>() / n,
                            own.iter().map(|p| p[1]).sum::<f64>() / n,
                        ]
                    })
                }
            };
            StreetSeed {
                id: s.id,
                code: s.code,
                name: s.name,
                centre,
            }
        })
        .collect())
}

/// The street map served at `/map/streets.geojson`: the bureau's file when there is one (a broken file is
/// logged and reported under `error`, and the simulated partition drawn instead), else the simulated one.
pub async fn street_map(db: &Db, data_dir: &Path) -> AppResult<Value> {
    let streets = street_seeds(db).await?;
    let supplied = data_dir.join("geo").join("streets.geojson");
    let mut error = None;
    if let Ok(bytes) = tokio::fs::read(&supplied).await {
        match supplied_streets(&bytes, &streets) {
            Ok(collection) => return Ok(collection),
            Err(e) => {
                tracing::warn!(file = %supplied.display(), error = %e, "the street map file is unusable");
                error = Some(format!(
                    "本局提供的街道边界文件 geo/streets.geojson 无法使用（{e}），改用模拟划分"
                ));
            }
        }
    }
    let district_code = registry::service::the_district(db)
        .await?
        .map(|d| d.code)
        .unwrap_or_default();
    let district = match district_file(data_dir).await {
        Some(bytes) => district_polygons(&bytes, &district_code),
        None => Vec::new(),
    };
    let mut collection = simulated_streets(&district, &streets);
    if let Some(e) = error {
        collection["error"] = Value::String(e);
    }
    Ok(collection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(id: i64, code: &str, name: &str, centre: Option<[f64; 2]>) -> StreetSeed {
        StreetSeed {
            id,
            code: code.into(),
            name: name.into(),
            centre,
        }
    }

    /// Dongli's own boundary from the packaged file, as the server reads it.
    fn dongli() -> Vec<Polygon> {
        let bytes = crate::assets::vendored("tianjin.geojson").expect("the build fetched the map");
        let polygons = district_polygons(&bytes, "120110");
        assert_eq!(
            polygons.len(),
            1,
            "Dongli is one polygon in the packaged file"
        );
        polygons
    }

    #[test]
    fn the_packaged_district_is_partitioned_into_one_cell_per_street() {
        let district = dongli();
        // Seeds spread over the district by a fixed rule: the grid points of its box that lie inside it.
        let [lo, hi] = {
            let ring = &district[0][0];
            let lon = ring.iter().map(|p| p[0]);
            let lat = ring.iter().map(|p| p[1]);
            [
                [
                    lon.clone().fold(f64::INFINITY, f64::min),
                    lat.clone().fold(f64::INFINITY, f64::min),
                ],
                [
                    lon.fold(f64::NEG_INFINITY, f64::max),
                    lat.fold(f64::NEG_INFINITY, f64::max),
                ],
            ]
        };
        let mut streets = Vec::new();
        for i in 0..6 {
            for j in 0..6 {
                let p = [
                    lo[0] + (hi[0] - lo[0]) * (f64::from(i) + 0.5) / 6.0,
                    lo[1] + (hi[1] - lo[1]) * (f64::from(j) + 0.5) / 6.0,
                ];
                if streets.len() < 11 && partition::contains(&district[0], p) {
                    let n = streets.len() as i64;
                    streets.push(seed(n + 1, &format!("s{n}"), &format!("街道{n}"), Some(p)));
                }
            }
        }
        assert_eq!(streets.len(), 11);
        let collection = simulated_streets(&district, &streets);
        assert_eq!(collection["simulated"], true);
        let features = collection["features"].as_array().expect("features");
        assert_eq!(features.len(), 11);
        let district_area = partition::area(&district[0]);
        let mut sum = 0.0;
        for (feature, street) in features.iter().zip(&streets) {
            assert_eq!(feature["properties"]["name"], street.name.as_str());
            assert_eq!(feature["geometry"]["type"], "Polygon");
            let polygons = polygons_of(&feature["geometry"]);
            sum += polygons.iter().map(partition::area).sum::<f64>();
            let cp = &feature["properties"]["cp"];
            let cp = [cp[0].as_f64().expect("lon"), cp[1].as_f64().expect("lat")];
            assert!(
                partition::contains(&polygons[0], cp),
                "label outside its street"
            );
        }
        // Rounding the vertices to 1e-6° is the only loss.
        assert!(
            (sum - district_area).abs() < district_area * 1e-4,
            "{sum} vs {district_area}"
        );
        assert_eq!(
            collection,
            simulated_streets(&district, &streets),
            "deterministic"
        );
    }

    #[test]
    fn streets_without_a_centre_are_listed_as_missing() {
        let streets = vec![
            seed(1, "a", "甲街道", Some([117.30, 39.10])),
            seed(2, "b", "乙街道", None),
        ];
        let collection = simulated_streets(&dongli(), &streets);
        assert_eq!(collection["features"].as_array().map(Vec::len), Some(1));
        assert_eq!(collection["missing"], json!(["乙街道"]));
    }

    #[test]
    fn supplied_features_are_matched_by_code_id_or_name() {
        let square = |x: f64| json!({"type": "Polygon", "coordinates": [[[x, 39.0], [x + 0.1, 39.0], [x + 0.1, 39.1], [x, 39.1], [x, 39.0]]]});
        let file = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "乙街道"}, "geometry": square(117.4)},
            {"type": "Feature", "properties": {"code": "a", "name": "别名"}, "geometry": square(117.2)},
            {"type": "Feature", "id": "c", "properties": {}, "geometry": square(117.3)},
            {"type": "Feature", "properties": {"name": "不存在街道"}, "geometry": square(117.5)},
        ]});
        let streets = vec![
            seed(1, "a", "甲街道", None),
            seed(2, "b", "乙街道", None),
            seed(3, "c", "丙街道", None),
            seed(4, "d", "丁街道", None),
        ];
        let collection =
            supplied_streets(file.to_string().as_bytes(), &streets).expect("a valid file");
        assert_eq!(collection["simulated"], false);
        let names: Vec<&str> = collection["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f["properties"]["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["甲街道", "乙街道", "丙街道"],
            "registry names, registry order"
        );
        assert_eq!(collection["unmatched"], json!(["不存在街道"]));
        assert_eq!(collection["missing"], json!(["丁街道"]));
        assert!(supplied_streets(b"{\"type\": \"Point\"}", &streets).is_err());
        assert!(supplied_streets(b"not json", &streets).is_err());
    }

    #[test]
    fn geometries_round_trip_through_geojson() {
        let multi = json!({"type": "MultiPolygon", "coordinates": [
            [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]],
            [[[2.0, 0.0], [3.0, 0.0], [3.0, 1.0], [2.0, 0.0]]]
        ]});
        let polygons = polygons_of(&multi);
        assert_eq!(polygons.len(), 2);
        assert_eq!(polygons[0][0].len(), 3, "the closing vertex is dropped");
        assert_eq!(geometry_of(&polygons), multi);
        assert!(polygons_of(&json!({"type": "Point", "coordinates": [1, 2]})).is_empty());
    }
}
