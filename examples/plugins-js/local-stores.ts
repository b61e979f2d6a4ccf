// A merchant's plugin: ship from a store near the customer (within 150 km) unless a
// distribution centre saves more than $2. Costs are the reference model's (reference.ts);
// each nearby store's shipment is priced $2 lower, so the optimizer picks it unless a DC's
// plan is cheaper by more than that. Stores that cannot take more shipments today are left
// to the host's capacity rules; stores are never asked to ship hazmat. The distance and the
// saving are parameters: a binding changes them without a rebuild
// (`--param store_preference=5` on the command line).
//
//   node plugins/sdk-js/build.mjs examples/plugins-js/local-stores.ts local-stores.wasm

import { answerFor, excluded, log, type Answer, type Parameters, type Request } from "@switchyard/plugin-sdk";

export const parameters = {
  local_km: { type: "number", default: 150, description: "A store this close to the customer (km) is local" },
  store_preference: {
    type: "number",
    default: 2,
    description: "Dollars a distribution centre must save to ship instead of a local store",
  },
} satisfies Parameters;
const ZONE_KM = [80, 241, 483, 966, 1609, 2253, 2897];
const PER_SHIPMENT = [7.5, 7.8, 8.2, 8.9, 9.8, 10.6, 11.4, 12.3];
const PER_KG = [0.66, 0.77, 0.99, 1.32, 1.76, 2.2, 2.54, 2.87];

function zone(distanceKm: number): number {
  const index = ZONE_KM.findIndex((bound) => distanceKm <= bound);
  return index === -1 ? ZONE_KM.length : index;
}

export default function route(request: Request): Answer {
  const answer = answerFor(request);
  const localKm = request.parameters.local_km as number;
  const preference = request.parameters.store_preference as number;
  let local = 0;
  request.locations.forEach((location, index) => {
    let cost = PER_SHIPMENT[zone(location.distanceKm)] + location.handlingPerShipment;
    if (location.kind === "store" && location.distanceKm <= localKm) {
      cost -= preference;
      local += 1;
    }
    answer.shipment[index] = cost;
  });
  request.candidates.forEach((candidate, index) => {
    const line = request.lines[candidate.line];
    const location = request.locations[candidate.location];
    if (line.item.tags.includes("hazmat") && location.kind === "store") {
      answer.units[index] = excluded("stores do not ship hazmat");
    } else if (line.item.tags.includes("cold_chain") && !location.capabilities.includes("cold_chain")) {
      answer.units[index] = excluded("requires capability `cold_chain`");
    } else {
      answer.units[index] = PER_KG[zone(location.distanceKm)] * line.item.weightKg + location.handlingPerUnit;
    }
  });
  if (local > 0) log(`${request.order.id}: ${local} stores within ${localKm} km`);
  answer.maxShipments = 3;
  answer.splitPenalty = 2;
  answer.shortStock = { partial: 100 };
  return answer;
}
