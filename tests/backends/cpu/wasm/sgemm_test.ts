import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/kernels.ts";

/** Deterministic values in [-1, 1). */
function fill(view: Float32Array, seed: number): void {
  let x = seed >>> 0;
  for (let i = 0; i < view.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    view[i] = (x / 2 ** 32) * 2 - 1;
  }
}

interface Case {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
}

/** Runs one sgemm against a float64 reference; returns C. */
function check({ M, N, K: k, transA, transB, accumulate }: Case) {
  const a = K.alloc(M * k * 4), b = K.alloc(k * N * 4), c = K.alloc(M * N * 4);
  const A = K.f32view(a, M * k), B = K.f32view(b, k * N);
  const C = K.f32view(c, M * N);
  fill(A, 1 + M), fill(B, 2 + N), fill(C, 3);
  const C0 = C.slice();
  // A stored as [M,K] or, transposed, as [K,M]; same for B.
  const [rsA, csA] = transA ? [1, M] : [k, 1];
  const [rsB, csB] = transB ? [1, k] : [N, 1];
  K.sgemm(M, N, k, a, rsA, csA, b, rsB, csB, c, N, !!accumulate);
  let maxErr = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = accumulate ? C0[i * N + j] : 0;
      for (let p = 0; p < k; p++) {
        s += A[i * rsA + p * csA] * B[p * rsB + j * csB];
      }
      maxErr = Math.max(maxErr, Math.abs(s - C[i * N + j]));
    }
  }
  const out = C.slice();
  K.free(a), K.free(b), K.free(c);
  assert.ok(maxErr <= 1e-5 * Math.max(1, Math.sqrt(k)), `err ${maxErr}`);
  return out;
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 17, 17],
  [1023, 3, 17],
  [6, 8, 4],
  [13, 300, 257],
  [5, 7, 0],
];

Deno.test("sgemm matches a float64 reference (all layouts)", () => {
  K.setNumThreads(1);
  for (const [M, N, k] of SIZES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          check({ M, N, K: k, transA, transB, accumulate });
        }
      }
    }
  }
});

Deno.test("sgemm LoRA shape 64x1024xK", () => {
  K.setNumThreads(1);
  check({ M: 64, N: 1024, K: 512 });
  check({ M: 64, N: 1024, K: 300, transB: true, accumulate: true });
});

Deno.test("sgemm threaded == unthreaded, bit for bit", async () => {
  assert.equal(await K.threadsReady(), true);
  for (
    const c of [
      { M: 200, N: 256, K: 300 },
      { M: 384, N: 384, K: 384, transA: true, transB: true }, // long: worker joins
      { M: 300, N: 100, K: 200, transA: true },
      { M: 64, N: 1024, K: 256, transB: true, accumulate: true },
    ]
  ) {
    K.setNumThreads(1);
    const one = check(c);
    K.setNumThreads(2);
    const two = check(c);
    assert.deepEqual(two, one);
  }
  K.setNumThreads(2);
});
