/**
 * The project itself on `bench/compare.ts`'s workloads, through its public
 * API (`mod.ts`) only. W2 uses `nn`/`optim`/`lora` when `mod.ts` exports
 * them, and composed tensor ops (`linear`, `matmul`, `adamUpdate`) otherwise.
 *
 * Run alone: `deno run -A bench/peers/project.ts [--workloads W1,W2,W3] [--backend cpu]`.
 *
 * @module
 */
import * as lib from "../../mod.ts";
import {
  adamUpdate,
  getBackend,
  linear,
  scope,
  setBackend,
  type Tensor,
  tensor,
} from "../../mod.ts";
import {
  type Impl,
  type Prepared,
  type PreparedW2,
  runPeer,
  W2_SHAPE,
  type W2Data,
} from "./_harness.ts";
import { setNumThreads } from "../../backends/cpu/wasm/mod.ts";

const BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, LR = 1e-3;

/** The parts of `nn`/`optim`/`lora` W2 needs, typed loosely (they may not be exported yet). */
interface LinearLike {
  weight: Tensor;
  bias: Tensor | null;
  forward(x: Tensor): Tensor;
}
interface ModuleLike {
  parameters(): Tensor[];
}
export interface HighLevel {
  nn: {
    Module: new () => ModuleLike;
    Linear: new (i: number, o: number) => LinearLike;
    mseLoss(a: Tensor, b: Tensor): Tensor;
  };
  optim: {
    Adam: new (
      params: Tensor[],
      opts: { lr: number; betas?: [number, number]; eps?: number },
    ) => { zeroGrad(): void; step(): void };
  };
  lora: {
    wrap<M>(model: M, targets: string[], rank: number, alpha: number): M;
  };
}

function highLevel(): HighLevel | null {
  const l = lib as unknown as Partial<HighLevel>;
  return l.nn && l.optim && l.lora ? l as HighLevel : null;
}

/** W2 with composed tensor ops: frozen W via `linear`, LoRA via matmuls, `adamUpdate`. */
export function w2Ops(d: W2Data): PreparedW2 {
  const { d: D, h: H, rank: R, alpha } = W2_SHAPE, batch = d.batch;
  const scaling = alpha / R;
  const x = tensor(d.x, { shape: [batch, D] }), y = tensor(d.y, { shape: [batch, D] });
  const W1 = tensor(d.W1, { shape: [H, D] }), b1 = tensor(d.b1, { shape: [H] });
  const W2 = tensor(d.W2, { shape: [D, H] }), b2 = tensor(d.b2, { shape: [D] });
  const A1 = tensor(d.A1, { shape: [R, D], requiresGrad: true });
  const B1 = tensor(new Float32Array(H * R), { shape: [H, R], requiresGrad: true });
  const A2 = tensor(d.A2, { shape: [R, H], requiresGrad: true });
  const B2 = tensor(new Float32Array(D * R), { shape: [D, R], requiresGrad: true });
  const params = [A1, B1, A2, B2];
  const m = params.map((p) => tensor(new Float32Array(p.size), { shape: [...p.shape] }));
  const v = params.map((p) => tensor(new Float32Array(p.size), { shape: [...p.shape] }));
  let t = 0;
  return {
    async step() {
      const loss = scope(() => {
        const h = linear(x, W1, b1).add(linear(linear(x, A1), B1).mul(scaling)).relu();
        const out = linear(h, W2, b2).add(linear(linear(h, A2), B2).mul(scaling));
        const diff = out.sub(y);
        const loss = diff.mul(diff).mean();
        loss.backward();
        t++;
        const args = {
          lr: LR,
          beta1: BETA1,
          beta2: BETA2,
          eps: EPS,
          weightDecay: 0,
          decoupledDecay: 0,
          bias1: 1 - BETA1 ** t,
          bias2: 1 - BETA2 ** t,
        };
        params.forEach((p, i) => {
          adamUpdate(p, p.grad!, m[i], v[i], args);
          p.grad!.dispose();
          p.grad = null;
        });
        return loss;
      });
      const value = (await loss.data())[0];
      loss.dispose();
      return value;
    },
    dispose() {
      for (const z of [x, y, W1, b1, W2, b2, ...params, ...m, ...v]) z.dispose();
    },
  };
}

