//! The optimizer against brute force on random small instances, and the greedy baseline's
//! plans against the same limits.

use proptest::prelude::*;
use switchyard_engine::{PlanStatus, Router, RouterConfig, SearchBudget, Strategy, Workspace};

use crate::fixtures::{Instance, Size, brute_force, instances, sized_instances, violation};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(default)
}

fn plan(instance: &Instance, config: &RouterConfig) -> switchyard_engine::Plan {
    let inventory = instance.inventory();
    let router = Router { catalog: &instance.catalog, inventory: &inventory, policy: &instance.policy, config };
    router.plan(&instance.order, &mut Workspace::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(600), ..ProptestConfig::default() })]

    #[test]
    fn optimal_plans_cost_exactly_what_brute_force_finds(instance in instances()) {
        let plan = plan(&instance, &RouterConfig::default());
        prop_assert!(plan.optimal, "search within the default budget must finish on tiny instances");
        if let Some(problem) = violation(&instance, &plan) {
            prop_assert!(false, "plan breaks a limit: {problem}\n{plan:#?}");
        }
        match brute_force(&instance) {
            None => prop_assert!(matches!(plan.status, PlanStatus::Rejected { .. }), "brute force finds no complete plan, router says {plan:#?}"),
            Some((cost, unfilled)) => {
                prop_assert_eq!(&plan.status, &PlanStatus::Routed);
                prop_assert!((plan.cost.total() - cost).abs() < 1e-6, "router {} vs brute force {cost}\n{plan:#?}", plan.cost.total());
                if instance.policy.unfilled_penalty.is_none() {
                    prop_assert_eq!(unfilled, 0);
                }
            }
        }
    }

    #[test]
    fn greedy_plans_keep_every_limit_and_never_beat_the_optimum(instance in instances()) {
        let greedy = plan(&instance, &RouterConfig { strategy: Strategy::Greedy, ..RouterConfig::default() });
        prop_assert!(!greedy.optimal, "greedy never claims a proof");
        if let Some(problem) = violation(&instance, &greedy) {
            prop_assert!(false, "greedy plan breaks a limit: {problem}\n{greedy:#?}");
        }
        if let (PlanStatus::Routed, Some((best, _))) = (&greedy.status, brute_force(&instance)) {
            prop_assert!(greedy.cost.total() >= best - 1e-6);
        }
    }

    #[test]
    fn plans_are_the_same_every_time(instance in instances()) {
        let first = plan(&instance, &RouterConfig::default());
        let second = plan(&instance, &RouterConfig::default());
        prop_assert_eq!(first, second);
    }

    #[test]
    fn an_exhausted_budget_still_gives_a_valid_plan_but_no_proof(instance in instances()) {
        let config = RouterConfig { budget: SearchBudget { max_nodes: 0, max_time: None }, ..RouterConfig::default() };
        let plan = plan(&instance, &config);
        prop_assert!(!plan.optimal);
        if let Some(problem) = violation(&instance, &plan) {
            prop_assert!(false, "plan breaks a limit: {problem}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    // Larger networks than brute force can enumerate: the branch and bound must find the same
    // cost as trying every set of locations with the (brute-force-checked) fill function.
    #[test]
    fn optimal_plans_cost_what_trying_every_location_set_costs(
        instance in sized_instances(Size { locations: 12, skus: 5, lines: 6, qty: 6, on_hand: 8, max_shipments: 4 })
    ) {
        let optimal = plan(&instance, &RouterConfig::default());
        let exhaustive = plan(&instance, &RouterConfig { strategy: Strategy::Exhaustive, budget: SearchBudget { max_nodes: u64::MAX, max_time: None }, ..RouterConfig::default() });
        prop_assert!(optimal.optimal && exhaustive.optimal);
        if let Some(problem) = violation(&instance, &optimal) {
            prop_assert!(false, "plan breaks a limit: {problem}");
        }
        prop_assert_eq!(&optimal.status, &exhaustive.status);
        prop_assert!((optimal.cost.total() - exhaustive.cost.total()).abs() < 1e-6,
            "branch and bound {} vs every set {}", optimal.cost.total(), exhaustive.cost.total());
    }
}
