//! What the targets share: a small network with stock and a few orders to route.

use std::sync::OnceLock;

use switchyard::engine::{Inventory, Order, Policy, Router, RouterConfig, Workspace};
use switchyard::scenario::Scenario;

const SCENARIO: &str = include_str!("../../examples/scenarios/us-10-kits.json");

pub struct Network {
    pub scenario: Scenario,
    pub inventory: Inventory,
    pub config: RouterConfig,
}

pub fn network() -> &'static Network {
    static NETWORK: OnceLock<Network> = OnceLock::new();
    NETWORK.get_or_init(|| {
        let scenario = Scenario::from_json(SCENARIO).expect("the sample scenario reads");
        let inventory = scenario.fresh_inventory();
        Network { scenario, inventory, config: RouterConfig::default() }
    })
}

/// Routes (without reserving) the scenario's first orders under `policy`. Errors are fine: a
/// policy may refuse an order; a panic or a hang is what the fuzzer looks for.
pub fn route_some(policy: &dyn Policy) {
    let network = network();
    let router =
        Router { catalog: &network.scenario.catalog, inventory: &network.inventory, policy, config: &network.config };
    let mut workspace = Workspace::default();
    let orders: &[Order] = &network.scenario.orders;
    for order in orders.iter().take(4) {
        let _ = router.explain(order, &mut workspace);
    }
}
