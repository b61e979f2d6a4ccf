//! Dates for delivery promises: business calendars (weekly closed days and holidays), a
//! location's order cut-off and processing time, a carrier service's pickup and delivery days,
//! and the ship and delivery dates they give an order placed at an instant, with the reasons
//! (why this date: the cut-off had passed, Saturday has no pickup, three transit days).
//!
//! Days are civil dates counted as days since 1970-01-01 (a Thursday). A location's day is its
//! local day: the instant plus its UTC offset at that instant (the caller gives the offset in
//! force then, daylight saving included). Once an order is past its cut-off, everything is
//! whole days: a shipment leaves on a day, and arrives a number of carrier days later.

use std::fmt;

/// Monday first: `weekday(day)` is 0 for Monday ... 6 for Sunday.
pub fn weekday(day: i64) -> u8 {
    // 1970-01-01 was a Thursday (3).
    (day + 3).rem_euclid(7) as u8
}

const WEEKDAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A set of weekdays (bit 0 Monday ... bit 6 Sunday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Weekdays(pub u8);

impl Weekdays {
    /// Monday to Friday.
    pub const WORKDAYS: Weekdays = Weekdays(0b001_1111);
    /// Monday to Saturday.
    pub const MONDAY_TO_SATURDAY: Weekdays = Weekdays(0b011_1111);
    /// Every day.
    pub const EVERY_DAY: Weekdays = Weekdays(0b111_1111);

    /// Whether `day` falls on one of these weekdays.
    pub fn contains(self, day: i64) -> bool {
        self.0 & (1 << weekday(day)) != 0
    }

    /// Whether no day is in the set.
    pub fn is_empty(self) -> bool {
        self.0 & 0b111_1111 == 0
    }

    /// Reads `mon-fri`, `mon,wed,fri`, `sat-sun`, `mon-sun` (three-letter English names, any
    /// case; a range wraps past Sunday: `fri-mon`). An empty text is no day.
    pub fn parse(text: &str) -> Result<Weekdays, String> {
        let day = |name: &str| {
            WEEKDAY_NAMES.iter().position(|n| n.eq_ignore_ascii_case(name.trim())).ok_or_else(|| {
                format!("`{}` is not a weekday: mon, tue, wed, thu, fri, sat, sun", crate::clean_text(name.trim(), 20))
            })
        };
        let mut set = 0u8;
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            match part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day(from)?, day(to)?);
                    let mut d = from;
                    loop {
                        set |= 1 << d;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => set |= 1 << day(part)?,
            }
        }
        Ok(Weekdays(set))
    }
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = (0..7).filter(|d| self.0 & (1 << d) != 0).map(|d| WEEKDAY_NAMES[d]).collect();
        f.write_str(&names.join(","))
    }
}

/// The days something works: some weekdays, less holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// The weekdays it works.
    pub open: Weekdays,
    /// Days it does not, whatever the weekday (sorted, each once).
    holidays: Vec<i64>,
}

/// Why a day was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// Its weekday is not worked.
    Weekday,
    /// A holiday.
    Holiday,
}

impl Calendar {
    /// Works on `open`, except `holidays` (in any order; repeats are one).
    pub fn new(open: Weekdays, mut holidays: Vec<i64>) -> Calendar {
        holidays.sort_unstable();
        holidays.dedup();
        Calendar { open, holidays }
    }

    /// Every day, no holidays.
    pub fn always() -> Calendar {
        Calendar::new(Weekdays::EVERY_DAY, Vec::new())
    }

    /// The holidays, sorted.
    pub fn holidays(&self) -> &[i64] {
        &self.holidays
    }

    /// Why `day` is not worked, or `None` when it is.
    pub fn closed(&self, day: i64) -> Option<Closed> {
        if !self.open.contains(day) {
            Some(Closed::Weekday)
        } else if self.holidays.binary_search(&day).is_ok() {
            Some(Closed::Holiday)
        } else {
            None
        }
    }

    /// Whether `day` is worked.
    pub fn is_open(&self, day: i64) -> bool {
        self.closed(day).is_none()
    }
}

/// How far ahead a date is searched: a calendar that works no day in this many days (no
/// weekday open, or a year of holidays) has no date.
pub const HORIZON_DAYS: i64 = 400;

