import { expect, test } from "bun:test";
import fc from "fast-check";
import { TimeWindow } from "../../src/lib/time-window.ts";

test("behaves like a plain sliding log, through growth and wrap-around", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 50 }) }), fc.record({ drop: fc.integer({ min: 0, max: 50 }) })), { maxLength: 400 }), (ops) => {
      const w = new TimeWindow();
      const model: number[] = [];
      let t = 0;
      for (const op of ops) {
        if ("push" in op) {
          t += op.push;
          w.push(t);
          model.push(t);
        } else {
          const cut = t - op.drop;
          w.dropThrough(cut);
          while (model.length && model[0]! <= cut) model.shift();
        }
        if (w.count !== model.length || w.oldest() !== model[0] || w.newest() !== model[model.length - 1]) return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
});
