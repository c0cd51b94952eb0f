//! Field checks shared by every area. Each error names the field, so the API's problem body and the form can
//! point at it.

use crate::error::AppError;

/// A required text field, trimmed, at most `max_chars` characters.
pub fn required(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::validation(field, "is required"));
    }
    if value.chars().count() > max_chars {
        return Err(AppError::validation(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(value.to_string())
}

/// An optional text field: empty becomes `None`.
pub fn optional(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => required(field, v, max_chars).map(Some),
    }
}

/// Longitude and latitude inside China's extent (WGS-84 or GCJ-02 degrees), both or neither.
pub fn coordinates(lon: Option<f64>, lat: Option<f64>) -> Result<(), AppError> {
    match (lon, lat) {
        (None, None) => Ok(()),
        (Some(lon), Some(lat)) => {
            if !(73.0..=136.0).contains(&lon) || !lon.is_finite() {
                return Err(AppError::validation(
                    "lon",
                    "must be a longitude between 73 and 136",
                ));
            }
            if !(3.0..=54.0).contains(&lat) || !lat.is_finite() {
                return Err(AppError::validation(
                    "lat",
                    "must be a latitude between 3 and 54",
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(AppError::validation("lat", "is required when lon is given")),
        (None, Some(_)) => Err(AppError::validation("lon", "is required when lat is given")),
    }
}

/// A value from a closed list.
pub fn one_of<'a>(field: &str, value: &'a str, allowed: &[&str]) -> Result<&'a str, AppError> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(AppError::validation(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

/// An optional number typed into a form: empty is `None`, anything else must parse.
pub fn form_f64(field: &str, value: Option<&str>) -> Result<Option<f64>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| AppError::validation(field, format!("{v:?} is not a number"))),
    }
}

/// An optional id typed into a form.
pub fn form_i64(field: &str, value: Option<&str>) -> Result<Option<i64>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::validation(field, format!("{v:?} is not a whole number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_trims_and_bounds() {
        assert_eq!(required("name", "  东丽 ", 10).unwrap(), "东丽");
        assert!(required("name", "   ", 10).is_err());
        let err = required("name", "一二三四五六七八九十十", 10).unwrap_err();
        assert!(err.to_string().starts_with("name:"));
    }

    #[test]
    fn coordinates_must_pair_and_be_in_china() {
        assert!(coordinates(Some(117.3), Some(39.1)).is_ok());
        assert!(coordinates(None, None).is_ok());
        assert!(coordinates(Some(117.3), None).is_err());
        assert!(coordinates(Some(0.0), Some(39.1)).is_err());
        assert!(coordinates(Some(117.3), Some(f64::NAN)).is_err());
    }

    #[test]
    fn form_numbers() {
        assert_eq!(form_f64("x", Some(" 1.5 ")).unwrap(), Some(1.5));
        assert_eq!(form_f64("x", Some("")).unwrap(), None);
        assert!(form_f64("x", Some("abc")).is_err());
        assert!(form_f64("x", Some("inf")).is_err());
        assert_eq!(form_i64("x", Some("7")).unwrap(), Some(7));
        assert!(form_i64("x", Some("7.5")).is_err());
    }
}
