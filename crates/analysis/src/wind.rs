//! Where does it come from (来源在哪里?): the pollution rose and the bivariate polar plot (openair
//! `pollutionRose`, `polarPlot`).
//!
//! Wind direction is where the wind blows **from** (meteorological convention, HJ 212 a01008, degrees clockwise
//! from north); speed a01007 in m/s. An hour counts when it has a concentration and a direction; an hour with a
//! speed below [`CALM_SPEED`] is calm (WMO: < 0.5 m/s reports as 0), counted apart and kept out of the sectors,
//! since a calm hour has no meaningful direction.

use serde::Serialize;

/// Wind speeds below this are calm (m/s).
pub const CALM_SPEED: f64 = 0.5;

/// One hour with its concentration and wind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindHour {
    pub value: f64,
    /// Degrees clockwise from north, where the wind comes from.
    pub direction: f64,
    /// m/s; `None` when the station reports no speed (the hour then counts in the rose but not in the polar plot).
    pub speed: Option<f64>,
}

fn is_calm(hour: &WindHour) -> bool {
    hour.speed.is_some_and(|s| s < CALM_SPEED)
}

fn usable(hour: &WindHour) -> bool {
    hour.value.is_finite()
        && hour.direction.is_finite()
        && (0.0..=360.0).contains(&hour.direction)
        && hour.speed.is_none_or(|s| s.is_finite() && s >= 0.0)
}

/// Sector counts the rose accepts (each divides 360°).
pub const SECTOR_CHOICES: [usize; 5] = [4, 8, 12, 16, 36];

/// One direction sector of the rose.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RoseSector {
    /// Sector centre in degrees (0 = north).
    pub centre: f64,
    /// Compass name (N, NNE …) or the centre in degrees.
    pub label: String,
    /// Hours from this sector.
    pub n: usize,
    /// Share of the non-calm hours (%).
    pub frequency_percent: f64,
    /// Mean concentration of those hours.
    pub mean: Option<f64>,
    /// Share of the total concentration (Σ value of the sector / Σ value of all non-calm hours, %): the
    /// pollution rose proper, which a frequent but clean direction cannot dominate.
    pub share_percent: f64,
}

/// The pollution rose.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rose {
    pub sectors: Vec<RoseSector>,
    /// Hours with a concentration and a direction (calm included).
    pub hours: usize,
    pub calm_hours: usize,
    pub calm_mean: Option<f64>,
    /// The sector with the largest share of the concentration.
    pub dominant: Option<String>,
}

const COMPASS_16: [&str; 16] = [
    "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW",
    "NNW",
];

fn sector_label(index: usize, sectors: usize) -> String {
    if 16 % sectors == 0 {
        COMPASS_16[index * (16 / sectors)].to_string()
    } else {
        format!("{}°", index * 360 / sectors)
    }
}

/// The sector of a direction: sector `k` covers `[k·w − w/2, k·w + w/2)`, so sector 0 is centred on north.
pub fn sector_of(direction: f64, sectors: usize) -> usize {
    let width = 360.0 / sectors as f64;
    let shifted = (direction + width / 2.0).rem_euclid(360.0);
    ((shifted / width) as usize).min(sectors - 1)
}

