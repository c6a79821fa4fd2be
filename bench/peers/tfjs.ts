/**
 * TensorFlow.js 4.22 on `bench/compare.ts`'s workloads: `--backend=cpu`
 * (tfjs-backend-cpu, pure JS) or `--backend=wasm` (tfjs-backend-wasm,
 * XNNPACK with Wasm SIMD, 1 thread). Dev-only peer: the library never
 * imports it.
 *
 * Run alone: `deno run -A bench/peers/tfjs.ts --backend=wasm [--workloads W1,W3]`.
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// tfjs-core's node bundle registers no gradients and its ESM files are extensionless;
// the umbrella package's node bundle registers them all on the same tfjs-core.
// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
import "npm:@tensorflow/tfjs@4.22.0";
// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
import { setThreadsCount, setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
import { type Impl, type PreparedW2, runPeer, W2_SHAPE, type W2Data } from "./_harness.ts";

const WASM_PKG = "@tensorflow/tfjs-backend-wasm/4.22.0/dist";
const WASM_FILE = "tfjs-backend-wasm-simd.wasm";

/** Finds tfjs-backend-wasm's dist folder (with the .wasm files) in Deno's npm cache or node_modules. */
async function findWasmDir(): Promise<string | null> {
  const candidates: string[] = [];
  try {
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    if (info.npmCache) candidates.push(`${info.npmCache}/registry.npmjs.org/${WASM_PKG}`);
  } catch { /* fall through to the usual places */ }
  const denoDir = Deno.env.get("DENO_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;
  candidates.push(`${denoDir}/npm/registry.npmjs.org/${WASM_PKG}`);
  const root = new URL("../../", import.meta.url).pathname;
  candidates.push(`${root}node_modules/@tensorflow/tfjs-backend-wasm/dist`);
  candidates.push(
    `${root}node_modules/.deno/@tensorflow+tfjs-backend-wasm@4.22.0/node_modules/@tensorflow/tfjs-backend-wasm/dist`,
  );
  for (const dir of candidates) {
    try {
      await Deno.stat(`${dir}/${WASM_FILE}`);
      return dir;
    } catch { /* next */ }
  }
  return null;
}

async function init(backend: "cpu" | "wasm"): Promise<string[]> {
  const notes: string[] = [];
  if (backend === "wasm") {
    // One thread, SIMD on: the non-threaded SIMD binary.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tf.env().set("WASM_HAS_SIMD_SUPPORT", true);
    setThreadsCount(1);
    const dir = await findWasmDir();
    if (dir) {
      setWasmPaths(dir + "/");
      notes.push(`wasm binary: ${dir}/${WASM_FILE}`);
    } else {
      notes.push("wasm binaries not found in the npm cache; left to tfjs's own lookup");
    }
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to start`);
  await tf.ready();
  if (backend === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const mt = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    notes.push(`SIMD ${simd ? "on" : "off"}, multithreading ${mt ? "on" : "off"}`);
  }
  return notes;
}

/** tfjs-core's module type (the W2 builder takes the loaded instance). */
export type Tf = typeof tf;

/**
 * W2 in tfjs on whatever backend `tf` runs: frozen weights as constants, the
 * four LoRA factors as variables, `optimizer.minimize` with `tf.train.adam`.
 */
export function tfjsW2(tfm: Tf, d: W2Data): PreparedW2 {
  const { d: D, h: H, rank: R, alpha } = W2_SHAPE, batch = d.batch;
  const scaling = alpha / R;
  const x = tfm.tensor2d(d.x, [batch, D]), y = tfm.tensor2d(d.y, [batch, D]);
  const W1 = tfm.tensor2d(d.W1, [H, D]), b1 = tfm.tensor1d(d.b1);
  const W2 = tfm.tensor2d(d.W2, [D, H]), b2 = tfm.tensor1d(d.b2);
  const A1 = tfm.variable(tfm.tensor2d(d.A1, [R, D]), true, "A1");
  const B1 = tfm.variable(tfm.zeros([H, R]), true, "B1");
  const A2 = tfm.variable(tfm.tensor2d(d.A2, [R, H]), true, "A2");
  const B2 = tfm.variable(tfm.zeros([D, R]), true, "B2");
  const vars = [A1, B1, A2, B2];
  const opt = tfm.train.adam(1e-3, 0.9, 0.999, 1e-8);
  // y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ
  const lin = (inp: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor1D, A: tf.Variable, B: tf.Variable) =>
    tfm.add(
      tfm.add(tfm.matMul(inp, W, false, true), b),
      tfm.mul(
        tfm.matMul(tfm.matMul(inp, A as tf.Tensor2D, false, true), B as tf.Tensor2D, false, true),
        scaling,
      ),
    ) as tf.Tensor2D;
  const lossFn = () => {
    const h = tfm.relu(lin(x, W1, b1, A1, B1)) as tf.Tensor2D;
    const out = lin(h, W2, b2, A2, B2);
    return tfm.mean(tfm.squaredDifference(out, y)) as tf.Scalar;
  };
  return {
    async step() {
      const loss = opt.minimize(lossFn, true, vars)!;
      const v = (await loss.data())[0];
      loss.dispose();
      return v;
    },
    dispose() {
      tfm.dispose([x, y, W1, b1, W2, b2, ...vars]);
      opt.dispose();
    },
  };
}

/** W1 in tfjs on whatever backend `tfm` runs: C = A·B, read back. */
export function tfjsW1(
  tfm: Tf,
  n: number,
  a: Float32Array,
  b: Float32Array,
): { run(): Promise<void>; dispose(): void } {
  const ta = tfm.tensor2d(a, [n, n]), tb = tfm.tensor2d(b, [n, n]);
  return {
    async run() {
      const c = tfm.matMul(ta, tb);
      await c.data();
      c.dispose();
    },
    dispose() {
      tfm.dispose([ta, tb]);
    },
  };
}

/** tfjs on the chosen backend, for the compare harness. */
export async function tfjsImpl(backend: "cpu" | "wasm"): Promise<Impl> {
  const notes = await init(backend);
  notes.push("W2: tf.train.adam via optimizer.minimize (ε added to √v̂, as torch)");
  return {
    id: backend === "cpu" ? "tfjs-cpu" : "tfjs-wasm",
    label: backend === "cpu"
      ? "tfjs-backend-cpu 4.22 (pure JS)"
      : "tfjs-backend-wasm 4.22 (XNNPACK, Wasm SIMD)",
    threads: "1",
    notes,
    w1: (n, a, b) => tfjsW1(tf, n, a, b),
    w2: (d) => tfjsW2(tf, d),
    w3(a, b, c) {
      const ta = tf.tensor1d(a), tb = tf.tensor1d(b), tc = tf.tensor1d(c);
      return {
        async run() {
          const s = tf.tidy(() => tf.sum(tf.relu(tf.add(tf.mul(ta, tb), tc))));
          const v = (await s.data())[0];
          s.dispose();
          return v;
        },
        dispose() {
          tf.dispose([ta, tb, tc]);
        },
      };
    },
  };
}

if (import.meta.main) {
  const backend = Deno.args.find((a) => a.startsWith("--backend="))?.slice(10) ?? "cpu";
  if (backend !== "cpu" && backend !== "wasm") {
    throw new Error(`--backend=cpu|wasm, got ${backend}`);
  }
  await runPeer(await tfjsImpl(backend));
}
