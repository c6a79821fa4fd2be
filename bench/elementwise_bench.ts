/**
 * `deno task bench:elementwise`: the CPU backend's elementwise ops and
 * copies on the shapes of a LoRA training step of a Llama-shaped model
 * (hidden 576, MLP 1536, 4 × 128 tokens): same-shape, row- and
 * column-broadcast binary ops, transcendental unary ops, strided copies,
 * int32 and comparisons. Each case is timed through the public API (the
 * CPU backend runs ops synchronously, so the call is the work), median of
 * ≥ 11 runs after 3 warm-ups.
 *
 * Flags: `--lib PATH` the library's `mod.ts` to time (default: this
 * checkout), `--baseline PATH` another checkout's `mod.ts` timed in the
 * same process, alternating run by run with the first so both see the same
 * machine load (the table then adds its medians and the speedup, baseline
 * ÷ this), `--threads 1|2` (default 2), `--runs N` (default 15).
 *
 * Before/after in one sitting:
 * ```sh
 * deno task bench:elementwise --baseline ../main/mod.ts
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { median } from "./_workloads.ts";

type Lib = typeof import("../mod.ts");
type Tensor = import("../mod.ts").Tensor;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    lib: { type: "string" },
    baseline: { type: "string" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "15" },
  },
});

/** Imports a checkout's library (its `mod.ts`) and sets it up on the CPU backend. */
async function load(path: string): Promise<Lib> {
  const spec = new URL(path, `file://${Deno.cwd()}/`).href;
  const lib: Lib = await import(spec);
  const wasm = await import(new URL("backends/cpu/wasm/mod.ts", spec).href);
  wasm.setNumThreads(Number(values.threads));
  await lib.setBackend("cpu");
  lib.manualSeed(0);
  return lib;
}

const ownPath = new URL("../mod.ts", import.meta.url).pathname;
const libs = [await load(values.lib ?? ownPath)];
if (values.baseline) libs.push(await load(values.baseline));

const [R, H, I] = [512, 576, 1536];

/** One case: `make` builds the inputs once per library, `run` is the timed call. */
interface Case {
  name: string;
  elems: number;
  make(L: Lib): Tensor[];
  run(t: Tensor[], L: Lib): Tensor;
}

type Make = (L: Lib) => Tensor;
const f = (shape: number[]): Make => (L) => L.randn(shape);
const pos = (shape: number[]): Make => (L) => L.rand(shape).add(0.5);
const int = (shape: number[]): Make => (L) => L.randn(shape).mul(100).int();
/** A case whose inputs come from `makers`. */
function c(name: string, elems: number, makers: Make[], run: Case["run"]): Case {
  return { name, elems, make: (L) => makers.map((m) => m(L)), run };
}

const CASES: Case[] = [
  c("mul same-shape", R * H, [f([R, H]), f([R, H])], ([a, b]) => a.mul(b)),
  c("mul row-bcast [576]", R * H, [f([R, H]), f([H])], ([a, b]) => a.mul(b)),
  c("mul col-bcast [512,1]", R * H, [f([R, H]), f([R, 1])], ([a, b]) => a.mul(b)),
  c("div col-bcast [512,1]", R * H, [f([R, H]), pos([R, 1])], ([a, b]) => a.div(b)),
  c("sub col-bcast 4-D", R * H, [f([4, 9, 128, 64]), f([4, 9, 128, 1])], ([a, b]) => a.sub(b)),
  c("add transposed a.T + b", R * H, [f([H, R]), f([R, H])], ([a, b]) => a.transpose(0, 1).add(b)),
  c("gt row-bcast", R * H, [f([R, H]), f([H])], ([a, b]) => a.gt(b)),
  c("int32 add row-bcast", R * H, [int([R, H]), int([H])], ([a, b]) => a.add(b)),
  c("int32 mul same-shape", R * H, [int([R, H]), int([R, H])], ([a, b]) => a.mul(b)),
  c("eq int32 same-shape", R * H, [int([R, H]), int([R, H])], ([a, b]) => a.eq(b)),
  c("sigmoid [512,1536]", R * I, [f([R, I])], ([a]) => a.sigmoid()),
  c("exp [512,1536]", R * I, [f([R, I])], ([a]) => a.exp()),
  c("tanh [512,1536]", R * I, [f([R, I])], ([a]) => a.tanh()),
  c("log [512,1536]", R * I, [pos([R, I])], ([a]) => a.log()),
  c("sqrt [512,576]", R * H, [pos([R, H])], ([a]) => a.sqrt()),
  c("abs+sqrt [512,576]", R * H, [f([R, H])], ([a]) => a.abs().sqrt()),
  c("sigmoid transposed", R * H, [f([H, R])], ([a]) => a.transpose(0, 1).sigmoid()),
  c(
    "copy heads [4,128,9,64]→[4,9,128,64]",
    R * H,
    [f([R, H])],
    ([a]) => a.reshape([4, 128, 9, 64]).transpose(1, 2).contiguous(),
  ),
  c("copy 2-D transpose", R * H, [f([R, H])], ([a]) => a.transpose(0, 1).contiguous()),
  c("copy expand [576]→[512,576]", R * H, [f([H])], ([a]) => a.expand([R, H]).contiguous()),
  c("where row-bcast", R * H, [f([R, H]), f([H])], ([a, b], L) => L.where(a.gt(0), a, b)),
];

/**
 * Median ms of one case per library. Runs alternate between the libraries,
 * in A B B A order so neither always runs right after the other, with an
 * idle event-loop turn between runs (the worker stops spinning and parks;
 * V8 finishes tiering up).
 */
async function time(cs: Case): Promise<number[]> {
  const inputs = libs.map((L) => cs.make(L));
  const times: number[][] = libs.map(() => []);
  const runs = Number(values.runs);
  for (let k = 0; k < runs + 3; k++) {
    const order = k % 2 ? [...libs.keys()].reverse() : [...libs.keys()];
    for (const j of order) {
      const L = libs[j];
      await new Promise((r) => setTimeout(r, 0));
      const t0 = performance.now();
      // scope() frees intermediates (abs before sqrt, the mask of where).
      const out = L.scope(() => L.noGrad(() => cs.run(inputs[j], L)));
      const dt = performance.now() - t0;
      out.dispose();
      if (k >= 3) times[j].push(dt);
    }
  }
  inputs.flat().forEach((t) => t.dispose());
  return times.map(median);
}

console.log(
  `elementwise bench: ${values.lib ?? "this checkout"}` +
    (values.baseline ? ` vs baseline ${values.baseline}` : "") +
    `, threads ${values.threads}, median of ${values.runs} runs`,
);
const head = ["case", "elements", "ms", "ns/elem"];
if (values.baseline) head.push("baseline ms", "speedup");
console.log(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
for (const cs of CASES) {
  const [ms, base] = await time(cs);
  const row = [cs.name, String(cs.elems), ms.toFixed(3), (ms * 1e6 / cs.elems).toFixed(2)];
  if (base !== undefined) row.push(base.toFixed(3), `${(base / ms).toFixed(2)}×`);
  console.log(`| ${row.join(" | ")} |`);
}