/// How a location turns orders into parcels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fulfilment {
    /// Orders received before this local time (minutes after midnight) are processed that
    /// day; later ones from the next working day. 1440: no cut-off.
    pub cutoff_minutes: u16,
    /// Working days between the day processing starts and the day the parcel can be picked
    /// up: 0, it leaves the day processing starts.
    pub processing_days: u8,
    /// The days it works.
    pub calendar: Calendar,
}

impl Default for Fulfilment {
    /// No cut-off, same-day processing, every day.
    fn default() -> Fulfilment {
        Fulfilment { cutoff_minutes: 24 * 60, processing_days: 0, calendar: Calendar::always() }
    }
}

/// When a carrier service collects and delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierDays {
    /// The weekdays it collects parcels.
    pub pickup: Weekdays,
    /// The days parcels move and arrive: transit days are counted on these.
    pub delivery: Calendar,
}

/// One step of the reason for a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The order came in after the location's cut-off: processing starts the next day.
    CutoffPassed {
        /// The location's cut-off, minutes after local midnight.
        cutoff_minutes: u16,
        /// When the order came in, local minutes after midnight.
        at_minutes: u16,
    },
    /// The location does not work on `day`.
    LocationClosed {
        /// The day skipped.
        day: i64,
        /// Why.
        why: Closed,
    },
    /// Processing (pick and pack) took working days.
    Processing {
        /// How many.
        days: u8,
        /// The day the parcel is ready.
        ready: i64,
    },
    /// The carrier does not collect on `day`.
    NoPickup {
        /// The day skipped.
        day: i64,
    },
    /// Handed to the carrier.
    Shipped {
        /// The ship day.
        day: i64,
    },
    /// Carried for a number of carrier days.
    Transit {
        /// How many.
        days: u8,
        /// Days within the transit the carrier does not deliver (weekends, holidays).
        skipped: u16,
        /// The delivery day.
        delivered: i64,
    },
}

/// A ship date and a delivery date, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dates {
    /// The day the parcel leaves (the location's local day).
    pub ship_day: i64,
    /// The day it arrives.
    pub delivery_day: i64,
    /// How they came about, in order.
    pub steps: Vec<Step>,
}

/// Why there is no date.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoDate {
    /// The location works no day within the horizon.
    #[error("the location works no day within {HORIZON_DAYS} days")]
    LocationNeverOpen,
    /// The carrier collects on no day the location works, within the horizon.
    #[error("the carrier collects on no day the location works within {HORIZON_DAYS} days")]
    NoPickupDay,
    /// The carrier delivers on no day within the horizon.
    #[error("the carrier delivers on no day within {HORIZON_DAYS} days")]
    NoDeliveryDay,
}

/// The ship and delivery dates of a parcel from a location working as `fulfilment`, for an
/// order that comes in at `at` (seconds since the epoch; `utc_offset_minutes` is the
/// location's offset from UTC at that instant), sent by a carrier service collecting and
/// delivering on `carrier`'s days with `transit_days` carrier days in transit (0: delivered the
/// day it ships).
///
/// Processing starts on the local day the order comes in if before the cut-off, else the next
/// day, at the first working day from there; it takes `processing_days` working days more;
/// the parcel then leaves on the first day from there that the location works and the carrier
/// collects; it arrives on the `transit_days`-th carrier delivery day after that.
pub fn dates(
    fulfilment: &Fulfilment,
    carrier: &CarrierDays,
    transit_days: u8,
    at: i64,
    utc_offset_minutes: i32,
) -> Result<Dates, NoDate> {
    let mut steps = Vec::new();
    let (ship_day, delivery_day) =
        walk(fulfilment, carrier, transit_days, at, utc_offset_minutes, &mut |step| steps.push(step))?;
    Ok(Dates { ship_day, delivery_day, steps })
}

/// [`dates`] without the reasons: the ship and delivery days only (no allocation).
pub fn days(
    fulfilment: &Fulfilment,
    carrier: &CarrierDays,
    transit_days: u8,
    at: i64,
    utc_offset_minutes: i32,
) -> Result<(i64, i64), NoDate> {
    walk(fulfilment, carrier, transit_days, at, utc_offset_minutes, &mut |_| {})
}

