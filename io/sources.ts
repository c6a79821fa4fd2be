/**
 * Where files come from: a path under Deno, or a `Blob`/`File`, a
 * `Response`, bytes, or a directory handle in a browser. Every reader of
 * the library (safetensors, configs, tokenizers, adapters) takes one of
 * these, so the same code loads a checkpoint from disk or from a page.
 * Deno's file API is used only inside the functions, at call time.
 *
 * @module
 */

/** A file: a path or URL (Deno), a Blob or File, a Response, or its bytes. */
export type FileSource = string | URL | Blob | Response | Uint8Array | ArrayBuffer;

/**
 * A directory: a path or URL (Deno), a browser directory handle, or a map
 * from file name to file (e.g. the files of an `<input type=file multiple>`).
 */
export type DirSource =
  | string
  | URL
  | FileSystemDirectoryHandleLike
  | Map<string, FileSource>
  | Record<string, FileSource>;

/** The part of the File System Access API's directory handle used here. */
export interface FileSystemDirectoryHandleLike {
  /** The handle's kind: "directory". */
  readonly kind: "directory";
  /** A file of the directory. */
  getFileHandle(name: string): Promise<{ getFile(): Promise<Blob> }>;
  /** A subdirectory. */
  getDirectoryHandle(name: string): Promise<FileSystemDirectoryHandleLike>;
}

/** Random access to a file's bytes. */
export interface ByteSource {
  /** The file's size in bytes. */
  readonly size: number;
  /** `length` bytes from `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the file (a no-op for in-memory sources). */
  close(): void;
}

/** Deno's file API, reached only when a path is given (never at load time). */
// deno-lint-ignore no-explicit-any
function deno(): any {
  // deno-lint-ignore no-explicit-any
  const d = (globalThis as any).Deno;
  if (!d) {
    throw new TypeError("a path needs Deno; in a browser pass a File, Blob, Response or bytes");
  }
  return d;
}

function isPath(s: unknown): s is string | URL {
  return typeof s === "string" || s instanceof URL;
}

/**
 * Opens a file for random access (a path is read in slices from disk, so a
 * multi-gigabyte checkpoint is never held in memory whole).
 *
 * @param src The file.
 * @returns Its bytes, on demand.
 * @throws {TypeError} For something that is not a file source.
 */
export async function openBytes(src: FileSource): Promise<ByteSource> {
  if (isPath(src)) {
    const file = await deno().open(src, { read: true });
    const size = (await file.stat()).size as number;
    return {
      size,
      async read(offset, length) {
        const out = new Uint8Array(length);
        await file.seek(offset, 0);
        let got = 0;
        while (got < length) {
          const n = await file.read(out.subarray(got));
          if (n === null) throw new RangeError(`unexpected end of file at byte ${offset + got}`);
          got += n;
        }
        return out;
      },
      close: () => file.close(),
    };
  }
  if (typeof Blob !== "undefined" && src instanceof Blob) {
    return {
      size: src.size,
      read: async (offset, length) =>
        new Uint8Array(await src.slice(offset, offset + length).arrayBuffer()),
      close() {},
    };
  }
  let bytes: Uint8Array;
  if (typeof Response !== "undefined" && src instanceof Response) {
    bytes = new Uint8Array(await src.arrayBuffer());
  } else if (src instanceof Uint8Array) bytes = src;
  else if (src instanceof ArrayBuffer) bytes = new Uint8Array(src);
  else throw new TypeError(`not a file source: ${Object.prototype.toString.call(src)}`);
  return {
    size: bytes.length,
    read: (offset, length) => {
      if (offset + length > bytes.length) {
        return Promise.reject(
          new RangeError(`read past the end (${offset + length} > ${bytes.length})`),
        );
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
    close() {},
  };
}

/**
 * A named file of a directory, or null when it does not exist. An
 * `http(s):` directory is fetched (a page can load a checkpoint it serves).
 *
 * @param dir The directory.
 * @param name A file name (may contain `/` for a subdirectory).
 * @returns The file as a source, or null.
 */
export async function fileIn(dir: DirSource, name: string): Promise<FileSource | null> {
  if (isPath(dir) && /^https?:/.test(String(dir))) {
    const base = String(dir).endsWith("/") ? String(dir) : `${dir}/`;
    const res = await fetch(new URL(name, base));
    if (res.ok) return res;
    await res.body?.cancel();
    if (res.status === 404) return null;
    throw new Error(`GET ${new URL(name, base)} returned ${res.status}`);
  }
  if (isPath(dir)) {
    const base = dir instanceof URL ? dir : new URL(`file://${absolute(dir)}/`);
    const url = new URL(name, base.href.endsWith("/") ? base : new URL(base.href + "/"));
    try {
      const info = await deno().stat(url);
      return info.isFile ? url : null;
    } catch {
      return null;
    }
  }
  if (dir instanceof Map) return dir.get(name) ?? null;
  if ((dir as FileSystemDirectoryHandleLike).kind === "directory") {
    let h = dir as FileSystemDirectoryHandleLike;
    const parts = name.split("/");
    try {
      for (const p of parts.slice(0, -1)) h = await h.getDirectoryHandle(p);
      return await (await h.getFileHandle(parts[parts.length - 1])).getFile();
    } catch {
      return null;
    }
  }
  return (dir as Record<string, FileSource>)[name] ?? null;
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path.replace(/\/+$/, "");
  return `${deno().cwd()}/${path}`.replace(/\/+$/, "").replace(/\/\.\//g, "/");
}

/** A whole file's text. */
export async function readText(src: FileSource): Promise<string> {
  const b = await openBytes(src);
  try {
    return new TextDecoder().decode(await b.read(0, b.size));
  } finally {
    b.close();
  }
}
