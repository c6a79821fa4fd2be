/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The LoRA training page: the demo's run (demo/run.ts, the same code as
 * `train_demo.ts`) in a browser tab on WebGPU or the threaded Wasm CPU
 * backend, with a live loss chart, the adapter's parameter arithmetic,
 * samples before and after, the adapter-off check, a PEFT adapter download,
 * and a panel that loads an adapter into the pretrained base.
 *
 * Automation: URL parameters (`?backend=cpu&steps=40&pretrainSteps=30&
 * seed=0&rank=4&alpha=8&targets=q_proj,v_proj&quick=1`) start a run at
 * once; when it ends `window.__result` holds the object `train_demo.ts
 * --json` prints, and `window.__page` more (losses, probe logits, thread
 * use). `window.__loadAdapter(files)` loads an adapter given as name →
 * bytes and returns its probe logits.
 *
 * @module
 */

import { lora, type nn, noGrad, scope, type Tensor } from "../mod.ts";
import { demoModel, type DemoRun, runDemo } from "../demo/run.ts";
import { DEFAULT_TARGETS, FULL_STEPS, QUICK_STEPS } from "../demo/defaults.ts";
import { encode, SORT_ASC, SORT_DESC } from "../demo/tasks.ts";
import { accuracy, predict } from "../demo/train.ts";
import { lossCurveSvg } from "../demo/report.ts";
import { count, pct } from "../demo/summary.ts";
import { workerRunning, workerTasks } from "../backends/cpu/wasm/mod.ts";
import { unzipStore, zipStore } from "./zip.ts";

/** Inputs whose logits the page reports (and tests compare with Deno). */
const PROBE = ["30721845", "99887766", "01234567", "55555555", "82736451"];
const ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"];

interface PageState {
  run: DemoRun | null;
  base: Map<string, Tensor> | null;
  adapter: Map<string, Uint8Array> | null;
  seed: number;
}
const state: PageState = { run: null, base: null, adapter: null, seed: 0 };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

/** Yields to the page: a message task (no timer clamping), with a paint now and then. */
let lastPaint = 0;
function yieldToPage(): Promise<void> {
  const now = performance.now();
  if (now - lastPaint > 100) {
    lastPaint = now;
    return new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => r();
    ch.port2.postMessage(0);
  });
}

function settingsFromUrl(): Record<string, string> | null {
  const q = new URLSearchParams(location.search);
  if ([...q.keys()].length === 0) return null;
  return Object.fromEntries(q);
}

function applySettings(s: Record<string, string>): void {
  for (const k of ["backend", "rank", "alpha", "steps", "pretrainSteps", "seed"]) {
    if (s[k] !== undefined) input(k).value = s[k];
  }
  if (s.quick === "1") {
    input("quick").checked = true;
    if (s.steps === undefined) input("steps").value = String(QUICK_STEPS.finetune);
    if (s.pretrainSteps === undefined) input("pretrainSteps").value = String(QUICK_STEPS.pretrain);
  }
  if (s.targets) {
    const want = new Set(s.targets.split(","));
    for (const t of ALL_TARGETS) input(`t_${t}`).checked = want.has(t);
  }
}

function readSettings() {
  const num = (id: string) => Number(input(id).value);
  return {
    backend: input("backend").value as "cpu" | "webgpu",
    rank: num("rank"),
    alpha: num("alpha"),
    pretrainSteps: num("pretrainSteps"),
    steps: num("steps"),
    seed: num("seed"),
    quick: input("quick").checked,
    targets: ALL_TARGETS.filter((t) => input(`t_${t}`).checked),
  };
}

function log(line: string): void {
  const el = $("log");
  el.textContent += line + "\n";
  el.scrollTop = el.scrollHeight;
}

function drawChart(pre: number[], ft: number[]): void {
  $("chart").innerHTML = lossCurveSvg([
    { label: "pretrain (sort ascending)", values: pre, color: "#1f77b4" },
    { label: "LoRA (sort descending)", values: ft, color: "#d62728" },
  ], "Loss: pretraining, then LoRA");
}

