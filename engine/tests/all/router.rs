//! Routing end to end on a hand-made network: exclusions, downtime, capacity, rejection,
//! explanations.
