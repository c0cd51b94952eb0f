//! The distributions and summaries the analyses need: mean with a Student-t interval, Welch's interval for a
//! difference, the normal and t distributions (no statistics crate: the functions are short, and each is checked
//! below against published table values).

/// Mean, spread and 95 % interval of a sample.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1); `None` for fewer than two values.
    pub sd: Option<f64>,
    /// Lower and upper bound of the 95 % interval of the mean (Student t, n − 1 degrees of freedom).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Mean and 95 % t interval of `values`; `None` when empty.
pub fn summary(values: &[f64]) -> Option<Summary> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some(Summary {
            n,
            mean,
            sd: None,
            lower: None,
            upper: None,
        });
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt();
    Some(Summary {
        n,
        mean,
        sd: Some(sd),
        lower: Some(mean - half),
        upper: Some(mean + half),
    })
}

/// A difference of means with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Difference {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p value of "no difference".
    pub p_value: f64,
}

/// A linear combination Σ cᵢ·meanᵢ of independent group means with Welch–Satterthwaite degrees of freedom
/// (for two groups with c = (−1, 1) this is Welch's t interval). Every group needs n ≥ 2; `None` otherwise, or
/// when every group is constant (no spread to estimate).
pub fn welch_combination(groups: &[(f64, &Summary)]) -> Option<Difference> {
    let mut estimate = 0.0;
    let mut var = 0.0;
    let mut df_den = 0.0;
    for (c, s) in groups {
        let sd = s.sd?;
        let n = s.n as f64;
        let v = c * c * sd * sd / n;
        estimate += c * s.mean;
        var += v;
        df_den += v * v / (n - 1.0);
    }
    if var <= 0.0 || !var.is_finite() {
        return None;
    }
    let df = var * var / df_den;
    let se = var.sqrt();
    let half = t_quantile(0.975, df) * se;
    let t = estimate / se;
    Some(Difference {
        estimate,
        lower: estimate - half,
        upper: estimate + half,
        df,
        p_value: 2.0 * (1.0 - t_cdf(t.abs(), df)),
    })
}

/// Welch's 95 % interval of `after − before`.
pub fn welch(before: &Summary, after: &Summary) -> Option<Difference> {
    welch_combination(&[(-1.0, before), (1.0, after)])
}

/// The median of a sorted slice with linear interpolation between the middle two (`None` when empty).
pub fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// Sorts finite values (NaN never reaches here: every caller filters non-finite input first).
pub fn sort(values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
}

/// The standard normal distribution function Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The complementary error function, erfc(x) = Q(½, x²) for x ≥ 0 (the regularised upper incomplete gamma
/// function; Numerical Recipes §6.2), accurate to about 1e-15.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let q = gamma_q(0.5, x * x);
    if x >= 0.0 { q } else { 2.0 - q }
}

/// Q(a, x) = 1 − P(a, x): the series for P below a + 1, Lentz's continued fraction for Q above.
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let log_front = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * log_front.exp()
    } else {
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1_000 {
            let an = -f64::from(i) * (f64::from(i) - a);
            b += 2.0;
            let del = lentz_step(an, b, &mut c, &mut d);
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        log_front.exp() * h
    }
}

/// The standard normal quantile Φ⁻¹(p), 0 < p < 1 (P. J. Acklam's rational approximation, refined by one
/// Newton step on `normal_cdf`).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let low = 0.024_25;
    let x = if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes §6.4).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

/// Smallest magnitude the continued fractions divide by (Lentz's method).
const TINY: f64 = 1e-300;

fn not_tiny(v: f64) -> f64 {
    if v.abs() < TINY { TINY } else { v }
}

/// One step of Lentz's method for a continued fraction with partial numerator `aa` and denominator `b`:
/// updates `c` and `d` and returns the factor the fraction's value is multiplied by.
fn lentz_step(aa: f64, b: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 / not_tiny(b + aa * *d);
    *c = not_tiny(b + aa / *c);
    *d * *c
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / not_tiny(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        h *= lentz_step(
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            1.0,
            &mut c,
            &mut d,
        );
        let del = lentz_step(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            1.0,
            &mut c,
            &mut d,
        );
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Student's t distribution function with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Student's t quantile (bisection on `t_cdf`; 0 < p < 1).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if df > 1e7 {
        return normal_quantile(p);
    }
    let (mut lo, mut hi) = (-1e4, 1e4);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_matches_tables() {
        assert!(close(normal_cdf(0.0), 0.5, 1e-9));
        assert!(close(normal_cdf(1.959_964), 0.975, 1e-6));
        assert!(close(normal_cdf(-1.0), 0.158_655_25, 1e-7));
        assert!(close(normal_quantile(0.975), 1.959_963_985, 1e-6));
        assert!(close(normal_quantile(0.05), -1.644_853_627, 1e-6));
        // erfc(1) = 0.157299207050285, erfc(3) = 2.209049699858544e-5 (tables).
        assert!(close(erfc(1.0), 0.157_299_207_050_285, 1e-13));
        assert!(close(erfc(3.0) / 2.209_049_699_858_544e-5, 1.0, 1e-10));
        assert!(close(erfc(-0.5), 1.520_499_877_813_047, 1e-13));
    }

    #[test]
    fn t_matches_tables() {
        // Student t table: t(0.975; 1) = 12.706, (2) 4.303, (10) 2.228, (30) 2.042, (120) 1.980.
        for (df, expected) in [
            (1.0, 12.706_2),
            (2.0, 4.302_7),
            (10.0, 2.228_1),
            (30.0, 2.042_3),
            (120.0, 1.979_9),
        ] {
            let q = t_quantile(0.975, df);
            assert!(close(q, expected, 1e-3), "df {df}: {q}");
        }
        assert!(close(t_cdf(0.0, 5.0), 0.5, 1e-12));
        assert!(close(t_cdf(2.015, 5.0), 0.95, 1e-4));
    }

    #[test]
    fn summary_of_a_known_sample() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample sd √(32/7).
        let s = summary(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!(close(s.mean, 5.0, 1e-12));
        let sd = (32.0f64 / 7.0).sqrt();
        assert!(close(s.sd.unwrap(), sd, 1e-12));
        let half = 2.364_624 * sd / 8f64.sqrt();
        assert!(close(s.lower.unwrap(), 5.0 - half, 1e-5));
        assert!(close(s.upper.unwrap(), 5.0 + half, 1e-5));
        assert!(summary(&[]).is_none());
        assert_eq!(summary(&[3.0]).unwrap().sd, None);
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        // before: 1..=5 (mean 3, var 2.5); after: 4, 6, 8, 10 (mean 7, var 20/3).
        let a = summary(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let b = summary(&[4.0, 6.0, 8.0, 10.0]).unwrap();
        let d = welch(&a, &b).unwrap();
        let (va, vb) = (2.5 / 5.0, (20.0 / 3.0) / 4.0);
        let df = (va + vb) * (va + vb) / (va * va / 4.0 + vb * vb / 3.0);
        assert!(close(d.estimate, 4.0, 1e-12));
        assert!(close(d.df, df, 1e-9));
        let half = t_quantile(0.975, df) * (va + vb).sqrt();
        assert!(close(d.lower, 4.0 - half, 1e-9) && close(d.upper, 4.0 + half, 1e-9));
        assert!(d.p_value > 0.0 && d.p_value < 0.05);
        let constant = summary(&[1.0, 1.0]).unwrap();
        assert!(welch(&constant, &constant).is_none());
    }
}