/** W2 with `nn.Linear`, `lora.wrap`, `optim.Adam`, `nn.mseLoss`. */
export function w2Modules(hl: HighLevel, d: W2Data): PreparedW2 {
  const { d: D, h: H, rank: R, alpha } = W2_SHAPE, batch = d.batch;
  const { nn, optim, lora } = hl;
  class Mlp extends nn.Module {
    fc1 = new nn.Linear(D, H);
    fc2 = new nn.Linear(H, D);
    forward(x: Tensor): Tensor {
      return scope(() => this.fc2.forward(this.fc1.forward(x).relu()));
    }
  }
  const net = new Mlp();
  net.fc1.weight.assign(tensor(d.W1, { shape: [H, D] }));
  net.fc1.bias!.assign(tensor(d.b1, { shape: [H] }));
  net.fc2.weight.assign(tensor(d.W2, { shape: [D, H] }));
  net.fc2.bias!.assign(tensor(d.b2, { shape: [D] }));
  lora.wrap(net, ["fc1", "fc2"], R, alpha);
  const l1 = net.fc1 as unknown as { loraA: Tensor; loraB: Tensor };
  const l2 = net.fc2 as unknown as { loraA: Tensor; loraB: Tensor };
  l1.loraA.assign(tensor(d.A1, { shape: [R, D] }));
  l1.loraB.assign(tensor(new Float32Array(H * R), { shape: [H, R] }));
  l2.loraA.assign(tensor(d.A2, { shape: [R, H] }));
  l2.loraB.assign(tensor(new Float32Array(D * R), { shape: [D, R] }));
  const trainable = net.parameters().filter((p) => p.requiresGrad);
  const opt = new optim.Adam(trainable, { lr: LR, betas: [BETA1, BETA2], eps: EPS });
  const x = tensor(d.x, { shape: [batch, D] }), y = tensor(d.y, { shape: [batch, D] });
  return {
    async step() {
      const loss = scope(() => {
        opt.zeroGrad();
        const loss = nn.mseLoss(net.forward(x), y);
        loss.backward();
        opt.step();
        return loss;
      });
      const value = (await loss.data())[0];
      loss.dispose();
      return value;
    },
    dispose() {
      x.dispose();
      y.dispose();
      for (const p of net.parameters()) p.dispose();
    },
  };
}

/** W1 on the default backend: the n×n product of `a` and `b`, read back each run. */
export function w1Matmul(n: number, a: Float32Array, b: Float32Array): Prepared {
  const ta = tensor(a, { shape: [n, n] }), tb = tensor(b, { shape: [n, n] });
  return {
    async run() {
      const c = ta.matmul(tb);
      await c.data();
      c.dispose();
    },
    dispose() {
      ta.dispose();
      tb.dispose();
    },
  };
}

/** The project's implementation for the compare harness. */
export function projectImpl(mode: "auto" | "ops" | "modules" = "auto", threads = 2): Impl {
  const hl = highLevel();
  const useModules = mode === "modules" || (mode === "auto" && hl !== null);
  if (useModules && !hl) throw new Error("mod.ts does not export nn/optim/lora yet");
  const notes = [
    `backend ${getBackend()}; W2 via ${
      useModules
        ? "nn.Linear + lora.wrap + optim.Adam + nn.mseLoss"
        : "linear/matmul/adamUpdate (mod.ts exports no nn/optim/lora yet)"
    }`,
  ];
  setNumThreads(threads);
  return {
    id: threads === 1 ? "project-t1" : "project",
    label: threads === 1 ? "this project, 1 thread" : "this project (@lora/tensor)",
    threads: threads === 1 ? "1" : "2 (main + 1 worker)",
    notes,
    w1: w1Matmul,
    w2: (d) => (useModules ? w2Modules(hl!, d) : w2Ops(d)),
    w3(a, b, c) {
      const ta = tensor(a), tb = tensor(b), tc = tensor(c);
      return {
        async run() {
          const s = scope(() => ta.mul(tb).add(tc).relu().sum());
          const v = (await s.data())[0];
          s.dispose();
          return v;
        },
        dispose() {
          ta.dispose();
          tb.dispose();
          tc.dispose();
        },
      };
    },
  };
}

if (import.meta.main) {
  const backend = Deno.args.find((a) => a.startsWith("--backend="))?.slice(10);
  if (backend) setBackend(backend);
  const w2 = Deno.args.find((a) => a.startsWith("--w2="))?.slice(5) as
    | "auto"
    | "ops"
    | "modules"
    | undefined;
  const threads = Number(Deno.args.find((a) => a.startsWith("--threads="))?.slice(10) ?? 2);
  await runPeer(projectImpl(w2 ?? "auto", threads));
}
