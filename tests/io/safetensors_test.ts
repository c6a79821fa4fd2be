import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors } from "../../io/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../../io/files.ts";
import {
  _f32,
  _file,
  _headerText,
  _u16s,
  FIXTURE,
  FIXTURE_META,
  FIXTURE_TENSORS,
} from "./_safetensors_helpers.ts";

Deno.test("encodeSafetensors()/decodeSafetensors() round trip with metadata", () => {
  const w = new Float32Array([1, -2, 3.5, Math.PI, -0, 1e-30]);
  const bytes = encodeSafetensors(
    {
      w: { shape: [3, 2], data: w },
      b: { shape: [1], data: new Float32Array([7]) },
    },
    { format: "pt", "ünïcode": 'välue "quoted"\n' },
  );
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(Object.keys(tensors).sort(), ["b", "w"]);
  assert.equal(tensors.w.dtype, "float32");
  assert.deepEqual(tensors.w.shape, [3, 2]);
  assert.deepEqual(tensors.w.data, w);
  assert.ok(Object.is(tensors.w.data[4], -0));
  assert.deepEqual(tensors.b.data, new Float32Array([7]));
  assert.deepEqual(metadata, { format: "pt", "ünïcode": 'välue "quoted"\n' });
});

Deno.test("encodeSafetensors() pads the header to a multiple of 8 with spaces", () => {
  for (let len = 1; len <= 9; len++) {
    const name = "x".repeat(len);
    const bytes = encodeSafetensors({
      [name]: { shape: [1], data: new Float32Array([1]) },
    });
    const text = _headerText(bytes);
    assert.equal((8 + text.length) % 8, 0);
    const json = JSON.stringify({ [name]: _f32("F32", [1], [0, 4]) });
    assert.equal(text, json + " ".repeat(text.length - json.length));
    assert.equal(bytes.length, 8 + text.length + 4);
  }
  const empty = encodeSafetensors({});
  assert.equal(_headerText(empty), "{}      ");
  assert.deepEqual(decodeSafetensors(empty), { tensors: {}, metadata: {} });
});

Deno.test("encodeSafetensors() matches the Python-generated fixture byte for byte", async () => {
  const expected = await Deno.readFile(FIXTURE);
  const bytes = encodeSafetensors(FIXTURE_TENSORS, FIXTURE_META);
  assert.deepEqual(bytes, expected);
});

Deno.test("decodeSafetensors() reads the Python-generated fixture", async () => {
  const { tensors, metadata } = decodeSafetensors(await Deno.readFile(FIXTURE));
  assert.deepEqual(metadata, { format: "pt", source: "gen_safetensors.py" });
  for (const [name, t] of Object.entries(FIXTURE_TENSORS)) {
    assert.deepEqual(tensors[name].shape, t.shape);
    assert.deepEqual(tensors[name].data, t.data);
  }
});

Deno.test("encodeSafetensors() writes tensors contiguously in sorted name order", () => {
  const one = (n: number) => ({
    shape: [n],
    data: new Float32Array(n).fill(n),
  });
  const bytes = encodeSafetensors({ c: one(1), a: one(2), b: one(3) });
  const header = JSON.parse(_headerText(bytes));
  assert.deepEqual(Object.keys(header), ["a", "b", "c"]);
  assert.deepEqual(header.a.data_offsets, [0, 8]);
  assert.deepEqual(header.b.data_offsets, [8, 20]);
  assert.deepEqual(header.c.data_offsets, [20, 24]);
});

Deno.test("decodeSafetensors() converts F16 including subnormal, inf, nan and -0", () => {
  const bits = [
    0x0001,
    0x03ff,
    0x0400,
    0x3c00,
    0xc000,
    0x7bff,
    0x7c00,
    0xfc00,
    0x7e00,
    0x8000,
    0x3555,
    0x8001,
  ];
  const bytes = _file({ h: _f32("F16", [12], [0, 24]) }, _u16s(bits));
  const { data } = decodeSafetensors(bytes).tensors.h;
  const expected = [
    5.960464477539063e-8,
    6.097555160522461e-5,
    6.103515625e-5,
    1,
    -2,
    65504,
    Infinity,
    -Infinity,
    NaN,
    -0,
    0.333251953125,
    -5.960464477539063e-8,
  ];
  assert.equal(data.length, expected.length);
  expected.forEach((v, i) =>
    assert.ok(Object.is(data[i], Math.fround(v)), `${i}: ${data[i]} != ${v}`)
  );
});

