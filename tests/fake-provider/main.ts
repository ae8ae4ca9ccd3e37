// Runs the fake provider on its own (benchmarks): bun tests/fake-provider/main.ts [port]
import { startFakeProvider } from "./fake-provider.ts";

const fake = startFakeProvider({ port: Number(process.argv[2] ?? 0), record: false });
console.log(JSON.stringify({ url: fake.url }));
export {};
