use super::*;

fn x(text: &str) -> Exact {
    Exact::parse_decimal(text).unwrap()
}

fn class(item: WaterItem, value: &str, body: WaterBody) -> WaterClass {
    item_class(item, x(value), body).unwrap()
}

#[test]
fn twenty_one_assessed_items() {
    assert_eq!(
        WaterItem::ALL.iter().filter(|i| i.is_assessed()).count(),
        21
    );
    assert!(
        !TotalNitrogen.is_assessed()
            && !FecalColiform.is_assessed()
            && !WaterTemperature.is_assessed()
    );
    assert_eq!(WaterItem::from_name("w21003"), Some(Ammonia));
    assert_eq!(WaterItem::from_name("氨氮"), Some(Ammonia));
    assert_eq!(WaterItem::from_name("nh3-n"), Some(Ammonia));
    assert_eq!(WaterItem::from_name("chlorophyll"), None);
}

/// Every limit of Table 1 is met exactly at the limit (the better class wins on equal limits) and missed
/// just beyond it.
#[test]
fn every_limit_is_inclusive_and_equal_limits_resolve_to_the_better_class() {
    for body in [WaterBody::River, WaterBody::Lake] {
        for item in WaterItem::ALL {
            if item == Ph {
                continue;
            }
            let Some(limits) = item.limits(body) else {
                continue;
            };
            for (i, limit) in limits.iter().enumerate() {
                let best = limits.iter().position(|l| l == limit).unwrap();
                let got = item_class(item, *limit, body).unwrap();
                if item == DissolvedOxygen {
                    assert_eq!(got, WaterClass::ALL[best], "{item:?} at {limit}");
                } else {
                    assert_eq!(got, WaterClass::ALL[best], "{item:?} at {limit}");
                    let beyond = *limit + Exact::new(1, 1_000_000);
                    let next = limits.iter().position(|l| *l >= beyond).unwrap_or(5);
                    assert_eq!(
                        item_class(item, beyond, body).unwrap(),
                        WaterClass::ALL[next],
                        "{item:?} above {limit}"
                    );
                }
                let _ = i;
            }
        }
    }
}

#[test]
fn hand_checked_classes() {
    let river = WaterBody::River;
    assert_eq!(class(Cod, "15", river), WaterClass::I);
    assert_eq!(class(Cod, "15.1", river), WaterClass::III);
    assert_eq!(class(Ammonia, "1.0", river), WaterClass::III);
    assert_eq!(class(Ammonia, "2.01", river), WaterClass::WorseThanV);
    assert_eq!(class(DissolvedOxygen, "7.5", river), WaterClass::I);
    assert_eq!(class(DissolvedOxygen, "5.9", river), WaterClass::III);
    assert_eq!(class(DissolvedOxygen, "1.9", river), WaterClass::WorseThanV);
    assert_eq!(class(Ph, "6", river), WaterClass::I);
    assert_eq!(class(Ph, "9.1", river), WaterClass::WorseThanV);
    assert_eq!(class(Ph, "5.9", river), WaterClass::WorseThanV);
    // Lake TP limits: 0.05 is III in a lake and II in a river.
    assert_eq!(
        class(TotalPhosphorus, "0.05", WaterBody::Lake),
        WaterClass::III
    );
    assert_eq!(class(TotalPhosphorus, "0.05", river), WaterClass::II);
    assert_eq!(
        class(TotalPhosphorus, "0.25", WaterBody::Lake),
        WaterClass::WorseThanV
    );
    assert_eq!(class(Mercury, "0.00005", river), WaterClass::I);
    assert_eq!(class(Mercury, "0.00006", river), WaterClass::III);
    assert!(item_class(WaterTemperature, x("20"), river).is_none());
}

#[test]
fn section_class_main_pollutants_and_cwqi() {
    let values = [
        (Ph, x("7.5")),
        (DissolvedOxygen, x("4")),
        (PermanganateIndex, x("9")),
        (Cod, x("35")),
        (Ammonia, x("2.4")),
        (TotalPhosphorus, x("0.3")),
        (TotalNitrogen, x("5")),
        (FecalColiform, x("50000")),
    ];
    let a = assess_section(&values, WaterBody::River);
    // NH3-N 2.4 > 2.0 → 劣V sets the section class; TN and fecal coliform are not assessed.
    assert_eq!(a.class, Some(WaterClass::WorseThanV));
    assert_eq!(a.quality, Some(QualityLevel::SeverelyPolluted));
    // Exceedance over III: NH3-N 1.40, COD 0.75, CODMn 0.50, TP 0.50 → top 3 (ties by item order).
    let main: Vec<_> = a
        .main_pollutants
        .iter()
        .map(|m| (m.item, m.exceedance_multiple.to_string()))
        .collect();
    assert_eq!(
        main,
        vec![
            (Ammonia, "1.4".to_string()),
            (Cod, "0.75".to_string()),
            (PermanganateIndex, "0.5".to_string())
        ]
    );
    // CWQI: pH 0.25 + DO 5/4 1.25 + CODMn 1.5 + COD 1.75 + NH3-N 2.4 + TP 1.5 = 8.65.
    assert_eq!(a.cwqi, Some(x("8.65")));
    assert_eq!(a.missing_items.len(), 21 - 6);
}

