//! Why an order was routed as it was: every routing's explanation, per line and per candidate
//! location, in merchant ids. Kept in the store beside the order (never in memory), one per
//! routing: when the order was placed, when it came due, when a rejected shipment was routed
//! again.

use serde::de::Error as _;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use switchyard_engine::{CandidateStatus, Catalog, Explanation, LocationId};

use super::plan::to_the_cent;

/// One routing of an order and why it came out as it did. Stored compactly (`StoredRouting`
/// in this module): a routing names every location holding each SKU, which on a large network
/// is hundreds of candidates an order.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "StoredRouting")]
pub struct RoutingRecord {
    /// The order's revision this routing wrote.
    pub revision: u64,
    /// When it was routed (RFC 3339).
    pub at: String,
    /// What routed it.
    pub cause: RoutingCause,
    /// The policy version bound when it was routed.
    pub policy_version: String,
    /// Per line routed (a re-routing: the lines of the rejected shipment).
    pub lines: Vec<ExplainedLine>,
}

/// What routed an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingCause {
    /// It was placed.
    Placed,
    /// It was scheduled and came due.
    Due,
    /// A location rejected a shipment: its units were routed again.
    Rerouted,
    /// The unreleased orders were re-optimised together and this one's plan changed.
    Reoptimized,
}

/// One line of an order, and what became of every location holding its SKU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExplainedLine {
    /// The line's id.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units ordered.
    pub qty: u32,
    /// Units left unfilled.
    pub unfilled: u32,
    /// Every location holding the SKU, in the order the engine found them.
    pub candidates: Vec<ExplainedCandidate>,
}

/// What became of a candidate location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateState {
    /// It ships units of the line.
    Chosen,
    /// Allowed and priced; the plan is cheaper without it.
    Beaten,
    /// A policy rule excluded it.
    Excluded,
    /// The engine did not consider it (downtime, capacity).
    Blocked,
    /// Nothing available there.
    NoStock,
}

impl CandidateState {
    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            CandidateState::Chosen => "chosen",
            CandidateState::Beaten => "beaten",
            CandidateState::Excluded => "excluded",
            CandidateState::Blocked => "blocked",
            CandidateState::NoStock => "no_stock",
        }
    }
}

/// One candidate location of a line. Amounts are rounded to the cent, distances to 0.1 km.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExplainedCandidate {
    /// The location.
    pub location: String,
    /// Distance to the ship-to, km.
    pub distance_km: f64,
    /// Available to promise there when the order was routed.
    pub atp: u32,
    /// What became of it.
    pub status: CandidateState,
    /// Chosen: the units shipped from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<u32>,
    /// Chosen or beaten: cost per unit from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<f64>,
    /// Chosen or beaten: cost of a shipment from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_cost: Option<f64>,
    /// Excluded: the policy rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Blocked: the engine's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Beaten: the locations that ship the line instead (empty: it is left unfilled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beaten_by: Vec<String>,
}

