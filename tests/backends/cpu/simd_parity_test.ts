/**
 * The CPU backend's WebAssembly SIMD (and threaded) paths held to its scalar
 * loops on every op they serve: odd sizes, offsets, transposed and broadcast
 * operands, and sizes large enough to split across the worker.
 */
import assert from "node:assert/strict";
import { CpuBackend } from "../../../backends/mod.ts";
import type { AdamArgs, Backend, TypedArray, View } from "../../../backends/mod.ts";

const fast = new CpuBackend("cpu-simd-test");
const slow = new CpuBackend("cpu-scalar-test", { simd: false });
const skip = !fast.simd;

function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296) * 4 - 2;
  }
  return out;
}

function upload(b: Backend, data: Float32Array): TypedArray {
  const buf = b.alloc(data.length, "float32");
  b.write(buf, data);
  return buf as TypedArray;
}

function view(buf: unknown, shape: number[], strides?: number[], offset = 0): View {
  const st = strides ?? shape.map((_, i) => shape.slice(i + 1).reduce((p, s) => p * s, 1));
  return { buffer: buf, dtype: "float32", shape, strides: st, offset };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= tol * (1 + Math.abs(b[i]))) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      assert.fail(`${what}: element ${i}: simd ${a[i]} vs scalar ${b[i]}`);
    }
  }
}

/** Runs `fn` on both backends with the same input data; compares outputs. */
function both(
  inputs: Float32Array[],
  outSize: number,
  fn: (b: Backend, bufs: TypedArray[], out: TypedArray) => void,
  tol: number,
  what: string,
): void {
  const res = [fast, slow].map((b) => {
    const bufs = inputs.map((d) => upload(b, d));
    const out = b.alloc(outSize, "float32") as TypedArray;
    fn(b, bufs, out);
    const r = b.readSync!(out, "float32", outSize);
    for (const x of [...bufs, out]) b.free(x);
    return r;
  });
  close(res[0], res[1], tol, what);
}

const SIZES = [1, 3, 17, 64, 1023, 300_001];

Deno.test({
  name: "SIMD binary and unary ops equal the scalar loops (odd sizes, scalars, offsets)",
  ignore: skip,
  fn() {
    for (const n of SIZES) {
      const a = rand(n + 5, n), b = rand(n + 3, n + 1);
      for (const op of ["add", "sub", "mul", "div"] as const) {
        both(
          [a, b],
          n,
          (be, [x, y], o) => be.binary(op, view(x, [n], [1], 5), view(y, [n], [1], 3), o),
          0,
          `${op} vv n=${n}`,
        );
        both(
          [a, b],
          n,
          (be, [x, y], o) => be.binary(op, view(x, [n], [1], 1), view(y, [n], [0], 2), o),
          0,
          `${op} vs n=${n}`,
        );
        both(
          [a, b],
          n,
          (be, [x, y], o) => be.binary(op, view(x, [n], [0], 4), view(y, [n], [1], 0), o),
          0,
          `${op} sv n=${n}`,
        );
      }
      for (const op of ["relu", "neg", "abs", "sqrt"] as const) {
        both([a], n, (be, [x], o) => be.unary(op, view(x, [n], [1], 2), o), 0, `${op} n=${n}`);
      }
    }
  },
});

Deno.test({
  name: "SIMD sums (all, rows, columns) equal the scalar loops",
  ignore: skip,
  fn() {
    for (const [r, c] of [[1, 1], [3, 17], [17, 3], [1023, 5], [64, 1024], [4, 1_048_576]]) {
      const x = rand(r * c + 1, r + c);
      both(
        [x],
        1,
        (be, [b], o) => be.reduce("sum", view(b, [r, c], undefined, 1), [0, 1], o),
        1e-5,
        `sum all ${r}x${c}`,
      );
      both(
        [x],
        r,
        (be, [b], o) => be.reduce("sum", view(b, [r, c], undefined, 1), [1], o),
        1e-5,
        `row sums ${r}x${c}`,
      );
      both(
        [x],
        c,
        (be, [b], o) => be.reduce("sum", view(b, [r, c], undefined, 1), [0], o),
        1e-5,
        `column sums ${r}x${c}`,
      );
    }
  },
});

Deno.test({
  name: "SIMD matmul equals the scalar loops (odd sizes, transposed, batched, large)",
  ignore: skip,
  fn() {
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [17, 17, 17],
      [1023, 3, 17],
      [3, 1023, 5],
      [64, 512, 256],
    ];
    for (const [M, K, N] of cases) {
      const a = rand(M * K + 2, M), b = rand(K * N + 1, N);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        const av = (buf: unknown) =>
          ta ? view(buf, [M, K], [1, M], 2) : view(buf, [M, K], [K, 1], 2);
        const bv = (buf: unknown) =>
          tb ? view(buf, [K, N], [1, K], 1) : view(buf, [K, N], [N, 1], 1);
        both(
          [a, b],
          M * N,
          (be, [x, y], o) => be.matmul(av(x), bv(y), o),
          1e-4,
          `matmul ${M}x${K}x${N} ta=${ta} tb=${tb}`,
        );
      }
    }
    // Batched with a broadcast (stride-0) batch dim on B.
    const a = rand(2 * 3 * 17 * 9, 7), b = rand(9 * 5, 8);
    both(
      [a, b],
      2 * 3 * 17 * 5,
      (be, [x, y], o) =>
        be.matmul(
          view(x, [2, 3, 17, 9]),
          view(y, [2, 3, 9, 5], [0, 0, 5, 1]),
          o,
        ),
      1e-4,
      "batched matmul with broadcast B",
    );
  },
});

Deno.test({
  name: "SIMD fused linear and Adam equal the scalar paths",
  ignore: skip,
  fn() {
    for (const [M, K, N] of [[1, 3, 5], [17, 33, 9], [64, 256, 130]]) {
      const x = rand(M * K, 1), w = rand(N * K, 2), bias = rand(N, 3);
      both(
        [x, w, bias],
        M * N,
        (be, [xb, wb, bb], o) =>
          be.fused!.linear!(view(xb, [M, K]), view(wb, [N, K]), view(bb, [N]), o),
        1e-4,
        `linear ${M}x${K}x${N}`,
      );
    }
    const args: AdamArgs = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      decoupledDecay: 0,
      bias1: 1 - 0.9 ** 3,
      bias2: 1 - 0.999 ** 3,
    };
    for (const n of [1, 17, 1023, 300_001]) {
      const p = rand(n, 4), g = rand(n, 5), m = rand(n, 6), v = rand(n, 7).map(Math.abs);
      both(
        [p, g, m, v],
        n,
        (be, [pb, gb, mb, vb], o) => {
          be.fused!.adam!(pb, view(gb, [n]), mb, vb, n, args);
          be.copy(view(pb, [n]), view(o, [n]));
        },
        1e-6,
        `adam n=${n}`,
      );
    }
  },
});
