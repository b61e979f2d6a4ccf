//! What delivery promises are made of, as stored: a location's fulfilment terms (its order
//! cut-off, processing days and business calendar, kept in its `LocationRecord`) and carrier
//! services (their own rows). Dates are civil dates, `YYYY-MM-DD`; weekdays are written
//! `mon-fri`, `mon,wed,fri`, `sat-sun`.

use serde::{Deserialize, Serialize};
use switchyard_engine::calendar::{CarrierService, Fulfilment, ServiceBand, Weekdays, date_text, service_from_text};

/// How a location turns orders into parcels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentRecord {
    /// Orders in before this local time (`HH:MM`, the location's time zone) are processed the
    /// same day; `None`: no cut-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<String>,
    /// Working days to pick and pack before the parcel can be collected (0: the same day).
    #[serde(default)]
    pub processing_days: u8,
    /// The weekdays it works (`mon-fri`); `None`: every day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_days: Option<String>,
    /// Days it does not work whatever the weekday (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// One distance band of a carrier service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandRecord {
    /// The band reaches this far, km; `None` only for the last: everything beyond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_km: Option<f64>,
    /// Carrier days in transit.
    pub transit_days: u8,
    /// Price of a parcel.
    #[serde(default)]
    pub per_shipment: f64,
    /// Price per kg in the parcel.
    #[serde(default)]
    pub per_kg: f64,
}

/// A carrier service (ground, two-day, overnight).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CarrierServiceRecord {
    /// The merchant's id (`ups-ground`).
    pub id: String,
    /// The carrier (`UPS`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub carrier: String,
    /// What a shopper is shown (`Standard`, `Express`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The weekdays it collects parcels (`mon-fri` when not given).
    #[serde(default = "workdays")]
    pub pickup_days: String,
    /// The weekdays it delivers, and transit days are counted on (`mon-fri` when not given).
    #[serde(default = "workdays")]
    pub delivery_days: String,
    /// Days it neither collects nor delivers (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// Transit days and prices by distance, nearest first.
    pub bands: Vec<BandRecord>,
    /// The heaviest parcel it takes, kg; `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_weight_kg: Option<f64>,
}

fn workdays() -> String {
    "mon-fri".to_owned()
}

/// `weekdays` as ranges: `mon-fri`, `mon,wed-fri`, `sat-sun`.
pub fn weekdays_text(weekdays: Weekdays) -> String {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut parts = Vec::new();
    let mut day = 0;
    while day < 7 {
        if weekdays.0 & (1 << day) == 0 {
            day += 1;
            continue;
        }
        let start = day;
        while day + 1 < 7 && weekdays.0 & (1 << (day + 1)) != 0 {
            day += 1;
        }
        parts.push(if start == day { NAMES[day].to_owned() } else { format!("{}-{}", NAMES[start], NAMES[day]) });
        day += 1;
    }
    parts.join(",")
}

impl FulfilmentRecord {
    /// The record of the engine's terms; `None` for the default (every day, no cut-off).
    pub fn from_engine(fulfilment: &Fulfilment) -> Option<FulfilmentRecord> {
        if *fulfilment == Fulfilment::default() {
            return None;
        }
        let cutoff = (fulfilment.cutoff_minutes < 24 * 60)
            .then(|| format!("{:02}:{:02}", fulfilment.cutoff_minutes / 60, fulfilment.cutoff_minutes % 60));
        let open = fulfilment.calendar.open;
        Some(FulfilmentRecord {
            cutoff,
            processing_days: fulfilment.processing_days,
            open_days: (open != Weekdays::EVERY_DAY).then(|| weekdays_text(open)),
            holidays: fulfilment.calendar.holidays().iter().map(|day| date_text(*day)).collect(),
        })
    }
}

impl CarrierServiceRecord {
    /// The engine's service, checked; an error names the field and what is wrong.
    pub fn engine(&self) -> Result<CarrierService, (String, String)> {
        let bands = self
            .bands
            .iter()
            .map(|b| ServiceBand {
                max_km: b.max_km,
                transit_days: b.transit_days,
                per_shipment: b.per_shipment,
                per_kg: b.per_kg,
            })
            .collect();
        service_from_text(&self.id, &self.pickup_days, &self.delivery_days, &self.holidays, bands, self.max_weight_kg)
    }

    /// The record of an engine service, with what a shopper is shown.
    pub fn from_engine(service: &CarrierService, carrier: &str, name: &str) -> CarrierServiceRecord {
        CarrierServiceRecord {
            id: service.id.clone(),
            carrier: carrier.to_owned(),
            name: name.to_owned(),
            pickup_days: weekdays_text(service.days.pickup),
            delivery_days: weekdays_text(service.days.delivery.open),
            holidays: service.days.delivery.holidays().iter().map(|day| date_text(*day)).collect(),
            bands: service
                .bands
                .iter()
                .map(|b| BandRecord {
                    max_km: b.max_km,
                    transit_days: b.transit_days,
                    per_shipment: b.per_shipment,
                    per_kg: b.per_kg,
                })
                .collect(),
            max_weight_kg: service.max_weight_kg,
        }
    }
}
