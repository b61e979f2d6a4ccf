//! Inbound stock and the backorders waiting for it.

use serde::{Deserialize, Serialize};

/// Stock on its way to a location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    /// Its id (`IN-<n>`).
    pub id: String,
    /// The SKU.
    pub sku: String,
    /// Where it arrives.
    pub location: String,
    /// Units expected.
    pub qty: u32,
    /// When (RFC 3339): the promise date of orders waiting for it.
    pub expected_at: String,
    /// Units promised to backordered orders.
    pub allocated: u32,
    /// Units received, once it has arrived.
    #[serde(default)]
    pub received: Option<u32>,
}

/// Where a backorder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackorderStatus {
    /// Promised to inbound stock that has not arrived.
    Waiting,
    /// The stock arrived and was reserved for the order.
    Allocated,
    /// The receipt fell short before it reached this order.
    Short,
    /// The order was cancelled; its promise was given back.
    Cancelled,
}

/// Units of a line waiting for inbound stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backorder {
    /// The order line.
    pub line_id: String,
    /// Its SKU.
    pub sku: String,
    /// Units.
    pub qty: u32,
    /// Where they will ship from.
    pub location: String,
    /// The inbound record they wait for.
    pub inbound: String,
    /// The date promised to the customer (the inbound's expected date, or the release).
    pub promise_date: String,
    /// Where it stands.
    pub status: BackorderStatus,
    /// A preorder: the SKU was not released when the order was placed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preorder: bool,
}
