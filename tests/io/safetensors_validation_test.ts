import assert from "node:assert/strict";
import { decodeSafetensors } from "../../io/mod.ts";
import { _f32, _file, _rejects, FIXTURE } from "./_safetensors_helpers.ts";

Deno.test("decodeSafetensors() rejects a file shorter than 8 bytes", () => {
  _rejects(new Uint8Array(0), "RangeError", /file is 0 bytes/);
  _rejects(new Uint8Array(7), "RangeError", /file is 7 bytes/);
});

Deno.test("decodeSafetensors() rejects a header length of 2^40", () => {
  _rejects(
    _file({}, [], 2n ** 40n),
    "RangeError",
    /header length 1099511627776 exceeds the 2 bytes/,
  );
  _rejects(
    _file({}, [], 2n ** 64n - 1n),
    "RangeError",
    /header length 18446744073709551615/,
  );
});

Deno.test("decodeSafetensors() rejects a truncated file", async () => {
  const full = await Deno.readFile(FIXTURE);
  _rejects(
    full.subarray(0, 100),
    "RangeError",
    /header length 304 exceeds the 92 bytes/,
  );
  _rejects(
    full.subarray(0, full.length - 1),
    "RangeError",
    /"weight" has data_offsets \[16,40\] outside the data section of 39 bytes/,
  );
  _rejects(
    full.subarray(0, 8 + 304),
    "RangeError",
    /"bias" has data_offsets \[0,12\] outside the data section of 0 bytes/,
  );
});

Deno.test("decodeSafetensors() rejects a header that is not valid JSON or UTF-8", () => {
  _rejects(
    _file("{not json"),
    "TypeError",
    /header \(9 bytes\) is not valid UTF-8 JSON/,
  );
  const bad = _file("{}  ");
  bad[9] = 0xff;
  _rejects(bad, "TypeError", /not valid UTF-8 JSON/);
  _rejects(_file(""), "TypeError", /header \(0 bytes\)/);
});

Deno.test("decodeSafetensors() rejects a header that is not an object", () => {
  _rejects(
    _file([1, 2]),
    "TypeError",
    /header is an array; expected a JSON object/,
  );
  _rejects(_file(null), "TypeError", /header is null/);
  _rejects(_file(42), "TypeError", /header is 42/);
});

Deno.test("decodeSafetensors() rejects entries missing fields or with wrong types", () => {
  const d = new Array(4).fill(0);
  _rejects(_file({ w: 5 }, d), "TypeError", /tensor "w" is 5; expected object/);
  _rejects(
    _file({ w: { shape: [1], data_offsets: [0, 4] } }, d),
    "TypeError",
    /tensor "w" is missing "dtype"/,
  );
  _rejects(
    _file({ w: { dtype: "F32", data_offsets: [0, 4] } }, d),
    "TypeError",
    /tensor "w" is missing "shape"/,
  );
  _rejects(
    _file({ w: { dtype: "F32", shape: [1] } }, d),
    "TypeError",
    /tensor "w" is missing "data_offsets"/,
  );
  _rejects(
    _file({ w: _f32(7 as unknown as string, [1], [0, 4]) }, d),
    "TypeError",
    /tensor "w" has dtype 7/,
  );
  _rejects(
    _file({ w: { dtype: "F32", shape: "1", data_offsets: [0, 4] } }, d),
    "TypeError",
    /tensor "w" has shape "1"/,
  );
  _rejects(
    _file({ w: _f32("F32", [1], [0]) }, d),
    "TypeError",
    /tensor "w" has data_offsets \[0\]/,
  );
  _rejects(
    _file({ w: _f32("F32", [1], [0, 4, 8]) }, d),
    "TypeError",
    /data_offsets \[0,4,8\]/,
  );
  _rejects(
    _file({ w: { dtype: "F32", shape: [1], data_offsets: "0,4" } }, d),
    "TypeError",
    /data_offsets "0,4"/,
  );
  _rejects(
    _file({ w: _f32("F32", [1], [-4, 4]) }, d),
    "TypeError",
    /data_offsets \[-4,4\]/,
  );
  _rejects(
    _file({ w: _f32("F32", [1], [0, 4.5]) }, d),
    "TypeError",
    /data_offsets \[0,4.5\]/,
  );
});

Deno.test("decodeSafetensors() rejects shapes that are not non-negative integers", () => {
  const d = new Array(4).fill(0);
  for (const shape of [[-1], [1.5], ["1"], [null], [2 ** 60]]) {
    _rejects(
      _file({ w: _f32("F32", shape as number[], [0, 4]) }, d),
      "TypeError",
      /tensor "w" has shape .*expected an array of non-negative integers/,
    );
  }
});

Deno.test("decodeSafetensors() rejects unsupported dtypes naming dtype and key", () => {
  for (const dtype of ["I64", "F64", "U8", "BOOL", "f32", "toString"]) {
    _rejects(
      _file({ ids: _f32(dtype, [1], [0, 8]) }, new Array(8).fill(0)),
      "TypeError",
      new RegExp(`tensor "ids" has unsupported dtype "${dtype}"`),
    );
  }
});

