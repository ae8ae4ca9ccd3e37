// The disk worker: measures tenant directories off the main thread, one request at a time, so a
// walk of a large tree never stalls the gateway's requests.
//   {id, root, caps} → {id, usage} | {id, error}
import { measureTree, type TreeCaps } from "./disk-usage.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { id: number; root: string; caps: TreeCaps };
  try {
    self.postMessage({ id: m.id, usage: measureTree(m.root, m.caps) });
  } catch (err) {
    self.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
};
