//! The simulated street boundaries (模拟划分) drawn when the bureau has supplied none: each street's cell is the
//! part of the district that is nearer to its seed (the street's centre) than to any other street's — a Voronoi
//! (泰森多边形) partition of the district polygon, clipped to the district boundary. Pure and deterministic: the
//! same district and seeds give the same cells, vertex for vertex.
//!
//! Distances are measured on a local equirectangular projection around the district (longitude scaled by the
//! cosine of the mean latitude), so that a cell's edge is the true perpendicular bisector on the ground; at a
//! district's size (tens of kilometres) the error of the projection is far below the precision of a street
//! centre. Each cell is the district clipped by one half-plane per other seed (Sutherland–Hodgman against a
//! convex region, which is exact for any subject polygon up to zero-width seams where a cell would be split).

/// A ring of `[longitude, latitude]` vertices, not repeating the first vertex at the end.
pub type Ring = Vec<[f64; 2]>;

/// A polygon: its exterior ring, then its holes.
pub type Polygon = Vec<Ring>;

/// Rings smaller than this (in squared projected degrees) are clipping slivers, not territory.
const SLIVER_AREA: f64 = 1e-12;

/// Seeds closer than this (projected degrees, about 1 m) are the same place; the later one is moved aside.
const SAME_PLACE: f64 = 1e-5;

/// How far a seed that shares its place with an earlier one is moved (projected degrees, about 50 m), so that
/// two streets registered with the same centre still get a cell each.
const NUDGE: f64 = 5e-4;

/// The local projection: longitude scaled by the cosine of the district's mean latitude.
#[derive(Debug, Clone, Copy)]
struct Projection {
    lon0: f64,
    lat0: f64,
    scale: f64,
}

impl Projection {
    fn around(district: &[Polygon]) -> Projection {
        let (mut lon_sum, mut lat_sum, mut n) = (0.0, 0.0, 0.0);
        for ring in district.iter().filter_map(|p| p.first()) {
            for [lon, lat] in ring {
                lon_sum += lon;
                lat_sum += lat;
                n += 1.0;
            }
        }
        let (lon0, lat0) = if n > 0.0 {
            (lon_sum / n, lat_sum / n)
        } else {
            (0.0, 0.0)
        };
        Projection {
            lon0,
            lat0,
            scale: lat0.to_radians().cos(),
        }
    }

    fn forward(&self, [lon, lat]: [f64; 2]) -> [f64; 2] {
        [(lon - self.lon0) * self.scale, lat - self.lat0]
    }

    fn inverse(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        [x / self.scale + self.lon0, y + self.lat0]
    }

    fn polygon(&self, polygon: &Polygon, f: impl Fn(&Self, [f64; 2]) -> [f64; 2]) -> Polygon {
        polygon
            .iter()
            .map(|ring| ring.iter().map(|p| f(self, *p)).collect())
            .collect()
    }
}

/// Twice the signed area of a ring (positive when counter-clockwise).
fn ring_area2(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let [x1, y1] = ring[i];
            let [x2, y2] = ring[(i + 1) % n];
            x1 * y2 - x2 * y1
        })
        .sum()
}

/// A polygon's area: its exterior less its holes (in the units of its coordinates, squared).
pub fn area(polygon: &Polygon) -> f64 {
    polygon
        .iter()
        .enumerate()
        .map(|(i, ring)| {
            let a = ring_area2(ring).abs() / 2.0;
            if i == 0 { a } else { -a }
        })
        .sum()
}

/// Whether `p` lies inside `ring` (even-odd rule; a point on an edge may count either way).
fn in_ring(ring: &[[f64; 2]], [px, py]: [f64; 2]) -> bool {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[(i + n - 1) % n];
        if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    inside
}

/// Whether `p` lies inside the polygon: inside its exterior and outside its holes.
pub fn contains(polygon: &Polygon, p: [f64; 2]) -> bool {
    match polygon.split_first() {
        Some((exterior, holes)) => in_ring(exterior, p) && !holes.iter().any(|h| in_ring(h, p)),
        None => false,
    }
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance([px, py]: [f64; 2], [ax, ay]: [f64; 2], [bx, by]: [f64; 2]) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (ax + t * dx, ay + t * dy);
    ((px - cx).powi(2) + (py - cy).powi(2)).sqrt()
}

