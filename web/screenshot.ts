/**
 * `deno task web:screenshot [--out docs/web_page.png] [--width 1100]`:
 * builds and serves the page, runs the full demo on the CPU backend in
 * headless Chromium and saves a screenshot of the finished page (for the
 * README). Dev tool: imports `puppeteer-core`, needs `chromium`.
 *
 * @module
 */
import { parseArgs } from "node:util";
// deno-lint-ignore no-import-prefix -- dev-only driver, kept out of the config on purpose
import puppeteer from "npm:puppeteer-core@24.22.0";
import { buildPage } from "./build.ts";
import { servePage } from "./server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string", default: "docs/web_page.png" },
    width: { type: "string", default: "1100" },
    backend: { type: "string", default: "cpu" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    quick: { type: "boolean", default: false },
  },
});
await buildPage();
const server = servePage({ port: 0, quiet: true });
const browser = await puppeteer.launch({
  executablePath: values.chromium,
  args: ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: Number(values.width), height: 900 });
  await page.goto(
    `http://127.0.0.1:${server.addr.port}/?backend=${values.backend}&seed=0${
      values.quick ? "&quick=1" : ""
    }`,
  );
  await page.waitForFunction("window.__result || window.__error", { timeout: 600_000 });
  const result = await page.evaluate("JSON.stringify(window.__result ?? window.__error)");
  await page.screenshot({ path: values.out as `${string}.png`, fullPage: true });
  console.log(`${values.out}: ${result}`);
} finally {
  await browser.close();
  await server.shutdown();
}
