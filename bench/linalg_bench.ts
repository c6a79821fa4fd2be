/**
 * `deno task bench:linalg`: how long `linalg.svd`, `linalg.svdvals` and
 * `linalg.qr` take on an N×N random matrix (default N = 1024), as medians
 * over timed runs after one warm-up, wall clock including the readback and
 * the upload. With `--torch` (and `/usr/bin/python3` with torch), the same
 * calls in PyTorch (LAPACK, float64 and float32) are timed in the same run
 * for scale, each on the same matrix.
 *
 * Flags: `--n 1024`, `--runs 3` (timed runs per call), `--backend cpu`,
 * `--torch`, `--json` (one JSON line at the end).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { linalg, manualSeed, randn, setBackend, type Tensor } from "../mod.ts";
import { median } from "./_workloads.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    backend: { type: "string", default: "cpu" },
    torch: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const N = Number(values.n), RUNS = Number(values.runs);
await setBackend(values.backend!);
manualSeed(0);
const x = randn([N, N]);

async function time(fn: () => Promise<Tensor[]>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    const out = await fn();
    const dt = performance.now() - t0;
    for (const t of out) t.dispose();
    if (i > 0) times.push(dt); // the first run warms up
  }
  return median(times);
}

const results: Record<string, number> = {
  svd: await time(async () => Object.values(await linalg.svd(x))),
  svdvals: await time(async () => [await linalg.svdvals(x)]),
  qr: await time(async () => Object.values(await linalg.qr(x))),
};

/** The same calls in PyTorch on the same matrix, median ms, or null. */
async function torchTimes(): Promise<Record<string, number> | null> {
  const file = await Deno.makeTempFile({ suffix: ".f32" });
  try {
    await Deno.writeFile(file, new Uint8Array((await x.data()).buffer));
    const script = `
import json, sys, time, numpy, torch
torch.set_num_threads(1)
a = torch.from_numpy(numpy.fromfile(sys.argv[1], dtype=numpy.float32).reshape(${N}, ${N}))
def t(f):
    f()
    ts = []
    for _ in range(${RUNS}):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1000)
    return sorted(ts)[len(ts) // 2]
d = a.double()
print(json.dumps({"torch svd f64": t(lambda: torch.linalg.svd(d, full_matrices=False)),
                  "torch svd f32": t(lambda: torch.linalg.svd(a, full_matrices=False)),
                  "torch qr f64": t(lambda: torch.linalg.qr(d))}))`;
    const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, file] }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } catch (e) {
    console.error(`torch timing skipped: ${(e as Error).message.split("\n").at(-2) ?? e}`);
    return null;
  } finally {
    await Deno.remove(file);
  }
}

const torch = values.torch ? await torchTimes() : null;
const rows = Object.entries({ ...results, ...torch });
console.log(`linalg at N = ${N} on ${values.backend}, median of ${RUNS} runs:`);
for (const [name, ms] of rows) {
  const ratio = torch && !name.startsWith("torch") && name !== "svdvals"
    ? `  (${(ms / torch[`torch ${name} f64`]).toFixed(1)}× torch f64, one thread)`
    : "";
  console.log(`  ${name.padEnd(14)} ${(ms / 1000).toFixed(3)} s${ratio}`);
}
if (values.json) {
  console.log(JSON.stringify({ n: N, backend: values.backend, ...results, ...torch }));
}
x.dispose();
