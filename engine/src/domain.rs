//! The domain: products, locations, orders, and the time and geography they are measured in.

use std::fmt;

/// Dense index of a location in a [`crate::Catalog`]; stable for the catalog's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationId(pub u32);

/// Dense index of a product (SKU) in a [`crate::Catalog`]; stable for the catalog's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SkuId(pub u32);

impl LocationId {
    /// The index as a `usize`, for slices indexed by location.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl SkuId {
    /// The index as a `usize`, for slices indexed by SKU.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A point in time, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an RFC 3339 timestamp like `2026-11-26T10:00:00Z`: {reason}")]
pub struct TimestampError {
    /// The text that was given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

const SECONDS_PER_DAY: i64 = 86_400;

impl Timestamp {
    /// Reads an RFC 3339 timestamp (`2026-11-26T10:00:00Z`, `2026-11-26T10:00:00.250+01:00`).
    /// Fractional seconds are truncated: routing works to the second.
    pub fn parse_rfc3339(input: &str) -> Result<Timestamp, TimestampError> {
        let fail = |reason| TimestampError { input: input.to_owned(), reason };
        let bytes = input.as_bytes();
        if bytes.len() < 20 || !input.is_ascii() {
            return Err(fail("too short"));
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let text = &input[range];
            if text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse::<i64>().map_err(|_| fail("bad number"))
            } else {
                Err(fail("expected digits"))
            }
        };
        if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
            return Err(fail("expected `YYYY-MM-DDTHH:MM:SS`"));
        }
        if bytes[13] != b':' || bytes[16] != b':' {
            return Err(fail("expected `HH:MM:SS`"));
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(fail("no such date"));
        }
        // A leap second (`:60`) is accepted and counted as the next second.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(fail("no such time of day"));
        }
        let mut rest = &input[19..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return Err(fail("expected digits after `.`"));
            }
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return Err(fail("expected `Z` or an offset like `+01:00`")),
                };
                let digits = |text: &str| {
                    if text.bytes().all(|b| b.is_ascii_digit()) { text.parse::<i64>().ok() } else { None }
                };
                let hours = digits(&rest[1..3]).ok_or_else(|| fail("bad offset"))?;
                let minutes = digits(&rest[4..6]).ok_or_else(|| fail("bad offset"))?;
                if hours > 23 || minutes > 59 {
                    return Err(fail("bad offset"));
                }
                sign * (hours * 3600 + minutes * 60)
            }
            _ => return Err(fail("expected `Z` or an offset like `+01:00`")),
        };
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_seconds))
    }

    /// The UTC calendar day this instant falls on, as days since 1970-01-01.
    pub fn utc_day(self) -> i64 {
        self.0.div_euclid(SECONDS_PER_DAY)
    }

    /// The same UTC time of day `months` calendar months later; a day past the end of the
    /// target month is clamped to its last day (Jan 31 + 1 month = Feb 28 or 29).
    pub fn add_months(self, months: i64) -> Timestamp {
        let (year, month, day) = civil_from_days(self.utc_day());
        let total = year * 12 + (month - 1) + months;
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let day = day.min(days_in_month(year, month));
        Timestamp(days_from_civil(year, month, day) * SECONDS_PER_DAY + self.0.rem_euclid(SECONDS_PER_DAY))
    }
}

impl Timestamp {
    /// The UTC calendar date: `(year, month 1-12, day 1-31)`.
    pub fn civil_date(self) -> (i64, i64, i64) {
        civil_from_days(self.utc_day())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.utc_day();
        let seconds = self.0.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds % 3600 / 60, seconds % 60)
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's `days_from_civil`: proleptic Gregorian date to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A position on Earth in decimal degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoPoint {
    /// Latitude, -90..=90.
    pub lat: f64,
    /// Longitude, -180..=180.
    pub lon: f64,
}

/// Mean Earth radius in km (IUGG), the radius FORMAT.md fixes for distances.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

