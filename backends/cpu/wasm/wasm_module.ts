/**
 * Generates the WebAssembly module holding every CPU kernel (GEMM pieces,
 * elementwise maps, reductions, Adam). All pointers are byte addresses into
 * one imported shared memory; strides passed to the GEMM helpers are bytes.
 *
 * @module
 */

import { F32, type FuncBuilder, I32, ModuleBuilder, V128 } from "./assembler.ts";
// Elementwise, reduction and Adam generators live in a sibling file.
import { addElementwise } from "./wasm_elementwise.ts";

/** Micro-kernel rows (A values broadcast per k). */
export const MR = 6;
/** Micro-kernel columns (two f32x4 vectors of B per k). */
export const NR = 8;
/** k-loop unroll factor of the micro-kernel. */
const UNROLL = 8;

/** Whether this engine validates a module using `f32x4.relaxed_madd`. */
export function detectRelaxedSimd(): boolean {
  const mb = new ModuleBuilder();
  const { f } = mb.func("f", [V128, V128, V128], [V128]);
  f.localGet(0).localGet(1).localGet(2).f32x4RelaxedMadd();
  try {
    return WebAssembly.validate(mb.emit() as BufferSource);
  } catch {
    return false;
  }
}

/** Whether this engine validates a plain 128-bit SIMD module. */
export function detectSimd(): boolean {
  const mb = new ModuleBuilder();
  const { f } = mb.func("f", [V128, V128], [V128]);
  f.localGet(0).localGet(1).f32x4Add();
  try {
    return WebAssembly.validate(mb.emit() as BufferSource);
  } catch {
    return false;
  }
}

/** `dst = min(a, b)` for i32 locals. */
function minI32(f: FuncBuilder, dst: number, a: number, b: number) {
  f.localGet(a).localGet(b).localGet(a).localGet(b).i32LtS().select();
  f.localSet(dst);
}

/** `x += c` for an i32 local and constant. */
function addConst(f: FuncBuilder, x: number, c: number) {
  f.localGet(x).i32Const(c).i32Add().localSet(x);
}

/** `x += y` for i32 locals. */
function addLocal(f: FuncBuilder, x: number, y: number) {
  f.localGet(x).localGet(y).i32Add().localSet(x);
}

/**
 * The register-blocked micro-kernel: C[MR×NR] (+)= Apanel·Bpanel over kc,
 * accumulators live in MR·NR/4 f32x4 locals.
 * Params: kc, pa, pb, c, ldc (bytes), load (0: start from zero).
 */
function microKernel(mb: ModuleBuilder, relaxed: boolean): number {
  const { index, f } = mb.func(null, [I32, I32, I32, I32, I32, I32], []);
  const [kc, pa, pb, c, ldc, load] = [0, 1, 2, 3, 4, 5];
  const NV = NR / 4;
  const acc: number[][] = [];
  for (let r = 0; r < MR; r++) {
    acc.push(Array.from({ length: NV }, () => f.local(V128)));
  }
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  const crow = f.local(I32);

  // Initialise accumulators from C or with zeros.
  f.localGet(load).if(() => {
    f.localGet(c).localSet(crow);
    for (let r = 0; r < MR; r++) {
      for (let v = 0; v < NV; v++) {
        f.localGet(crow).v128Load(16 * v).localSet(acc[r][v]);
      }
      addLocal(f, crow, ldc);
    }
  }, () => {
    f.f32Const(0).f32x4Splat().localSet(acc[0][0]);
    for (const row of acc) {
      for (const a of row) if (a !== acc[0][0]) f.localGet(acc[0][0]).localSet(a);
    }
  });

  // One k step at constant offset u within the current unrolled group.
  const step = (u: number) => {
    for (let v = 0; v < NV; v++) {
      f.localGet(pb).v128Load((u * NR + 4 * v) * 4).localSet(bv[v]);
    }
    for (let r = 0; r < MR; r++) {
      f.localGet(pa).v128Load32Splat((u * MR + r) * 4).localSet(av);
      for (let v = 0; v < NV; v++) {
        if (relaxed) {
          f.localGet(av).localGet(bv[v]).localGet(acc[r][v]);
          f.f32x4RelaxedMadd();
        } else {
          f.localGet(acc[r][v]).localGet(av).localGet(bv[v]);
          f.f32x4Mul().f32x4Add();
        }
        f.localSet(acc[r][v]);
      }
    }
  };

  // Unrolled main loop while kc >= UNROLL.
  f.block(() => {
    f.localGet(kc).i32Const(UNROLL).i32LtS().brIf(0);
    f.loop(() => {
      for (let u = 0; u < UNROLL; u++) step(u);
      addConst(f, pa, UNROLL * MR * 4);
      addConst(f, pb, UNROLL * NR * 4);
      f.localGet(kc).i32Const(UNROLL).i32Sub().localTee(kc);
      f.i32Const(UNROLL).i32GeS().brIf(0);
    });
  });
  // Remainder.
  f.block(() => {
    f.localGet(kc).i32Const(0).i32LeS().brIf(0);
    f.loop(() => {
      step(0);
      addConst(f, pa, MR * 4);
      addConst(f, pb, NR * 4);
      f.localGet(kc).i32Const(1).i32Sub().localTee(kc).brIf(0);
    });
  });

  // Store.
  f.localGet(c).localSet(crow);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++) {
      f.localGet(crow).localGet(acc[r][v]).v128Store(16 * v);
    }
    addLocal(f, crow, ldc);
  }
  return index;
}

