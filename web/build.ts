/**
 * Builds the page: `deno bundle` turns `web/app.ts` (and the library it
 * imports) into `web/dist/app.js`, and the CPU backend's worker into
 * `web/dist/worker.js` beside it (where the bundled library looks for it).
 *
 * @module
 */

const WEB = new URL("./", import.meta.url);
const ROOT = new URL("../", import.meta.url);

/** Bundles the page and the worker into `web/dist/`; throws with the bundler's output. */
export async function buildPage(): Promise<void> {
  const jobs: [string, string][] = [
    [new URL("app.ts", WEB).pathname, new URL("dist/app.js", WEB).pathname],
    [
      new URL("backends/cpu/wasm/worker.ts", ROOT).pathname,
      new URL("dist/worker.js", WEB).pathname,
    ],
  ];
  for (const [entry, out] of jobs) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "-o", out, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(r.stderr)}`);
    }
  }
}

if (import.meta.main) {
  await buildPage();
  console.log("built web/dist/app.js and web/dist/worker.js");
}
