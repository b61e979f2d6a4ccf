// The benchmark scenarios' reference cost model (docs/SCENARIOS.md) as a TypeScript plugin:
// the same model as examples/plugins/reference (Rust) and the native policy, and the same
// plans on us-50-small, order by order (tests/all/plugins.rs checks it). Built by
// `scripts/build-plugins`:
//
//   node plugins/sdk-js/build.mjs examples/plugins-js/reference.ts reference.wasm
//   switchyard route --scenario examples/scenarios/us-50-small.json --plugin reference.wasm

import { answerFor, excluded, type Answer, type Request } from "@switchyard/plugin-sdk";

// The sample scenarios' rate card: zone bounds in km, then per zone a parcel price and a
// price per kg.
const ZONE_KM = [80, 241, 483, 966, 1609, 2253, 2897];
const PER_SHIPMENT = [7.5, 7.8, 8.2, 8.9, 9.8, 10.6, 11.4, 12.3];
const PER_KG = [0.66, 0.77, 0.99, 1.32, 1.76, 2.2, 2.54, 2.87];
const REQUIRED_CAPABILITIES = ["hazmat", "cold_chain"];

function zone(distanceKm: number): number {
  const index = ZONE_KM.findIndex((bound) => distanceKm <= bound);
  return index === -1 ? ZONE_KM.length : index;
}

export default function route(request: Request): Answer {
  const answer = answerFor(request);
  const zones = request.locations.map((location) => zone(location.distanceKm));
  request.locations.forEach((location, index) => {
    answer.shipment[index] = PER_SHIPMENT[zones[index]] + location.handlingPerShipment;
  });
  request.candidates.forEach((candidate, index) => {
    const line = request.lines[candidate.line];
    const location = request.locations[candidate.location];
    const missing = REQUIRED_CAPABILITIES.find(
      (capability) => line.item.tags.includes(capability) && !location.capabilities.includes(capability),
    );
    answer.units[index] =
      missing !== undefined
        ? excluded(`requires capability \`${missing}\``)
        : PER_KG[zones[candidate.location]] * line.item.weightKg + location.handlingPerUnit;
  });
  answer.maxShipments = 3;
  answer.splitPenalty = 2;
  answer.shortStock = { partial: 100 };
  return answer;
}
