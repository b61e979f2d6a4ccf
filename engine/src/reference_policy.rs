//! The reference cost model of the benchmark scenarios (`switchyard-scenario/1`), as a native
//! Rust policy: zoned parcel rates by distance, handling per shipment and per unit, split and
//! unfilled penalties, and capabilities that tagged products require.

use std::cell::RefCell;
use std::sync::Arc;

use crate::policy::{Evaluation, Policy, PolicyError, PolicyInfo, PolicyRequest, ShortStock, Verdict};

/// One distance band of a rate card.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// The carrier's zone number.
    pub zone: u32,
    /// Upper bound of the band in km (inclusive); `None` for the last, open band.
    pub max_distance_km: Option<f64>,
    /// Price of one parcel in this zone.
    pub per_shipment: f64,
    /// Price per kg in this zone.
    pub per_kg: f64,
}

/// Why a rate card is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateCardError {
    /// No zones at all.
    #[error("the rate card has no zones")]
    Empty,
    /// Zone bounds are not strictly increasing.
    #[error("zone {zone} does not reach further than the zone before it; zones must be sorted by max distance")]
    Unsorted {
        /// The offending zone number.
        zone: u32,
    },
    /// The last band must be open (`null`), an earlier one must not.
    #[error("zone {zone}: only the last zone may (and must) have no max distance")]
    OpenBand {
        /// The offending zone number.
        zone: u32,
    },
    /// A bound or price is negative or not a number.
    #[error("zone {zone}: {field} must be a finite non-negative number")]
    BadNumber {
        /// The offending zone number.
        zone: u32,
        /// Which number.
        field: &'static str,
    },
}

/// Parcel prices by distance zone.
#[derive(Clone, Debug, PartialEq)]
pub struct RateCard {
    zones: Vec<Zone>,
}

impl RateCard {
    /// Checks and builds a rate card: sorted bands, the last one open, usable prices.
    pub fn new(zones: Vec<Zone>) -> Result<RateCard, RateCardError> {
        let Some(last) = zones.last() else {
            return Err(RateCardError::Empty);
        };
        if last.max_distance_km.is_some() {
            return Err(RateCardError::OpenBand { zone: last.zone });
        }
        let usable = |x: f64| x.is_finite() && x >= 0.0;
        let mut previous: Option<f64> = None;
        for (index, zone) in zones.iter().enumerate() {
            if !usable(zone.per_shipment) {
                return Err(RateCardError::BadNumber { zone: zone.zone, field: "per_shipment" });
            }
            if !usable(zone.per_kg) {
                return Err(RateCardError::BadNumber { zone: zone.zone, field: "per_kg" });
            }
            match zone.max_distance_km {
                None if index + 1 < zones.len() => return Err(RateCardError::OpenBand { zone: zone.zone }),
                None => {}
                Some(bound) if !usable(bound) => {
                    return Err(RateCardError::BadNumber { zone: zone.zone, field: "max_distance" });
                }
                Some(bound) => {
                    if previous.is_some_and(|previous| bound <= previous) {
                        return Err(RateCardError::Unsorted { zone: zone.zone });
                    }
                    previous = Some(bound);
                }
            }
        }
        Ok(RateCard { zones })
    }

    /// The band a distance falls in: the first whose bound is at least `distance_km`.
    pub fn zone_for(&self, distance_km: f64) -> &Zone {
        &self.zones[self.zone_index(distance_km)]
    }

    /// Index into [`RateCard::zones`] of the band `distance_km` falls in.
    pub fn zone_index(&self, distance_km: f64) -> usize {
        self.zones
            .iter()
            .position(|zone| zone.max_distance_km.is_none_or(|bound| distance_km <= bound))
            .unwrap_or(self.zones.len() - 1)
    }

    /// The bands, nearest first.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }
}

/// Order-wide settings of the reference model.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceSettings {
    /// Most shipments per order.
    pub max_shipments: u32,
    /// Cost of each shipment after the first.
    pub split_penalty: f64,
    /// Cost of each unit left unfilled.
    pub unfilled_penalty: f64,
    /// A product tagged with one of these may only ship from a location with that capability.
    pub required_capabilities: Vec<String>,
}

/// The scenario cost model of FORMAT.md as a [`Policy`].
pub struct ReferencePolicy {
    rate_card: RateCard,
    settings: ReferenceSettings,
    // One shared rule name per required capability, so exclusions do not allocate.
    capability_rules: Vec<(String, Arc<str>)>,
    info: Arc<PolicyInfo>,
}

impl ReferencePolicy {
    /// The reference policy with a rate card and settings.
    pub fn new(rate_card: RateCard, settings: ReferenceSettings) -> ReferencePolicy {
        let capability_rules = settings
            .required_capabilities
            .iter()
            .map(|capability| (capability.clone(), Arc::from(format!("requires capability `{capability}`"))))
            .collect();
        let info = Arc::new(PolicyInfo { name: "reference".to_owned(), version: "1".to_owned() });
        ReferencePolicy { rate_card, settings, capability_rules, info }
    }

    /// The rate card.
    pub fn rate_card(&self) -> &RateCard {
        &self.rate_card
    }

    /// The settings.
    pub fn settings(&self) -> &ReferenceSettings {
        &self.settings
    }
}

impl Policy for ReferencePolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::clone(&self.info)
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        SLOT_ZONES.with_borrow_mut(|slot_zones| self.evaluate_with(request, out, slot_zones));
        Ok(())
    }
}

thread_local! {
    // Zone of every candidate location of the order being evaluated (reused per thread).
    static SLOT_ZONES: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl ReferencePolicy {
    fn evaluate_with(&self, request: &PolicyRequest<'_>, out: &mut Evaluation, slot_zones: &mut Vec<usize>) {
        let catalog = request.catalog;
        let candidates = request.candidates;
        slot_zones.clear();
        for (slot, candidate) in candidates.locations.iter().enumerate() {
            let location = catalog.location(candidate.location);
            let zone = self.rate_card.zone_index(candidate.distance_km);
            slot_zones.push(zone);
            out.shipment[slot] =
                Verdict::Cost(self.rate_card.zones[zone].per_shipment + location.handling_per_shipment);
        }
        for (line_index, line) in request.order.lines.iter().enumerate() {
            let product = catalog.product(line.sku);
            let missing_rules: Vec<&(String, Arc<str>)> =
                self.capability_rules.iter().filter(|(capability, _)| product.has_tag(capability)).collect();
            for entry in candidates.line_range(line_index) {
                let candidate = candidates.entries[entry];
                let where_ = &candidates.locations[candidate.slot as usize];
                let location = catalog.location(where_.location);
                out.units[entry] = match missing_rules.iter().find(|(capability, _)| !location.can(capability)) {
                    Some((_, rule)) => Verdict::Excluded(rule.clone()),
                    None => {
                        let zone = &self.rate_card.zones[slot_zones[candidate.slot as usize]];
                        Verdict::Cost(zone.per_kg * product.weight_kg + location.handling_per_unit)
                    }
                };
            }
        }
        out.split.max_shipments = self.settings.max_shipments;
        out.split.split_penalty = self.settings.split_penalty;
        out.short_stock = ShortStock::Partial { unfilled_penalty: self.settings.unfilled_penalty };
    }
}