/// Distance from `p` to the nearest edge of the polygon.
fn edge_distance(polygon: &Polygon, p: [f64; 2]) -> f64 {
    let mut best = f64::INFINITY;
    for ring in polygon {
        let n = ring.len();
        for i in 0..n {
            best = best.min(segment_distance(p, ring[i], ring[(i + 1) % n]));
        }
    }
    best
}

/// Keeps the part of `ring` where `normal · p <= offset` (Sutherland–Hodgman against one half-plane).
fn clip_ring(ring: &[[f64; 2]], normal: [f64; 2], offset: f64) -> Ring {
    let side = |[x, y]: [f64; 2]| normal[0] * x + normal[1] * y - offset;
    let n = ring.len();
    let mut out = Vec::with_capacity(n + 2);
    for i in 0..n {
        let current = ring[i];
        let next = ring[(i + 1) % n];
        let (sc, sn) = (side(current), side(next));
        if sc <= 0.0 {
            out.push(current);
        }
        if (sc <= 0.0) != (sn <= 0.0) {
            let t = sc / (sc - sn);
            out.push([
                current[0] + t * (next[0] - current[0]),
                current[1] + t * (next[1] - current[1]),
            ]);
        }
    }
    out.dedup_by(|a, b| (a[0] - b[0]).abs() < 1e-15 && (a[1] - b[1]).abs() < 1e-15);
    out
}

/// The part of `polygon` on the near side of the half-plane, or `None` when nothing of its exterior is left.
fn clip_polygon(polygon: &Polygon, normal: [f64; 2], offset: f64) -> Option<Polygon> {
    let mut rings = polygon.iter().map(|ring| clip_ring(ring, normal, offset));
    let exterior = rings.next()?;
    if exterior.len() < 3 || ring_area2(&exterior).abs() / 2.0 < SLIVER_AREA {
        return None;
    }
    let mut out = vec![exterior];
    out.extend(rings.filter(|r| r.len() >= 3 && ring_area2(r).abs() / 2.0 >= SLIVER_AREA));
    Some(out)
}

/// Seeds in projected coordinates, with any seed that shares an earlier seed's place moved aside.
fn distinct_seeds(projection: &Projection, seeds: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(seeds.len());
    for seed in seeds {
        let mut p = projection.forward(*seed);
        let mut k = 0u32;
        while out
            .iter()
            .any(|q| (q[0] - p[0]).abs() < SAME_PLACE && (q[1] - p[1]).abs() < SAME_PLACE)
        {
            // Along a fixed direction, farther each time: deterministic, and never back onto a taken place.
            k += 1;
            let step = NUDGE * f64::from(k);
            p = [p[0] + step * 0.6, p[1] + step * 0.8];
        }
        out.push(p);
    }
    out
}

/// The Voronoi partition of `district` (its polygons, e.g. a district with an exclave has two) around
/// `seeds` (`[lon, lat]`): for each seed, in order, the parts of the district nearer to it than to every other
/// seed. A seed outside the district may get an empty cell.
pub fn voronoi_cells(district: &[Polygon], seeds: &[[f64; 2]]) -> Vec<Vec<Polygon>> {
    let projection = Projection::around(district);
    let projected: Vec<Polygon> = district
        .iter()
        .map(|p| projection.polygon(p, Projection::forward))
        .collect();
    let sites = distinct_seeds(&projection, seeds);
    sites
        .iter()
        .enumerate()
        .map(|(i, own)| {
            let mut parts: Vec<Polygon> = projected.clone();
            for (j, other) in sites.iter().enumerate() {
                if i == j {
                    continue;
                }
                // Nearer to `own` than to `other`: (p − midpoint) · (other − own) ≤ 0.
                let normal = [other[0] - own[0], other[1] - own[1]];
                let mid = [(own[0] + other[0]) / 2.0, (own[1] + other[1]) / 2.0];
                let offset = normal[0] * mid[0] + normal[1] * mid[1];
                parts = parts
                    .iter()
                    .filter_map(|part| clip_polygon(part, normal, offset))
                    .collect();
                if parts.is_empty() {
                    break;
                }
            }
            parts
                .iter()
                .map(|p| projection.polygon(p, Projection::inverse))
                .collect()
        })
        .collect()
}