impl ExplainedLine {
    /// The engine's explanation as data, in merchant ids.
    pub fn from_engine(explanation: &Explanation, catalog: &Catalog) -> Vec<ExplainedLine> {
        let id = |location: LocationId| catalog.location(location).id.clone();
        explanation
            .lines
            .iter()
            .map(|line| ExplainedLine {
                line_id: line.line_id.clone(),
                sku: line.sku.clone(),
                qty: line.qty,
                unfilled: line.unfilled,
                candidates: line
                    .candidates
                    .iter()
                    .map(|candidate| {
                        let mut explained = ExplainedCandidate {
                            location: id(candidate.location),
                            distance_km: (candidate.distance_km * 10.0).round() / 10.0,
                            atp: candidate.atp,
                            status: CandidateState::NoStock,
                            qty: None,
                            unit_cost: None,
                            shipment_cost: None,
                            rule: None,
                            reason: None,
                            beaten_by: Vec::new(),
                        };
                        match &candidate.status {
                            CandidateStatus::Blocked { reason } => {
                                explained.status = CandidateState::Blocked;
                                explained.reason = Some(reason.to_string());
                            }
                            CandidateStatus::Excluded { rule } => {
                                explained.status = CandidateState::Excluded;
                                explained.rule = Some(rule.to_string());
                            }
                            CandidateStatus::NoStock => explained.status = CandidateState::NoStock,
                            CandidateStatus::Chosen { qty, unit_cost, shipment_cost } => {
                                explained.status = CandidateState::Chosen;
                                explained.qty = Some(*qty);
                                explained.unit_cost = Some(to_the_cent(*unit_cost));
                                explained.shipment_cost = Some(to_the_cent(*shipment_cost));
                            }
                            CandidateStatus::Beaten { unit_cost, shipment_cost, by } => {
                                explained.status = CandidateState::Beaten;
                                explained.unit_cost = Some(to_the_cent(*unit_cost));
                                explained.shipment_cost = Some(to_the_cent(*shipment_cost));
                                explained.beaten_by = by.iter().map(|l| id(*l)).collect();
                            }
                        }
                        explained
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A [`RoutingRecord`] as the store keeps it. Per line, the locations that ship it are named
/// once (`by`: what beat every beaten candidate), rule names and reasons once (`texts`), and
/// each candidate is an array: `[location, distance_km, atp, "c", qty, unit_cost,
/// shipment_cost]` (chosen), `[.., "b", unit_cost, shipment_cost]` (beaten), `[.., "x", text]`
/// (excluded), `[.., "k", text]` (blocked), `[..., "n"]` (no stock); `text` indexes `texts`.
/// About a third of the plain form's size.
#[derive(Deserialize)]
struct StoredRouting {
    revision: u64,
    at: String,
    cause: RoutingCause,
    policy_version: String,
    lines: Vec<StoredLine>,
}

#[derive(Deserialize)]
struct StoredLine {
    line_id: String,
    sku: String,
    qty: u32,
    unfilled: u32,
    #[serde(default)]
    by: Vec<String>,
    #[serde(default)]
    texts: Vec<String>,
    candidates: Vec<StoredCandidate<String>>,
}

struct StoredCandidate<L> {
    location: L,
    distance_km: f64,
    atp: u32,
    what: Stored,
}

enum Stored {
    Chosen { qty: u32, unit_cost: f64, shipment_cost: f64 },
    Beaten { unit_cost: f64, shipment_cost: f64 },
    Excluded(usize),
    Blocked(usize),
    NoStock,
}

impl Serialize for RoutingRecord {
    // As `StoredRouting`, borrowing: the record is not copied to be written.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut routing = serializer.serialize_struct("StoredRouting", 5)?;
        routing.serialize_field("revision", &self.revision)?;
        routing.serialize_field("at", &self.at)?;
        routing.serialize_field("cause", &self.cause)?;
        routing.serialize_field("policy_version", &self.policy_version)?;
        routing.serialize_field("lines", &StoredLinesRef(&self.lines))?;
        routing.end()
    }
}

struct StoredLinesRef<'a>(&'a [ExplainedLine]);

impl Serialize for StoredLinesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut lines = serializer.serialize_seq(Some(self.0.len()))?;
        for line in self.0 {
            // What beat the beaten (the same for all of them: the line's shipping locations),
            // and each rule name and reason once.
            let by: &[String] = line
                .candidates
                .iter()
                .find(|c| c.status == CandidateState::Beaten)
                .map_or(&[], |c| c.beaten_by.as_slice());
            let mut texts: Vec<&str> = Vec::new();
            for c in &line.candidates {
                if let Some(text) = c.rule.as_deref().or(c.reason.as_deref())
                    && !texts.contains(&text)
                {
                    texts.push(text);
                }
            }
            struct Line<'a> {
                line: &'a ExplainedLine,
                by: &'a [String],
                texts: Vec<&'a str>,
            }
            impl Serialize for Line<'_> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    let mut out = serializer.serialize_struct("StoredLine", 7)?;
                    out.serialize_field("line_id", &self.line.line_id)?;
                    out.serialize_field("sku", &self.line.sku)?;
                    out.serialize_field("qty", &self.line.qty)?;
                    out.serialize_field("unfilled", &self.line.unfilled)?;
                    if !self.by.is_empty() {
                        out.serialize_field("by", self.by)?;
                    }
                    if !self.texts.is_empty() {
                        out.serialize_field("texts", &self.texts)?;
                    }
                    out.serialize_field("candidates", &StoredCandidatesRef { line: self.line, texts: &self.texts })?;
                    out.end()
                }
            }
            lines.serialize_element(&Line { line, by, texts })?;
        }
        lines.end()
    }
}

struct StoredCandidatesRef<'a> {
    line: &'a ExplainedLine,
    texts: &'a [&'a str],
}

