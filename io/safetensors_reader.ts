/**
 * Reads a safetensors file one tensor at a time: the header first, then
 * each tensor's bytes when asked for, widened to float32. Loading a model
 * this way needs the model plus its largest tensor in host memory, not
 * twice the file.
 *
 * @module
 */
import { _parseHeader } from "./_safetensors_header.ts";
import { _toFloat32 } from "./safetensors.ts";
import { type FileSource, openBytes } from "./sources.ts";

/** One tensor's description in a file. */
export interface TensorInfo {
  /** Its name (key). */
  readonly name: string;
  /** The stored element type: "F32", "F16" or "BF16". */
  readonly dtype: string;
  /** Its shape. */
  readonly shape: readonly number[];
}

/** An open safetensors file. */
export interface SafetensorsReader {
  /** Every tensor in the file, in the header's order. */
  readonly tensors: readonly TensorInfo[];
  /** The `__metadata__` map. */
  readonly metadata: Readonly<Record<string, string>>;
  /** One tensor's elements as float32 (read from the file now). */
  read(name: string): Promise<Float32Array>;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens a safetensors file and validates its header against its size.
 *
 * @param src The file (path under Deno; Blob, Response or bytes anywhere).
 * @returns A reader.
 * @throws {RangeError} For a truncated file or offsets outside it.
 * @throws {TypeError} For a malformed header or an unsupported dtype.
 * @example
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { openSafetensors } from "./safetensors_reader.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * const r = await openSafetensors(bytes);
 * console.log(r.tensors[0].name, await r.read("w")); // w Float32Array [1, 2]
 * ```
 */
export async function openSafetensors(src: FileSource): Promise<SafetensorsReader> {
  const file = await openBytes(src);
  try {
    const prefix = await file.read(0, Math.min(8, file.size));
    if (prefix.length < 8) _parseHeader(prefix, file.size); // throws the size error
    const n = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
    const head = n + 8 <= file.size ? await file.read(0, 8 + n) : prefix;
    const { metadata, entries } = _parseHeader(head, file.size);
    const byName = new Map(entries.map((e) => [e.name, e]));
    return {
      tensors: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: [...e.shape] })),
      metadata,
      async read(name) {
        const e = byName.get(name);
        if (!e) throw new RangeError(`safetensors: no tensor named "${name}" in the file`);
        const bytes = await file.read(8 + n + e.begin, e.end - e.begin);
        return _toFloat32(bytes, e);
      },
      close: () => file.close(),
    };
  } catch (err) {
    file.close();
    throw err;
  }
}