Deno.test("decodeSafetensors() rejects offsets outside the data section", () => {
  _rejects(
    _file({ w: _f32("F32", [2], [0, 8]) }, [0, 0, 0, 0]),
    "RangeError",
    /tensor "w" has data_offsets \[0,8\] outside the data section of 4 bytes/,
  );
  _rejects(
    _file({ w: _f32("F32", [0], [9, 9]) }, [0, 0, 0, 0]),
    "RangeError",
    /outside the data section/,
  );
});

Deno.test("decodeSafetensors() rejects begin > end", () => {
  _rejects(
    _file({ w: _f32("F32", [1], [4, 0]) }, [0, 0, 0, 0]),
    "RangeError",
    /tensor "w" has data_offsets \[4,0\] with begin > end/,
  );
});

Deno.test("decodeSafetensors() rejects a byte size that disagrees with the shape", () => {
  _rejects(
    _file({ w: _f32("F32", [2, 3], [0, 20]) }, new Array(20).fill(0)),
    "RangeError",
    /^safetensors: tensor "w" has shape \[2,3\] \(24 bytes\) but data_offsets \[0,20\] span 20 bytes$/,
  );
  _rejects(
    _file({ h: _f32("F16", [3], [0, 4]) }, [0, 0, 0, 0]),
    "RangeError",
    /shape \[3\] \(6 bytes\)/,
  );
  _rejects(
    _file({ w: _f32("F32", [2 ** 50, 2 ** 50], [0, 4]) }, [0, 0, 0, 0]),
    "RangeError",
    /\(5070602400912917605986812821504 bytes\)/,
  );
});

Deno.test("decodeSafetensors() rejects overlapping offsets", () => {
  const header = { a: _f32("F32", [2], [0, 8]), b: _f32("F32", [2], [4, 12]) };
  _rejects(
    _file(header, new Array(12).fill(0)),
    "RangeError",
    /tensor "b" data_offsets \[4,12\] overlap tensor "a", which ends at 8/,
  );
  const same = { a: _f32("F32", [1], [0, 4]), b: _f32("F32", [1], [0, 4]) };
  _rejects(_file(same, new Array(8).fill(0)), "RangeError", /overlap/);
});

Deno.test("decodeSafetensors() rejects gaps between tensors", () => {
  const header = { a: _f32("F32", [1], [0, 4]), b: _f32("F32", [1], [8, 12]) };
  _rejects(
    _file(header, new Array(12).fill(0)),
    "RangeError",
    /gap of 4 bytes at data offset 4 before tensor "b" \(data_offsets \[8,12\]\)/,
  );
  _rejects(
    _file({ b: _f32("F32", [1], [4, 8]) }, new Array(8).fill(0)),
    "RangeError",
    /gap of 4 bytes at data offset 0/,
  );
});

Deno.test("decodeSafetensors() rejects data not covered by any tensor", () => {
  _rejects(
    _file({ a: _f32("F32", [1], [0, 4]) }, new Array(6).fill(0)),
    "RangeError",
    /tensors cover 4 bytes but the data section has 6 bytes/,
  );
  _rejects(
    _file({}, [1]),
    "RangeError",
    /cover 0 bytes but the data section has 1 bytes/,
  );
});

Deno.test("decodeSafetensors() rejects __metadata__ that is not a string map", () => {
  _rejects(
    _file({ __metadata__: { epoch: 3 } }),
    "TypeError",
    /"__metadata__" key "epoch" has value 3; expected a string/,
  );
  _rejects(
    _file({ __metadata__: ["a"] }),
    "TypeError",
    /"__metadata__" is \["a"\]; expected a string→string map/,
  );
  _rejects(_file({ __metadata__: "x" }), "TypeError", /"__metadata__" is "x"/);
});

Deno.test("decodeSafetensors() throws on every truncation and never crashes on corruption", async () => {
  const full = await Deno.readFile(FIXTURE);
  // A rejection is the library's own: a TypeError or RangeError whose
  // message starts "safetensors:", never an internal crash.
  const clean = (e: unknown) =>
    (e instanceof TypeError || e instanceof RangeError) && e.message.startsWith("safetensors:");
  for (let len = 0; len < full.length; len++) {
    assert.throws(() => decodeSafetensors(full.slice(0, len)), clean, `length ${len}`);
  }
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  let decoded = 0, rejected = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = full.slice();
    for (let k = 0; k <= rand(3); k++) bytes[rand(bytes.length)] = rand(256);
    let tensors;
    try {
      ({ tensors } = decodeSafetensors(bytes));
    } catch (e) {
      assert.ok(clean(e), `corruption ${i}: ${e instanceof Error ? e.stack : e}`);
      rejected++;
      continue;
    }
    decoded++;
    for (const t of Object.values(tensors)) {
      assert.ok(t.data.byteLength <= bytes.length, `corruption ${i}: data past the file`);
      assert.equal(t.data.length, t.shape.reduce((a, s) => a * s, 1), `corruption ${i}: size`);
    }
  }
  assert.ok(decoded > 0 && rejected > 0, `${decoded} decoded, ${rejected} rejected`);
});
