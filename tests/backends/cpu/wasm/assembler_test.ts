import assert from "node:assert/strict";
import { I32 } from "../../../../backends/cpu/wasm/assembler.ts";
import { ModuleBuilder } from "../../../../backends/cpu/wasm/module_builder.ts";

Deno.test("assembler: block/loop/if close themselves and nest into a valid module", () => {
  const mb = new ModuleBuilder();
  // count(n): how many of 0..n-1 are odd, with every structured form.
  const { f } = mb.func("count", [I32], [I32]);
  const i = f.local(I32), odd = f.local(I32);
  f.loopUntil(() => f.localGet(i).localGet(0).i32GeS(), () => {
    f.localGet(i).i32Const(1).i32And().if(() => {
      f.localGet(odd).i32Const(1).i32Add().localSet(odd);
    }, () => {
      f.block(() => f.localGet(i).i32Eqz().brIf(0));
    });
    f.localGet(i).i32Const(1).i32Add().localSet(i);
  });
  f.localGet(odd);
  const bytes = mb.emit();
  assert.ok(WebAssembly.validate(bytes as BufferSource));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource));
  const count = inst.exports.count as (n: number) => number;
  assert.deepEqual([0, 1, 2, 7, 10].map(count), [0, 0, 1, 3, 5]);
});

Deno.test("assembler: a branch deeper than the open labels is refused", () => {
  const { f } = new ModuleBuilder().func("f", [], []);
  f.br(0); // the function body itself is a label
  assert.throws(() => f.br(1), RangeError);
  f.block(() => {
    f.loop(() => f.brIf(2));
    assert.throws(() => f.brIf(2), RangeError);
  });
  assert.throws(() => f.br(-1), RangeError);
});
