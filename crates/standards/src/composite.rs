//! 环境空气质量综合指数 (《城市环境空气质量排名技术规定》, 环办监测〔2018〕19号): I_sum = Σ wᵢ·Cᵢ/Sᵢ, with its
//! change rate and rankings.

use serde::Serialize;

use crate::exact::Exact;
use crate::pollutant::Pollutant;
use crate::settings::CompositeIndexVariant;

/// Denominator Sᵢ and weight wᵢ of one term.
pub fn term(variant: CompositeIndexVariant, pollutant: Pollutant) -> (Exact, Exact) {
    use Pollutant::*;
    let (denominator, weight) = match (variant, pollutant) {
        (_, So2) => (60, 1),
        (_, No2) if variant == CompositeIndexVariant::Ranking2018 => (40, 1),
        (_, No2) => (40, 2),
        (CompositeIndexVariant::Ranking2018, Pm10) => (70, 1),
        (CompositeIndexVariant::Ranking2018, Pm25) => (35, 1),
        (CompositeIndexVariant::WeightedUnverified2026, Pm10) => (60, 1),
        (CompositeIndexVariant::WeightedUnverified2026, Pm25) => (30, 3),
        (_, Co) => (4, 1),
        (CompositeIndexVariant::Ranking2018, O3) => (160, 1),
        (CompositeIndexVariant::WeightedUnverified2026, O3) => (160, 2),
    };
    (Exact::from_int(denominator), Exact::from_int(weight))
}

/// One single index Iᵢ = Cᵢ/Sᵢ (before weighting).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SingleIndex {
    pub pollutant: Pollutant,
    /// The statistic used: period mean (SO2, NO2, PM10, PM2.5), CO 24-h P95, O3 daily max 8-h P90.
    pub concentration: Exact,
    pub denominator: Exact,
    pub weight: Exact,
    /// Cᵢ/Sᵢ rounded to 2 decimals for reporting.
    pub index: Exact,
}

/// The composite index of a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompositeIndex {
    pub variant: CompositeIndexVariant,
    /// Σ wᵢ·Cᵢ/Sᵢ, computed exactly and rounded half to even (GB/T 8170) to 2 decimals, as official bulletins print it.
    pub value: Exact,
    pub single_indices: Vec<SingleIndex>,
    /// The pollutant(s) with the largest single index [M].
    pub max_index_pollutants: Vec<Pollutant>,
}

/// The composite index from the six period statistics (reported, i.e. rounded, concentrations [I]).
/// `None` unless all six are present.
pub fn composite_index(
    statistics: &[Option<Exact>; 6],
    variant: CompositeIndexVariant,
) -> Option<CompositeIndex> {
    let mut total = Exact::ZERO;
    let mut single_indices = Vec::with_capacity(6);
    for pollutant in Pollutant::ALL {
        let concentration = statistics[pollutant.index()]?;
        let (denominator, weight) = term(variant, pollutant);
        let exact_index = concentration / denominator;
        total = total + weight * exact_index;
        single_indices.push(SingleIndex {
            pollutant,
            concentration,
            denominator,
            weight,
            index: exact_index.round_half_even(2),
        });
    }
    let largest = Pollutant::ALL
        .iter()
        .map(|&p| statistics[p.index()].unwrap_or_default() / term(variant, p).0)
        .max()
        .unwrap_or_default();
    let max_index_pollutants = Pollutant::ALL
        .into_iter()
        .filter(|&p| statistics[p.index()].unwrap_or_default() / term(variant, p).0 == largest)
        .collect();
    Some(CompositeIndex {
        variant,
        value: total.round_half_even(2),
        single_indices,
        max_index_pollutants,
    })
}

/// Change rate (now − before)/before × 100 %, one decimal; `None` when `before` is zero.
pub fn change_percent(now: Exact, before: Exact) -> Option<Exact> {
    (before != Exact::ZERO)
        .then(|| ((now - before) / before * Exact::from_int(100)).round_half_even(1))
}

/// Ranks ascending (smaller is better); equal values share a rank ("并列"), and the next rank skips (1, 1, 3).
pub fn rank_ascending<K: Clone>(values: &[(K, Exact)]) -> Vec<(K, usize, Exact)> {
    let mut sorted: Vec<_> = values.to_vec();
    sorted.sort_by_key(|entry| entry.1);
    let mut ranked = Vec::with_capacity(sorted.len());
    for (position, (key, value)) in sorted.iter().enumerate() {
        let rank = match ranked.last() {
            Some((_, previous_rank, previous_value)) if previous_value == value => *previous_rank,
            _ => position + 1,
        };
        ranked.push((key.clone(), rank, *value));
    }
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(values: [i64; 6], co: &str) -> [Option<Exact>; 6] {
        let mut out = values.map(|v| Some(Exact::from_int(v)));
        out[Pollutant::Co.index()] = Some(Exact::parse_decimal(co).unwrap());
        out
    }

    #[test]
    fn ranking_2018_formula() {
        // SO2 12/60 + NO2 40/40 + PM10 70/70 + PM2.5 35/35 + CO 1.6/4 + O3 160/160 = 0.2 + 1 + 1 + 1 + 0.4 + 1.
        let index = composite_index(
            &stats([12, 40, 70, 35, 0, 160], "1.6"),
            CompositeIndexVariant::Ranking2018,
        )
        .unwrap();
        assert_eq!(index.value, Exact::parse_decimal("4.6").unwrap());
        assert_eq!(
            index.max_index_pollutants,
            vec![
                Pollutant::No2,
                Pollutant::Pm10,
                Pollutant::Pm25,
                Pollutant::O3
            ]
        );
    }

    #[test]
    fn hand_worked_example() {
        // 8/60 + 39/40 + 68/70 + 48/35 + 1.7/4 + 190/160 = 5.0636… → 5.06.
        let index = composite_index(
            &stats([8, 39, 68, 48, 0, 190], "1.7"),
            CompositeIndexVariant::Ranking2018,
        )
        .unwrap();
        assert_eq!(index.value.to_decimal_string(2), "5.06");
        // Terms are rounded half to even for display: 0.975 → 0.98, 0.425 → 0.42.
        let terms: Vec<String> = index
            .single_indices
            .iter()
            .map(|s| s.index.to_decimal_string(2))
            .collect();
        assert_eq!(terms, ["0.13", "0.98", "0.97", "1.37", "0.42", "1.19"]);
    }

    #[test]
    fn weighted_variant_uses_weights_and_new_denominators() {
        let index = composite_index(
            &stats([60, 40, 60, 30, 0, 160], "4"),
            CompositeIndexVariant::WeightedUnverified2026,
        )
        .unwrap();
        // 1 + 2 + 1 + 3 + 1 + 2.
        assert_eq!(index.value, Exact::from_int(10));
        assert!(composite_index(&[None; 6], CompositeIndexVariant::Ranking2018).is_none());
    }

    #[test]
    fn change_and_ranking() {
        let d = |t: &str| Exact::parse_decimal(t).unwrap();
        assert_eq!(change_percent(d("3.70"), d("2.81")), Some(d("31.7")));
        assert_eq!(change_percent(d("1"), Exact::ZERO), None);
        let ranked = rank_ascending(&[
            ("a", d("4.1")),
            ("b", d("3.9")),
            ("c", d("4.1")),
            ("d", d("5")),
        ]);
        let ranks: Vec<_> = ranked.iter().map(|(k, r, _)| (*k, *r)).collect();
        assert_eq!(ranks, vec![("b", 1), ("a", 2), ("c", 2), ("d", 4)]);
    }
}
