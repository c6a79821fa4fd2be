import assert from "node:assert/strict";
import * as K from "../../../../backends/cpu/wasm/mod.ts";
import type { HeapGemmCall } from "../../../../backends/cpu/gemm_call.ts";
import {
  chunkSize,
  NEXT_CHUNK,
  NEXT_PACK,
  PACKED,
  SCRATCH_BYTES,
  sgemmBlocked,
  sgemmParallelPart,
  sharedBytes,
} from "../../../../backends/cpu/wasm/gemm.ts";
import { instantiateKernels } from "../../../../backends/cpu/wasm/wasm_module.ts";

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

/** A call of dense operands at byte addresses a, b, c. */
function heapCall(
  M: number,
  N: number,
  k: number,
  [a, rsA, csA]: number[],
  [b, rsB, csB]: number[],
  [c, ldc]: number[],
  accumulate: boolean,
): HeapGemmCall {
  return {
    M,
    N,
    K: k,
    a: { data: a, offset: 0, rowStride: rsA, colStride: csA },
    b: { data: b, offset: 0, rowStride: rsB, colStride: csB },
    c: { data: c, offset: 0, ld: ldc },
    accumulate,
  };
}

/** Runs one sgemm (by default the runtime's) against a float64 reference; returns C. */
function check(
  { M, N, K: k, transA, transB, accumulate }: Case,
  sgemm: (call: HeapGemmCall) => void = K.sgemm,
) {
  const a = K.alloc(M * k * 4), b = K.alloc(k * N * 4), c = K.alloc(M * N * 4);
  const A = K.f32view(a, M * k), B = K.f32view(b, k * N);
  const C = K.f32view(c, M * N);
  fill(A, 1 + M), fill(B, 2 + N), fill(C, 3);
  const C0 = C.slice();
  // A stored as [M,K] or, transposed, as [K,M]; same for B.
  const [rsA, csA] = transA ? [1, M] : [k, 1];
  const [rsB, csB] = transB ? [1, k] : [N, 1];
  sgemm(heapCall(M, N, k, [a, rsA, csA], [b, rsB, csB], [c, N], !!accumulate));
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

Deno.test("sgemm with the plain (non-relaxed) multiply-add micro-kernel: blocked and parallel drivers", () => {
  // The runtime builds the relaxed-SIMD module where the engine has it, so
  // the mul+add branch of the micro-kernel only runs here: a second
  // instance of the module built without relaxed SIMD, over the same heap.
  const plain = instantiateKernels(K.memory!, false);
  const scratch = K.alloc(SCRATCH_BYTES);
  const blocked = (call: HeapGemmCall) => sgemmBlocked(plain, scratch, call);
  // The threaded driver run by this thread alone: it takes every chunk.
  const parallel = (call: HeapGemmCall) => {
    const shareA = call.N >= call.M;
    const buffer = K.alloc(sharedBytes(call.M, call.N, call.K, shareA));
    const ctrl = new Int32Array(8);
    for (const slot of [NEXT_PACK, PACKED, NEXT_CHUNK]) ctrl[slot] = 0;
    const chunk = chunkSize(call.M, call.N, shareA);
    sgemmParallelPart(plain, scratch, ctrl, call, { buffer, shareA, chunk });
    K.free(buffer);
  };
  for (const [M, N, k] of [...SIZES.filter(([, , k]) => k > 0), [130, 2100, 300]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          const c = { M, N, K: k, transA, transB, accumulate };
          assert.deepEqual(check(c, parallel), check(c, blocked), `${JSON.stringify(c)}`);
        }
      }
    }
  }
  K.free(scratch);
});

interface StridedCase {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Extra elements per stored row (leading dimension = size + pad). */
  pad: number;
  /** Floats between a 64-byte boundary and each operand's first element. */
  skew: number;
  accumulate?: boolean;
}

/**
 * sgemm on operands stored with padded leading dimensions at skewed
 * addresses (A as [M,K] or [K,M], B as [K,N] or, NT, W [N,K]), checked
 * against a float64 reference; returns C.
 */
function checkStrided(t: StridedCase): Float32Array {
  const { M, N, K: k, transA, transB, pad, skew } = t;
  const [rowsA, colsA] = transA ? [k, M] : [M, k];
  const [rowsB, colsB] = transB ? [N, k] : [k, N];
  const ldA = colsA + pad, ldB = colsB + pad, ldc = N + pad;
  const nA = rowsA * ldA, nB = rowsB * ldB, nC = M * ldc;
  const pa = K.alloc((nA + skew) * 4), pb = K.alloc((nB + skew) * 4);
  const pc = K.alloc((nC + skew) * 4);
  const a = pa + skew * 4, b = pb + skew * 4, c = pc + skew * 4;
  const A = K.f32view(a, nA), B = K.f32view(b, nB), C = K.f32view(c, nC);
  fill(A, 5 + M), fill(B, 6 + N), fill(C, 7);
  const C0 = C.slice();
  const [rsA, csA] = transA ? [1, ldA] : [ldA, 1];
  const [rsB, csB] = transB ? [1, ldB] : [ldB, 1];
  K.sgemm(heapCall(M, N, k, [a, rsA, csA], [b, rsB, csB], [c, ldc], !!t.accumulate));
  let maxErr = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < ldc; j++) {
      if (j >= N) {
        assert.equal(C[i * ldc + j], C0[i * ldc + j], "padding written");
        continue;
      }
      let s = t.accumulate ? C0[i * ldc + j] : 0;
      for (let p = 0; p < k; p++) {
        s += A[i * rsA + p * csA] * B[p * rsB + j * csB];
      }
      maxErr = Math.max(maxErr, Math.abs(s - C[i * ldc + j]));
    }
  }
  const out = C.slice();
  K.free(pa), K.free(pb), K.free(pc);
  assert.ok(
    maxErr <= 1e-5 * Math.max(1, Math.sqrt(k)),
    `err ${maxErr} ${JSON.stringify(t)}`,
  );
  return out;
}

Deno.test("sgemm NT and TN (transposing pack) at odd sizes, pads, offsets", () => {
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 17, 17],
    [7, 13, 1023],
    [6, 8, 4],
    [12, 16, 8],
    [13, 21, 259],
  ];
  K.setNumThreads(1);
  for (const [M, N, k] of sizes) {
    for (const [transA, transB] of [[false, true], [true, false], [true, true]]) {
      for (const [pad, skew] of [[0, 0], [3, 1], [1, 3]]) {
        checkStrided({ M, N, K: k, transA, transB, pad, skew });
      }
      checkStrided({ M, N, K: k, transA, transB, pad: 2, skew: 2, accumulate: true });
    }
  }
});

Deno.test("sgemm NT/TN LoRA shapes: 1 and 2 threads bit for bit", async () => {
  assert.equal(await K.threadsReady(), true);
  const cases: StridedCase[] = [
    { M: 64, N: 4096, K: 70, transA: false, transB: true, pad: 0, skew: 0 },
    { M: 64, N: 4096, K: 37, transA: true, transB: false, pad: 0, skew: 1 },
    { M: 61, N: 1029, K: 263, transA: false, transB: true, pad: 5, skew: 3 },
    { M: 301, N: 97, K: 130, transA: true, transB: true, pad: 1, skew: 2 },
    { M: 1030, N: 64, K: 64, transA: true, transB: false, pad: 0, skew: 0 },
  ];
  for (const c of cases) {
    K.setNumThreads(1);
    const one = checkStrided(c);
    K.setNumThreads(2);
    const two = checkStrided(c);
    assert.deepEqual(two, one);
  }
  K.setNumThreads(2);
});
