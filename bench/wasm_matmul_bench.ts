/**
 * W1 matmul benchmark of the wasm CPU kernels: C = A·B for square N×N
 * float32 matrices, 1 and 2 threads. Run: `deno run -A bench/wasm_matmul_bench.ts`.
 *
 * @module
 */

import * as K from "../backends/cpu/wasm/mod.ts";

/** lowbias32 integer hash (unsigned). */
function lowbias32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** The shared benchmark input generator, written into `out`. */
function uniform(seed: number, out: Float32Array, lo = -1, hi = 1): void {
  const s = Math.imul(seed, 0x9e3779b9) >>> 0;
  for (let i = 0; i < out.length; i++) {
    const h = lowbias32((i + s) >>> 0);
    out[i] = lo + (hi - lo) * (h >>> 8) / 2 ** 24;
  }
}

/** Median seconds of `fn` after 2 warm-ups; ≥ 5 runs and ≥ 1 s. */
function time(fn: () => void): number {
  fn();
  fn();
  const ts: number[] = [];
  const start = performance.now();
  while (ts.length < 5 || performance.now() - start < 1000) {
    const t = performance.now();
    fn();
    ts.push((performance.now() - t) / 1000);
  }
  ts.sort((a, b) => a - b);
  const m = ts.length >> 1;
  return ts.length % 2 ? ts[m] : (ts[m - 1] + ts[m]) / 2;
}

if (!K.wasmSimdAvailable) throw new Error("no WebAssembly SIMD here");
await K.threadsReady();
console.log(`relaxed SIMD (fma): ${K.relaxedSimdUsed}`);
console.log("N      1 thread GFLOP/s   2 threads GFLOP/s");
for (const N of [128, 256, 512, 1024]) {
  const a = K.alloc(N * N * 4), b = K.alloc(N * N * 4), c = K.alloc(N * N * 4);
  uniform(11, K.f32view(a, N * N));
  uniform(12, K.f32view(b, N * N));
  const row: string[] = [String(N).padEnd(6)];
  for (const threads of [1, 2]) {
    K.setNumThreads(threads);
    const s = time(() =>
      K.sgemm({
        M: N,
        N,
        K: N,
        a: { data: a, offset: 0, rowStride: N, colStride: 1 },
        b: { data: b, offset: 0, rowStride: N, colStride: 1 },
        c: { data: c, offset: 0, ld: N },
        accumulate: false,
      })
    );
    row.push((2 * N ** 3 / s / 1e9).toFixed(1).padStart(10));
  }
  console.log(row.join("        "));
  K.free(a), K.free(b), K.free(c);
}