async function probeLogits(model: nn.Module): Promise<number[]> {
  const out = noGrad(() => scope(() => model.eval().forward(encode(PROBE))));
  const v = Array.from(await out.data());
  out.dispose();
  return v;
}

function samplesHtml(inputs: string[], before: string[], after: string[]): string {
  const mark = (a: string, s: string) =>
    `<span class="${a === SORT_DESC.apply(s) ? "ok" : "bad"}">${a}</span>`;
  const rows = inputs.map((s, i) =>
    `<tr><td>${s}</td><td>${SORT_DESC.apply(s)}</td><td>${mark(before[i], s)}</td><td>${
      mark(after[i], s)
    }</td></tr>`
  ).join("");
  return `<table><tr><th>input</th><th>target</th><th>before</th><th>after</th></tr>${rows}</table>`;
}

function download(name: string, bytes: Uint8Array, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function train(): Promise<void> {
  const s = readSettings();
  state.seed = s.seed;
  $<HTMLButtonElement>("start").disabled = true;
  $<HTMLButtonElement>("download").disabled = true;
  $("log").textContent = "";
  $("results").innerHTML = "";
  const losses = { pretrain: [] as number[], lora: [] as number[] };
  let t0 = performance.now(), lastDraw = 0;
  try {
    const run = await runDemo(s, {
      log,
      onStep: async (phase, step, loss) => {
        if (step === 1) t0 = performance.now();
        losses[phase].push(loss);
        const total = phase === "pretrain" ? s.pretrainSteps : s.steps;
        const rate = step / Math.max(1e-3, (performance.now() - t0) / 1000);
        $("status").textContent =
          `${phase === "pretrain" ? "pretraining" : "LoRA"} step ${step}/${total}` +
          ` · loss ${loss.toFixed(4)} · ${rate.toFixed(1)} steps/s`;
        if (performance.now() - lastDraw > 250 || step === total) {
          lastDraw = performance.now();
          drawChart(losses.pretrain, losses.lora);
        }
        await yieldToPage();
      },
      save: async (model) => {
        const files = new Map<string, Uint8Array>();
        await lora.save(model, files);
        state.adapter = files;
        // The pretrained base (frozen under the adapters), copied before the
        // run's merge check, for the second panel.
        state.base?.forEach((t) => t.dispose());
        state.base = baseWeights(model);
        return "download";
      },
    });
    state.run = run;
    drawChart(run.losses.pretrain, run.losses.lora);
    showResults(run);
    const probe = await probeLogits(run.model);
    const w = globalThis as Record<string, unknown>;
    w.__page = {
      losses: run.losses,
      samples: run.samples,
      probe,
      threads: { workerRunning: workerRunning(), workerTasks: workerTasks() },
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
    w.__result = run.result;
    $<HTMLButtonElement>("download").disabled = false;
    $("status").textContent = `done in ${run.result.seconds.toFixed(1)} s`;
  } catch (e) {
    $("status").textContent = `error: ${(e as Error).message}`;
    (globalThis as Record<string, unknown>).__error = String((e as Error).stack ?? e);
    throw e;
  } finally {
    $<HTMLButtonElement>("start").disabled = false;
  }
}

/** A wrapped model's base weights under the plain model's names (adapters left out). */
function baseWeights(model: nn.Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (/\.lora[AB]$/.test(name)) continue;
    // A wrapped Linear keeps its weights under `<path>.base.<param>`.
    out.set(name.replace(/\.base\.(weight|bias)$/, ".$1"), t.clone());
  }
  return out;
}

function showResults(run: DemoRun): void {
  const r = run.result;
  const same = r.baseTaskAccuracyAdapterOff === r.baseTaskAccuracy;
  $("results").innerHTML = `
    <h2>Results</h2>
    <table class="kv">
      <tr><td>task A (ascending), base model</td><td>${pct(r.baseTaskAccuracy)}</td></tr>
      <tr><td>task B (descending), before LoRA</td><td>${pct(r.newTaskAccuracyBefore)}</td></tr>
      <tr><td>task B (descending), after LoRA</td><td>${pct(r.newTaskAccuracyAfter)}</td></tr>
      <tr><td>task A with adapters off</td><td>${pct(r.baseTaskAccuracyAdapterOff)} ${
    same ? "(same as the base model ✓)" : "(differs!)"
  }</td></tr>
      <tr><td>trainable / total parameters</td><td>${count(r.trainableParams)} / ${
    count(r.totalParams)
  } (${pct(r.trainableParams / r.totalParams)})</td></tr>
      <tr><td>max |merged − unmerged| logit</td><td>${r.mergeMaxAbsDiff.toExponential(2)}</td></tr>
      <tr><td>LoRA speed</td><td>${r.stepsPerSecond.toFixed(1)} steps/s</td></tr>
    </table>
    <h2>Parameter arithmetic</h2><pre>${run.arithmetic.join("\n")}</pre>
    <h2>Samples (task B)</h2>${
    samplesHtml(run.samples.inputs, run.samples.before, run.samples.after)
  }`;
}

/** Loads an adapter (name → bytes) into a fresh copy of the pretrained base. */
async function loadAdapter(files: Map<string, Uint8Array>): Promise<number[]> {
  if (!state.base) {
    throw new Error("train first: the adapter goes onto this page's pretrained base");
  }
  const model = demoModel(state.seed);
  model.loadStateDict(Object.fromEntries(state.base));
  await lora.load(model, files);
  const run = state.run!;
  const answers = await predict(model, run.samples.inputs);
  const testAcc = await accuracy(model, SORT_DESC, run.samples.inputs);
  const ascAcc = await accuracy(model, SORT_ASC, run.samples.inputs);
  const probe = await probeLogits(model);
  $("loaded").innerHTML =
    `<p>Adapter loaded (${
      lora.parameterCount(model).trainable
    } adapter parameters). On the samples: task B ${pct(testAcc)}, task A ${pct(ascAcc)}.</p>` +
    samplesHtml(run.samples.inputs, run.samples.before, answers);
  (globalThis as Record<string, unknown>).__loaded = { probe, answers };
  return probe;
}

async function filesFromInput(list: FileList): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const f of Array.from(list)) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (f.name.endsWith(".zip")) { for (const [k, v] of unzipStore(bytes)) files.set(k, v); }
    else files.set(f.name, bytes);
  }
  return files;
}

