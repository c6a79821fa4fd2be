/**
 * Reading and writing the safetensors format as pure functions on bytes.
 *
 * Layout: an 8-byte little-endian u64 header length `N`, then `N` bytes of
 * UTF-8 JSON, then the data section. Each header entry maps a tensor name to
 * `{dtype, shape, data_offsets}` (offsets relative to the data section);
 * the optional `__metadata__` entry is a string→string map.
 *
 * The decoder validates the whole header against the input's size before it
 * allocates anything, so a corrupt or truncated file throws instead of
 * allocating more than the file holds. Only web-standard APIs are used.
 *
 * @module
 */

import {
  type _Checked,
  _checkMetadata,
  _checkShape,
  _ITEMSIZE,
  _META,
  _parseHeader,
  _product,
  _q,
} from "./_safetensors_header.ts";

/** A decoded tensor; F16 and BF16 data are widened to float32. */
export interface SafetensorsEntry {
  /** Element type of `data`; always float32. */
  dtype: "float32";
  /** The tensor's shape (row-major). */
  shape: number[];
  /** The elements; a view over the input bytes when they were aligned F32. */
  data: Float32Array;
}

/** A tensor to encode: its shape and its row-major float32 elements. */
export interface SafetensorsInput {
  /** The tensor's shape (row-major). */
  shape: number[];
  /** The elements; its length must be the product of `shape`. */
  data: Float32Array;
}

/** The result of {@link decodeSafetensors}. */
export interface DecodedSafetensors {
  /** The tensors by name. */
  tensors: Record<string, SafetensorsEntry>;
  /** The `__metadata__` map (empty when the header has none). */
  metadata: Record<string, string>;
}

const _HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function _halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Package-internal: one tensor's float32 elements from its stored bytes
 * (F32 as a view when aligned, F16 and BF16 widened).
 */
export function _toFloat32(bytes: Uint8Array, e: _Checked): Float32Array {
  return _read(bytes, -e.begin, e);
}

function _read(bytes: Uint8Array, start: number, e: _Checked): Float32Array {
  const at = bytes.byteOffset + start + e.begin;
  const n = (e.end - e.begin) / _ITEMSIZE[e.dtype];
  if (e.dtype === "F32" && _HOST_LE && at % 4 === 0) {
    return new Float32Array(bytes.buffer, at, n);
  }
  const view = new DataView(bytes.buffer, at, e.end - e.begin);
  const out = new Float32Array(n);
  if (e.dtype === "F32") {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (e.dtype === "F16") {
    for (let i = 0; i < n; i++) {
      out[i] = _halfToFloat(view.getUint16(2 * i, true));
    }
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/**
 * Decodes a safetensors file. F32 tensors are returned as views over `bytes`
 * when their data is 4-byte aligned (zero copy), otherwise copied; F16 and
 * BF16 tensors are converted to float32. The header is fully validated
 * before any tensor memory is allocated.
 *
 * @param bytes The whole file's contents.
 * @returns The tensors by name and the `__metadata__` map.
 * @throws {RangeError} When the file is truncated, the header length exceeds
 * the file, offsets fall outside the data section, a byte size disagrees with
 * its shape, or tensors overlap, leave gaps or do not fill the data section.
 * @throws {TypeError} When an entry or `__metadata__` has a missing or
 * wrongly typed field, or a tensor has an unsupported dtype.
 * @throws {Error} When the header is not UTF-8 JSON describing an object.
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * const { tensors } = decodeSafetensors(bytes);
 * console.log(tensors.w.shape, tensors.w.data); // [2] Float32Array [1, 2]
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const { n, metadata, entries } = _parseHeader(bytes);
  return {
    tensors: Object.fromEntries(entries.map((e) => [e.name, {
      dtype: "float32" as const,
      shape: [...e.shape],
      data: _read(bytes, 8 + n, e),
    }])),
    metadata: Object.fromEntries(Object.entries(metadata)),
  };
}

/**
 * Encodes float32 tensors as a safetensors file (dtype F32). Tensors are
 * written contiguously in sorted name order; `__metadata__` comes first in
 * the header and the header is padded with spaces to a multiple of 8 bytes.
 *
 * @param tensors The tensors by name; each `data.length` must equal the
 * product of its `shape`.
 * @param metadata Optional string→string map stored as `__metadata__`.
 * @returns The file's bytes.
 * @throws {TypeError} When a shape is not an array of non-negative integers,
 * data is not a Float32Array, a tensor is named `__metadata__`, or a
 * metadata value is not a string.
 * @throws {RangeError} When a tensor's data length disagrees with its shape.
 * @example
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(
 *   { bias: { shape: [3], data: new Float32Array([0, 1, 2]) } },
 *   { format: "pt" },
 * );
 * console.log(bytes.length % 8); // 4: the 12 data bytes follow a padded header
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const meta = _checkMetadata(metadata);
    header[_META] = Object.fromEntries(
      Object.keys(meta).sort().map((k) => [k, meta[k]]),
    );
  }
  let offset = 0;
  for (const name of names) {
    if (name === _META) {
      throw new TypeError(`safetensors: tensor name "${_META}" is reserved`);
    }
    const { shape, data } = tensors[name];
    const t = `tensor ${_q(name)}`;
    if (!(data instanceof Float32Array)) {
      throw new TypeError(`safetensors: ${t} data is not a Float32Array`);
    }
    if (_product(_checkShape(shape, t)) !== BigInt(data.length)) {
      throw new RangeError(
        `safetensors: ${t} has shape [${shape}] but ${data.length} elements`,
      );
    }
    Object.defineProperty(header, name, {
      value: {
        dtype: "F32",
        shape: [...shape],
        data_offsets: [offset, offset + data.byteLength],
      },
      enumerable: true,
    });
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const name of names) {
    const data = tensors[name].data;
    if (_HOST_LE) {
      out.set(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        at,
      );
    } else {
      for (let i = 0; i < data.length; i++) {
        view.setFloat32(at + 4 * i, data[i], true);
      }
    }
    at += data.byteLength;
  }
  return out;
}
