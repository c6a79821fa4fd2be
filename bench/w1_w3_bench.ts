/**
 * `deno bench` for W1 (matmul) and W3 (sum(relu(a·b + c))) on the CPU
 * backend, as shared/WORKLOADS.md defines them. Every timed run ends with
 * the result read back to the host.
 */
import { scope, tensor } from "../mod.ts";
import { uniform } from "./_workloads.ts";

for (const n of [128, 256, 512, 1024]) {
  const a = tensor(uniform(11, n * n), { shape: [n, n] });
  const b = tensor(uniform(12, n * n), { shape: [n, n] });
  Deno.bench(`W1 matmul N=${n} (${((2 * n ** 3) / 1e9).toFixed(3)} GFLOP)`, {
    group: "W1",
    n: n >= 1024 ? 3 : undefined,
  }, async () => {
    const c = a.matmul(b);
    await c.data();
    c.dispose();
  });
}

{
  const n = 4 * 2 ** 20;
  const a = tensor(uniform(21, n)), b = tensor(uniform(22, n)), c = tensor(uniform(23, n));
  Deno.bench("W3 sum(relu(a*b+c)) 4M", { group: "W3" }, async () => {
    const s = scope(() => a.mul(b).add(c).relu().sum());
    await s.data();
    s.dispose();
  });
}