impl Serialize for StoredCandidatesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = |text: Option<&str>| self.texts.iter().position(|t| Some(*t) == text).unwrap_or_default();
        let mut candidates = serializer.serialize_seq(Some(self.line.candidates.len()))?;
        for c in &self.line.candidates {
            let (unit_cost, shipment_cost) = (c.unit_cost.unwrap_or_default(), c.shipment_cost.unwrap_or_default());
            let what = match c.status {
                CandidateState::Chosen => Stored::Chosen { qty: c.qty.unwrap_or_default(), unit_cost, shipment_cost },
                CandidateState::Beaten => Stored::Beaten { unit_cost, shipment_cost },
                CandidateState::Excluded => Stored::Excluded(text(c.rule.as_deref())),
                CandidateState::Blocked => Stored::Blocked(text(c.reason.as_deref())),
                CandidateState::NoStock => Stored::NoStock,
            };
            candidates.serialize_element(&StoredCandidate {
                location: &c.location,
                distance_km: c.distance_km,
                atp: c.atp,
                what,
            })?;
        }
        candidates.end()
    }
}

impl TryFrom<StoredRouting> for RoutingRecord {
    type Error = String;

    fn try_from(stored: StoredRouting) -> Result<RoutingRecord, String> {
        let mut lines = Vec::with_capacity(stored.lines.len());
        for line in stored.lines {
            let text = |index: usize| {
                line.texts.get(index).cloned().ok_or_else(|| format!("line {}: no text {index}", line.line_id))
            };
            let mut candidates = Vec::with_capacity(line.candidates.len());
            for c in line.candidates {
                let mut explained = ExplainedCandidate {
                    location: c.location,
                    distance_km: c.distance_km,
                    atp: c.atp,
                    status: CandidateState::NoStock,
                    qty: None,
                    unit_cost: None,
                    shipment_cost: None,
                    rule: None,
                    reason: None,
                    beaten_by: Vec::new(),
                };
                match c.what {
                    Stored::Chosen { qty, unit_cost, shipment_cost } => {
                        explained.status = CandidateState::Chosen;
                        explained.qty = Some(qty);
                        explained.unit_cost = Some(unit_cost);
                        explained.shipment_cost = Some(shipment_cost);
                    }
                    Stored::Beaten { unit_cost, shipment_cost } => {
                        explained.status = CandidateState::Beaten;
                        explained.unit_cost = Some(unit_cost);
                        explained.shipment_cost = Some(shipment_cost);
                        explained.beaten_by = line.by.clone();
                    }
                    Stored::Excluded(index) => {
                        explained.status = CandidateState::Excluded;
                        explained.rule = Some(text(index)?);
                    }
                    Stored::Blocked(index) => {
                        explained.status = CandidateState::Blocked;
                        explained.reason = Some(text(index)?);
                    }
                    Stored::NoStock => {}
                }
                candidates.push(explained);
            }
            lines.push(ExplainedLine {
                line_id: line.line_id,
                sku: line.sku,
                qty: line.qty,
                unfilled: line.unfilled,
                candidates,
            });
        }
        Ok(RoutingRecord {
            revision: stored.revision,
            at: stored.at,
            cause: stored.cause,
            policy_version: stored.policy_version,
            lines,
        })
    }
}

