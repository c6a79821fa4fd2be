/**
 * Regression tests of the allocation boundary: a bad size is a RangeError
 * before any state changes, on every backend and in the Wasm heap itself,
 * and running out of heap is a clean error that leaves live tensors intact.
 */
import assert from "node:assert/strict";
import { cat, memory, ones, stack, tensor, zeros } from "../../mod.ts";
import { backendInstance } from "../../backends/registry.ts";
import { Storage } from "../../tensor/memory.ts";
import { WasmHeap } from "../../backends/cpu/wasm/heap.ts";
import { checkHeap, heapStats, setHeapLimit } from "../../backends/cpu/wasm/mod.ts";
import { backendTest, isCpu } from "../_backends.ts";

const BAD_SIZES = [NaN, -1, 2.5, Infinity, -Infinity, 2 ** 53, "4" as unknown as number];

backendTest(
  "`cat()` of 0-d tensors throws, allocates nothing and leaves the inputs intact",
  async (b) => {
    const a = tensor(1), c = tensor(2);
    const before = memory();
    assert.throws(
      () => cat([a, c], 0),
      (e: Error) => e instanceof RangeError && /cat\(\)/.test(e.message) && /0-d/.test(e.message),
    );
    assert.deepEqual(memory(), before);
    // Later tensors do not alias each other (the NaN-size bug made them share address 0).
    const x = tensor([1, 2, 3]), y = tensor([4, 5, 6]);
    assert.deepEqual([...await x.data()], [1, 2, 3]);
    assert.deepEqual([...await y.data()], [4, 5, 6]);
    assert.equal(await a.item(), 1);
    assert.ok(Number.isFinite(memory().bytes));
    if (isCpu(b)) checkHeap();
    // stack of 0-d tensors is fine (it makes a 1-D tensor).
    const s = stack([a, c], 0);
    assert.deepEqual([...await s.data()], [1, 2]);
    for (const t of [a, c, x, y, s]) t.dispose();
  },
);

backendTest("a NaN, negative, fractional or unsafe size is a RangeError at every layer", () => {
  const be = backendInstance();
  const before = memory();
  for (const n of BAD_SIZES) {
    assert.throws(() => be.alloc(n, "float32"), RangeError, `backend.alloc(${n})`);
    assert.throws(() => Storage.alloc(be, n, "float32"), RangeError, `Storage.alloc(${n})`);
    assert.throws(() => zeros([n]), /zeros\(\)/, `zeros([${n}])`);
  }
  assert.throws(() => be.alloc(4, "float64" as "float32"), TypeError);
  assert.deepEqual(memory(), before);
});

Deno.test("the Wasm heap rejects bad sizes without moving its top", () => {
  const heap = new WasmHeap(1);
  const p = heap.alloc(100);
  const top = heap.top;
  for (const n of BAD_SIZES) assert.throws(() => heap.alloc(n), RangeError);
  assert.equal(heap.top, top);
  heap.checkInvariants();
  const q = heap.alloc(100);
  assert.ok(q >= top, "a new block comes from above the top, not from address 0");
  heap.free(p);
  heap.free(q);
  heap.checkInvariants();
});

Deno.test("heap exhaustion is a clean RangeError; live tensors stay intact", async () => {
  const keep = tensor([1, 2, 3, 4]);
  const stats = heapStats();
  if (stats.limit === 0) return; // no Wasm SIMD here: the scalar path has no heap
  const before = memory("cpu");
  setHeapLimit(stats.top + (1 << 20)); // 1 MiB above what is spanned
  try {
    assert.throws(
      () => zeros([5_000_003]), // 20 MB: a size class no earlier test freed
      (e: Error) => e instanceof RangeError && /exhausted/.test(e.message),
    );
    assert.throws(() => ones([2 ** 29]), RangeError);
  } finally {
    setHeapLimit();
  }
  assert.deepEqual(memory("cpu"), before);
  assert.equal(heapStats().top, stats.top);
  checkHeap();
  assert.deepEqual([...await keep.data()], [1, 2, 3, 4]);
  const after = zeros([5_000_003]); // fits again once the limit is back
  assert.equal(after.size, 5_000_003);
  after.dispose();
  keep.dispose();
});

Deno.test("the heap's invariant checker catches a corrupted layout", () => {
  const heap = new WasmHeap(1);
  const p = heap.alloc(64);
  heap.free(p);
  // Freeing twice is refused before it can list the block twice.
  assert.throws(() => heap.free(p), /freed/);
  heap.checkInvariants();
  assert.throws(() => heap.setLimit(NaN), RangeError);
  assert.throws(() => heap.setLimit(heap.top - 64), RangeError);
});
