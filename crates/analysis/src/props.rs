//! Properties every analysis keeps on any input: no panic on arbitrary numbers (NaN and infinities included),
//! shares that add up, counts that add up, and the invariances of the rank statistics.

use proptest::prelude::*;

use crate::stats;
use crate::trend;
use crate::variation;
use crate::wind::{self, PolarSettings, WindHour};

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1_000.0..1_000.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
    ]
}

fn wind_hour() -> impl Strategy<Value = WindHour> {
    (any_f64(), any_f64(), proptest::option::of(any_f64())).prop_map(|(value, direction, speed)| {
        WindHour {
            value,
            direction,
            speed,
        }
    })
}

proptest! {
    #[test]
    fn the_rose_adds_up(hours in proptest::collection::vec(wind_hour(), 0..300), sectors in prop::sample::select(wind::SECTOR_CHOICES.to_vec())) {
        let rose = wind::pollution_rose(&hours, sectors);
        prop_assert_eq!(rose.sectors.len(), sectors);
        let windy: usize = rose.sectors.iter().map(|s| s.n).sum();
        prop_assert_eq!(windy + rose.calm_hours, rose.hours);
        if windy > 0 {
            let freq: f64 = rose.sectors.iter().map(|s| s.frequency_percent).sum();
            prop_assert!((freq - 100.0).abs() < 1e-6);
        }
    }

    #[test]
    fn the_polar_plot_counts_every_used_hour(hours in proptest::collection::vec(wind_hour(), 0..300), bandwidth in 0.0..5.0f64, min_count in 1usize..10) {
        let polar = wind::polar_plot(&hours, &PolarSettings { bandwidth, min_count, ..PolarSettings::default() });
        let counted: usize = polar.cells.iter().map(|c| c.n).sum();
        prop_assert_eq!(counted, polar.hours);
        prop_assert!(polar.speed_bins <= wind::MAX_SPEED_BINS);
        prop_assert_eq!(polar.cells.len(), polar.speed_bins * polar.direction_bins);
        for c in &polar.cells {
            prop_assert!(c.mean.is_none() || c.n >= min_count);
        }
    }

    #[test]
    fn sectors_are_in_range(direction in any::<f64>().prop_filter("finite", |d| d.is_finite()), sectors in prop::sample::select(wind::SECTOR_CHOICES.to_vec())) {
        prop_assert!(wind::sector_of(direction, sectors) < sectors);
    }

    #[test]
    fn an_exact_line_gives_its_slope_inside_its_interval(a in -100.0..100.0f64, b in -20.0..20.0f64, n in 3usize..60) {
        let points: Vec<(f64, f64)> = (0..n).map(|i| (i as f64 / 12.0, a + b * i as f64 / 12.0)).collect();
        let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
        let mk = trend::mann_kendall(&ys).unwrap();
        let s = trend::sen_slope(&points, mk.var_s).unwrap();
        prop_assert!((s.slope - b).abs() < 1e-6);
        if let (Some(l), Some(u)) = (s.lower, s.upper) {
            prop_assert!(l <= s.slope + 1e-9 && s.slope <= u + 1e-9);
        }
        prop_assert!((0.0..=1.0).contains(&mk.p_value));
    }

    #[test]
    fn mann_kendall_is_antisymmetric_and_sen_is_shift_invariant(ys in proptest::collection::vec(-50.0..50.0f64, 3..40), shift in -100.0..100.0f64) {
        let forward = trend::mann_kendall(&ys).unwrap();
        let reversed: Vec<f64> = ys.iter().rev().copied().collect();
        let backward = trend::mann_kendall(&reversed).unwrap();
        prop_assert_eq!(forward.s, -backward.s);
        prop_assert!((forward.p_value - backward.p_value).abs() < 1e-12);
        let points: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect();
        let shifted: Vec<(f64, f64)> = points.iter().map(|(t, y)| (*t, y + shift)).collect();
        let a = trend::sen_slope(&points, forward.var_s).unwrap();
        let b = trend::sen_slope(&shifted, forward.var_s).unwrap();
        prop_assert!((a.slope - b.slope).abs() < 1e-9);
    }

    #[test]
    fn the_mean_lies_inside_its_interval(values in proptest::collection::vec(-1e6..1e6f64, 2..200)) {
        let s = stats::summary(&values).unwrap();
        prop_assert!(s.lower.unwrap() <= s.mean + 1e-9 && s.mean <= s.upper.unwrap() + 1e-9);
    }

    #[test]
    fn time_variation_counts_every_finite_hour(values in proptest::collection::vec((0i64..2_000_000_000, any_f64()), 0..300)) {
        let v = variation::time_variation(&values);
        let finite = values.iter().filter(|(_, x)| x.is_finite()).count();
        prop_assert_eq!(v.hours, finite);
        prop_assert_eq!(v.by_hour.iter().map(|g| g.n).sum::<usize>(), finite);
        prop_assert_eq!(v.by_hour_weekday.iter().map(|g| g.n).sum::<usize>(), finite);
    }
}
