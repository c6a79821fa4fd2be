/**
 * One life of the CPU backend's worker for the exit soak: start it with a
 * threaded GEMM, compute, and exit in the state `Deno.args[0]` names:
 * `parked` (the worker idle in its wait), `busy` (right after a threaded
 * call, the worker still spinning), `exit` (`Deno.exit()` mid-work),
 * `webgpu` (a WebGPU device open too). Prints the checksum and, from its
 * own `unload` listener (which runs after the library's), whether the
 * worker had been stopped by then.
 *
 * @module
 */
import { randn, setBackend } from "../../mod.ts";
import { workerRunning } from "../../backends/cpu/wasm/mod.ts";

addEventListener("unload", () => console.log(`stopped before exit ${!workerRunning()}`));

const mode = Deno.args[0] ?? "parked";
await setBackend("cpu");
const a = randn([384, 384]), b = randn([384, 384]);
const c = a.matmul(b); // big enough to be shared with the worker
let sum = await c.sum().item();
const big = randn([400_000]);
sum += await big.add(big).sum().item(); // a threaded elementwise op and sum
if (mode === "webgpu") {
  await setBackend("webgpu");
  const g = randn([64, 64]);
  sum += await g.matmul(g).sum().item();
  await setBackend("cpu");
}
if (mode === "parked") await new Promise((r) => setTimeout(r, 20));
console.log(`checksum ${Number.isFinite(sum)}`);
if (mode === "busy") a.matmul(b); // the worker is still spinning when main returns
if (mode === "exit") {
  a.matmul(b);
  Deno.exit(0);
}
