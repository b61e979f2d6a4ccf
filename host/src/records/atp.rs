//! The feed of ATP changes: one entry per SKU whose available-to-promise moved, coalesced per
//! interval, numbered so a system that polls can resume where it stopped.

use serde::{Deserialize, Serialize};

/// ATP of a SKU at one location, at the time of a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationAtp {
    /// The location.
    pub location: String,
    /// Available to promise there (for a kit: whole kits).
    pub atp: u32,
}

/// A SKU's ATP changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtpChange {
    /// Its place in the feed: increasing, never reused.
    pub seq: u64,
    /// When it was published (RFC 3339).
    pub at: String,
    /// The SKU (or kit).
    pub sku: String,
    /// Available to promise across the network now.
    pub atp: u64,
    /// The locations whose ATP changed, with their ATP now.
    pub locations: Vec<LocationAtp>,
}
