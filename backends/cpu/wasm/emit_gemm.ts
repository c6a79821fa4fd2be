/**
 * Emitters of the SGEMM's compute kernels: the MR×NR register-blocked
 * micro-kernel, the edge-tile merge and `gebp`, which runs the micro-kernel
 * over packed blocks (see `gemm.ts` for the driver, `emit_pack.ts` for the
 * packing). Also the small i32 idioms the emitters share. Strides are in
 * bytes.
 *
 * @module
 */

import { F32, type FuncBuilder, I32, V128 } from "./assembler.ts";
import type { ModuleBuilder } from "./module_builder.ts";
import { MR, NR } from "./blocking.ts";

/** k-loop unroll factor of the micro-kernel. */
const UNROLL = 8;

/** `dst = min(a, b)` for i32 locals. */
export function minI32(f: FuncBuilder, dst: number, a: number, b: number) {
  f.localGet(a).localGet(b).localGet(a).localGet(b).i32LtS().select();
  f.localSet(dst);
}

/** `x += c` for an i32 local and constant. */
export function addConst(f: FuncBuilder, x: number, c: number) {
  f.localGet(x).i32Const(c).i32Add().localSet(x);
}

/** `x += y` for i32 locals. */
export function addLocal(f: FuncBuilder, x: number, y: number) {
  f.localGet(x).localGet(y).i32Add().localSet(x);
}

/**
 * The register-blocked micro-kernel: C[MR×NR] (+)= Apanel·Bpanel over kc,
 * accumulators live in MR·NR/4 f32x4 locals.
 * Params: kc, pa, pb, c, ldc (bytes), load (0: start from zero).
 */
export function microKernel(mb: ModuleBuilder, relaxed: boolean): number {
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
export function mergeTile(mb: ModuleBuilder): number {
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
export function gebp(mb: ModuleBuilder, kernel: number, merge: number) {
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
