//! Exact rational arithmetic for concentrations and indices.
//!
//! The standards round IAQI *up* and concentrations half-to-even; both are decided at exact boundaries
//! (PM2.5 4.9 → IAQI exactly 7, which f64 computes as 7.000000000000001). Every value that can reach such a
//! boundary is therefore kept as a reduced fraction of two `i128`, never as a float.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Div, Mul, Sub};

/// A rational number `num / den`, always reduced, with `den > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Exact {
    num: i128,
    den: i128,
}

/// Why a decimal text could not be read as a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecimalParseError {
    Empty,
    NotADecimal,
    TooManyDigits,
}

impl fmt::Display for DecimalParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty value",
            Self::NotADecimal => {
                "not a decimal number (expected digits with an optional sign and decimal point)"
            }
            Self::TooManyDigits => {
                "too many digits (at most 18 digits and 9 decimal places are accepted)"
            }
        })
    }
}

impl std::error::Error for DecimalParseError {}

/// Limits of `Exact::parse_decimal`: far beyond any measurement, and safe for exact arithmetic.
const MAX_DIGITS: usize = 18;
const MAX_DECIMALS: usize = 9;

/// Greatest common divisor of |a| and |b|. Binary GCD on u64 when both fit (the usual case: i128 division
/// is a slow library call), Euclid on i128 otherwise.
fn gcd(a: i128, b: i128) -> i128 {
    let (a, b) = (a.unsigned_abs(), b.unsigned_abs());
    if let (Ok(mut x), Ok(mut y)) = (u64::try_from(a), u64::try_from(b)) {
        if x == 0 || y == 0 {
            return (x | y) as i128;
        }
        let shift = (x | y).trailing_zeros();
        x >>= x.trailing_zeros();
        loop {
            y >>= y.trailing_zeros();
            if x > y {
                std::mem::swap(&mut x, &mut y);
            }
            y -= x;
            if y == 0 {
                return (x << shift) as i128;
            }
        }
    }
    let (mut x, mut y) = (a, b);
    while y != 0 {
        let t = x % y;
        x = y;
        y = t;
    }
    x as i128
}

/// `a.div_euclid(b)` for b > 0, on i64 when both fit.
fn floor_div(a: i128, b: i128) -> i128 {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(x), Ok(y)) => i128::from(x.div_euclid(y)),
        _ => a.div_euclid(b),
    }
}

impl Exact {
    pub const ZERO: Exact = Exact { num: 0, den: 1 };
    pub const ONE: Exact = Exact { num: 1, den: 1 };

