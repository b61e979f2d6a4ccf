//! Ship and delivery dates: hand-worked examples, and a property test against a plain
//! day-by-day reference written on chrono's calendar and chrono-tz's time zones (not on the
//! engine's day arithmetic), over random calendars, cut-offs, processing and transit times,
//! time zones and instants around daylight-saving changes.

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use switchyard_engine::Timestamp;
use switchyard_engine::calendar::Calendar;
use switchyard_engine::calendar::{
    CarrierDays, Closed, Dates, Fulfilment, NoDate, Step, Weekdays, dates, day_text, weekday,
};

fn day(text: &str) -> i64 {
    Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).unwrap().utc_day()
}

fn at(text: &str) -> i64 {
    Timestamp::parse_rfc3339(text).unwrap().0
}

fn ground() -> CarrierDays {
    CarrierDays { pickup: Weekdays::WORKDAYS, delivery: Calendar::new(Weekdays::WORKDAYS, Vec::new()) }
}

fn store(cutoff: &str, processing_days: u8, open: &str, holidays: &[&str]) -> Fulfilment {
    let (h, m) = cutoff.split_once(':').unwrap();
    Fulfilment {
        cutoff_minutes: h.parse::<u16>().unwrap() * 60 + m.parse::<u16>().unwrap(),
        processing_days,
        calendar: Calendar::new(Weekdays::parse(open).unwrap(), holidays.iter().map(|d| day(d)).collect()),
    }
}

#[test]
fn weekdays_and_their_names() {
    assert_eq!(weekday(0), 3, "1970-01-01 was a Thursday");
    assert_eq!(day_text(day("2026-12-01")), "Tue 2026-12-01");
    assert_eq!(Weekdays::parse("mon-fri").unwrap(), Weekdays::WORKDAYS);
    assert_eq!(Weekdays::parse("Fri-Mon").unwrap().to_string(), "Mon,Fri,Sat,Sun");
    assert_eq!(Weekdays::parse("mon, wed ,fri").unwrap().to_string(), "Mon,Wed,Fri");
    assert!(Weekdays::parse("").unwrap().is_empty());
    assert!(Weekdays::parse("mon-fry").unwrap_err().contains("`fry` is not a weekday"));
}

// A store in New York (UTC-5 in December) with a 14:00 cut-off, one day to pick and pack,
// open Monday to Saturday; ground collects and delivers Monday to Friday, 3 transit days.
//
// Placed Thu 2026-12-03 at 15:30 local (20:30Z): past the cut-off, so processing starts Fri
// 12-04; one working day of processing: ready Sat 12-05; ground does not collect on Saturday
// or Sunday: ships Mon 12-07; 3 transit days Tue, Wed, Thu: delivered Thu 12-10.
#[test]
fn a_late_order_on_a_thursday_is_delivered_the_next_thursday() {
    let fulfilment = store("14:00", 1, "mon-sat", &[]);
    let dates = dates(&fulfilment, &ground(), 3, at("2026-12-03T20:30:00Z"), -300).unwrap();
    assert_eq!((dates.ship_day, dates.delivery_day), (day("2026-12-07"), day("2026-12-10")));
    let reasons: Vec<String> = dates.steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        reasons,
        [
            "came in at 15:30 local, after the 14:00 cut-off: processed from the next day",
            "1 working day(s) to pick and pack: ready Sat 2026-12-05",
            "Sat 2026-12-05: no pickup",
            "Sun 2026-12-06: the location does not work that weekday",
            "ships Mon 2026-12-07",
            "3 transit day(s): delivered Thu 2026-12-10",
        ]
    );
    // Before the cut-off the same day: processed Thursday, ready Friday, ships Friday, 3
    // transit days Mon, Tue, Wed (the weekend skipped): delivered Wed 12-09.
    let early = dates_of(&fulfilment, &ground(), 3, "2026-12-03T18:59:00Z", -300);
    assert_eq!((early.ship_day, early.delivery_day), (day("2026-12-04"), day("2026-12-09")));
    assert!(early.steps.contains(&Step::Transit { days: 3, skipped: 2, delivered: day("2026-12-09") }));
}

fn dates_of(fulfilment: &Fulfilment, carrier: &CarrierDays, transit: u8, instant: &str, offset: i32) -> Dates {
    dates(fulfilment, carrier, transit, at(instant), offset).unwrap()
}