// The walk of `dates`, telling `step` each reason as it goes.
fn walk(
    fulfilment: &Fulfilment,
    carrier: &CarrierDays,
    transit_days: u8,
    at: i64,
    utc_offset_minutes: i32,
    step: &mut dyn FnMut(Step),
) -> Result<(i64, i64), NoDate> {
    let local = at + i64::from(utc_offset_minutes) * 60;
    let mut day = local.div_euclid(86_400);
    let at_minutes = (local.rem_euclid(86_400) / 60) as u16;
    if at_minutes >= fulfilment.cutoff_minutes {
        step(Step::CutoffPassed { cutoff_minutes: fulfilment.cutoff_minutes, at_minutes });
        day += 1;
    }
    let limit = day + HORIZON_DAYS;
    let calendar = &fulfilment.calendar;
    // The first working day processing can start.
    while let Some(why) = calendar.closed(day) {
        step(Step::LocationClosed { day, why });
        day += 1;
        if day > limit {
            return Err(NoDate::LocationNeverOpen);
        }
    }
    if fulfilment.processing_days > 0 {
        let mut left = fulfilment.processing_days;
        while left > 0 {
            day += 1;
            if day > limit {
                return Err(NoDate::LocationNeverOpen);
            }
            if calendar.is_open(day) {
                left -= 1;
            }
        }
        step(Step::Processing { days: fulfilment.processing_days, ready: day });
    }
    // The first day from there both the location works and the carrier collects.
    while !(calendar.is_open(day) && carrier.pickup.contains(day)) {
        step(match calendar.closed(day) {
            Some(why) => Step::LocationClosed { day, why },
            None => Step::NoPickup { day },
        });
        day += 1;
        if day > limit {
            return Err(NoDate::NoPickupDay);
        }
    }
    let ship_day = day;
    step(Step::Shipped { day: ship_day });
    let (mut left, mut skipped) = (transit_days, 0u16);
    let limit = ship_day + HORIZON_DAYS;
    while left > 0 {
        day += 1;
        if day > limit {
            return Err(NoDate::NoDeliveryDay);
        }
        if carrier.delivery.is_open(day) {
            left -= 1;
        } else {
            skipped += 1;
        }
    }
    step(Step::Transit { days: transit_days, skipped, delivered: day });
    Ok((ship_day, day))
}

/// A day as `Thu 2026-12-03`.
pub fn day_text(day: i64) -> String {
    format!("{} {}", WEEKDAY_NAMES[usize::from(weekday(day))], date_text(day))
}

/// A day as `2026-12-03`.
pub fn date_text(day: i64) -> String {
    let (year, month, date) = crate::domain::Timestamp(day.saturating_mul(86_400)).civil_date();
    format!("{year:04}-{month:02}-{date:02}")
}

/// Reads a civil date `YYYY-MM-DD` (a real one: no 2026-02-30) as days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let shown = || crate::clean_text(text, 40);
    let at = crate::domain::Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z"))
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| format!("`{}` is not a date `YYYY-MM-DD`", shown()))?;
    let day = at.utc_day();
    // The timestamp reader rolls an impossible day over; a real date reads back the same.
    if date_text(day) != text {
        return Err(format!("`{}` is not a date of the calendar", shown()));
    }
    Ok(day)
}

/// Reads a local time of day `HH:MM` (00:00 to 23:59) as minutes after midnight.
pub fn parse_time_of_day(text: &str) -> Result<u16, String> {
    text.split_once(':')
        .filter(|(hours, minutes)| hours.len() == 2 && minutes.len() == 2)
        .and_then(|(hours, minutes)| Some((hours.parse::<u16>().ok()?, minutes.parse::<u16>().ok()?)))
        .filter(|(hours, minutes)| *hours < 24 && *minutes < 60)
        .map(|(hours, minutes)| hours * 60 + minutes)
        .ok_or_else(|| format!("`{}` is not a local time `HH:MM` (00:00 to 23:59)", crate::clean_text(text, 20)))
}

/// A location's terms as written: cut-off `HH:MM` (`None`: none), processing days, open
/// weekdays (`mon-fri`; `None`: every day), holidays (`YYYY-MM-DD`). An error names the field
/// (`cutoff`, `open_days`, `holidays[2]`) and what is wrong.
pub fn fulfilment_from_text(
    cutoff: Option<&str>,
    processing_days: u8,
    open_days: Option<&str>,
    holidays: &[String],
) -> Result<Fulfilment, (String, String)> {
    let cutoff_minutes = cutoff.map_or(Ok(24 * 60), parse_time_of_day).map_err(|e| ("cutoff".to_owned(), e))?;
    let open = match open_days {
        Some(text) => working_days(text).map_err(|e| ("open_days".to_owned(), e))?,
        None => Weekdays::EVERY_DAY,
    };
    let holidays = holiday_dates(holidays)?;
    Ok(Fulfilment { cutoff_minutes, processing_days, calendar: Calendar::new(open, holidays) })
}