impl GeoPoint {
    /// Whether both coordinates are finite and in range.
    pub fn is_valid(self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    /// Great-circle (haversine) distance in km.
    pub fn distance_km(self, other: GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let half_dlat = (lat2 - lat1) / 2.0;
        let half_dlon = (other.lon - self.lon).to_radians() / 2.0;
        let a = half_dlat.sin().powi(2) + lat1.cos() * lat2.cos() * half_dlon.sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

/// What kind of site a location is; policies often treat them differently (store-first, DC-only).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocationKind {
    /// A distribution centre.
    DistributionCentre,
    /// A retail store that ships from its back room.
    Store,
    /// A drop-ship supplier.
    Supplier,
    /// Any other kind, by the name the merchant uses.
    Other(String),
}

impl LocationKind {
    /// Reads the wire name (`dc`, `store`, `supplier`, anything else).
    pub fn from_name(name: &str) -> LocationKind {
        match name {
            "dc" => LocationKind::DistributionCentre,
            "store" => LocationKind::Store,
            "supplier" => LocationKind::Supplier,
            other => LocationKind::Other(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn name(&self) -> &str {
        match self {
            LocationKind::DistributionCentre => "dc",
            LocationKind::Store => "store",
            LocationKind::Supplier => "supplier",
            LocationKind::Other(name) => name,
        }
    }
}

/// A half-open window `[from, to)` during which a location ships nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Downtime {
    /// First second of the window.
    pub from: Timestamp,
    /// First second after the window.
    pub to: Timestamp,
}

impl Downtime {
    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.to
    }
}

/// A place that holds stock and ships parcels: a DC, a store, a supplier.
#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    /// The merchant's identifier, unique in a catalog.
    pub id: String,
    /// DC, store, supplier.
    pub kind: LocationKind,
    /// Where parcels leave from; distances and zones are measured from here.
    pub position: GeoPoint,
    /// Cost of packing one parcel here, added to every shipment from this location.
    pub handling_per_shipment: f64,
    /// Cost of picking one unit here.
    pub handling_per_unit: f64,
    /// Most shipments this location can send per day; `None` is unlimited.
    pub capacity_shipments_per_day: Option<u32>,
    /// Planned windows in which the location ships nothing.
    pub downtime: Vec<Downtime>,
    /// What the site is equipped for (`hazmat`, `cold_chain`, ...).
    pub capabilities: Vec<String>,
    /// Merchant preference used to break cost ties: higher goes first.
    pub priority: i32,
    /// Offset of the location's local time from UTC, in minutes: its day (for daily
    /// capacity) starts at local midnight. The service keeps it current for the location's
    /// time zone (daylight saving included).
    pub utc_offset_minutes: i32,
    /// How it turns orders into parcels: its order cut-off, processing days and business
    /// calendar (delivery promises; the default works every day without cut-off).
    pub fulfilment: crate::calendar::Fulfilment,
}

impl Location {
    /// The location's local calendar day at `at`, as days since 1970-01-01.
    pub fn local_day(&self, at: Timestamp) -> i64 {
        Timestamp(at.0 + i64::from(self.utc_offset_minutes) * 60).utc_day()
    }

    /// Whether the location is in a downtime window at `at`.
    pub fn is_down_at(&self, at: Timestamp) -> bool {
        self.downtime.iter().any(|window| window.contains(at))
    }

    /// Whether the location has the capability `name`.
    pub fn can(&self, name: &str) -> bool {
        self.capabilities.iter().any(|capability| capability == name)
    }
}

/// A sellable item (SKU).
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    /// The merchant's SKU, unique in a catalog.
    pub sku: String,
    /// The product group that selects which policy routes it.
    pub group: String,
    /// Shipping weight of one unit.
    pub weight_kg: f64,
    /// Handling tags (`hazmat`, `cold_chain`, `fragile`, ...).
    pub tags: Vec<String>,
}

impl Product {
    /// Whether the product carries the tag `name`.
    pub fn has_tag(&self, name: &str) -> bool {
        self.tags.iter().any(|tag| tag == name)
    }
}

/// Where an order goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Address {
    /// The delivery point; distances are measured to it.
    pub position: GeoPoint,
    /// Postal code, for policies that work by region.
    pub postal_code: String,
    /// ISO 3166 country code.
    pub country: String,
}

/// One line of an order: a quantity of one SKU.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderLine {
    /// The line's identifier, unique within its order.
    pub id: String,
    /// What is ordered.
    pub sku: SkuId,
    /// How many units; at least 1.
    pub qty: u32,
    /// Set on the components of a kit line ([`crate::expand_kits`]): they ship whole or not
    /// at all, and together unless the kit may split.
    pub kit: Option<crate::kits::KitPart>,
}

/// A customer order to route.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// The merchant's order id; reservations are idempotent per id.
    pub id: String,
    /// When the order was placed; downtime and daily capacity are judged at this instant.
    pub placed_at: Timestamp,
    /// Sales channel (`web`, `app`, `call_center`, `b2b`, ...).
    pub channel: String,
    /// Delivery address.
    pub ship_to: Address,
    /// What is ordered.
    pub lines: Vec<OrderLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_added_by_the_calendar() {
        let at = |text: &str| Timestamp::parse_rfc3339(text).unwrap();
        assert_eq!(at("2026-01-31T08:30:00Z").add_months(1), at("2026-02-28T08:30:00Z"));
        assert_eq!(at("2028-01-31T08:30:00Z").add_months(1), at("2028-02-29T08:30:00Z"));
        assert_eq!(at("2026-11-26T00:00:00Z").add_months(2), at("2027-01-26T00:00:00Z"));
        assert_eq!(at("2026-03-15T12:00:00Z").add_months(-3), at("2025-12-15T12:00:00Z"));
    }

    #[test]
    fn timestamps_round_trip_through_text() {
        for text in ["1970-01-01T00:00:00Z", "2026-11-26T10:00:00Z", "2024-02-29T23:59:59Z"] {
            let at = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(at.to_string(), text);
        }
        assert_eq!(Timestamp::parse_rfc3339("2026-11-26T00:00:00Z").unwrap().0, 1_795_651_200);
    }

    #[test]
    fn offsets_and_fractions_are_applied() {
        let utc = Timestamp::parse_rfc3339("2026-11-26T10:00:00Z").unwrap();
        assert_eq!(Timestamp::parse_rfc3339("2026-11-26T11:00:00.75+01:00").unwrap(), utc);
        assert_eq!(Timestamp::parse_rfc3339("2026-11-26T05:00:00-05:00").unwrap(), utc);
    }

    #[test]
    fn malformed_timestamps_are_refused() {
        for text in [
            "",
            "2026-11-26",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T10:00:00",
            "2026-11-26T10:00:00+1:00",
            "2026-11-26T10:00:00.Z",
            "2026-11-26T10:00:00+-1:00",
            "2026-11-26T10:00:00-+1:00",
            "２026-11-26T10:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        let new_york = GeoPoint { lat: 40.7128, lon: -74.0060 };
        let los_angeles = GeoPoint { lat: 34.0522, lon: -118.2437 };
        let km = new_york.distance_km(los_angeles);
        assert!((km - 3935.7).abs() < 1.0, "{km}");
        assert_eq!(new_york.distance_km(new_york), 0.0);
    }
}
