/**
 * A safetensors writer storing float32 tensors as F16 (round to nearest
 * even), for the tiny checkpoint: half the bytes, and `fromPretrained`'s
 * F16 path gets exercised by the demo.
 *
 * @module
 */

/** float32 → IEEE binary16 bits, rounding to nearest even. */
export function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - e);
    const rounded = (m >>> 13) +
      (((m >>> 12) & 1) && ((m & 0x1fff) !== 0x1000 || ((m >>> 13) & 1)) ? 1 : 0);
    return sign | rounded;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** Encodes the tensors as one F16 safetensors file (names sorted). */
export function encodeSafetensorsF16(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let off = 0;
  for (const n of names) {
    const bytes = tensors[n].data.length * 2;
    header[n] = { dtype: "F16", shape: tensors[n].shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let text = JSON.stringify(header);
  while ((8 + text.length) % 8 !== 0) text += " ";
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  const view = new DataView(out.buffer, 8 + head.length);
  let at = 0;
  for (const n of names) {
    for (const v of tensors[n].data) {
      view.setUint16(at, toHalf(v), true);
      at += 2;
    }
  }
  return out;
}