/// Weekdays as written (`mon-fri`), at least one.
pub fn working_days(text: &str) -> Result<Weekdays, String> {
    let days = Weekdays::parse(text)?;
    if days.is_empty() {
        return Err("name at least one weekday (`mon-fri`)".to_owned());
    }
    Ok(days)
}

/// A carrier service as written: weekdays it collects and delivers (`mon-fri`), its holidays
/// (`YYYY-MM-DD`: it neither collects nor delivers), its bands and weight limit; checked. An
/// error names the field (`pickup_days`, `holidays[1]`, `bands[2].max_km`) and what is wrong.
pub fn service_from_text(
    id: &str,
    pickup_days: &str,
    delivery_days: &str,
    holidays: &[String],
    bands: Vec<ServiceBand>,
    max_weight_kg: Option<f64>,
) -> Result<CarrierService, (String, String)> {
    let days = |field: &str, text: &str| working_days(text).map_err(|e| (field.to_owned(), e));
    let pickup = days("pickup_days", pickup_days)?;
    let delivery = days("delivery_days", delivery_days)?;
    let holidays = holiday_dates(holidays)?;
    let service = CarrierService {
        id: id.to_owned(),
        days: CarrierDays { pickup, delivery: Calendar::new(delivery, holidays) },
        bands,
        max_weight_kg,
    };
    service.check().map_err(|message| {
        // `check` names the field first: `bands[1].max_km must ...`, `max_weight_kg must ...`.
        let field = message.split_whitespace().next().filter(|f| f.starts_with("bands") || *f == "max_weight_kg");
        (field.unwrap_or("bands").to_owned(), message.clone())
    })?;
    Ok(service)
}

/// Holidays as written (`YYYY-MM-DD`); an error names `holidays[index]`.
pub fn holiday_dates(holidays: &[String]) -> Result<Vec<i64>, (String, String)> {
    holidays
        .iter()
        .enumerate()
        .map(|(index, text)| parse_date(text).map_err(|e| (format!("holidays[{index}]"), e)))
        .collect()
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = |minutes: u16| format!("{:02}:{:02}", minutes / 60, minutes % 60);
        match self {
            Step::CutoffPassed { cutoff_minutes, at_minutes } => write!(
                f,
                "came in at {} local, after the {} cut-off: processed from the next day",
                clock(*at_minutes),
                clock(*cutoff_minutes)
            ),
            Step::LocationClosed { day, why: Closed::Weekday } => {
                write!(f, "{}: the location does not work that weekday", day_text(*day))
            }
            Step::LocationClosed { day, why: Closed::Holiday } => {
                write!(f, "{}: the location is closed (holiday)", day_text(*day))
            }
            Step::Processing { days, ready } => {
                write!(f, "{days} working day(s) to pick and pack: ready {}", day_text(*ready))
            }
            Step::NoPickup { day } => write!(f, "{}: no pickup", day_text(*day)),
            Step::Shipped { day } => write!(f, "ships {}", day_text(*day)),
            Step::Transit { days, skipped: 0, delivered } => {
                write!(f, "{days} transit day(s): delivered {}", day_text(*delivered))
            }
            Step::Transit { days, skipped, delivered } => write!(
                f,
                "{days} transit day(s), {skipped} day(s) without delivery between: delivered {}",
                day_text(*delivered)
            ),
        }
    }
}

/// One distance band of a carrier service: up to `max_km` (none: beyond every other band),
/// this many transit days at these prices.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceBand {
    /// The band's upper bound, km; `None` for the last band.
    pub max_km: Option<f64>,
    /// Carrier days in transit.
    pub transit_days: u8,
    /// Price of a parcel.
    pub per_shipment: f64,
    /// Price per kg in the parcel.
    pub per_kg: f64,
}

