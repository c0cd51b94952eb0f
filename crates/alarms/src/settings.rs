//! Thresholds of every rule, with defaults and why. `docs/alarms.md` says which come from the references
//! and which are our choice.

use serde::{Deserialize, Serialize};

/// All rule settings. `Settings::default()` is what the platform runs with unless the bureau changes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub exceedance: ExceedanceSettings,
    pub health: HealthSettings,
    pub patterns: PatternSettings,
    pub consistency: ConsistencySettings,
    /// Time allowed for each step of an alarm's lifecycle.
    pub deadlines: crate::lifecycle::Deadlines,
}

impl Settings {
    /// How much history before the window's end the worker should load so that every rule can see a whole
    /// block (the longest is the narrow-band block).
    pub fn lookback_s(&self) -> i64 {
        [
            86_400, // day-averaged limits
            self.health.capture_block_s,
            self.patterns.low_variation_block_s,
            self.patterns.pinned_block_s,
            self.patterns.narrow_band_block_s,
            self.patterns.hovering_block_s,
        ]
        .into_iter()
        .max()
        .unwrap_or(86_400)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExceedanceSettings {
    /// Valid minutes an hourly mean needs (HJ 212-2017 App. D formula (24): k ≥ 45).
    pub min_minutes_per_hour: usize,
    /// Valid hours a daily mean needs (HJ 212-2017 App. D formula (25): m ≥ 20).
    pub min_hours_per_day: usize,
    /// Hours whose O2 is at or above this are not converted and not judged: the factor (21−ref)/(21−O2)
    /// explodes near 21 % (start-up, shutdown, air leaks; "≥ ~19 %" is an unverified rule of thumb).
    pub oxygen_guard: f64,
    /// Ratio to the limit from which an exceedance is `High` (our choice: 1.5× is what penalty practice
    /// treats as clearly over, below it measurement uncertainty is arguable).
    pub high_ratio: f64,
}

impl Default for ExceedanceSettings {
    fn default() -> Self {
        ExceedanceSettings {
            min_minutes_per_hour: 45,
            min_hours_per_day: 20,
            oxygen_guard: 19.0,
            high_ratio: 1.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthSettings {
    /// No packet of any factor for this long is offline (our choice: one hour, the period after which an
    /// hourly value can no longer be formed; never less than 3 reporting intervals).
    pub offline_after_s: i64,
    /// Block over which capture is measured, CST-day aligned (a day: the unit of the daily report).
    pub capture_block_s: i64,
    /// Normal samples / expected samples below this in a block is low capture (HJ 75-2017 substitution
    /// rules treat a capture rate below 90 % as degraded [M]).
    pub min_capture_rate: f64,
    /// Median |device − receive| time above this is clock drift (our choice: 5 minutes, well above
    /// network latency, well below the hour a wrong clock shifts values into).
    pub max_clock_offset_s: i64,
    /// Clock checks needed before drift is judged (a single late re-send is not drift).
    pub min_clock_checks: usize,
    /// A tally with at least this many CRC failures…
    pub crc_min_failures: u32,
    /// …and at least this share of its packets failing is a CRC alarm (our choice: occasional line noise
    /// stays silent, a wrong CRC mode or a tampered logger does not).
    pub crc_min_share: f64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            offline_after_s: 3600,
            capture_block_s: 86_400,
            min_capture_rate: 0.9,
            max_clock_offset_s: 300,
            min_clock_checks: 3,
            crc_min_failures: 5,
            crc_min_share: 0.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatternSettings {
    /// Identical values for this long are a constant-value anomaly ("自动监控数据异常的18种情况": "identical
    /// for 4 consecutive hours under normal production").
    pub constant_min_s: i64,
    /// Values within this relative difference count as identical (float noise from unit conversions).
    pub constant_tolerance: f64,
    /// Block of hourly means over which the coefficient of variation is measured, CST-day aligned.
    pub low_variation_block_s: i64,
    /// Coefficient of variation of the hourly means below this is near-zero variation. The same list's
    /// "half-month hourly-mean variation < 5 %" is a range over 15 days; hourly means of an honest stack
    /// vary with load by well over 1 % within a day, a value written by hand with added noise does not.
    pub low_variation_max_cv: f64,
    /// Factors exempt from the low-variation and narrow-band checks because they are steady by nature:
    /// flue and ambient temperature, pressure, pH (our choice; constant-value still applies to them).
    pub steady_factors: Vec<String>,
    /// Share of the block's hours that must have a mean for the block to be judged.
    pub min_block_coverage: f64,
    /// Block for the detection-limit check, CST-day aligned.
    pub pinned_block_s: i64,
    /// A value at or below detection limit × (1 + this) is "at the detection limit".
    pub pinned_tolerance: f64,
    /// Share of a block's normal samples at the detection limit that raises the alarm.
    pub pinned_min_share: f64,
    /// Block for the narrow-band check, CST-day aligned (checklists: "for long periods"; our choice 3 days).
    pub narrow_band_block_s: i64,
    /// Max − min of a block's normal samples within this share of the instrument span is a narrow band
    /// (on-site inspection checklists: "variation within 2 % of range for long periods").
    pub narrow_band_share: f64,
    /// Flat part of step-then-flat: at least this long…
    pub flat_min_s: i64,
    /// …and this many samples (two hourly values are flat by chance)…
    pub flat_min_samples: usize,
    /// …with max − min within this share of the flat level.
    pub flat_band: f64,
    /// The hour before the step must change by at least this share of its mean…
    pub step_min_ratio: f64,
    /// …and by at least this many standard deviations of that hour.
    pub step_min_sigmas: f64,
    /// Block of judged (hourly, converted) values for the hovering check, CST-day aligned.
    pub hovering_block_s: i64,
    /// Lower edge of the band under the limit, as a share of the limit (the brief: 0.9).
    pub hovering_band_from: f64,
    /// Values needed in a block.
    pub hovering_min_values: usize,
    /// Share of values in the band needed before the distribution is looked at.
    pub hovering_min_band_share: f64,
    /// The series' own distribution (median, robust spread) must predict at least this many values at or
    /// above the limit…
    pub hovering_min_expected_above: f64,
    /// …and the series must show at most this share of them: the values that belonged above the limit are
    /// in the band instead.
    pub hovering_max_above_ratio: f64,
}

impl Default for PatternSettings {
    fn default() -> Self {
        PatternSettings {
            constant_min_s: 4 * 3600,
            constant_tolerance: 1e-9,
            low_variation_block_s: 86_400,
            low_variation_max_cv: 0.01,
            steady_factors: ["a01012", "a01001", "a01006", "a01013", "w01001"]
                .map(String::from)
                .to_vec(),
            min_block_coverage: 0.75,
            pinned_block_s: 86_400,
            pinned_tolerance: 0.1,
            pinned_min_share: 0.9,
            narrow_band_block_s: 3 * 86_400,
            narrow_band_share: 0.02,
            flat_min_s: 2 * 3600,
            flat_min_samples: 6,
            flat_band: 0.01,
            step_min_ratio: 0.3,
            step_min_sigmas: 4.0,
            hovering_block_s: 7 * 86_400,
            hovering_band_from: 0.9,
            hovering_min_values: 72,
            hovering_min_band_share: 0.15,
            hovering_min_expected_above: 5.0,
            hovering_max_above_ratio: 0.2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsistencySettings {
    /// O2 at or above this says "no combustion, air only" (unverified rule of thumb: ≥ ~19 % is
    /// start-up/shutdown/leak territory; 20 % leaves room for lean processes such as sinter at 16–18 %).
    pub stopped_oxygen: f64,
    /// Flow at or above this share of the rated flow says the stack is running.
    pub running_flow_share: f64,
    /// Flue temperature this far above ambient says the stack is running.
    pub running_temperature_rise: f64,
    /// Flow at or above this share of the rated flow is full flow.
    pub full_flow_share: f64,
    /// Flue temperature within this of ambient is "at ambient".
    pub ambient_tolerance: f64,
    /// A contradiction must last this long (our choice: one hour; start-up transients are shorter).
    pub min_duration_s: i64,
}

impl Default for ConsistencySettings {
    fn default() -> Self {
        ConsistencySettings {
            stopped_oxygen: 20.0,
            running_flow_share: 0.3,
            running_temperature_rise: 20.0,
            full_flow_share: 0.8,
            ambient_tolerance: 5.0,
            min_duration_s: 3600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookback_covers_the_longest_block() {
        assert_eq!(Settings::default().lookback_s(), 7 * 86_400);
        let mut settings = Settings::default();
        settings.patterns.narrow_band_block_s = 10 * 86_400;
        assert_eq!(settings.lookback_s(), 10 * 86_400);
    }
}