// Christmas: a DC open Monday to Friday but closed 12-24 and 12-25 (Thu, Fri), same-day
// processing, no cut-off; placed Wed 12-23 23:00 local (Berlin, UTC+1): processed and shipped
// Wed 12-23. The carrier delivers Monday to Saturday except 12-25 and 12-26, so its 2 transit
// days are Thu 12-24 and (skipping Fri 12-25, Sat 12-26 and Sunday) Mon 12-28.
#[test]
fn holidays_close_the_location_and_stop_the_carrier() {
    let fulfilment = store("24:00", 0, "mon-fri", &["2026-12-24", "2026-12-25"]);
    let carrier = CarrierDays {
        pickup: Weekdays::WORKDAYS,
        delivery: Calendar::new(Weekdays::MONDAY_TO_SATURDAY, vec![day("2026-12-25"), day("2026-12-26")]),
    };
    let shipped = dates_of(&fulfilment, &carrier, 2, "2026-12-23T22:00:00Z", 60);
    assert_eq!((shipped.ship_day, shipped.delivery_day), (day("2026-12-23"), day("2026-12-28")));
    // Placed on the 24th: the location is closed the 24th and 25th, and the weekend: ships
    // Mon 12-28, delivered Wed 12-30.
    let later = dates_of(&fulfilment, &carrier, 2, "2026-12-24T09:00:00Z", 60);
    assert_eq!((later.ship_day, later.delivery_day), (day("2026-12-28"), day("2026-12-30")));
    assert_eq!(later.steps[0], Step::LocationClosed { day: day("2026-12-24"), why: Closed::Holiday });
    assert_eq!(later.steps[2], Step::LocationClosed { day: day("2026-12-26"), why: Closed::Weekday });
}

// The cut-off is local time at the instant the order comes in, daylight saving included: New
// York changes from UTC-4 to UTC-5 on Sun 2026-11-01 at 02:00 local. 18:30Z is 14:30 EDT on
// Sat 10-31 (past a 14:00 cut-off) but 13:30 EST on Mon 11-02 (before it).
#[test]
fn the_cut_off_follows_daylight_saving() {
    let fulfilment = store("14:00", 0, "mon-sun", &[]);
    let every_day = CarrierDays { pickup: Weekdays::EVERY_DAY, delivery: Calendar::always() };
    let saturday = dates_of(&fulfilment, &every_day, 0, "2026-10-31T18:30:00Z", -240);
    assert_eq!(saturday.ship_day, day("2026-11-01"));
    let monday = dates_of(&fulfilment, &every_day, 0, "2026-11-02T18:30:00Z", -300);
    assert_eq!(monday.ship_day, day("2026-11-02"));
}

#[test]
fn a_calendar_that_never_works_has_no_date() {
    let closed = store("14:00", 0, "", &[]);
    assert_eq!(dates(&closed, &ground(), 1, at("2026-12-01T10:00:00Z"), 0), Err(NoDate::LocationNeverOpen));
    let weekends = store("14:00", 0, "sat-sun", &[]);
    assert_eq!(dates(&weekends, &ground(), 1, at("2026-12-01T10:00:00Z"), 0), Err(NoDate::NoPickupDay));
    let never = CarrierDays { pickup: Weekdays::EVERY_DAY, delivery: Calendar::new(Weekdays(0), Vec::new()) };
    assert_eq!(dates(&weekends, &never, 1, at("2026-12-01T10:00:00Z"), 0), Err(NoDate::NoDeliveryDay));
    // Zero transit days need no delivery day: delivered the day it ships.
    let same_day = dates(&weekends, &never, 0, at("2026-12-01T10:00:00Z"), 0).unwrap();
    assert_eq!(same_day.delivery_day, same_day.ship_day);
}

// --- The reference: day by day, on chrono's dates --------------------------------------------

#[derive(Debug)]
struct Case {
    open: u8,
    holidays: Vec<u16>,
    cutoff_minutes: u16,
    processing_days: u8,
    pickup: u8,
    delivery: u8,
    carrier_holidays: Vec<u16>,
    transit_days: u8,
    zone: Tz,
    at: DateTime<Utc>,
}

const BASE: &str = "2026-01-01";

fn base() -> NaiveDate {
    NaiveDate::parse_from_str(BASE, "%Y-%m-%d").unwrap()
}

fn works(mask: u8, holidays: &[NaiveDate], date: NaiveDate) -> bool {
    mask & (1 << date.weekday().num_days_from_monday()) != 0 && !holidays.contains(&date)
}