function init(): void {
  const targets = $("targets");
  for (const t of ALL_TARGETS) {
    const on = DEFAULT_TARGETS.includes(t) ? "checked" : "";
    targets.insertAdjacentHTML(
      "beforeend",
      `<label><input type="checkbox" id="t_${t}" ${on}> ${t}</label>`,
    );
  }
  input("steps").value = String(FULL_STEPS.finetune);
  input("pretrainSteps").value = String(FULL_STEPS.pretrain);
  if (!("gpu" in navigator)) input("backend").value = "cpu";
  $("start").addEventListener("click", () => void train());
  $("download").addEventListener("click", () => {
    if (state.adapter) download("lora_adapter.zip", zipStore(state.adapter), "application/zip");
  });
  $("downloadFiles").addEventListener("click", () => {
    for (const [name, bytes] of state.adapter ?? []) {
      download(
        name,
        bytes,
        name.endsWith(".json") ? "application/json" : "application/octet-stream",
      );
    }
  });
  input("adapterFiles").addEventListener("change", async (e) => {
    const list = (e.target as HTMLInputElement).files;
    if (!list) return;
    try {
      await loadAdapter(await filesFromInput(list));
    } catch (err) {
      $("loaded").textContent = `error: ${(err as Error).message}`;
    }
  });
  $("env").textContent = `cross-origin isolated: ${globalThis.crossOriginIsolated === true}` +
    ` · WebGPU: ${"gpu" in navigator ? "yes" : "no"}`;
  const w = globalThis as Record<string, unknown>;
  w.__loadAdapter = (files: Record<string, number[]>) =>
    loadAdapter(new Map(Object.entries(files).map(([k, v]) => [k, Uint8Array.from(v)])));
  w.__adapterFiles = () =>
    Object.fromEntries([...(state.adapter ?? [])].map(([k, v]) => [k, Array.from(v)]));
  const fromUrl = settingsFromUrl();
  if (fromUrl) {
    applySettings(fromUrl);
    void train();
  }
}

init();
