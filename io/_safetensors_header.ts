/**
 * Private safetensors header validation shared by `io/safetensors.ts`.
 * Every check here runs before any tensor memory is allocated.
 *
 * @module
 */

/** The reserved header key holding the string→string metadata map. */
export const _META = "__metadata__";
/** Bytes per element of each supported dtype. */
export const _ITEMSIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** A header entry that passed every check. */
export interface _Checked {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Quotes a tensor or metadata key for an error message. */
export const _q = (s: string): string => JSON.stringify(s);
const _fmt = (v: unknown): string => JSON.stringify(v) ?? String(v);
const _isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const _isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Returns `shape` if it is an array of non-negative safe integers. */
export function _checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape) || !shape.every(_isCount)) {
    throw new TypeError(
      `safetensors: ${what} has shape ${_fmt(shape)}; expected an array of non-negative integers`,
    );
  }
  return shape;
}

/** The exact element count of `shape`. */
export function _product(shape: number[]): bigint {
  return shape.reduce((p, d) => p * BigInt(d), 1n);
}

/** Returns `meta` if it is a string→string map. */
export function _checkMetadata(meta: unknown): Record<string, string> {
  if (!_isObj(meta)) {
    throw new TypeError(
      `safetensors: "${_META}" is ${_fmt(meta)}; expected a string→string map`,
    );
  }
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== "string") {
      throw new TypeError(
        `safetensors: "${_META}" key ${_q(k)} has value ${_fmt(v)}; expected a string`,
      );
    }
  }
  return meta as Record<string, string>;
}

function _checkEntry(name: string, raw: unknown, dataLen: number): _Checked {
  const t = `tensor ${_q(name)}`;
  if (!_isObj(raw)) {
    throw new TypeError(`safetensors: ${t} is ${_fmt(raw)}; expected object`);
  }
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!Object.hasOwn(raw, field)) {
      throw new TypeError(`safetensors: ${t} is missing "${field}"`);
    }
  }
  const { dtype, data_offsets: offs } = raw;
  if (typeof dtype !== "string") {
    throw new TypeError(`safetensors: ${t} has dtype ${_fmt(dtype)}`);
  }
  const itemsize = Object.hasOwn(_ITEMSIZE, dtype) ? _ITEMSIZE[dtype] : 0;
  if (itemsize === 0) {
    throw new TypeError(
      `safetensors: ${t} has unsupported dtype ${_q(dtype)}; supported: F32, F16, BF16`,
    );
  }
  const shape = _checkShape(raw.shape, t);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(_isCount)) {
    throw new TypeError(
      `safetensors: ${t} has data_offsets ${
        _fmt(offs)
      }; expected [begin, end] non-negative integers`,
    );
  }
  const [begin, end] = offs as number[];
  if (begin > end) {
    throw new RangeError(
      `safetensors: ${t} has data_offsets [${begin},${end}] with begin > end`,
    );
  }
  if (end > dataLen) {
    throw new RangeError(
      `safetensors: ${t} has data_offsets [${begin},${end}] outside the ` +
        `data section of ${dataLen} bytes`,
    );
  }
  const bytes = _product(shape) * BigInt(itemsize);
  if (bytes !== BigInt(end - begin)) {
    throw new RangeError(
      `safetensors: ${t} has shape [${shape}] (${bytes} bytes) but ` +
        `data_offsets [${begin},${end}] span ${end - begin} bytes`,
    );
  }
  return { name, dtype, shape, begin, end };
}

function _checkTiling(entries: _Checked[], dataLen: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev = "";
  for (const e of sorted) {
    if (e.begin < pos) {
      throw new RangeError(
        `safetensors: tensor ${_q(e.name)} data_offsets [${e.begin},${e.end}]` +
          ` overlap tensor ${_q(prev)}, which ends at ${pos}`,
      );
    }
    if (e.begin > pos) {
      throw new RangeError(
        `safetensors: gap of ${e.begin - pos} bytes at data offset ${pos} ` +
          `before tensor ${_q(e.name)} (data_offsets [${e.begin},${e.end}])`,
      );
    }
    pos = e.end;
    prev = e.name;
  }
  if (pos !== dataLen) {
    throw new RangeError(
      `safetensors: tensors cover ${pos} bytes but the data section has ` +
        `${dataLen} bytes`,
    );
  }
}

/**
 * Validates a safetensors file's length prefix and header against its size,
 * allocating nothing beyond the header text.
 *
 * @param bytes The file's contents, or at least its first 8 + N bytes
 *   (the length prefix and the header) when `fileSize` is given.
 * @param fileSize The whole file's size (default: `bytes.length`).
 * @returns The header length, the metadata and the checked tensor entries.
 */
export function _parseHeader(
  bytes: Uint8Array,
  fileSize: number = bytes.length,
): { n: number; metadata: Record<string, string>; entries: _Checked[] } {
  if (fileSize < 8 || bytes.length < 8) {
    throw new RangeError(
      `safetensors: file is ${fileSize} bytes, shorter than the 8-byte ` +
        `header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const big = view.getBigUint64(0, true);
  if (big > BigInt(fileSize - 8)) {
    throw new RangeError(
      `safetensors: header length ${big} exceeds the ${fileSize - 8} ` +
        `bytes after the length prefix`,
    );
  }
  const n = Number(big);
  if (bytes.length < 8 + n) {
    throw new RangeError(
      `safetensors: only ${bytes.length} of the ${8 + n} header bytes were read`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true })
      .decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (cause) {
    throw new TypeError(
      `safetensors: header (${n} bytes) is not valid UTF-8 JSON`,
      { cause },
    );
  }
  if (!_isObj(header)) {
    throw new TypeError(
      `safetensors: header is ${
        Array.isArray(header) ? "an array" : _fmt(header)
      }; expected a JSON object`,
    );
  }
  const dataLen = fileSize - 8 - n;
  let metadata: Record<string, string> = {};
  const entries: _Checked[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === _META) metadata = _checkMetadata(raw);
    else entries.push(_checkEntry(name, raw, dataLen));
  }
  _checkTiling(entries, dataLen);
  return { n, metadata, entries };
}
