//! Inventory: reservations are atomic, conserve stock, and never oversell under contention.