Deno.test("decodeSafetensors() converts BF16 including subnormal, inf, nan and -0", () => {
  const bits = [
    0x3f80,
    0xc040,
    0x0001,
    0x7f80,
    0xff80,
    0x7fc0,
    0x8000,
    0x3eab,
    0x7f7f,
  ];
  const bytes = _file({ b: _f32("BF16", [3, 3], [0, 18]) }, _u16s(bits));
  const { data } = decodeSafetensors(bytes).tensors.b;
  const expected = [
    1,
    -3,
    9.183549615799121e-41,
    Infinity,
    -Infinity,
    NaN,
    -0,
    0.333984375,
    3.3895313892515355e38,
  ];
  expected.forEach((v, i) =>
    assert.ok(Object.is(data[i], Math.fround(v)), `${i}: ${data[i]} != ${v}`)
  );
});

Deno.test("decodeSafetensors() views aligned F32 data without copying", () => {
  const bytes = encodeSafetensors({
    w: { shape: [2], data: new Float32Array([1, 2]) },
  });
  const { data } = decodeSafetensors(bytes).tensors.w;
  assert.equal(data.buffer, bytes.buffer);
  new DataView(bytes.buffer).setFloat32(data.byteOffset, 9, true);
  assert.equal(data[0], 9);
});

Deno.test("decodeSafetensors() copies unaligned F32 data", () => {
  const file = encodeSafetensors({
    w: { shape: [2], data: new Float32Array([1.5, -2]) },
  });
  const shifted = new Uint8Array(file.length + 1);
  shifted.set(file, 1);
  const bytes = shifted.subarray(1);
  const { data } = decodeSafetensors(bytes).tensors.w;
  assert.notEqual(data.buffer, bytes.buffer);
  assert.deepEqual(data, new Float32Array([1.5, -2]));
  // F32 after a 2-byte F16 starts at an odd multiple of 2 in the data section.
  const f = new Uint8Array(new Float32Array([0.25]).buffer);
  const mixed = _file(
    { a: _f32("F16", [1], [0, 2]), b: _f32("F32", [1], [2, 6]) },
    [..._u16s([0x3c00]), ...f],
  );
  const out = decodeSafetensors(mixed).tensors;
  assert.deepEqual(out.a.data, new Float32Array([1]));
  assert.deepEqual(out.b.data, new Float32Array([0.25]));
});

Deno.test("decodeSafetensors() keeps a __proto__ tensor as an own entry", () => {
  const bytes = _file(
    '{"__proto__":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}',
    [0, 0, 128, 63],
  );
  const { tensors } = decodeSafetensors(bytes);
  assert.ok(Object.hasOwn(tensors, "__proto__"));
  assert.deepEqual(tensors["__proto__"].data, new Float32Array([1]));
});

Deno.test("encodeSafetensors() rejects malformed input", () => {
  const data = new Float32Array(4);
  assert.throws(() => encodeSafetensors({ w: { shape: [3], data } }), {
    name: "RangeError",
    message: /tensor "w" has shape \[3\] but 4 elements/,
  });
  assert.throws(() => encodeSafetensors({ w: { shape: [-4], data } }), {
    name: "TypeError",
    message: /tensor "w" has shape \[-4\]/,
  });
  assert.throws(
    () => encodeSafetensors({ __metadata__: { shape: [4], data } }),
    { name: "TypeError", message: /reserved/ },
  );
  assert.throws(
    () =>
      encodeSafetensors({
        w: { shape: [4], data: [0, 0, 0, 0] as unknown as Float32Array },
      }),
    { name: "TypeError", message: /not a Float32Array/ },
  );
  assert.throws(() => encodeSafetensors({}, { n: 1 as unknown as string }), {
    name: "TypeError",
    message: /key "n" has value 1/,
  });
});

Deno.test("readSafetensorsFile()/writeSafetensorsFile() round trip on disk", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await writeSafetensorsFile(path, FIXTURE_TENSORS, FIXTURE_META);
    assert.deepEqual(await Deno.readFile(path), await Deno.readFile(FIXTURE));
    const { tensors, metadata } = await readSafetensorsFile(path);
    assert.deepEqual(tensors.weight.data, FIXTURE_TENSORS.weight.data);
    assert.deepEqual(metadata, { format: "pt", source: "gen_safetensors.py" });
  } finally {
    await Deno.remove(path);
  }
});