/** merge(rows, cols, tile, c, ldc, load): C[rows×cols] (+)= tile (ld NR). */
function mergeTile(mb: ModuleBuilder): number {
  const { index, f } = mb.func(null, [I32, I32, I32, I32, I32, I32], []);
  const [rows, cols, tile, c, ldc, load] = [0, 1, 2, 3, 4, 5];
  const j = f.local(I32), end = f.local(I32), val = f.local(F32);
  f.localGet(cols).i32Const(4).i32Mul().localSet(end);
  f.loop(() => {
    f.i32Const(0).localSet(j);
    f.loop(() => {
      f.localGet(tile).localGet(j).i32Add().f32Load().localSet(val);
      f.localGet(load).if(() => {
        f.localGet(val).localGet(c).localGet(j).i32Add().f32Load().f32Add();
        f.localSet(val);
      });
      f.localGet(c).localGet(j).i32Add().localGet(val).f32Store();
      addConst(f, j, 4);
      f.localGet(j).localGet(end).i32LtS().brIf(0);
    });
    addConst(f, tile, NR * 4);
    addLocal(f, c, ldc);
    f.localGet(rows).i32Const(1).i32Sub().localTee(rows).brIf(0);
  });
  return index;
}

/**
 * gebp(mc, nc, kc, pa, pb, c, ldc, load, tile): runs the micro-kernel over
 * every MR×NR tile of a packed A block (mc×kc) and B block (kc×nc); edge
 * tiles go through the NR-wide scratch `tile`.
 */
function gebp(mb: ModuleBuilder, kernel: number, merge: number) {
  const { f } = mb.func("gebp", Array(9).fill(I32), []);
  const [mc, nc, kc, pa, pb, c, ldc, load, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [j, i, cols, rows, left, paI, cij] = Array.from(
    { length: 7 },
    () => f.local(I32),
  );
  const nrConst = f.local(I32), mrConst = f.local(I32);
  f.i32Const(NR).localSet(nrConst);
  f.i32Const(MR).localSet(mrConst);
  f.block(() => {
    f.localGet(nc).i32Const(0).i32LeS().brIf(0);
    f.localGet(mc).i32Const(0).i32LeS().brIf(0);
    f.i32Const(0).localSet(j);
    f.loop(() => { // over column strips
      f.localGet(nc).localGet(j).i32Sub().localSet(left);
      minI32(f, cols, nrConst, left);
      f.i32Const(0).localSet(i);
      f.localGet(pa).localSet(paI);
      f.localGet(c).localSet(cij);
      f.loop(() => { // over row strips
        f.localGet(mc).localGet(i).i32Sub().localSet(left);
        minI32(f, rows, mrConst, left);
        f.localGet(rows).i32Const(MR).i32Eq();
        f.localGet(cols).i32Const(NR).i32Eq().i32And().if(() => {
          f.localGet(kc).localGet(paI).localGet(pb).localGet(cij).localGet(ldc);
          f.localGet(load).call(kernel);
        }, () => {
          f.localGet(kc).localGet(paI).localGet(pb).localGet(tile).i32Const(NR * 4);
          f.i32Const(0).call(kernel);
          f.localGet(rows).localGet(cols).localGet(tile).localGet(cij).localGet(ldc);
          f.localGet(load).call(merge);
        });
        addConst(f, i, MR);
        f.localGet(paI).localGet(kc).i32Const(MR * 4).i32Mul().i32Add().localSet(paI);
        f.localGet(cij).localGet(ldc).i32Const(MR).i32Mul().i32Add().localSet(cij);
        f.localGet(i).localGet(mc).i32LtS().brIf(0);
      });
      addConst(f, j, NR);
      f.localGet(pb).localGet(kc).i32Const(NR * 4).i32Mul().i32Add().localSet(pb);
      addConst(f, c, NR * 4);
      f.localGet(j).localGet(nc).i32LtS().brIf(0);
    });
  });
}

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
function pack(mb: ModuleBuilder) {
  const { f } = mb.func("pack", Array(7).fill(I32), []);
  const [mn, kc, src, sMN, sK, dst, W] = [0, 1, 2, 3, 4, 5, 6];
  const [s, l, p, d, k, lanes, left, wBytes] = Array.from(
    { length: 8 },
    () => f.local(I32),
  );
  if (MR % 2 !== 0 || NR % 4 !== 0) throw new Error("pack needs even MR");
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

/** Builds the complete kernel module. */
export function buildKernelModule(relaxed: boolean): Uint8Array {
  const mb = new ModuleBuilder();
  mb.importSharedMemory(1, 65536);
  const kernel = microKernel(mb, relaxed);
  const merge = mergeTile(mb);
  gebp(mb, kernel, merge);
  pack(mb);
  addElementwise(mb);
  return mb.emit();
}
