/**
 * Emitter of the SGEMM's `pack`: copies an operand block into the strip
 * layout the micro-kernel reads, with vector paths for contiguous lanes and
 * in-register 4×4 transposes when k is the contiguous dimension.
 *
 * @module
 */

import { type FuncBuilder, I32, V128 } from "./assembler.ts";
import type { ModuleBuilder } from "./module_builder.ts";
import { MR, NR } from "./blocking.ts";
import { addConst, addLocal, minI32 } from "./emit_gemm.ts";

/** Locals shared by {@link contiguousStrip} and {@link transposedStrip}. */
interface StripLocals {
  /** Source pointer of the strip's row 0 at the current k. */
  p: number;
  /** Destination pointer at the current k. */
  d: number;
  /** Loop counter. */
  k: number;
  /** offs[r] = r·sMN (bytes) for 0 < r < NR (offs[0] is unused). */
  offs: number[];
  /** Four v128 rows and four v128 temporaries. */
  v: number[];
}

/**
 * One full strip of `w` lanes (w constant, even) when k is the contiguous
 * dimension (sK = 4 bytes): per 4 k steps, loads f32x4 along k from each
 * lane's source row and transposes 4×4 (or 2×4) blocks in registers into
 * the [k][lane] layout; a k tail (kc mod 4) is copied one float at a time.
 * Expects `p` at the strip's first element and `d` at its destination.
 */
function transposedStrip(f: FuncBuilder, w: number, kc: number, x: StripLocals) {
  const { p, d, k, offs, v } = x;
  const [t0, t1, t2, t3] = v.slice(4);
  const rowStride = w * 4;
  const load = (r: number, dstLocal: number) => {
    f.localGet(p);
    if (r > 0) f.localGet(offs[r]).i32Add();
    f.v128Load().localSet(dstLocal);
  };
  const shuf = (a: number, b: number, lanes: number[]) =>
    f.localGet(a).localGet(b).f32x4Shuffle(lanes);
  /** Transposes lanes g..g+3 (or g..g+1) of 4 k steps into place. */
  const group = (g: number) => {
    const rows = Math.min(4, w - g);
    for (let r = 0; r < rows; r++) load(g + r, v[r]);
    if (rows === 4) {
      shuf(v[0], v[1], [0, 4, 1, 5]).localSet(t0); // a0 b0 a1 b1
      shuf(v[2], v[3], [0, 4, 1, 5]).localSet(t1); // c0 d0 c1 d1
      shuf(v[0], v[1], [2, 6, 3, 7]).localSet(t2); // a2 b2 a3 b3
      shuf(v[2], v[3], [2, 6, 3, 7]).localSet(t3); // c2 d2 c3 d3
      const outs: [number, number, number[]][] = [
        [t0, t1, [0, 1, 4, 5]],
        [t0, t1, [2, 3, 6, 7]],
        [t2, t3, [0, 1, 4, 5]],
        [t2, t3, [2, 3, 6, 7]],
      ];
      outs.forEach(([a, b, lanes], kk) => {
        f.localGet(d);
        shuf(a, b, lanes).v128Store(kk * rowStride + 4 * g);
      });
    } else {
      // Two lanes: (a_k, b_k) pairs as 64-bit lanes.
      shuf(v[0], v[1], [0, 4, 1, 5]).localSet(t0); // a0 b0 a1 b1
      shuf(v[0], v[1], [2, 6, 3, 7]).localSet(t2); // a2 b2 a3 b3
      for (let kk = 0; kk < 4; kk++) {
        f.localGet(d).localGet(kk < 2 ? t0 : t2);
        f.v128Store64Lane(kk % 2, kk * rowStride + 4 * g);
      }
    }
  };
  f.localGet(kc).i32Const(2).i32ShrU().localSet(k); // kc / 4
  f.block(() => {
    f.localGet(k).i32Eqz().brIf(0);
    f.loop(() => {
      for (let g = 0; g < w; g += 4) group(g);
      addConst(f, p, 16);
      addConst(f, d, 4 * rowStride);
      f.localGet(k).i32Const(1).i32Sub().localTee(k).brIf(0);
    });
  });
  // k tail.
  f.localGet(kc).i32Const(3).i32And().localSet(k);
  f.block(() => {
    f.localGet(k).i32Eqz().brIf(0);
    f.loop(() => {
      for (let r = 0; r < w; r++) {
        f.localGet(d).localGet(p);
        if (r > 0) f.localGet(offs[r]).i32Add();
        f.f32Load().f32Store(4 * r);
      }
      addConst(f, p, 4);
      addConst(f, d, rowStride);
      f.localGet(k).i32Const(1).i32Sub().localTee(k).brIf(0);
    });
  });
}

/**
 * One full strip of `w` lanes (w constant, even) whose lanes are contiguous
 * (sMN = 4 bytes): per k step, f32x4 copies plus a 64-bit copy when w mod 4
 * is 2. Expects `p` at the strip's first element and `d` at its destination.
 */
