/**
 * The page in headless Chromium (driven over the DevTools protocol with
 * `puppeteer-core`, a dev-only import): it trains on the threaded CPU
 * backend (the worker takes work) and on WebGPU (SwiftShader), its
 * `window.__result` and loss trajectory equal a Deno run of the same
 * settings, an adapter downloaded from the page loads under Deno and gives
 * the page's outputs, and an adapter saved under Deno loads in the page.
 * Without the isolation headers the CPU backend runs on one thread.
 *
 * Needs `chromium` (Debian's package); skipped without it unless
 * REQUIRE_BACKENDS names `chromium` (CI does).
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- dev-only driver, kept out of the config on purpose
import puppeteer, { type Browser, type Page } from "npm:puppeteer-core@24.22.0";
import { lora, noGrad, scope } from "../../mod.ts";
import { type DemoRun, runDemo } from "../../demo/run.ts";
import { encode } from "../../demo/tasks.ts";
import { buildPage } from "../../web/build.ts";
import { servePage } from "../../web/server.ts";
import { skipUnlessRequired } from "../_backends.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
  .find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
const skip = skipUnlessRequired(
  "chromium",
  CHROMIUM ? null : "no chromium here (apt-get install -y chromium)",
);
const PROBE = ["30721845", "99887766", "01234567", "55555555", "82736451"];
const TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"];

interface PageOut {
  result: Record<string, unknown>;
  page: {
    losses: { pretrain: number[]; lora: number[] };
    probe: number[];
    threads: { workerRunning: boolean; workerTasks: number };
    crossOriginIsolated: boolean;
  };
}

async function runPage(
  browser: Browser,
  url: string,
  logs: string[] = [],
): Promise<[Page, PageOut]> {
  const page = await browser.newPage();
  page.on("console", (m) => void logs.push(m.text()));
  page.on("pageerror", (e) => void logs.push(`pageerror: ${(e as Error).message}`));
  await page.goto(url);
  await page.waitForFunction("window.__result || window.__error", { timeout: 240_000 });
  const error = await page.evaluate("window.__error ?? null");
  assert.equal(error, null, `the page failed: ${error}\n${logs.join("\n")}`);
  const out = await page.evaluate("({ result: window.__result, page: window.__page })") as PageOut;
  return [page, out];
}

function settings(backend: "cpu" | "webgpu", pretrainSteps: number, steps: number) {
  return {
    backend,
    rank: 4,
    alpha: 8,
    targets: TARGETS,
    pretrainSteps,
    steps,
    seed: 3,
    quick: true,
  };
}

function query(s: ReturnType<typeof settings>): string {
  return `?backend=${s.backend}&rank=${s.rank}&alpha=${s.alpha}&pretrainSteps=${s.pretrainSteps}` +
    `&steps=${s.steps}&seed=${s.seed}&quick=1&targets=${s.targets.join(",")}`;
}

async function probeLogits(run: DemoRun): Promise<number[]> {
  const out = noGrad(() => scope(() => run.model.eval().forward(encode(PROBE))));
  const v = Array.from(await out.data());
  out.dispose();
  return v;
}

function close(a: readonly number[], b: readonly number[], what: string, tol = 1e-5): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  a.forEach((x, i) => {
    assert.ok(
      Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i])),
      `${what}[${i}]: ${x} vs ${b[i]}`,
    );
  });
}

/** The fields of a run that do not depend on timing or where files went. */
function figures(r: Record<string, unknown>) {
  const { seconds: _s, stepsPerSecond: _r, adapterDir: _d, ...rest } = r;
  return rest;
}

Deno.test({
  name: "the page trains in headless Chromium and matches Deno",
  ignore: skip,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await buildPage();
    const server = servePage({ port: 0, quiet: true });
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu"],
    });
    try {
      await t.step("cpu: threaded, the same numbers as Deno, adapters both ways", async () => {
        const s = settings("cpu", 30, 20);
        const [page, out] = await runPage(browser, base + query(s));
        assert.equal(out.page.crossOriginIsolated, true);
        assert.equal(out.page.threads.workerRunning, true, "the worker started");
        assert.ok(out.page.threads.workerTasks > 0, "the worker took work");
        const deno = await runDemo(s, { log: () => {} });
        assert.deepEqual(figures(out.result), figures({ ...deno.result }));
        close(out.page.losses.pretrain, deno.losses.pretrain, "pretrain losses");
        close(out.page.losses.lora, deno.losses.lora, "LoRA losses");
        const l = out.page.losses.lora;
        assert.ok(l[l.length - 1] < l[0], `the LoRA loss falls: ${l[0]} → ${l[l.length - 1]}`);
        assert.equal(out.result.baseTaskAccuracyAdapterOff, out.result.baseTaskAccuracy);
        assert.ok((out.result.mergeMaxAbsDiff as number) < 1e-4);
        const denoProbe = await probeLogits(deno);
        close(out.page.probe, denoProbe, "probe logits");

        // The page's adapter, as downloaded, loads under Deno onto the same base.
        const files = await page.evaluate("window.__adapterFiles()") as Record<string, number[]>;
        assert.deepEqual(Object.keys(files).sort(), [
          "adapter_config.json",
          "adapter_model.safetensors",
        ]);
        const other = await runDemo({ ...s, seed: s.seed, steps: 3 }, { log: () => {} });
        await lora.load(
          other.model,
          new Map(Object.entries(files).map(([k, v]) => [k, Uint8Array.from(v)])),
        );
        close(await probeLogits(other), out.page.probe, "page adapter under Deno");

        // An adapter saved under Deno (a run of 3 LoRA steps) loads in the page.
        const saved = new Map<string, Uint8Array>();
        const fresh = await runDemo({ ...s, steps: 3 }, { log: () => {} });
        await lora.save(fresh.model, saved);
        const want = await probeLogits(fresh);
        const got = await page.evaluate(
          // deno-lint-ignore no-explicit-any
          (f) => (globalThis as any).__loadAdapter(f) as Promise<number[]>,
          Object.fromEntries([...saved].map(([k, v]) => [k, Array.from(v)])),
        );
        close(got, want, "Deno adapter in the page");
        await page.close();
      });

      await t.step("webgpu: SwiftShader's numbers equal Deno's", async () => {
        const s = settings("webgpu", 3, 3);
        const [page, out] = await runPage(browser, base + query(s));
        assert.equal(out.result.backend, "webgpu");
        const deno = await runDemo(s, { log: () => {} });
        assert.deepEqual(figures(out.result), figures({ ...deno.result }));
        close(out.page.losses.pretrain, deno.losses.pretrain, "pretrain losses");
        close(out.page.losses.lora, deno.losses.lora, "LoRA losses");
        await page.close();
      });
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "without isolation headers the page's CPU backend runs on one thread and says so",
  ignore: skip,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await buildPage();
    const server = servePage({ port: 0, quiet: true, isolated: false });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox"],
    });
    try {
      const logs: string[] = [];
      const [, out] = await runPage(
        browser,
        `http://127.0.0.1:${server.addr.port}/` + query(settings("cpu", 5, 5)),
        logs,
      );
      assert.equal(out.page.crossOriginIsolated, false);
      assert.equal(out.page.threads.workerTasks, 0);
      assert.equal(
        logs.filter((l) => l.includes("running on one thread")).length,
        1,
        logs.join("\n"),
      );
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
