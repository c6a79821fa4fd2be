/**
 * Tensor serialization. Re-exports the byte-level safetensors reader and
 * writer; file helpers that use Deno APIs live in `io/files.ts`.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./mod.ts";
 * const bytes = encodeSafetensors({ w: { shape: [1], data: new Float32Array([3]) } });
 * console.log(decodeSafetensors(bytes).tensors.w.data[0]); // 3
 * ```
 *
 * @module
 */

export {
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsEntry,
  type SafetensorsInput,
} from "./safetensors.ts";
export { openSafetensors, type SafetensorsReader, type TensorInfo } from "./safetensors_reader.ts";
export {
  type ByteSource,
  type DirSource,
  fileIn,
  type FileSource,
  type FileSystemDirectoryHandleLike,
  openBytes,
  readText,
} from "./sources.ts";
export {
  describeSink,
  type DirSink,
  type WritableDirectoryHandleLike,
  type WritableFileLike,
  writeFileTo,
} from "./sinks.ts";
