/**
 * jax-js 0.1.25 (npm `@jax-js/jax`) on `bench/compare.ts`'s workloads, Wasm
 * device, with `--workers=N` Wasm workers (jax-js sizes its pool from
 * `navigator.hardwareConcurrency`, so that is set before it loads). `--jit`
 * runs W2's step under `jit`. Dev-only peer: the library never imports it.
 *
 * Run alone: `deno run -A bench/peers/jax.ts --workers=1 [--jit] [--workloads W2]`.
 *
 * @module
 */
import {
  type Impl,
  peerArgs,
  type PreparedW2,
  runPeer,
  W2_SHAPE,
  type W2Data,
} from "./_harness.ts";

const { values } = peerArgs();
const workers = Math.max(1, Number(values.workers ?? 1) | 0);
const useJit = values.jit === true;
// jax-js reads this when its Wasm backend makes the worker pool.
Object.defineProperty(navigator, "hardwareConcurrency", { value: workers, configurable: true });

// deno-lint-ignore no-import-prefix -- dev-only peer, kept out of the config on purpose
const jax = await import("npm:@jax-js/jax@0.1.25");
const { numpy: np } = jax;
type Arr = InstanceType<typeof jax.Array>;

const devices = await jax.init("wasm");
if (!devices.includes("wasm")) throw new Error(`jax-js: no wasm device (got ${devices})`);
jax.defaultDevice("wasm");

const BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, LR = 1e-3;

function arr(data: Float32Array, shape: number[]): Arr {
  return np.array(data as Float32Array<ArrayBuffer>).reshape(shape);
}

type Params = { A1: Arr; B1: Arr; A2: Arr; B2: Arr };

async function w2(d: W2Data): Promise<PreparedW2> {
  const { batch, d: D, h: H, rank: R, alpha } = W2_SHAPE;
  const scaling = alpha / R;
  const x = arr(d.x, [batch, D]), y = arr(d.y, [batch, D]);
  // Frozen weights kept transposed ([in, out]) so the forward is x·Wt.
  const W1t = arr(d.W1, [H, D]).transpose(), b1 = arr(d.b1, [H]);
  const W2t = arr(d.W2, [D, H]).transpose(), b2 = arr(d.b2, [D]);
  let params: Params = {
    A1: arr(d.A1, [R, D]),
    B1: np.zeros([H, R]),
    A2: arr(d.A2, [R, H]),
    B2: np.zeros([D, R]),
  };
  let m: Params = jax.tree.map((p: Arr) => np.zerosLike(p.ref), params) as Params;
  let v: Params = jax.tree.map((p: Arr) => np.zerosLike(p.ref), params) as Params;

  // y = inp·Wt + b + s·(inp·Aᵀ)·Bᵀ; consumes inp, A and B.
  const lin = (inp: Arr, Wt: Arr, b: Arr, A: Arr, B: Arr): Arr =>
    np.matmul(inp.ref, Wt.ref).add(b.ref).add(
      np.matmul(np.matmul(inp, A.transpose()), B.transpose()).mul(scaling),
    );
  const lossFn = (p: Params): Arr => {
    const h = np.maximum(lin(x.ref, W1t, b1, p.A1, p.B1), 0);
    const diff = lin(h, W2t, b2, p.A2, p.B2).sub(y.ref);
    return np.mean(diff.ref.mul(diff));
  };
  const vg = jax.valueAndGrad(lossFn);

  // One Adam update of the whole tree; c1 = 1/(1−β₁ᵗ), c2 = 1/(1−β₂ᵗ). Consumes all.
  const update = (p: Params, g: Params, mm: Params, vv: Params, c1: Arr, c2: Arr) => {
    const out: { p: Params; m: Params; v: Params } = {
      p: {} as Params,
      m: {} as Params,
      v: {} as Params,
    };
    for (const k of ["A1", "B1", "A2", "B2"] as const) {
      const gk = g[k];
      const mk = mm[k].mul(BETA1).add(gk.ref.mul(1 - BETA1));
      const vk = vv[k].mul(BETA2).add(gk.ref.mul(gk).mul(1 - BETA2));
      const upd = mk.ref.mul(c1.ref).div(np.sqrt(vk.ref.mul(c2.ref)).add(EPS)).mul(LR);
      out.p[k] = p[k].sub(upd);
      out.m[k] = mk;
      out.v[k] = vk;
    }
    c1.dispose();
    c2.dispose();
    return out;
  };
  const fullStep = (p: Params, mm: Params, vv: Params, c1: Arr, c2: Arr) => {
    const [loss, g] = vg(jax.tree.ref(p) as Params);
    const o = update(p, g as Params, mm, vv, c1, c2);
    return [loss, o.p, o.m, o.v] as [Arr, Params, Params, Params];
  };
  await jax.blockUntilReady([x, y, W1t, b1, W2t, b2, params, m, v]);
  const stepFn = useJit ? jax.jit(fullStep) : fullStep;
  let t = 0;
  return {
    async step() {
      t++;
      const c1 = np.array(new Float32Array([1 / (1 - BETA1 ** t)]));
      const c2 = np.array(new Float32Array([1 / (1 - BETA2 ** t)]));
      const [loss, p, mm, vv] = stepFn(params, m, v, c1, c2) as [Arr, Params, Params, Params];
      params = p;
      m = mm;
      v = vv;
      const value = (await loss.data())[0];
      // The update must be done too, as in every other peer's step.
      await jax.blockUntilReady([params, m, v]);
      return value;
    },
    dispose() {
      jax.tree.dispose([params, m, v, x, y, W1t, b1, W2t, b2]);
      if (useJit) (stepFn as unknown as { dispose(): void }).dispose();
    },
  };
}

const impl: Impl = {
  id: useJit ? `jax-w${workers}-jit` : `jax-w${workers}`,
  label: `jax-js 0.1.25, Wasm${useJit ? " (W2 under jit)" : ""}`,
  threads: `${workers} worker${workers > 1 ? "s" : ""}`,
  notes: [`jax-js devices: ${devices.join(", ")}; Adam written out (β, ε as torch)`],
  async w1(n, a, b) {
    const ta = arr(a, [n, n]), tb = arr(b, [n, n]);
    await jax.blockUntilReady([ta, tb]);
    return {
      async run() {
        await np.matmul(ta.ref, tb.ref).data();
      },
      dispose() {
        ta.dispose();
        tb.dispose();
      },
    };
  },
  w2,
  async w3(a, b, c) {
    const ta = arr(a, [a.length]), tb = arr(b, [b.length]), tc = arr(c, [c.length]);
    await jax.blockUntilReady([ta, tb, tc]);
    return {
      async run() {
        const s = np.sum(np.maximum(ta.ref.mul(tb.ref).add(tc.ref), 0));
        return (await s.data())[0];
      },
      dispose() {
        ta.dispose();
        tb.dispose();
        tc.dispose();
      },
    };
  },
};

await runPeer(impl);
// The worker pool keeps the process alive.
Deno.exit(0);
