//! Weighted rank positions (pure): each weighted criterion ranks the eligible streets (ties share a position,
//! "并列", by `standards::composite::rank_ascending`), the score is Σ weightᵢ × positionᵢ / 100, and the
//! final rank orders the scores the same way. A street that lacks a weighted criterion, or that the caller
//! marks ineligible, is shown but not ranked, with the reason.

use standards::composite::rank_ascending;
use standards::exact::Exact;

use crate::model::{Better, Criterion};

/// One street offered to the ranking.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Why the street cannot be ranked at all (no stations, too few valid days…), if so.
    pub ineligible: Option<String>,
    /// Per criterion (same order as the criteria): the value, or why there is none.
    pub values: Vec<Result<Exact, String>>,
}

/// The outcome for one candidate (same order as the input).
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    /// Per criterion: the street's position among the ranked streets (`None` when unweighted or unranked).
    pub positions: Vec<Option<usize>>,
    /// Σ wᵢ × positionᵢ / 100, exact.
    pub score: Option<Exact>,
    pub rank: Option<usize>,
    pub tied: bool,
    pub reason: Option<String>,
}

/// Ranks the candidates by the weighted positions of the criteria with a non-zero weight.
pub fn rank_weighted(
    candidates: &[Candidate],
    criteria: &[Criterion],
    weights: &[u32],
) -> Vec<Ranked> {
    let weighted: Vec<usize> = (0..criteria.len())
        .filter(|&i| weights.get(i).copied().unwrap_or(0) > 0)
        .collect();
    let reasons: Vec<Option<String>> = candidates
        .iter()
        .map(|c| {
            c.ineligible.clone().or_else(|| {
                weighted.iter().find_map(|&i| match c.values.get(i) {
                    Some(Ok(_)) => None,
                    Some(Err(why)) => Some(why.clone()),
                    None => Some(format!("缺少{}", criteria[i].label)),
                })
            })
        })
        .collect();
    let eligible: Vec<usize> = (0..candidates.len())
        .filter(|&k| reasons[k].is_none())
        .collect();
    let mut positions = vec![vec![None; criteria.len()]; candidates.len()];
    let mut scores = vec![Exact::ZERO; candidates.len()];
    for &i in &weighted {
        let values: Vec<(usize, Exact)> = eligible
            .iter()
            .filter_map(|&k| {
                let value = candidates[k].values[i].clone().ok()?;
                Some((
                    k,
                    match criteria[i].better {
                        Better::Lower => value,
                        Better::Higher => -value,
                    },
                ))
            })
            .collect();
        for (k, position, _) in rank_ascending(&values) {
            positions[k][i] = Some(position);
            scores[k] = scores[k]
                + Exact::from_int(i64::from(weights[i])) * Exact::from_int(position as i64)
                    / Exact::from_int(100);
        }
    }
    let final_ranks = if weighted.is_empty() {
        Vec::new()
    } else {
        rank_ascending(&eligible.iter().map(|&k| (k, scores[k])).collect::<Vec<_>>())
    };
    let mut out: Vec<Ranked> = (0..candidates.len())
        .map(|k| Ranked {
            positions: positions[k].clone(),
            score: None,
            rank: None,
            tied: false,
            reason: reasons[k].clone(),
        })
        .collect();
    if weighted.is_empty() {
        for ranked in &mut out {
            ranked
                .reason
                .get_or_insert_with(|| "未设置排名权重".to_string());
        }
    }
    for (k, rank, score) in &final_ranks {
        out[*k].rank = Some(*rank);
        out[*k].score = Some(*score);
        out[*k].tied = final_ranks
            .iter()
            .filter(|(_, other, _)| other == rank)
            .count()
            > 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AIR_CRITERIA, WATER_CRITERIA};

    fn d(text: &str) -> Exact {
        Exact::parse_decimal(text).unwrap()
    }

    fn ok(values: &[&str]) -> Candidate {
        Candidate {
            ineligible: None,
            values: values.iter().map(|v| Ok(d(v))).collect(),
        }
    }

    #[test]
    fn tianjin_2021_weights_positions_by_hand() {
        // criteria: composite, composite_change, pm25, pm25_change, good_ratio (higher better).
        // PM2.5: a 30 (1), b 35 (2), c 40 (3). Change: a +10 (3), b −5 (1), c 0 (2). Good: a 60 (2), b 50 (3), c 70 (1).
        // a = 0.3·1 + 0.3·3 + 0.4·2 = 2.0; b = 0.6 + 0.3 + 1.2 = 2.1; c = 0.9 + 0.6 + 0.4 = 1.9.
        let candidates = vec![
            ok(&["3", "0", "30", "10", "60"]),
            ok(&["3", "0", "35", "-5", "50"]),
            ok(&["3", "0", "40", "0", "70"]),
        ];
        let out = rank_weighted(&candidates, &AIR_CRITERIA, &[0, 0, 30, 30, 40]);
        let scores: Vec<String> = out
            .iter()
            .map(|r| r.score.unwrap().to_decimal_string(2))
            .collect();
        assert_eq!(scores, ["2.00", "2.10", "1.90"]);
        let ranks: Vec<_> = out.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [Some(2), Some(3), Some(1)]);
        assert_eq!(out[0].positions, [None, None, Some(1), Some(3), Some(2)]);
        assert!(out.iter().all(|r| !r.tied && r.reason.is_none()));
    }

    #[test]
    fn ties_share_a_rank_and_missing_values_are_shown_not_ranked() {
        let candidates = vec![
            ok(&["4.10", "1", "0"]),
            ok(&["3.90", "1", "0"]),
            ok(&["4.10", "1", "0"]),
            Candidate {
                ineligible: None,
                values: vec![Err("本月无监测数据".into()), Ok(d("1")), Ok(d("0"))],
            },
            Candidate {
                ineligible: Some("街道内无水质断面".into()),
                values: vec![],
            },
        ];
        let out = rank_weighted(&candidates, &WATER_CRITERIA, &[100, 0, 0]);
        let ranks: Vec<_> = out.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [Some(2), Some(1), Some(2), None, None]);
        assert!(out[0].tied && out[2].tied && !out[1].tied);
        assert_eq!(out[3].reason.as_deref(), Some("本月无监测数据"));
        assert_eq!(out[4].reason.as_deref(), Some("街道内无水质断面"));
        // An unweighted criterion's missing value does not matter.
        let out = rank_weighted(&candidates[..3], &WATER_CRITERIA, &[0, 0, 100]);
        assert!(out.iter().all(|r| r.rank == Some(1) && r.tied));
    }

    #[test]
    fn no_weights_ranks_nobody() {
        let out = rank_weighted(&[ok(&["1", "1", "1"])], &WATER_CRITERIA, &[0, 0, 0]);
        assert_eq!(out[0].rank, None);
        assert!(out[0].reason.is_some());
    }
}
