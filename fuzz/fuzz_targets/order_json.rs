//! An order's JSON as a client sends it: decoded as the API decodes bodies, its ship-to placed
//! (coordinates, or a postal code looked up), then validated and routed (a dry run) by a service
//! seeded with the demo network.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use switchyard::host::api::dto::OrderRequest;
use switchyard::host::api::parse_json;
use switchyard::host::records::SubmittedOrder;
use switchyard::{Config, Service};

fn service() -> &'static Arc<Service> {
    static SERVICE: OnceLock<Arc<Service>> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let data = std::env::temp_dir().join(format!("switchyard-fuzz-{}", std::process::id()));
        let config = Config { data, ..Config::default() };
        runtime.block_on(async {
            let service = Service::open(config).await.expect("the service opens");
            switchyard::serve::seed_demo(&service).await.expect("the demo seeds");
            service
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = parse_json::<OrderRequest>(data) else { return };
    let Ok(submitted): Result<SubmittedOrder, _> = request.into_submitted("") else { return };
    let _ = service().dry_run(&submitted);
});