// Walks the days one at a time: before the cut-off the day the order came in (in the zone, at
// that instant), else the next; the first day the location works starts processing; each
// later working day is one day of it; once done, the first day the location works and the
// carrier collects is the ship day; then each day the carrier delivers is a transit day.
fn reference(case: &Case) -> Option<(NaiveDate, NaiveDate)> {
    let holidays: Vec<NaiveDate> = case.holidays.iter().map(|d| base() + chrono::Days::new(u64::from(*d))).collect();
    let carrier_holidays: Vec<NaiveDate> =
        case.carrier_holidays.iter().map(|d| base() + chrono::Days::new(u64::from(*d))).collect();
    let local = case.at.with_timezone(&case.zone);
    let mut date = local.date_naive();
    if local.hour() * 60 + local.minute() >= u32::from(case.cutoff_minutes) {
        date = date.succ_opt()?;
    }
    let (mut started, mut processed) = (false, 0u8);
    let mut ship = None;
    for _ in 0..1000 {
        let open = works(case.open, &holidays, date);
        if !started {
            started = open;
        } else if open && processed < case.processing_days {
            processed += 1;
        }
        if started
            && processed == case.processing_days
            && open
            && case.pickup & (1 << date.weekday().num_days_from_monday()) != 0
        {
            ship = Some(date);
            break;
        }
        date = date.succ_opt()?;
    }
    let ship = ship?;
    let mut delivered = ship;
    let mut left = case.transit_days;
    for _ in 0..1000 {
        if left == 0 {
            return Some((ship, delivered));
        }
        delivered = delivered.succ_opt()?;
        if works(case.delivery, &carrier_holidays, delivered) {
            left -= 1;
        }
    }
    None
}

fn zones() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::America::New_York,
        chrono_tz::America::Los_Angeles,
        chrono_tz::Europe::Berlin,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Australia::Lord_Howe, // half an hour of daylight saving
        chrono_tz::Pacific::Chatham,     // UTC+12:45, +13:45 in summer
        chrono_tz::UTC,
    ])
}

// Instants in 2026-2027, half of them within three days of a daylight-saving change.
fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    let changes = vec![
        "2026-03-08T07:00:00Z", // US spring forward
        "2026-03-29T01:00:00Z", // EU
        "2026-04-05T15:00:00Z", // Lord Howe, Chatham (southern autumn)
        "2026-09-27T14:00:00Z", // Chatham, New Zealand spring
        "2026-10-04T15:30:00Z", // Lord Howe spring
        "2026-10-25T01:00:00Z", // EU fall back
        "2026-11-01T06:00:00Z", // US fall back
    ];
    let near = (prop::sample::select(changes), -3 * 86_400i64..3 * 86_400).prop_map(|(change, delta)| {
        DateTime::parse_from_rfc3339(change).unwrap().to_utc() + chrono::Duration::seconds(delta)
    });
    let anywhere = (1_767_225_600i64..1_830_297_600).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap());
    prop_oneof![near, anywhere]
}

