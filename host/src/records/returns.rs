//! Returns of shipped units.

use serde::{Deserialize, Serialize};

/// Units of one line coming back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The order line (as the plan names it: `1`, or `1/SKU-A` for a kit's component).
    pub line_id: String,
    /// Units.
    pub qty: u32,
}

/// Where a return stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// The label was issued; the parcel is on its way.
    Requested,
    /// It arrived.
    Received,
}

/// What the customer gets for a received return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnOutcome {
    /// Money back.
    Refund,
    /// Another unit.
    Exchange,
}

impl ReturnOutcome {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ReturnOutcome::Refund => "refund",
            ReturnOutcome::Exchange => "exchange",
        }
    }
}

/// A return of shipped units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnRecord {
    /// Its id (`<order>-R<n>`).
    pub id: String,
    /// What comes back.
    pub lines: Vec<ReturnLine>,
    /// The location the policy chose to take it.
    pub location: String,
    /// The return label.
    pub label: ReturnLabel,
    /// Where it stands.
    pub status: ReturnStatus,
    /// Why the customer returns it.
    #[serde(default)]
    pub reason: String,
    /// Units put back into sellable stock when received.
    #[serde(default)]
    pub restocked: Vec<ReturnLine>,
    /// What the customer gets, once received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ReturnOutcome>,
}

/// A return label: where to send the parcel and the reference to quote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnLabel {
    /// The return location's id.
    pub location: String,
    /// Latitude of the return address.
    pub lat: f64,
    /// Longitude of the return address.
    pub lon: f64,
    /// The reference to quote on the parcel.
    pub reference: String,
}