/// The pollution rose with `sectors` sectors (one of [`SECTOR_CHOICES`]; others are the caller's error, and
/// fall back to 16).
pub fn pollution_rose(hours: &[WindHour], sectors: usize) -> Rose {
    let sectors = if SECTOR_CHOICES.contains(&sectors) {
        sectors
    } else {
        16
    };
    let mut n = vec![0usize; sectors];
    let mut sum = vec![0.0f64; sectors];
    let (mut calm, mut calm_sum, mut total) = (0usize, 0.0f64, 0usize);
    for h in hours.iter().filter(|h| usable(h)) {
        total += 1;
        if is_calm(h) {
            calm += 1;
            calm_sum += h.value;
            continue;
        }
        let k = sector_of(h.direction, sectors);
        n[k] += 1;
        sum[k] += h.value;
    }
    let windy = total - calm;
    let all: f64 = sum.iter().sum();
    let width = 360.0 / sectors as f64;
    let sectors_out: Vec<RoseSector> = (0..sectors)
        .map(|k| RoseSector {
            centre: k as f64 * width,
            label: sector_label(k, sectors),
            n: n[k],
            frequency_percent: percent(n[k] as f64, windy as f64),
            mean: (n[k] > 0).then(|| sum[k] / n[k] as f64),
            share_percent: percent(sum[k], all),
        })
        .collect();
    let dominant = sectors_out
        .iter()
        .filter(|s| s.n > 0)
        .max_by(|a, b| a.share_percent.total_cmp(&b.share_percent))
        .map(|s| s.label.clone());
    Rose {
        sectors: sectors_out,
        hours: total,
        calm_hours: calm,
        calm_mean: (calm > 0).then(|| calm_sum / calm as f64),
        dominant,
    }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

/// How the polar plot bins and smooths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolarSettings {
    /// Direction bin width in degrees (divides 360).
    pub direction_bin: f64,
    /// Speed bin width in m/s (widened when the speeds would need more than [`MAX_SPEED_BINS`] rings).
    pub speed_bin: f64,
    /// A bin's mean is shown only with at least this many hours (openair `min.bin`).
    pub min_count: usize,
    /// Gaussian kernel bandwidth in m/s in the (u, v) wind-vector plane; 0 turns smoothing off.
    pub bandwidth: f64,
}

impl Default for PolarSettings {
    fn default() -> Self {
        PolarSettings {
            direction_bin: 10.0,
            speed_bin: 1.0,
            min_count: 3,
            bandwidth: 1.0,
        }
    }
}

/// The most speed rings the plot draws.
pub const MAX_SPEED_BINS: usize = 30;

/// One (direction × speed) cell of the polar plot.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PolarCell {
    /// Direction bin index (bin `i` is centred on `i × direction_bin` degrees).
    pub direction: usize,
    /// Speed ring index (ring `j` covers `[j × speed_bin, (j + 1) × speed_bin)` m/s).
    pub speed: usize,
    pub n: usize,
    /// Binned mean, when the cell holds at least `min_count` hours.
    pub mean: Option<f64>,
    /// Kernel-smoothed mean (Nadaraya–Watson over the hours' wind vectors), where enough hours lie near.
    pub smoothed: Option<f64>,
}

/// The bivariate polar plot.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Polar {
    pub direction_bin: f64,
    pub speed_bin: f64,
    pub direction_bins: usize,
    pub speed_bins: usize,
    pub min_count: usize,
    pub bandwidth: f64,
    /// Hours with a concentration, a direction and a speed.
    pub hours: usize,
    pub calm_hours: usize,
    pub cells: Vec<PolarCell>,
    /// The cell with the highest shown value (smoothed when smoothing is on, else binned).
    pub peak: Option<PolarPeak>,
}

/// Where the polar plot peaks.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PolarPeak {
    /// Direction (bin centre, degrees) and speed (ring centre, m/s).
    pub direction: f64,
    pub speed: f64,
    pub value: f64,
}