    /// `num / den`, reduced. Panics only on a zero denominator, which is a programming error here.
    pub fn new(num: i128, den: i128) -> Self {
        assert!(den != 0, "Exact::new with a zero denominator");
        if den == 1 {
            return Exact { num, den };
        }
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den).max(1);
        Exact {
            num: sign * num / g,
            den: sign * den / g,
        }
    }

    pub const fn from_int(value: i64) -> Self {
        Exact {
            num: value as i128,
            den: 1,
        }
    }

    /// `value / 10^scale`, e.g. a fixed-point reading.
    pub fn from_scaled(value: i64, scale: u32) -> Self {
        Self::new(value as i128, 10i128.pow(scale))
    }

    pub const fn numerator(self) -> i128 {
        self.num
    }

    pub const fn denominator(self) -> i128 {
        self.den
    }

    pub const fn is_negative(self) -> bool {
        self.num < 0
    }

    /// The exact value of a stored double as its shortest decimal text — what a device or a form sent (11.1 →
    /// 111/10, not the binary fraction nearest to it). `None` for NaN and infinities.
    pub fn from_f64_shortest(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        // `Display` of an f64 never uses an exponent, so the text is a plain decimal.
        Self::parse_decimal(&format!("{value}")).ok()
    }

    /// Reads a plain decimal ("12", "-0.35", "4.", ".5"); no exponent, no thousands separators.
    pub fn parse_decimal(text: &str) -> Result<Self, DecimalParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DecimalParseError::Empty);
        }
        let (negative, body) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(DecimalParseError::NotADecimal);
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(DecimalParseError::NotADecimal);
        }
        let digits = int_part.trim_start_matches('0').len() + frac_part.len();
        // Bounded so that products of two values (cross-multiplied comparisons) stay far inside i128.
        if digits > MAX_DIGITS || frac_part.len() > MAX_DECIMALS {
            return Err(DecimalParseError::TooManyDigits);
        }
        let mut num: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            num = num * 10 + i128::from(b - b'0');
        }
        let value = Exact::new(num, 10i128.pow(frac_part.len() as u32));
        Ok(if negative { -value } else { value })
    }

    /// Largest integer ≤ self.
    pub fn floor(self) -> i128 {
        floor_div(self.num, self.den)
    }

    /// Smallest integer ≥ self: the "全部进位取整数" of HJ 633.
    pub fn ceil(self) -> i128 {
        -floor_div(-self.num, self.den)
    }

    /// Rounds to `decimals` places, half to even (GB/T 8170 "四舍六入五成双").
    pub fn round_half_even(self, decimals: u32) -> Exact {
        Self::round_fraction_half_even(self.num, self.den, decimals)
    }

    /// `num / den` (den > 0) rounded half to even to `decimals` places, without reducing the fraction first.
    pub fn round_fraction_half_even(num: i128, den: i128, decimals: u32) -> Exact {
        debug_assert!(den > 0);
        let scale = 10i128.pow(decimals);
        // num·scale/den = quotient + remainder/den with 0 ≤ remainder < den.
        let scaled = num * scale;
        let quotient = floor_div(scaled, den);
        let twice_remainder = 2 * (scaled - quotient * den);
        let rounded = match twice_remainder.cmp(&den) {
            Ordering::Less => quotient,
            Ordering::Greater => quotient + 1,
            Ordering::Equal if quotient & 1 == 0 => quotient,
            Ordering::Equal => quotient + 1,
        };
        Exact::new(rounded, scale)
    }

    /// Nearest f64, for display and for formulas that are defined with logarithms.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Decimal text with exactly `decimals` places, after rounding half to even.
    pub fn to_decimal_string(self, decimals: u32) -> String {
        let rounded = self.round_half_even(decimals);
        let scale = 10i128.pow(decimals);
        let scaled = rounded.num * (scale / rounded.den);
        let sign = if scaled < 0 { "-" } else { "" };
        let magnitude = scaled.abs();
        if decimals == 0 {
            format!("{sign}{magnitude}")
        } else {
            let int = magnitude / scale;
            let frac = magnitude % scale;
            format!("{sign}{int}.{frac:0width$}", width = decimals as usize)
        }
    }

    pub fn min(self, other: Exact) -> Exact {
        if other < self { other } else { self }
    }

    pub fn max(self, other: Exact) -> Exact {
        if other > self { other } else { self }
    }
}

impl Default for Exact {
    fn default() -> Self {
        Exact::ZERO
    }
}

impl fmt::Display for Exact {
    /// Shortest exact decimal when the denominator is a power of ten; otherwise 6 places, rounded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut den = self.den;
        let mut places = 0;
        while den % 10 == 0 {
            den /= 10;
            places += 1;
        }
        while den % 2 == 0 || den % 5 == 0 {
            den /= if den % 2 == 0 { 2 } else { 5 };
            places += 1;
        }
        if den == 1 {
            f.write_str(&self.to_decimal_string(places))
        } else {
            f.write_str(&self.to_decimal_string(6))
        }
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exact {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.num * other.den).cmp(&(other.num * self.den))
    }
}

impl Add for Exact {
    type Output = Exact;
    fn add(self, rhs: Exact) -> Exact {
        if self.den == rhs.den {
            return Exact::new(self.num + rhs.num, self.den);
        }
        Exact::new(self.num * rhs.den + rhs.num * self.den, self.den * rhs.den)
    }
}

impl Sub for Exact {
    type Output = Exact;
    fn sub(self, rhs: Exact) -> Exact {
        self + (-rhs)
    }
}

impl Mul for Exact {
    type Output = Exact;
    fn mul(self, rhs: Exact) -> Exact {
        // Cross-reduce first so that products of already-reduced fractions stay small.
        let g1 = gcd(self.num, rhs.den).max(1);
        let g2 = gcd(rhs.num, self.den).max(1);
        Exact::new(
            exact_div(self.num, g1) * exact_div(rhs.num, g2),
            exact_div(self.den, g2) * exact_div(rhs.den, g1),
        )
    }
}

/// `a / b` (truncating) on i64 when both fit (i128 division is a slow library call).
pub(crate) fn exact_div(a: i128, b: i128) -> i128 {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(x), Ok(y)) => i128::from(x / y),
        _ => a / b,
    }
}

