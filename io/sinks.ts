/**
 * Where files go: a path under Deno, a browser directory handle (the File
 * System Access API's `showDirectoryPicker()`), or a `Map` that collects
 * name → bytes (a page then offers them as downloads). Writers of the
 * library (adapters) take one of these. Deno's file API is used only
 * inside the functions, at call time.
 *
 * @module
 */

/** The part of a writable directory handle used here. */
export interface WritableDirectoryHandleLike {
  /** The handle's kind: "directory". */
  readonly kind: "directory";
  /** A file of the directory, created when `create` is set. */
  getFileHandle(
    name: string,
    opts?: { create?: boolean },
  ): Promise<{ createWritable(): Promise<WritableFileLike> }>;
  /** A subdirectory, created when `create` is set. */
  getDirectoryHandle(
    name: string,
    opts?: { create?: boolean },
  ): Promise<WritableDirectoryHandleLike>;
}

/** The part of a writable file stream used here. */
export interface WritableFileLike {
  /** Writes the bytes. */
  write(data: Uint8Array): Promise<void>;
  /** Commits the file. */
  close(): Promise<void>;
}

/**
 * A directory to write into: a path or `file:` URL (Deno), a writable
 * directory handle, or a `Map` filled with name → bytes (names may hold
 * `/` for a subdirectory).
 */
export type DirSink = string | URL | WritableDirectoryHandleLike | Map<string, Uint8Array>;

// deno-lint-ignore no-explicit-any
function deno(): any {
  // deno-lint-ignore no-explicit-any
  const d = (globalThis as any).Deno;
  if (!d) throw new TypeError("a path needs Deno; in a browser pass a directory handle or a Map");
  return d;
}

function joinPath(dir: string | URL, name: string): string | URL {
  if (dir instanceof URL) return new URL(name, dir.href.endsWith("/") ? dir : `${dir.href}/`);
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

/**
 * Where `name` lands in `dir`, for messages: the joined path, or the name
 * in a handle or a map.
 *
 * @param dir The directory.
 * @param name The file name.
 * @returns A printable location.
 */
export function describeSink(dir: DirSink, name: string): string {
  return typeof dir === "string" || dir instanceof URL ? String(joinPath(dir, name)) : name;
}

/**
 * Writes `bytes` as `name` in `dir`, creating directories on the way.
 *
 * @param dir The directory.
 * @param name The file name (may contain `/`).
 * @param bytes The contents.
 * @returns A promise that resolves once the file is written.
 * @throws {TypeError} For something that is not a directory sink.
 * @example
 * ```ts
 * import { writeFileTo } from "./sinks.ts";
 * const files = new Map<string, Uint8Array>();
 * await writeFileTo(files, "a/b.txt", new TextEncoder().encode("hi"));
 * console.log([...files.keys()]); // ["a/b.txt"]
 * ```
 */
export async function writeFileTo(dir: DirSink, name: string, bytes: Uint8Array): Promise<void> {
  if (typeof dir === "string" || dir instanceof URL) {
    const path = joinPath(dir, name);
    const parent = path instanceof URL
      ? new URL(".", path)
      : String(path).replace(/\/[^/]*$/, "") || "/";
    await deno().mkdir(parent, { recursive: true });
    await deno().writeFile(path, bytes);
    return;
  }
  if (dir instanceof Map) {
    dir.set(name, bytes);
    return;
  }
  if (dir && (dir as WritableDirectoryHandleLike).kind === "directory") {
    let h = dir as WritableDirectoryHandleLike;
    const parts = name.split("/");
    for (const p of parts.slice(0, -1)) h = await h.getDirectoryHandle(p, { create: true });
    const file = await h.getFileHandle(parts[parts.length - 1], { create: true });
    const w = await file.createWritable();
    await w.write(bytes);
    await w.close();
    return;
  }
  throw new TypeError(`not a directory to write into: ${Object.prototype.toString.call(dir)}`);
}