/// A point well inside the polygon for its label: of a grid over its bounding box, refined once around the
/// best, the point farthest from every edge (the "pole of inaccessibility", approximately). Labels placed so
/// sit away from the cell's borders and so from the neighbouring streets' labels.
pub fn label_point(polygon: &Polygon) -> Option<[f64; 2]> {
    let exterior = polygon.first()?;
    let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in exterior {
        for k in 0..2 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    if !(min[0].is_finite() && max[0].is_finite()) {
        return None;
    }
    // Measured on the same local projection as the cells, so that "far from the edges" means on the ground.
    let projection = Projection::around(std::slice::from_ref(polygon));
    let projected = projection.polygon(polygon, Projection::forward);
    let (pmin, pmax) = (projection.forward(min), projection.forward(max));
    let best_in = |lo: [f64; 2], hi: [f64; 2], best: Option<([f64; 2], f64)>| {
        const STEPS: u32 = 24;
        let mut best = best;
        for i in 0..=STEPS {
            for j in 0..=STEPS {
                let p = [
                    lo[0] + (hi[0] - lo[0]) * f64::from(i) / f64::from(STEPS),
                    lo[1] + (hi[1] - lo[1]) * f64::from(j) / f64::from(STEPS),
                ];
                if !contains(&projected, p) {
                    continue;
                }
                let d = edge_distance(&projected, p);
                if best.is_none_or(|(_, bd)| d > bd) {
                    best = Some((p, d));
                }
            }
        }
        best
    };
    let coarse = best_in(pmin, pmax, None)?;
    let cell = [(pmax[0] - pmin[0]) / 24.0, (pmax[1] - pmin[1]) / 24.0];
    let (p, _) = best_in(
        [coarse.0[0] - cell[0], coarse.0[1] - cell[1]],
        [coarse.0[0] + cell[0], coarse.0[1] + cell[1]],
        Some(coarse),
    )?;
    Some(projection.inverse(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A non-convex district (an L with a notch) about 30 km across near Tianjin, and eleven seeds inside it.
    fn l_district() -> Vec<Polygon> {
        vec![vec![vec![
            [117.20, 39.00],
            [117.55, 39.00],
            [117.55, 39.10],
            [117.35, 39.10],
            [117.35, 39.25],
            [117.28, 39.20],
            [117.20, 39.25],
        ]]]
    }

    fn l_seeds() -> Vec<[f64; 2]> {
        vec![
            [117.22, 39.02],
            [117.30, 39.03],
            [117.40, 39.02],
            [117.50, 39.05],
            [117.45, 39.08],
            [117.25, 39.10],
            [117.32, 39.12],
            [117.23, 39.20],
            [117.33, 39.22],
            [117.27, 39.15],
            [117.38, 39.06],
        ]
    }

    fn total_area(cells: &[Vec<Polygon>]) -> f64 {
        cells.iter().flatten().map(area).sum()
    }

    /// Every sample point of the district lies in exactly one cell (points near an edge are skipped: the
    /// tolerance is the band of `margin` degrees around every cell's edges).
    fn assert_tiles(district: &[Polygon], cells: &[Vec<Polygon>], margin: f64) {
        let [lo, hi] = bbox(district);
        let mut sampled = 0;
        for i in 0..60 {
            for j in 0..60 {
                let p = [
                    lo[0] + (hi[0] - lo[0]) * (f64::from(i) + 0.5) / 60.0,
                    lo[1] + (hi[1] - lo[1]) * (f64::from(j) + 0.5) / 60.0,
                ];
                let near_edge = cells
                    .iter()
                    .flatten()
                    .chain(district.iter())
                    .any(|poly| edge_distance(poly, p) < margin);
                if near_edge {
                    continue;
                }
                let inside_district = district.iter().any(|d| contains(d, p));
                let owners = cells
                    .iter()
                    .filter(|parts| parts.iter().any(|poly| contains(poly, p)))
                    .count();
                assert_eq!(
                    owners,
                    usize::from(inside_district),
                    "{p:?} in {owners} cells"
                );
                sampled += 1;
            }
        }
        assert!(sampled > 1000, "{sampled}");
    }

    fn bbox(polygons: &[Polygon]) -> [[f64; 2]; 2] {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in polygons.iter().flatten().flatten() {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        [lo, hi]
    }

    #[test]
    fn every_seed_gets_one_cell_and_the_cells_tile_the_district() {
        let district = l_district();
        let seeds = l_seeds();
        let cells = voronoi_cells(&district, &seeds);
        assert_eq!(cells.len(), seeds.len());
        for (seed, parts) in seeds.iter().zip(&cells) {
            assert_eq!(parts.len(), 1, "{seed:?}");
            assert!(contains(&parts[0], *seed), "{seed:?} outside its own cell");
        }
        // The cells' areas add up to the district's: nothing is lost and nothing counted twice.
        let whole: f64 = district.iter().map(area).sum();
        assert!(
            (total_area(&cells) - whole).abs() < whole * 1e-9,
            "{} vs {whole}",
            total_area(&cells)
        );
        assert_tiles(&district, &cells, 1e-4);
    }

    #[test]
    fn cells_stay_inside_the_district() {
        let district = l_district();
        let cells = voronoi_cells(&district, &l_seeds());
        let outline = &district[0];
        for vertex in cells.iter().flatten().flatten().flatten() {
            assert!(
                contains(outline, *vertex) || edge_distance(outline, *vertex) < 1e-9,
                "{vertex:?} outside the district"
            );
        }
    }

    #[test]
    fn the_partition_is_deterministic() {
        let a = voronoi_cells(&l_district(), &l_seeds());
        let b = voronoi_cells(&l_district(), &l_seeds());
        assert_eq!(a, b);
    }

    #[test]
    fn each_point_belongs_to_its_nearest_seed() {
        let seeds = l_seeds();
        let cells = voronoi_cells(&l_district(), &seeds);
        let projection = Projection::around(&l_district());
        for (i, parts) in cells.iter().enumerate() {
            let probe = label_point(&parts[0]).expect("a cell has an interior");
            let at = projection.forward(probe);
            let nearest = seeds
                .iter()
                .map(|s| projection.forward(*s))
                .map(|s| (s[0] - at[0]).powi(2) + (s[1] - at[1]).powi(2))
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k);
            assert_eq!(nearest, Some(i));
        }
    }

    #[test]
    fn seeds_on_the_same_place_still_get_a_cell_each() {
        let mut seeds = l_seeds();
        seeds.push(seeds[0]);
        let cells = voronoi_cells(&l_district(), &seeds);
        assert!(cells.iter().all(|parts| !parts.is_empty()));
        assert_tiles(&l_district(), &cells, 1e-3);
    }

    #[test]
    fn a_single_seed_gets_the_whole_district_and_holes_are_kept() {
        let mut district = l_district();
        district[0].push(vec![
            [117.40, 39.03],
            [117.42, 39.03],
            [117.42, 39.05],
            [117.40, 39.05],
        ]);
        let cells = voronoi_cells(&district, &[[117.30, 39.05]]);
        // The same rings, up to the projection's round trip.
        assert_eq!(cells[0].len(), 1);
        for (got, want) in cells[0][0].iter().zip(&district[0]) {
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(want) {
                assert!(
                    (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9,
                    "{a:?} {b:?}"
                );
            }
        }
        let two = voronoi_cells(&district, &[[117.30, 39.05], [117.45, 39.05]]);
        let whole = area(&district[0]);
        assert!((total_area(&two) - whole).abs() < whole * 1e-9);
        assert_eq!(
            two[1][0].len(),
            2,
            "the hole stays in the cell that holds it"
        );
    }

    #[test]
    fn the_label_point_is_inside_and_away_from_the_edges() {
        let square: Polygon = vec![vec![[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1]]];
        let [x, y] = label_point(&square).expect("a square has an interior");
        assert!(
            (x - 0.05).abs() < 0.005 && (y - 0.05).abs() < 0.005,
            "{x} {y}"
        );
        let district = l_district();
        let p = label_point(&district[0]).expect("the L has an interior");
        assert!(contains(&district[0], p));
        assert!(label_point(&vec![]).is_none());
    }
}
