import assert from "node:assert/strict";
import {
  buildKernelModule,
  detectRelaxedSimd,
  detectSimd,
} from "../../../../backends/cpu/wasm/wasm_module.ts";
import { MR, NR } from "../../../../backends/cpu/wasm/blocking.ts";

type Pack = (
  mn: number,
  kc: number,
  src: number,
  sMN: number,
  sK: number,
  dst: number,
  w: number,
) => void;

Deno.test({
  name: "pack matches a reference on every path (contiguous, transposed, edges)",
  ignore: !detectSimd(),
  fn() {
    const memory = new WebAssembly.Memory({
      initial: 64,
      maximum: 65536,
      shared: true,
    });
    const inst = new WebAssembly.Instance(
      new WebAssembly.Module(
        buildKernelModule(detectRelaxedSimd()) as BufferSource,
      ),
      { env: { memory } },
    );
    const pack = inst.exports.pack as unknown as Pack;
    const f32 = new Float32Array(memory.buffer);
    const u32 = new Uint32Array(memory.buffer);
    const SRC = 1024, DST = 1 << 19; // float indices
    for (let i = 0; i < DST - SRC; i++) f32[SRC + i] = i * 0.5 + 1;
    const GUARD = 0x7fc0dead; // a NaN payload that must survive untouched
    for (const w of [MR, NR]) {
      for (const mn of [1, 2, 5, w - 1, w, w + 1, 2 * w, 3 * w + 3]) {
        for (const kc of [1, 2, 3, 4, 5, 8, 11, 64, 259]) {
          for (const ld of [mn + 0, mn + 3, kc + 0, kc + 1]) {
            for (const skew of [0, 1]) {
              // [sMN, sK] in elements: lanes contiguous, k contiguous, neither.
              const strides = [[1, ld], [ld, 1], [ld, 2 * ld + 1]];
              for (const [sMN, sK] of strides) {
                if (sMN === 1 && ld < mn) continue; // overlapping rows
                if (sK === 1 && ld < kc) continue;
                const strips = Math.ceil(mn / w), n = strips * w * kc;
                u32.fill(GUARD, DST, DST + n + 16);
                const src = SRC + skew;
                pack(mn, kc, src * 4, sMN * 4, sK * 4, (DST + skew) * 4, w);
                for (let s = 0; s < strips; s++) {
                  for (let k = 0; k < kc; k++) {
                    for (let l = 0; l < w; l++) {
                      const x = s * w + l;
                      const want = x < mn ? f32[src + x * sMN + k * sK] : 0;
                      const got = f32[DST + skew + (s * kc + k) * w + l];
                      if (got !== want) {
                        assert.fail(
                          `w ${w} mn ${mn} kc ${kc} sMN ${sMN} sK ${sK} ` +
                            `skew ${skew} (${x},${k}): ${got} != ${want}`,
                        );
                      }
                    }
                  }
                }
                if (skew) assert.equal(u32[DST], GUARD, "wrote before dst");
                for (let i = DST + skew + n; i < DST + n + 16; i++) {
                  assert.equal(u32[i], GUARD, "wrote past the packed block");
                }
              }
            }
          }
        }
      }
    }
  },
});