/// A carrier's service (ground, two-day, overnight): its days, its transit times and prices
/// by distance, and the heaviest parcel it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct CarrierService {
    /// The merchant's id for it (`ups-ground`).
    pub id: String,
    /// When it collects and delivers.
    pub days: CarrierDays,
    /// By distance, nearest first; the last has no upper bound.
    pub bands: Vec<ServiceBand>,
    /// The heaviest parcel it takes, kg; `None`: no limit.
    pub max_weight_kg: Option<f64>,
}

/// Why a service cannot carry a parcel.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoQuote {
    /// Heavier than the service takes.
    #[error("{weight_kg} kg is over the service's {max_kg} kg limit")]
    TooHeavy {
        /// The parcel's weight.
        weight_kg: f64,
        /// The service's limit.
        max_kg: f64,
    },
    /// No band covers the distance (the last band has an upper bound).
    #[error("{0:.1} km is beyond the service's last band")]
    TooFar(f64),
    /// No date (see [`NoDate`]).
    #[error(transparent)]
    NoDate(#[from] NoDate),
}

/// What a parcel from one location by one service costs and when it arrives.
#[derive(Clone, Debug, PartialEq)]
pub struct Quote {
    /// The ship and delivery dates, and why.
    pub dates: Dates,
    /// The service's price for the parcel.
    pub price: f64,
    /// Carrier days in transit (the band's).
    pub transit_days: u8,
}

impl CarrierService {
    /// The band covering `distance_km`.
    pub fn band(&self, distance_km: f64) -> Option<&ServiceBand> {
        self.bands.iter().find(|band| band.max_km.is_none_or(|max| distance_km <= max))
    }

    /// A parcel of `weight_kg` over `distance_km` from a location working as `fulfilment`,
    /// for an order that comes in at `at` (the location's UTC offset then:
    /// `utc_offset_minutes`).
    pub fn quote(
        &self,
        fulfilment: &Fulfilment,
        distance_km: f64,
        weight_kg: f64,
        at: i64,
        utc_offset_minutes: i32,
    ) -> Result<Quote, NoQuote> {
        if let Some(max_kg) = self.max_weight_kg
            && weight_kg > max_kg
        {
            return Err(NoQuote::TooHeavy { weight_kg, max_kg });
        }
        let band = self.band(distance_km).ok_or(NoQuote::TooFar(distance_km))?;
        let dates = dates(fulfilment, &self.days, band.transit_days, at, utc_offset_minutes)?;
        Ok(Quote { dates, price: band.per_shipment + band.per_kg * weight_kg, transit_days: band.transit_days })
    }

    /// [`CarrierService::quote`]'s ship and delivery days only, for any weight within the
    /// limit (no reasons, no allocation).
    pub fn days(
        &self,
        fulfilment: &Fulfilment,
        distance_km: f64,
        at: i64,
        utc_offset_minutes: i32,
    ) -> Result<(i64, i64), NoQuote> {
        let band = self.band(distance_km).ok_or(NoQuote::TooFar(distance_km))?;
        Ok(days(fulfilment, &self.days, band.transit_days, at, utc_offset_minutes)?)
    }

    /// Whether the bands are usable: sorted by upper bound, finite non-negative prices, only
    /// the last without an upper bound. Names the first problem.
    pub fn check(&self) -> Result<(), String> {
        if self.bands.is_empty() {
            return Err(format!("service `{}` has no distance band", self.id));
        }
        let mut last = f64::NEG_INFINITY;
        for (index, band) in self.bands.iter().enumerate() {
            let field = format!("bands[{index}]");
            match band.max_km {
                Some(max) if !(max.is_finite() && max > last && max >= 0.0) => {
                    return Err(format!("{field}.max_km must be a distance beyond the band before"));
                }
                Some(max) => last = max,
                None if index + 1 != self.bands.len() => {
                    return Err(format!("{field}.max_km: only the last band may have no upper bound"));
                }
                None => {}
            }
            for (name, price) in [("per_shipment", band.per_shipment), ("per_kg", band.per_kg)] {
                if !(price.is_finite() && price >= 0.0) {
                    return Err(format!("{field}.{name} must be a price of zero or more"));
                }
            }
        }
        if let Some(max) = self.max_weight_kg
            && !(max.is_finite() && max > 0.0)
        {
            return Err("max_weight_kg must be a positive weight".to_owned());
        }
        Ok(())
    }
}
