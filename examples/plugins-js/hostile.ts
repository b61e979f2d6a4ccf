// A hostile JavaScript plugin for the host's containment tests: the order's channel says how
// to misbehave. Any other channel gets a correct answer, so tests can show the host still
// routes after each attack (plugins/tests, tests/all/plugins.rs).

import { answerFor, log, type Answer, type Request } from "@switchyard/plugin-sdk";

function recurse(depth: number): number {
  return recurse(depth + 1) + 1;
}

export default function route(request: Request): Answer {
  const answer = answerFor(request);
  switch (request.order.channel) {
    case "loop":
      for (;;) {
        // Spins until the fuel runs out.
      }
    case "memory": {
      // 48 MiB at a time: past the memory limit at the first growth. (Smaller pieces run out
      // of fuel first: the engine zeroes every byte it hands out, an instruction per byte.)
      const hoard: ArrayBuffer[] = [];
      for (;;) hoard.push(new ArrayBuffer(48 << 20));
    }
    case "recursion":
      recurse(0);
      return answer;
    case "throw":
      throw new Error("no warehouse wants this order");
    case "throw-value":
      throw { not: "an error" };
    case "garbage":
      // An answer for an order that does not exist: one cost too many.
      answer.units.push(1);
      return answer;
    case "wrong-type":
      (answer as unknown as { maxShipments: string }).maxShipments = "three";
      return answer;
    case "not-an-answer":
      return "ship it" as unknown as Answer;
    case "log-flood":
      // Lines without end: the fuel runs out before the 64 KiB of log text a call may hand
      // the host (the component's bindings encode each character in JavaScript, ~300
      // instructions a character).
      for (;;) log("x".repeat(1_000));
  }
  answer.maxShipments = 3;
  answer.shortStock = { partial: 100 };
  request.locations.forEach((location, index) => {
    answer.shipment[index] = 5 + location.distanceKm / 100;
  });
  return answer;
}
