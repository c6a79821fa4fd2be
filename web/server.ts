/**
 * The page's server: static files of `web/` with the headers that make the
 * page cross-origin isolated (`Cross-Origin-Opener-Policy: same-origin`,
 * `Cross-Origin-Embedder-Policy: require-corp`), so the CPU backend can
 * share its Wasm memory with a worker, and the right MIME types.
 *
 * @module
 */

const WEB = new URL("./", import.meta.url);

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  wasm: "application/wasm",
  json: "application/json",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  safetensors: "application/octet-stream",
};

/** Response headers of every file: isolation (unless turned off), type, no caching. */
export function headersFor(path: string, isolated = true): Headers {
  const ext = path.split(".").pop() ?? "";
  const h = new Headers({
    "content-type": TYPES[ext] ?? "application/octet-stream",
    "cache-control": "no-store",
  });
  if (isolated) {
    h.set("cross-origin-opener-policy", "same-origin");
    h.set("cross-origin-embedder-policy", "require-corp");
    h.set("cross-origin-resource-policy", "same-origin");
  }
  return h;
}

/**
 * Serves `web/` on `hostname:port` (port 0 picks a free one); `isolated:
 * false` leaves the isolation headers out (tests check the one-thread path).
 *
 * @returns The server (its `addr.port` is the port, `shutdown()` stops it).
 */
export function servePage(
  opts: { port?: number; hostname?: string; quiet?: boolean; isolated?: boolean } = {},
) {
  const isolated = opts.isolated ?? true;
  return Deno.serve({
    port: opts.port ?? 8000,
    hostname: opts.hostname ?? "127.0.0.1",
    onListen: opts.quiet ? () => {} : undefined,
  }, async (req) => {
    const url = new URL(req.url);
    let path = decodeURIComponent(url.pathname);
    if (path.endsWith("/")) path += "index.html";
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    const file = new URL(`.${path}`, WEB);
    try {
      const body = await Deno.readFile(file);
      return new Response(body, { headers: headersFor(path, isolated) });
    } catch {
      return new Response("not found", { status: 404, headers: headersFor("x.txt", isolated) });
    }
  });
}