/// Mean concentration by wind direction × speed. Calm hours are left out (they have no direction); so are hours
/// without a speed.
pub fn polar_plot(hours: &[WindHour], settings: &PolarSettings) -> Polar {
    let dir_bin = if settings.direction_bin > 0.0 && (360.0 % settings.direction_bin).abs() < 1e-9 {
        settings.direction_bin
    } else {
        10.0
    };
    let ndir = (360.0 / dir_bin).round() as usize;
    let used: Vec<(f64, f64, f64)> = hours
        .iter()
        .filter(|h| usable(h) && !is_calm(h))
        .filter_map(|h| h.speed.map(|s| (h.direction, s, h.value)))
        .collect();
    let calm_hours = hours.iter().filter(|h| usable(h) && is_calm(h)).count();
    let max_speed = used.iter().map(|u| u.1).fold(0.0f64, f64::max);
    let mut speed_bin = if settings.speed_bin > 0.0 {
        settings.speed_bin
    } else {
        1.0
    };
    if max_speed / speed_bin >= MAX_SPEED_BINS as f64 {
        speed_bin = (max_speed / MAX_SPEED_BINS as f64).ceil().max(speed_bin);
    }
    let nspeed = if used.is_empty() {
        0
    } else {
        ((max_speed / speed_bin).floor() as usize + 1).min(MAX_SPEED_BINS)
    };
    let mut n = vec![0usize; ndir * nspeed];
    let mut sum = vec![0.0f64; ndir * nspeed];
    for &(d, s, v) in &used {
        let i = sector_of(d, ndir);
        let j = ((s / speed_bin) as usize).min(nspeed.saturating_sub(1));
        n[i * nspeed + j] += 1;
        sum[i * nspeed + j] += v;
    }
    // Wind vectors (u east, v north) of the cell centres and of the occupied cells' hours (summarised per cell).
    let centre = |i: usize, j: usize| {
        let angle = (i as f64 * dir_bin).to_radians();
        let speed = (j as f64 + 0.5) * speed_bin;
        (speed * angle.sin(), speed * angle.cos())
    };
    let bandwidth = settings.bandwidth.max(0.0);
    let occupied: Vec<((f64, f64), usize, f64)> = (0..ndir * nspeed)
        .filter(|&c| n[c] > 0)
        .map(|c| (centre(c / nspeed.max(1), c % nspeed.max(1)), n[c], sum[c]))
        .collect();
    let mut cells = Vec::with_capacity(ndir * nspeed);
    for i in 0..ndir {
        for j in 0..nspeed {
            let c = i * nspeed + j;
            let mean = (n[c] >= settings.min_count.max(1)).then(|| sum[c] / n[c] as f64);
            let smoothed = if bandwidth > 0.0 {
                let (x, y) = centre(i, j);
                let (mut weight, mut weighted) = (0.0, 0.0);
                for &((u, v), count, total) in &occupied {
                    let d2 = (u - x).powi(2) + (v - y).powi(2);
                    let w = (-d2 / (2.0 * bandwidth * bandwidth)).exp();
                    weight += w * count as f64;
                    weighted += w * total;
                }
                (weight >= settings.min_count.max(1) as f64).then(|| weighted / weight)
            } else {
                None
            };
            cells.push(PolarCell {
                direction: i,
                speed: j,
                n: n[c],
                mean,
                smoothed,
            });
        }
    }
    let shown = |c: &PolarCell| if bandwidth > 0.0 { c.smoothed } else { c.mean };
    let peak = cells
        .iter()
        .filter_map(|c| shown(c).map(|v| (c, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, value)| PolarPeak {
            direction: c.direction as f64 * dir_bin,
            speed: (c.speed as f64 + 0.5) * speed_bin,
            value,
        });
    Polar {
        direction_bin: dir_bin,
        speed_bin,
        direction_bins: ndir,
        speed_bins: nspeed,
        min_count: settings.min_count,
        bandwidth,
        hours: used.len(),
        calm_hours,
        cells,
        peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::rng::SplitMix64;

    /// Background 20 from every direction at 0.5–8 m/s; a source NE (35–55°) that adds 200 at 3–5 m/s.
    fn planted(hours: usize) -> Vec<WindHour> {
        let mut mix = SplitMix64::new(7);
        (0..hours)
            .map(|_| {
                let direction = mix.unit() * 360.0;
                let speed = 0.5 + mix.unit() * 7.5;
                let source = (35.0..55.0).contains(&direction) && (3.0..5.0).contains(&speed);
                WindHour {
                    value: 20.0 + 5.0 * mix.unit() + if source { 200.0 } else { 0.0 },
                    direction,
                    speed: Some(speed),
                }
            })
            .collect()
    }

    #[test]
    fn sectors_are_centred_on_north() {
        assert_eq!(sector_of(0.0, 16), 0);
        assert_eq!(sector_of(359.0, 16), 0);
        assert_eq!(sector_of(11.24, 16), 0);
        assert_eq!(sector_of(11.25, 16), 1);
        assert_eq!(sector_of(45.0, 16), 2);
        assert_eq!(sector_of(360.0, 16), 0);
        assert_eq!(sector_of(180.0, 4), 2);
        assert_eq!(sector_label(2, 16), "NE");
        assert_eq!(sector_label(1, 8), "NE");
        assert_eq!(sector_label(1, 12), "30°");
    }

    #[test]
    fn a_source_planted_in_the_north_east_shows_in_the_ne_sector() {
        let rose = pollution_rose(&planted(20_000), 16);
        assert_eq!(rose.dominant.as_deref(), Some("NE"));
        let ne = &rose.sectors[2];
        let others = rose.sectors.iter().filter(|s| s.label != "NE");
        for s in others {
            assert!(ne.mean.unwrap() > s.mean.unwrap() + 20.0, "{s:?}");
        }
        let shares: f64 = rose.sectors.iter().map(|s| s.share_percent).sum();
        assert!((shares - 100.0).abs() < 1e-9);
        let freq: f64 = rose.sectors.iter().map(|s| s.frequency_percent).sum();
        assert!((freq - 100.0).abs() < 1e-9);
    }

    #[test]
    fn rose_by_hand() {
        let h = |value, direction, speed| WindHour {
            value,
            direction,
            speed,
        };
        // Two hours from N (10 and 30), one from E (60), one calm (100), one without a direction-worthy value.
        let hours = [
            h(10.0, 350.0, Some(2.0)),
            h(30.0, 10.0, None),
            h(60.0, 90.0, Some(1.0)),
            h(100.0, 200.0, Some(0.2)),
            h(f64::NAN, 0.0, Some(3.0)),
            h(5.0, 400.0, Some(3.0)),
        ];
        let rose = pollution_rose(&hours, 4);
        assert_eq!((rose.hours, rose.calm_hours), (4, 1));
        assert_eq!(rose.calm_mean, Some(100.0));
        let n = &rose.sectors[0];
        assert_eq!((n.label.as_str(), n.n, n.mean), ("N", 2, Some(20.0)));
        assert!((n.frequency_percent - 200.0 / 3.0).abs() < 1e-9);
        assert!((n.share_percent - 40.0).abs() < 1e-9);
        assert!((rose.sectors[1].share_percent - 60.0).abs() < 1e-9);
        assert_eq!(rose.dominant.as_deref(), Some("E"));
        assert_eq!(rose.sectors[2].mean, None);
        let empty = pollution_rose(&[], 16);
        assert_eq!((empty.hours, empty.dominant), (0, None));
    }

    #[test]
    fn the_polar_plot_peaks_at_the_source_direction_and_speed() {
        let hours = planted(20_000);
        let plain = polar_plot(
            &hours,
            &PolarSettings {
                bandwidth: 0.0,
                ..PolarSettings::default()
            },
        );
        assert_eq!(plain.direction_bins, 36);
        assert_eq!(plain.speed_bins, 8);
        let peak = plain.peak.clone().unwrap();
        assert!((35.0..=55.0).contains(&peak.direction), "{peak:?}");
        assert!((3.0..=5.0).contains(&peak.speed), "{peak:?}");
        let counted: usize = plain.cells.iter().map(|c| c.n).sum();
        assert_eq!(counted, plain.hours);
        let smooth = polar_plot(&hours, &PolarSettings::default());
        let peak = smooth.peak.unwrap();
        assert!((30.0..=60.0).contains(&peak.direction), "{peak:?}");
        assert!((2.0..=6.0).contains(&peak.speed), "{peak:?}");
        // South-west, far from the source, the smoothed field stays near the background.
        let sw = smooth
            .cells
            .iter()
            .find(|c| c.direction == 22 && c.speed == 4)
            .unwrap();
        assert!((sw.smoothed.unwrap() - 22.5).abs() < 3.0, "{sw:?}");
    }

    #[test]
    fn sparse_cells_show_no_mean_and_fast_winds_widen_the_rings() {
        let hours = [
            WindHour {
                value: 50.0,
                direction: 90.0,
                speed: Some(1.2),
            },
            WindHour {
                value: 70.0,
                direction: 270.0,
                speed: Some(59.0),
            },
        ];
        let polar = polar_plot(&hours, &PolarSettings::default());
        assert!(polar.speed_bins <= MAX_SPEED_BINS);
        assert_eq!(polar.speed_bin, 2.0);
        assert!(polar.cells.iter().all(|c| c.mean.is_none()));
        assert!(polar.peak.is_none());
        let none = polar_plot(&[], &PolarSettings::default());
        assert_eq!((none.speed_bins, none.cells.len()), (0, 0));
    }
}
