//! Postal-code geography: where a US ZIP code is (its centroid, city and state), from a table
//! embedded in the binary (`host/data/us-postal-codes.tsv`, made by
//! `scripts/make-postal-codes` from the `zipcodes` package, GeoNames data), so an order or a
//! checkout may give a postal code instead of coordinates, offline.

use std::sync::LazyLock;

/// Where a postal code is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    /// The five-digit ZIP code.
    pub postal_code: &'static str,
    /// Latitude of its centroid, degrees.
    pub lat: f64,
    /// Longitude of its centroid, degrees.
    pub lon: f64,
    /// Its city.
    pub city: &'static str,
    /// Its state (two letters).
    pub state: &'static str,
}

/// Why a postal code was not found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    /// Only US postal codes are known.
    #[error("country `{0}`: only US postal codes are known; give `lat` and `lon`")]
    Country(String),
    /// Not five digits (optionally followed by `-` and four).
    #[error("`{0}` is not a US ZIP code: five digits, optionally followed by `-` and four")]
    Malformed(String),
    /// Five digits, but no such ZIP code (or one without a location).
    #[error("ZIP code `{0}` is not known: give `lat` and `lon`")]
    Unknown(String),
}

static TABLE: &str = include_str!("../data/us-postal-codes.tsv");

// Sorted by code (the file is), so a lookup is a binary search.
static PLACES: LazyLock<Vec<Place>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let postal_code = fields.next()?;
            let lat = fields.next()?.parse().ok()?;
            let lon = fields.next()?.parse().ok()?;
            Some(Place { postal_code, lat, lon, city: fields.next()?, state: fields.next()? })
        })
        .collect()
});

/// Where `postal_code` of `country` is. The country is `US` (any case; empty is taken as the
/// US); the code five digits, or ZIP+4 (`19103-1234`), surrounding spaces ignored.
pub fn locate(country: &str, postal_code: &str) -> Result<Place, GeoError> {
    let country = country.trim();
    if !(country.is_empty() || country.eq_ignore_ascii_case("US") || country.eq_ignore_ascii_case("USA")) {
        return Err(GeoError::Country(switchyard_engine::clean_text(country, 40)));
    }
    let code = postal_code.trim();
    let five = match code.split_once('-') {
        Some((five, four)) if four.len() == 4 && four.bytes().all(|b| b.is_ascii_digit()) => five,
        Some(_) => "",
        None => code,
    };
    if five.len() != 5 || !five.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GeoError::Malformed(switchyard_engine::clean_text(code, 40)));
    }
    let places = &*PLACES;
    places
        .binary_search_by(|place| place.postal_code.cmp(five))
        .map(|index| places[index])
        .map_err(|_| GeoError::Unknown(five.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_code_is_found_with_its_city_and_state() {
        let place = locate("US", "19103").unwrap();
        assert_eq!((place.city, place.state), ("Philadelphia", "PA"));
        assert!((place.lat - 39.95).abs() < 0.05 && (place.lon + 75.17).abs() < 0.05, "{place:?}");
        assert_eq!(locate("us", " 19103-2799 ").unwrap(), place);
        assert_eq!(locate("", "19103").unwrap(), place);
        assert!(PLACES.len() > 40_000);
        assert!(PLACES.windows(2).all(|w| w[0].postal_code < w[1].postal_code), "sorted, each code once");
    }

    #[test]
    fn what_is_not_a_known_zip_code_says_why() {
        assert_eq!(locate("US", "00000"), Err(GeoError::Unknown("00000".into())));
        assert_eq!(locate("US", "1910"), Err(GeoError::Malformed("1910".into())));
        assert_eq!(locate("US", "19103-12"), Err(GeoError::Malformed("19103-12".into())));
        assert_eq!(locate("US", "١٩١٠٣"), Err(GeoError::Malformed("١٩١٠٣".into())));
        assert_eq!(locate("DE", "10115"), Err(GeoError::Country("DE".into())));
    }
}
