//! End-to-end tests of the `switchyard` package: one binary, one module per area.

mod cli;
mod plan_check;
mod scenarios;
