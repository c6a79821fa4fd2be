/**
 * Deno-side helpers that read and write safetensors files on disk.
 *
 * @module
 */

import {
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsInput,
} from "./safetensors.ts";

export type { DecodedSafetensors, SafetensorsInput };

/**
 * Reads and decodes a safetensors file. Aligned F32 tensors are views over
 * the file's bytes (no copy).
 *
 * @param path The file to read.
 * @returns The tensors by name and the `__metadata__` map.
 * @throws {Deno.errors.NotFound} When the file does not exist (or any other
 * error from `Deno.readFile`).
 * @throws {RangeError} When the file is truncated or its offsets are invalid.
 * @throws {TypeError} When a header entry is malformed or has an unsupported
 * dtype.
 * @throws {Error} When the header is not UTF-8 JSON describing an object.
 * @example
 * ```ts
 * import { readSafetensorsFile, writeSafetensorsFile } from "./files.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensorsFile(path, { w: { shape: [2], data: new Float32Array([1, 2]) } });
 * const { tensors, metadata } = await readSafetensorsFile(path);
 * console.log(Object.keys(tensors), metadata);
 * await Deno.remove(path);
 * ```
 */
export async function readSafetensorsFile(
  path: string | URL,
): Promise<DecodedSafetensors> {
  return decodeSafetensors(await Deno.readFile(path));
}

/**
 * Encodes float32 tensors as safetensors (F32) and writes them to a file.
 *
 * @param path The file to write (created or truncated).
 * @param tensors The tensors by name; each `data.length` must equal the
 * product of its `shape`.
 * @param metadata Optional string→string map stored as `__metadata__`.
 * @returns A promise that resolves once the file is written.
 * @throws {TypeError} When a shape, data or metadata value is malformed.
 * @throws {RangeError} When a tensor's data length disagrees with its shape.
 * @throws {Deno.errors.PermissionDenied} When writing is not allowed (or any
 * other error from `Deno.writeFile`).
 * @example
 * ```ts
 * import { writeSafetensorsFile } from "./files.ts";
 * await writeSafetensorsFile(
 *   await Deno.makeTempFile({ suffix: ".safetensors" }),
 *   { w: { shape: [2], data: new Float32Array([1, 2]) } },
 *   { format: "pt" },
 * );
 * ```
 */
export async function writeSafetensorsFile(
  path: string | URL,
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await Deno.writeFile(path, encodeSafetensors(tensors, metadata));
}