fn cases() -> impl Strategy<Value = Case> {
    (
        (0u8..128, prop::collection::vec(0u16..800, 0..30), 0u16..=1440, 0u8..6),
        (0u8..128, 0u8..128, prop::collection::vec(0u16..800, 0..30), 0u8..8),
        zones(),
        instants(),
    )
        .prop_map(
            |(
                (open, holidays, cutoff_minutes, processing_days),
                (pickup, delivery, carrier_holidays, transit_days),
                zone,
                at,
            )| Case {
                open,
                holidays,
                cutoff_minutes,
                processing_days,
                pickup,
                delivery,
                carrier_holidays,
                transit_days,
                zone,
                at,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn dates_agree_with_a_day_by_day_walk(case in cases()) {
        let base_day = day(BASE);
        let fulfilment = Fulfilment {
            cutoff_minutes: case.cutoff_minutes,
            processing_days: case.processing_days,
            calendar: Calendar::new(Weekdays(case.open), case.holidays.iter().map(|d| base_day + i64::from(*d)).collect()),
        };
        let carrier = CarrierDays {
            pickup: Weekdays(case.pickup),
            delivery: Calendar::new(Weekdays(case.delivery), case.carrier_holidays.iter().map(|d| base_day + i64::from(*d)).collect()),
        };
        let offset = case.zone.offset_from_utc_datetime(&case.at.naive_utc()).fix().local_minus_utc() / 60;
        let ours = dates(&fulfilment, &carrier, case.transit_days, case.at.timestamp(), offset);
        let expected = reference(&case);
        let as_day = |date: NaiveDate| (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days();
        match (ours, expected) {
            (Ok(ours), Some((ship, delivered))) => {
                prop_assert_eq!((ours.ship_day, ours.delivery_day), (as_day(ship), as_day(delivered)));
            }
            // No date within the horizon: the walk finds none either (it looks further, so it
            // may find a date past the horizon; never one within it).
            (Err(_), Some((ship, delivered))) => {
                let start = case.at.timestamp().div_euclid(86_400);
                prop_assert!(as_day(ship) > start + 390 || as_day(delivered) > as_day(ship) + 390, "{:?}", (ship, delivered));
            }
            (Ok(ours), None) => prop_assert!(false, "the walk found no date, we found {:?}", ours),
            (Err(_), None) => {}
        }
    }
}

// --- Carrier services: bands, weight, price --------------------------------------------------

fn two_day() -> switchyard_engine::calendar::CarrierService {
    use switchyard_engine::calendar::{CarrierService, ServiceBand};
    let band = |max_km: Option<f64>, transit_days, per_shipment, per_kg| ServiceBand {
        max_km,
        transit_days,
        per_shipment,
        per_kg,
    };
    CarrierService {
        id: "two-day".into(),
        days: ground(),
        bands: vec![band(Some(800.0), 1, 9.5, 0.5), band(Some(2500.0), 2, 14.0, 0.8), band(None, 2, 18.0, 1.1)],
        max_weight_kg: Some(30.0),
    }
}

// A 2 kg parcel, 1,200 km, the second band: 2 transit days, 14.00 + 0.80 x 2 = 15.60. From the
// store of the first example, before its cut-off on Thursday: ready Friday, ships Friday,
// delivered Tuesday (Mon, Tue).
#[test]
fn a_service_quotes_its_band_its_price_and_its_dates() {
    use switchyard_engine::calendar::NoQuote;
    let service = two_day();
    service.check().unwrap();
    let fulfilment = store("14:00", 1, "mon-sat", &[]);
    let quote = service.quote(&fulfilment, 1200.0, 2.0, at("2026-12-03T15:00:00Z"), -300).unwrap();
    assert_eq!((quote.transit_days, quote.price), (2, 15.6));
    assert_eq!((quote.dates.ship_day, quote.dates.delivery_day), (day("2026-12-04"), day("2026-12-08")));
    assert_eq!(service.band(800.0).unwrap().transit_days, 1, "a band includes its upper bound");
    assert_eq!(service.band(1e6).unwrap().per_shipment, 18.0);
    assert_eq!(service.quote(&fulfilment, 100.0, 31.0, 0, 0), Err(NoQuote::TooHeavy { weight_kg: 31.0, max_kg: 30.0 }));
    let mut bounded = two_day();
    bounded.bands.pop();
    assert_eq!(bounded.quote(&fulfilment, 3000.0, 1.0, 0, 0), Err(NoQuote::TooFar(3000.0)));
    let closed = store("14:00", 0, "", &[]);
    assert_eq!(service.quote(&closed, 10.0, 1.0, 0, 0), Err(NoQuote::NoDate(NoDate::LocationNeverOpen)));
}

#[test]
fn a_service_with_unusable_bands_is_refused_naming_the_band() {
    let mut unsorted = two_day();
    unsorted.bands.swap(0, 1);
    assert!(unsorted.check().unwrap_err().starts_with("bands[1].max_km"));
    let mut open_middle = two_day();
    open_middle.bands[1].max_km = None;
    assert!(open_middle.check().unwrap_err().contains("only the last band"));
    let mut negative = two_day();
    negative.bands[2].per_kg = -1.0;
    assert_eq!(negative.check().unwrap_err(), "bands[2].per_kg must be a price of zero or more");
    let mut nan = two_day();
    nan.bands[0].max_km = Some(f64::NAN);
    assert!(nan.check().is_err());
    let mut none = two_day();
    none.bands.clear();
    assert!(none.check().unwrap_err().contains("no distance band"));
    let mut weightless = two_day();
    weightless.max_weight_kg = Some(0.0);
    assert!(weightless.check().is_err());
}
