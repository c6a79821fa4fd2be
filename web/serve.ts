/**
 * `deno task web [--port 8000] [--host 127.0.0.1] [--no-build]`: builds the
 * page (web/build.ts) and serves it (web/server.ts) until interrupted.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildPage } from "./build.ts";
import { servePage } from "./server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8000" },
    host: { type: "string", default: "127.0.0.1" },
    "no-build": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("deno task web [--port 8000] [--host 127.0.0.1] [--no-build]");
  Deno.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`web: --port must be a port number, got ${values.port}`);
  Deno.exit(2);
}
if (!values["no-build"]) {
  const t0 = performance.now();
  await buildPage();
  console.log(`built the page in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
servePage({ port, hostname: values.host, quiet: true });
console.log(`serving the LoRA page on http://${values.host}:${port}/ (Ctrl-C stops)`);
