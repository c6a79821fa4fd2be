/** Shared builders for the safetensors tests. */
import assert from "node:assert/strict";
import { decodeSafetensors } from "../../io/mod.ts";

export const FIXTURE = new URL(
  "../fixtures/safetensors_small.safetensors",
  import.meta.url,
);

/** Builds a file from a header value and data bytes (length prefix optional). */
export function _file(
  header: unknown,
  data: number[] = [],
  len?: bigint,
): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, len ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

export const _f32 = (dtype: string, shape: number[], offs: number[]) => ({
  dtype,
  shape,
  data_offsets: offs,
});

export function _rejects(
  bytes: Uint8Array,
  name: "Error" | "RangeError" | "TypeError",
  message: RegExp,
): void {
  assert.throws(() => decodeSafetensors(bytes), { name, message });
}

export function _u16s(values: number[]): number[] {
  return values.flatMap((v) => [v & 0xff, v >> 8]);
}

export function _headerText(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

export const FIXTURE_TENSORS = {
  weight: {
    shape: [2, 3],
    data: new Float32Array([0.5, -1.25, 3.0, 1e-8, -0.0, 65504.0]),
  },
  bias: { shape: [3], data: new Float32Array([1, 2, 3]) },
  scalar: { shape: [], data: new Float32Array([3.14159]) },
  empty: { shape: [0, 4], data: new Float32Array(0) },
};
export const FIXTURE_META = { source: "gen_safetensors.py", format: "pt" };
