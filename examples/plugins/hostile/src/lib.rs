//! A hostile plugin for the host's limit tests: the order's channel says how to misbehave.
//! Any other channel gets a correct answer, so tests can show the host still routes after
//! each attack.

use switchyard_plugin_sdk::bindings::switchyard::routing::types as wire;
use switchyard_plugin_sdk::{Answer, Request, ShortStock, Verdict, log};

// Recursion on the wasm stack: scalar frames, and work after the call that the optimizer
// cannot turn into a loop.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    (recurse(depth + 1) ^ depth).wrapping_mul(31)
}

// Recursion on the shadow stack in linear memory (frames with arrays), which runs out of
// memory bounds rather than wasm stack.
#[inline(never)]
fn recurse_in_memory(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth as u8; 256]);
    if depth == u64::MAX {
        return 0;
    }
    let below = recurse_in_memory(std::hint::black_box(depth + 1));
    below + u64::from(std::hint::black_box(frame)[7])
}

fn route(request: &Request) -> Result<Answer, String> {
    match request.order.channel {
        "loop" => {
            let mut counter: u64 = 0;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        "memory" => {
            // Reserved, not written: the memory grows a MiB at a time without spending fuel on
            // filling it, so the memory limit is what stops it.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(Vec::with_capacity(1 << 20));
                std::hint::black_box(&hoard);
            }
        }
        "recursion" => {
            let depth = recurse(std::hint::black_box(0));
            Err(format!("recursed {depth} deep"))
        }
        "recursion-in-memory" => {
            let depth = recurse_in_memory(std::hint::black_box(0));
            Err(format!("recursed {depth} deep"))
        }
        "trap" => panic!("the plugin gave up"),
        "error" => Err("no warehouse wants this order".to_string()),
        "garbage" => {
            // An answer for an order that does not exist: wrong sizes.
            let mut answer = Answer::for_request(request);
            answer.units.push(Verdict::Cost(1.0));
            Ok(answer)
        }
        "negative" => {
            let mut answer = Answer::for_request(request);
            answer.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(-5.0));
            Ok(answer)
        }
        "huge-error" => {
            // Megabytes of refusal, with escape sequences and a fake backtrace.
            Err(format!("\u{1b}[31mrefused\u{1b}[0m\n{}", "at frame 0x1234\n".repeat(100_000)))
        }
        "huge-cost" => {
            // Finite, but their sum is not.
            let mut answer = Answer::for_request(request);
            answer.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(1e300));
            answer.units.iter_mut().for_each(|v| *v = Verdict::Cost(1e300));
            Ok(answer)
        }
        "chatty" => {
            for n in 0..10_000 {
                log(&format!("line {n}"));
            }
            Ok(Answer::for_request(request))
        }
        "backorder" | "bad-backorder" => {
            let mut answer = Answer::for_request(request);
            answer.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(5.0));
            answer.units.iter_mut().for_each(|v| *v = Verdict::Cost(1.0));
            answer.max_shipments = 2;
            answer.short_stock = ShortStock::Partial(50.0);
            // Short units may wait two weeks for inbound stock (or, broken, a negative time).
            answer.backorder_within = Some(if request.order.channel == "backorder" { 14 * 86_400 } else { -1 });
            Ok(answer)
        }
        _ => {
            let mut answer = Answer::for_request(request);
            answer.shipment.iter_mut().for_each(|v| *v = Verdict::Cost(5.0));
            answer.units.iter_mut().for_each(|v| *v = Verdict::Cost(1.0));
            answer.max_shipments = 2;
            answer.short_stock = ShortStock::Partial(50.0);
            Ok(answer)
        }
    }
}

// Implemented by hand rather than with `plugin!`, to also send what the SDK never would.
struct Hostile;

impl switchyard_plugin_sdk::Guest for Hostile {
    fn parameters() -> Vec<wire::Parameter> {
        Vec::new()
    }

    fn evaluate(wire: wire::Request) -> Result<wire::Answer, String> {
        let request = Request::from_wire(&wire, &[])?;
        let mut answer = route(&request)?.into_wire();
        if request.order.channel == "bad-reason" {
            // An exclusion whose reason is not in the list.
            answer.excluded_candidates.push(wire::Exclusion { index: 0, reason: 99 });
        }
        if let Some(kind) = request.order.channel.strip_prefix("bad-plan-") {
            // Plans the host must refuse: more units than there are, a candidate that does
            // not exist, zero units.
            let (candidate, units) = match kind {
                "over-stock" => (0, 1_000_000),
                "unknown-candidate" => (9999, 1),
                _ => (0, 0),
            };
            answer.plan = Some(vec![wire::PlannedUnits { candidate, units }]);
        }
        if request.order.channel == "huge-reason" {
            // One reason of megabytes, with a terminal escape sequence, for every candidate
            // (built in one allocation: the plugin's memory is limited too).
            let mut reason = Vec::with_capacity(1 << 20);
            reason.extend_from_slice("\u{1b}]0;pwned\u{7}\u{202E}".as_bytes());
            reason.resize(1 << 20, b'x');
            answer.reasons.push(String::from_utf8(reason).unwrap_or_default());
            let reason = (answer.reasons.len() - 1) as u32;
            for index in 0..request.candidates.len() as u32 {
                answer.excluded_candidates.push(wire::Exclusion { index, reason });
            }
        }
        if request.order.channel == "bad-exclusion" {
            // An exclusion of a location the request does not have.
            answer.reasons.push("no such place".to_owned());
            answer.excluded_locations.push(wire::Exclusion { index: 9999, reason: 0 });
        }
        Ok(answer)
    }
}

switchyard_plugin_sdk::export_routing_plugin!(Hostile with_types_in switchyard_plugin_sdk::bindings);