function contiguousStrip(
  f: FuncBuilder,
  w: number,
  kc: number,
  sK: number,
  x: StripLocals,
) {
  const { p, d, k } = x;
  f.localGet(kc).localSet(k);
  f.loop(() => {
    for (let o = 0; o + 4 <= w; o += 4) {
      f.localGet(d).localGet(p).v128Load(4 * o).v128Store(4 * o);
    }
    if (w % 4) f.localGet(d).localGet(p).i64Load(4 * (w - 2)).i64Store(4 * (w - 2));
    addLocal(f, p, sK);
    addConst(f, d, w * 4);
    f.localGet(k).i32Const(1).i32Sub().localTee(k).brIf(0);
  });
}

/**
 * pack(mn, kc, src, sMN, sK, dst, W): copies an mn×kc operand block into
 * strips of W lanes, layout [strip][k][lane], zero-padding the last strip.
 * Element (x, k) is read at src + x·sMN + k·sK (bytes). W is MR or NR.
 * Full strips take a vector path when the lanes are contiguous (sMN = 4)
 * or a register-transpose path when k is (sK = 4); edge strips and other
 * strides go one float at a time.
 */
export function pack(mb: ModuleBuilder) {
  const { f } = mb.func("pack", Array(7).fill(I32), []);
  const [mn, kc, src, sMN, sK, dst, W] = [0, 1, 2, 3, 4, 5, 6];
  const [s, l, p, d, k, lanes, left, wBytes] = Array.from(
    { length: 8 },
    () => f.local(I32),
  );
  const offs = [0, ...Array.from({ length: NR - 1 }, () => f.local(I32))];
  const v = Array.from({ length: 8 }, () => f.local(V128));
  const strip: StripLocals = { p, d, k, offs, v };
  f.localGet(W).i32Const(4).i32Mul().localSet(wBytes);
  f.localGet(sMN).localSet(offs[1]);
  for (let r = 2; r < NR; r++) {
    f.localGet(offs[r - 1]).localGet(sMN).i32Add().localSet(offs[r]);
  }
  // Generic path: one lane at a time (edge strips, other strides).
  const generic = () => {
    f.i32Const(0).localSet(l);
    f.loop(() => {
      f.localGet(dst).localGet(l).i32Const(4).i32Mul().i32Add().localSet(d);
      f.localGet(kc).localSet(k);
      f.localGet(l).localGet(lanes).i32LtS().if(() => {
        f.localGet(src).localGet(s).localGet(l).i32Add().localGet(sMN).i32Mul();
        f.i32Add().localSet(p);
        f.loop(() => {
          f.localGet(d).localGet(p).f32Load().f32Store();
          addLocal(f, p, sK);
          addLocal(f, d, wBytes);
          f.localGet(k).i32Const(1).i32Sub().localTee(k).brIf(0);
        });
      }, () => {
        f.loop(() => {
          f.localGet(d).f32Const(0).f32Store();
          addLocal(f, d, wBytes);
          f.localGet(k).i32Const(1).i32Sub().localTee(k).brIf(0);
        });
      });
      addConst(f, l, 1);
      f.localGet(l).localGet(W).i32LtS().brIf(0);
    });
  };
  // Full strips: vector copies when the lanes are contiguous, register
  // transposes when k is; one specialised body per constant width, tried
  // in turn (an if/else chain ending in the generic path).
  const fullStrip = (
    w: number,
    stride: number,
    body: () => void,
    next: () => void,
  ) =>
  () => {
    f.localGet(lanes).i32Const(w).i32Eq();
    f.localGet(W).i32Const(w).i32Eq().i32And();
    f.localGet(stride).i32Const(4).i32Eq().i32And().if(body, next);
  };
  const paths = [NR, MR].flatMap((w) => [
    { w, stride: sMN, body: () => contiguousStrip(f, w, kc, sK, strip) },
    { w, stride: sK, body: () => transposedStrip(f, w, kc, strip) },
  ]);
  const oneStrip = paths.reduceRight<() => void>(
    (next, { w, stride, body }) => fullStrip(w, stride, body, next),
    generic,
  );
  f.block(() => {
    f.localGet(mn).i32Const(0).i32LeS().brIf(0);
    f.localGet(kc).i32Const(0).i32LeS().brIf(0);
    f.loop(() => { // strips
      f.localGet(mn).localGet(s).i32Sub().localSet(left);
      minI32(f, lanes, W, left);
      f.localGet(src).localGet(s).localGet(sMN).i32Mul().i32Add().localSet(p);
      f.localGet(dst).localSet(d);
      oneStrip();
      f.localGet(dst).localGet(wBytes).localGet(kc).i32Mul().i32Add().localSet(dst);
      f.localGet(s).localGet(W).i32Add().localTee(s);
      f.localGet(mn).i32LtS().brIf(0);
    });
  });
}