impl<L: Serialize> Serialize for StoredCandidate<L> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra = match self.what {
            Stored::Chosen { .. } => 3,
            Stored::Beaten { .. } => 2,
            Stored::Excluded(_) | Stored::Blocked(_) => 1,
            Stored::NoStock => 0,
        };
        let mut seq = serializer.serialize_seq(Some(4 + extra))?;
        seq.serialize_element(&self.location)?;
        seq.serialize_element(&self.distance_km)?;
        seq.serialize_element(&self.atp)?;
        match &self.what {
            Stored::Chosen { qty, unit_cost, shipment_cost } => {
                seq.serialize_element("c")?;
                seq.serialize_element(qty)?;
                seq.serialize_element(unit_cost)?;
                seq.serialize_element(shipment_cost)?;
            }
            Stored::Beaten { unit_cost, shipment_cost } => {
                seq.serialize_element("b")?;
                seq.serialize_element(unit_cost)?;
                seq.serialize_element(shipment_cost)?;
            }
            Stored::Excluded(text) => {
                seq.serialize_element("x")?;
                seq.serialize_element(text)?;
            }
            Stored::Blocked(text) => {
                seq.serialize_element("k")?;
                seq.serialize_element(text)?;
            }
            Stored::NoStock => seq.serialize_element("n")?,
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for StoredCandidate<String> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StoredCandidate<String>, D::Error> {
        let fields = Vec::<serde_json::Value>::deserialize(deserializer)?;
        let wrong = || D::Error::custom(format!("not a stored candidate: {}", serde_json::Value::from(fields.clone())));
        let number = |index: usize| fields.get(index).and_then(serde_json::Value::as_f64).ok_or_else(wrong);
        let whole = |index: usize| {
            fields.get(index).and_then(serde_json::Value::as_u64).and_then(|n| u32::try_from(n).ok()).ok_or_else(wrong)
        };
        let location = fields.first().and_then(serde_json::Value::as_str).ok_or_else(wrong)?.to_owned();
        let what = match fields.get(3).and_then(serde_json::Value::as_str) {
            Some("c") => Stored::Chosen { qty: whole(4)?, unit_cost: number(5)?, shipment_cost: number(6)? },
            Some("b") => Stored::Beaten { unit_cost: number(4)?, shipment_cost: number(5)? },
            Some("x") => Stored::Excluded(whole(4)? as usize),
            Some("k") => Stored::Blocked(whole(4)? as usize),
            Some("n") => Stored::NoStock,
            _ => return Err(wrong()),
        };
        Ok(StoredCandidate { location, distance_km: number(1)?, atp: whole(2)?, what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(location: &str, status: CandidateState) -> ExplainedCandidate {
        ExplainedCandidate {
            location: location.into(),
            distance_km: 12.5,
            atp: 3,
            status,
            qty: None,
            unit_cost: None,
            shipment_cost: None,
            rule: None,
            reason: None,
            beaten_by: Vec::new(),
        }
    }

    #[test]
    fn a_routing_is_stored_compactly_and_read_back_as_it_was() {
        let chosen = ExplainedCandidate {
            qty: Some(2),
            unit_cost: Some(1.25),
            shipment_cost: Some(8.8),
            ..candidate("DC-EAST", CandidateState::Chosen)
        };
        let beaten = ExplainedCandidate {
            unit_cost: Some(3.12),
            shipment_cost: Some(13.3),
            beaten_by: vec!["DC-EAST".into()],
            ..candidate("DC-WEST", CandidateState::Beaten)
        };
        let rule = "requires capability `hazmat`";
        let excluded =
            |l: &str| ExplainedCandidate { rule: Some(rule.into()), ..candidate(l, CandidateState::Excluded) };
        let blocked = ExplainedCandidate {
            reason: Some("location in planned downtime".into()),
            ..candidate("ST-MAN", CandidateState::Blocked)
        };
        let routing = RoutingRecord {
            revision: 2,
            at: "2026-12-01T10:00:00Z".into(),
            cause: RoutingCause::Rerouted,
            policy_version: "040e9e584951845e".into(),
            lines: vec![ExplainedLine {
                line_id: "1".into(),
                sku: "SKU-A".into(),
                qty: 2,
                unfilled: 0,
                candidates: vec![
                    chosen,
                    beaten,
                    excluded("ST-1"),
                    excluded("ST-2"),
                    blocked,
                    candidate("ST-3", CandidateState::NoStock),
                ],
            }],
        };
        let stored = serde_json::to_string(&routing).unwrap();
        assert_eq!(serde_json::from_str::<RoutingRecord>(&stored).unwrap(), routing);
        assert_eq!(stored.matches(rule).count(), 1, "a rule's name once: {stored}");
        assert!(stored.contains(r#"["DC-WEST",12.5,3,"b",3.12,13.3]"#), "{stored}");
        // A line with the network's 50 locations priced: well under half the plain form.
        let mut wide = routing.clone();
        let beaten = wide.lines[0].candidates[1].clone();
        let many = |n: usize| ExplainedCandidate { location: format!("ST-{n:05}"), ..beaten.clone() };
        wide.lines[0].candidates.extend((0..50).map(many));
        let (stored, plain) = (serde_json::to_string(&wide).unwrap(), serde_json::to_string(&wide.lines).unwrap());
        assert!(stored.len() * 2 < plain.len(), "{} bytes stored, {} plain", stored.len(), plain.len());
        assert_eq!(serde_json::from_str::<RoutingRecord>(&stored).unwrap(), wide);
    }

    #[test]
    fn a_damaged_stored_routing_is_an_error_not_a_panic() {
        let good = r#"{"revision":1,"at":"t","cause":"placed","policy_version":"v","lines":[{"line_id":"1","sku":"S","qty":1,"unfilled":0,"candidates":[["L",1.0,1,"n"]]}]}"#;
        assert!(serde_json::from_str::<RoutingRecord>(good).is_ok());
        for bad in [
            r#"["L",1.0,1,"q"]"#,
            r#"["L",1.0,1,"x",7]"#,
            r#"["L","far",1,"n"]"#,
            r#"["L",1.0,-1,"n"]"#,
            r#"[]"#,
            r#"["L",1.0,1,"c",1]"#,
        ] {
            let text = good.replace(r#"["L",1.0,1,"n"]"#, bad);
            assert!(serde_json::from_str::<RoutingRecord>(&text).is_err(), "{bad}");
        }
    }
}