impl Div for Exact {
    type Output = Exact;
    fn div(self, rhs: Exact) -> Exact {
        assert!(rhs.num != 0, "Exact division by zero");
        self * Exact::new(rhs.den, rhs.num)
    }
}

impl std::ops::Neg for Exact {
    type Output = Exact;
    fn neg(self) -> Exact {
        Exact {
            num: -self.num,
            den: self.den,
        }
    }
}

impl std::iter::Sum for Exact {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Exact {
        iter.fold(Exact::ZERO, |a, b| a + b)
    }
}

impl serde::Serialize for Exact {
    /// Serialised as a JSON number (the nearest f64); exact text is available through `Display`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_doubles_read_back_as_sent() {
        assert_eq!(Exact::from_f64_shortest(0.1), Some(Exact::new(1, 10)));
        assert_eq!(Exact::from_f64_shortest(1.25), Some(Exact::new(5, 4)));
        assert_eq!(Exact::from_f64_shortest(-0.35), Some(Exact::new(-7, 20)));
        assert_eq!(
            Exact::from_f64_shortest(1.0e15),
            Some(Exact::from_int(1_000_000_000_000_000))
        );
        assert_eq!(Exact::from_f64_shortest(f64::NAN), None);
        assert_eq!(Exact::from_f64_shortest(f64::INFINITY), None);
    }

    fn d(text: &str) -> Exact {
        Exact::parse_decimal(text).unwrap()
    }

    #[test]
    fn parses_plain_decimals_exactly() {
        assert_eq!(d("4.9"), Exact::new(49, 10));
        assert_eq!(d("-0.35"), Exact::new(-7, 20));
        assert_eq!(d("12"), Exact::from_int(12));
        assert_eq!(d(".5"), Exact::new(1, 2));
        assert_eq!(d("3."), Exact::from_int(3));
        assert_eq!(d("+007.250"), Exact::new(29, 4));
    }

    #[test]
    fn rejects_non_decimals() {
        for bad in [
            "", " ", "abc", "1e3", "1.2.3", "-", ".", "NA", "1,5", "0x10",
        ] {
            assert!(
                Exact::parse_decimal(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(
            Exact::parse_decimal("1234567890123456789012345678901"),
            Err(DecimalParseError::TooManyDigits)
        );
    }

    #[test]
    fn ceil_and_floor_are_exact() {
        assert_eq!(Exact::new(7, 1).ceil(), 7);
        assert_eq!(Exact::new(71, 10).ceil(), 8);
        assert_eq!(Exact::new(-71, 10).ceil(), -7);
        assert_eq!(Exact::new(-71, 10).floor(), -8);
        assert_eq!(Exact::new(49, 10).floor(), 4);
    }

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(d("2.5").round_half_even(0), d("2"));
        assert_eq!(d("3.5").round_half_even(0), d("4"));
        assert_eq!(d("2.51").round_half_even(0), d("3"));
        assert_eq!(d("0.25").round_half_even(1), d("0.2"));
        assert_eq!(d("0.35").round_half_even(1), d("0.4"));
        assert_eq!(d("0.351").round_half_even(1), d("0.4"));
        assert_eq!(d("-2.5").round_half_even(0), d("-2"));
        assert_eq!(d("-3.5").round_half_even(0), d("-4"));
        assert_eq!(Exact::new(1, 3).round_half_even(2), d("0.33"));
    }

    #[test]
    fn formats_with_fixed_places() {
        assert_eq!(d("0.125").to_decimal_string(2), "0.12");
        assert_eq!(d("1.5").to_decimal_string(0), "2");
        assert_eq!(d("-0.05").to_decimal_string(1), "0.0");
        assert_eq!(d("3").to_decimal_string(2), "3.00");
        assert_eq!(d("0.0625").to_string(), "0.0625");
        assert_eq!(Exact::new(1, 3).to_string(), "0.333333");
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(d("0.1") + d("0.2"), d("0.3"));
        assert_eq!(d("0.3") - d("0.1"), d("0.2"));
        assert_eq!(Exact::new(1, 3) * Exact::from_int(3), Exact::ONE);
        assert_eq!(d("1") / d("3") + d("2") / d("3"), Exact::ONE);
        assert!(d("0.1") < d("0.11"));
        assert_eq!([d("1"), d("2.5")].into_iter().sum::<Exact>(), d("3.5"));
    }
}
