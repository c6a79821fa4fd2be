import assert from "node:assert/strict";
import type { View } from "../../../backends/backend.ts";
import {
  assertClose,
  gpuTest,
  hostValues,
  numel,
  rand,
  readAll,
  strides,
  upload,
  view,
} from "./helpers.ts";

/** float64 reference of reduce over `axes` of a view of host data. */
function hostReduce(
  data: number[],
  v: View,
  axes: number[],
  op: "sum" | "max" | "argmax",
): number[] {
  const vals = hostValues(data, v);
  const outShape = v.shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const outStrides = strides(outShape);
  const n = numel(outShape);
  const acc = new Array(n).fill(op === "sum" ? 0 : -Infinity);
  const arg = new Array(n).fill(0);
  const inStrides = strides(v.shape);
  vals.forEach((x, i) => {
    let o = 0, j = 0, jStride = 1;
    for (let d = v.shape.length - 1; d >= 0; d--) {
      const c = Math.floor(i / inStrides[d]) % v.shape[d];
      if (axes.includes(d)) {
        j += c * jStride;
        jStride *= v.shape[d];
      } else o += c * outStrides[d];
    }
    if (op === "sum") acc[o] += x;
    else if (x > acc[o]) {
      acc[o] = x;
      arg[o] = j;
    }
  });
  return op === "argmax" ? arg : acc;
}

gpuTest("reduce sum/max over several axes of a permuted view", async (b) => {
  // storage [4, 3, 5, 2] viewed as permutation [5, 3, 2, 4] with offset 2.
  const shape = [5, 3, 2, 4];
  const st = strides([4, 3, 5, 2]);
  const data = rand(2 + 120, 11, -3, 3).map(Math.fround);
  const buf = upload(b, data);
  const v = view(buf, shape, { strides: [st[2], st[1], st[3], st[0]], offset: 2 });
  for (const axes of [[0], [1], [3], [0, 2], [1, 3], [0, 1, 2, 3], [0, 1, 3]]) {
    for (const op of ["sum", "max"] as const) {
      const n = numel(shape.map((s, d) => (axes.includes(d) ? 1 : s)));
      const out = b.alloc(n, "float32");
      b.reduce(op, v, axes, out);
      assertClose(
        await readAll(b, out, n),
        hostReduce(data, v, axes, op),
        1e-5,
        1e-5,
        `${op} ${axes}`,
      );
      b.free(out);
    }
  }
  b.free(buf);
});

gpuTest("reduce: long rows take the workgroup kernel, short ones the thread kernel", async (b) => {
  for (const [rows, cols] of [[3, 1000], [300, 7], [2, 20], [700, 300]]) {
    const data = rand(rows * cols, rows + cols, -1, 1).map(Math.fround);
    const buf = upload(b, data);
    const v = view(buf, [rows, cols]);
    for (const op of ["sum", "max", "argmax"] as const) {
      const out = b.alloc(rows, op === "argmax" ? "int32" : "float32");
      b.reduce(op, v, [1], out);
      const got = await readAll(b, out, rows, op === "argmax" ? "int32" : "float32");
      assertClose(got, hostReduce(data, v, [1], op), 1e-5, 1e-5, `${op} ${rows}x${cols}`);
      b.free(out);
    }
    b.free(buf);
  }
});

gpuTest("argmax picks the first maximum; int32 sums and maxes", async (b) => {
  const data = [1, 5, 5, 2, 7, 7, 7, 0, -1, -1, -3, -1];
  const fb = upload(b, data);
  const ib = upload(b, data, "int32");
  const out = b.alloc(4, "int32");
  b.reduce("argmax", view(fb, [3, 4]), [1], out);
  assert.deepEqual(await readAll(b, out, 3, "int32"), [1, 0, 0]);
  b.reduce("argmax", view(ib, [3, 4], { dtype: "int32" }), [0], out);
  assert.deepEqual(await readAll(b, out, 4, "int32"), [1, 1, 1, 0]);
  b.reduce("sum", view(ib, [3, 4], { dtype: "int32" }), [0, 1], out);
  assert.deepEqual(await readAll(b, out, 1, "int32"), [28]);
  b.reduce("max", view(ib, [3, 4], { dtype: "int32" }), [1], out);
  assert.deepEqual(await readAll(b, out, 3, "int32"), [5, 7, -1]);
  // A long argmax row (workgroup kernel) with ties.
  const long = new Array(999).fill(0);
  long[500] = 3;
  long[700] = 3;
  const lb = upload(b, long);
  b.reduce("argmax", view(lb, [999]), [0], out);
  assert.deepEqual(await readAll(b, out, 1, "int32"), [500]);
  [fb, ib, out, lb].forEach((x) => b.free(x));
});

gpuTest("reduce with size-0 and size-1 axes; max propagates NaN", async (b) => {
  const buf = upload(b, [1, NaN, 3, 4]);
  const out = b.alloc(2, "float32");
  b.reduce("max", view(buf, [2, 2]), [1], out);
  assertClose(await readAll(b, out, 2), [NaN, 4]);
  b.reduce("sum", view(buf, [2, 0]), [1], out);
  assert.deepEqual(await readAll(b, out, 2), [0, 0]);
  b.reduce("sum", view(buf, [1, 1, 1], { offset: 3 }), [1], out);
  assert.deepEqual(await readAll(b, out, 1), [4]);
  b.free(buf);
  b.free(out);
});

function hostSoftmax(rows: number[][], log: boolean): number[] {
  return rows.flatMap((r) => {
    const m = Math.max(...r);
    const s = r.reduce((a, x) => a + Math.exp(x - m), 0);
    return r.map((x) => (log ? x - m - Math.log(s) : Math.exp(x - m) / s));
  });
}

gpuTest("fused softmax and logSoftmax are stable and match float64", async (b) => {
  for (const [rows, cols] of [[1, 1], [5, 3], [7, 300]]) {
    const data = rand(rows * cols, cols, -20, 20).map(Math.fround);
    data[0] = 1000; // stability: would overflow without the max shift
    const buf = upload(b, data);
    const host = Array.from({ length: rows }, (_, r) => data.slice(r * cols, (r + 1) * cols));
    for (const log of [false, true]) {
      const out = b.alloc(rows * cols, "float32");
      (log ? b.fused.logSoftmax! : b.fused.softmax!)(view(buf, [rows, cols]), out);
      assertClose(await readAll(b, out, rows * cols), hostSoftmax(host, log), 1e-6, 1e-5);
      b.free(out);
    }
    b.free(buf);
  }
  // A strided (column-sliced) row view with an offset.
  const data = rand(24, 5).map(Math.fround);
  const buf = upload(b, data);
  const v = view(buf, [3, 5], { strides: [8, 1], offset: 2 });
  const out = b.alloc(15, "float32");
  b.fused.softmax!(v, out);
  const rowsHost = [0, 1, 2].map((r) => data.slice(2 + 8 * r, 7 + 8 * r));
  assertClose(await readAll(b, out, 15), hostSoftmax(rowsHost, false), 1e-6, 1e-5);
  b.free(buf);
  b.free(out);
});
