import assert from "node:assert/strict";
import { assertClose, gpuTest, hostValues, rand, readAll, upload, view } from "./helpers.ts";

gpuTest(
  "gather of a strided view by int32 index; out of range: zeros and a RangeError at the next read",
  async (b) => {
    // x: [4, 2, 3] stored as [4, 3, 2] (inner dims transposed).
    const data = Array.from({ length: 24 }, (_, i) => i);
    const xb = upload(b, data);
    const xv = view(xb, [4, 2, 3], { strides: [6, 1, 2] });
    const idx = [3, 0, 3, 1, 7, -1];
    const ib = upload(b, idx, "int32");
    const out = b.alloc(idx.length * 6, "float32");
    b.gather(xv, view(ib, [idx.length], { dtype: "int32" }), out);
    const rows = hostValues(data, xv);
    const ref = idx.flatMap((
      r,
    ) => (r >= 0 && r < 4 ? rows.slice(r * 6, r * 6 + 6) : new Array(6).fill(0)));
    // The device flagged the bad indices: the next read throws, once.
    await assert.rejects(
      () => readAll(b, out, idx.length * 6),
      (e: Error) =>
        e instanceof RangeError && /indexSelect/.test(e.message) && /\[0, 4\)/.test(e.message),
    );
    assert.deepEqual(await readAll(b, out, idx.length * 6), ref);
    // A strided index view (every other entry, from offset 1) over int32 rows.
    const xi = upload(b, [10, 11, 20, 21, 30, 31], "int32");
    const out2 = b.alloc(6, "int32");
    b.gather(
      view(xi, [3, 2], { dtype: "int32" }),
      view(ib, [3], { strides: [2], offset: 1, dtype: "int32" }),
      out2,
    );
    await assert.rejects(() => readAll(b, out2, 6, "int32"), RangeError);
    assert.deepEqual(await readAll(b, out2, 6, "int32"), [10, 11, 20, 21, 0, 0]);
    [xb, ib, out, xi, out2].forEach((x) => b.free(x));
  },
);

gpuTest("scatterAdd with repeated indices matches a sequential host loop", async (b) => {
  const rowsOut = 5, n = 9, cols = 3;
  const idx = [4, 0, 4, 2, 4, 0, 9, -2, 2];
  const src = rand(n * cols, 3).map(Math.fround);
  const init = rand(rowsOut * cols, 4).map(Math.fround);
  const ob = upload(b, init);
  const sb = upload(b, src);
  const ib = upload(b, idx, "int32");
  b.scatterAdd(view(ob, [rowsOut, cols]), view(ib, [n], { dtype: "int32" }), view(sb, [n, cols]));
  const ref = Float32Array.from(init);
  idx.forEach((r, j) => {
    if (r < 0 || r >= rowsOut) return;
    for (let c = 0; c < cols; c++) {
      ref[r * cols + c] = Math.fround(ref[r * cols + c] + src[j * cols + c]);
    }
  });
  // Summation order is the host loop's, so the float32 result is exact.
  assert.deepEqual(await readAll(b, ob, rowsOut * cols), Array.from(ref));
  [ob, sb, ib].forEach((x) => b.free(x));
});

gpuTest("scatterAdd into a strided out view from a transposed src, int32 too", async (b) => {
  // out: columns 1..2 of a [3, 4] buffer; src: [4, 2] stored transposed.
  const ob = upload(b, new Array(12).fill(0));
  const sb = upload(b, [1, 2, 3, 4, 10, 20, 30, 40]); // src[j, c] = sb[c * 4 + j]
  const ib = upload(b, [2, 2, 0, 2], "int32");
  b.scatterAdd(
    view(ob, [3, 2], { strides: [4, 1], offset: 1 }),
    view(ib, [4], { dtype: "int32" }),
    view(sb, [4, 2], { strides: [1, 4] }),
  );
  assert.deepEqual(await readAll(b, ob, 12), [0, 3, 30, 0, 0, 0, 0, 0, 0, 7, 70, 0]);
  const oi = upload(b, [1, 1], "int32");
  const si = upload(b, [5, 6, 7], "int32");
  const ii = upload(b, [1, 1, 0], "int32");
  b.scatterAdd(
    view(oi, [2, 1], { dtype: "int32" }),
    view(ii, [3], { dtype: "int32" }),
    view(si, [3, 1], { dtype: "int32" }),
  );
  assert.deepEqual(await readAll(b, oi, 2, "int32"), [8, 12]);
  [ob, sb, ib, oi, si, ii].forEach((x) => b.free(x));
});

gpuTest("scatterAdd of a gather is the embedding gradient", async (b) => {
  const vocab = 7, dim = 5, n = 40;
  const idx = rand(n, 9, 0, vocab).map(Math.floor);
  const grad = rand(n * dim, 10).map(Math.fround);
  const gb = upload(b, grad), ib = upload(b, idx, "int32");
  const out = upload(b, new Array(vocab * dim).fill(0));
  b.scatterAdd(view(out, [vocab, dim]), view(ib, [n], { dtype: "int32" }), view(gb, [n, dim]));
  const ref = new Array(vocab * dim).fill(0);
  idx.forEach((r, j) => {
    for (let c = 0; c < dim; c++) ref[r * dim + c] += grad[j * dim + c];
  });
  assertClose(await readAll(b, out, vocab * dim), ref, 1e-5, 1e-5);
  [gb, ib, out].forEach((x) => b.free(x));
});