#[test]
fn cwqi_single_indices() {
    let river = WaterBody::River;
    assert_eq!(cwqi_single_index(Ph, x("6.5"), river), Some(x("0.5")));
    assert_eq!(cwqi_single_index(Ph, x("8"), river), Some(x("0.5")));
    assert_eq!(
        cwqi_single_index(DissolvedOxygen, x("10"), river),
        Some(x("0.5"))
    );
    assert_eq!(
        cwqi_single_index(TotalPhosphorus, x("0.1"), WaterBody::Lake),
        Some(x("2"))
    );
    assert_eq!(cwqi_single_index(TotalNitrogen, x("1"), river), None);
}

#[test]
fn sample_means() {
    let settings = WaterSettings::default();
    // NH3-N reported with 2 decimals, half to even: (0.5 + 0.515)/2 = 0.5075 → 0.51; (0.5+0.51)/2 = 0.505 → 0.50.
    assert_eq!(
        mean_of_samples(Ammonia, &[x("0.5"), x("0.515")], &settings),
        Some(x("0.51"))
    );
    assert_eq!(
        mean_of_samples(Ammonia, &[x("0.5"), x("0.51")], &settings),
        Some(x("0.50"))
    );
    // pH via H⁺: pH 6 and 8 → −log10((1e-6 + 1e-8)/2) = 6.2967.
    assert_eq!(
        mean_of_samples(Ph, &[x("6"), x("8")], &settings),
        Some(x("6.2967"))
    );
    let arithmetic = WaterSettings {
        ph_averaging: PhAveraging::Arithmetic,
        ..WaterSettings::default()
    };
    assert_eq!(
        mean_of_samples(Ph, &[x("6"), x("8")], &arithmetic),
        Some(x("7"))
    );
    assert_eq!(mean_of_samples(Cod, &[], &settings), None);
}

#[test]
fn shares_and_proportion_method() {
    use WaterClass::*;
    let settings = WaterSettings::default();
    let shares = class_shares(&[II, III, III, IV, WorseThanV]);
    assert_eq!(
        (shares.good_share_percent, shares.worse_than_v_share_percent),
        (Some(x("60.0")), Some(x("20.0")))
    );
    assert_eq!(
        proportion_method_level(&shares, &settings),
        Some(QualityLevel::ModeratelyPolluted)
    );
    let level = |classes: &[WaterClass]| {
        proportion_method_level(&class_shares(classes), &settings).unwrap()
    };
    assert_eq!(
        level(&[I, II, III, III, III, II, I, II, III, IV]),
        QualityLevel::Excellent
    );
    assert_eq!(level(&[I, II, III, IV]), QualityLevel::Good);
    assert_eq!(level(&[I, IV, V, IV, III]), QualityLevel::LightlyPolluted);
    assert_eq!(
        level(&[I, WorseThanV, WorseThanV, IV, V]),
        QualityLevel::SeverelyPolluted
    );
    // 2249 of 2500 sections good = 89.96 %, shown as 90.0 %, but below 90 %: 良好.
    let mut many = vec![II; 2249];
    many.extend([IV; 251]);
    let shares = class_shares(&many);
    assert_eq!(shares.good_share_percent, Some(x("90.0")));
    assert_eq!(
        proportion_method_level(&shares, &settings),
        Some(QualityLevel::Good)
    );
    let lenient = WaterSettings {
        severe_pollution_threshold: SeverePollutionThreshold::Below60Percent,
        ..settings
    };
    let shares = class_shares(&[
        I, II, III, III, III, II, WorseThanV, WorseThanV, WorseThanV, WorseThanV,
    ]);
    assert_eq!(
        proportion_method_level(&shares, &WaterSettings::default()),
        Some(QualityLevel::SeverelyPolluted)
    );
    assert_eq!(
        proportion_method_level(&shares, &lenient),
        Some(QualityLevel::ModeratelyPolluted)
    );
}

#[test]
fn trophic_index() {
    // Each input placed where its partial index equals `target`, so TLI(Σ) = target (weights sum to 1).
    let at = |target: f64| {
        let solve = |a: f64, b: f64| ((target / 10.0 - a) / b).exp();
        let sd = ((5.118 - target / 10.0) / 1.94f64).exp();
        trophic_state(
            solve(2.5, 1.086),
            solve(9.436, 1.624),
            solve(5.453, 1.694),
            sd,
            solve(0.109, 2.661),
        )
        .unwrap()
    };
    for (target, state) in [
        (25.0, "贫营养"),
        (45.0, "中营养"),
        (55.0, "轻度富营养"),
        (65.0, "中度富营养"),
        (75.0, "重度富营养"),
    ] {
        let result = at(target);
        assert!((result.tli - target).abs() < 1e-9, "{}", result.tli);
        assert_eq!(result.state, state);
    }
    assert!(trophic_state(0.0, 0.1, 1.0, 1.0, 4.0).is_none());
}
