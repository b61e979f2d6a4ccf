//! Integration tests of switchyard-engine: one binary, one module per area.

mod fixtures;
mod inventory;
mod optimizer;
mod router;
