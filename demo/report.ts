/**
 * Terminal and file output of the demo: a one-line progress bar, a loss
 * sparkline, and a hand-written SVG loss curve.
 *
 * @module
 */

const encoder = new TextEncoder();

/** `12.3s`, `2m05s`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
}

/**
 * Training progress. On a terminal it redraws one line in place with `\r`;
 * otherwise (a pipe, a CI log) it prints a plain line every tenth of the run.
 *
 * @example
 * ```ts
 * import { Progress } from "./report.ts";
 * const bar = new Progress("pretrain", 100);
 * for (let i = 1; i <= 100; i++) bar.update(i, 1 / i);
 * bar.done();
 * ```
 */
export class Progress {
  readonly #label: string;
  readonly #total: number;
  readonly #tty: boolean;
  readonly #start = performance.now();
  #lastDraw = 0;
  #lastLine = "";

  /**
   * Starts the clock.
   *
   * @param label What is running, shown first on the line.
   * @param total Number of steps.
   * @param tty Redraw in place (default: whether stdout is a terminal).
   */
  constructor(label: string, total: number, tty: boolean = _isTerminal()) {
    this.#label = label;
    this.#total = total;
    this.#tty = tty;
  }

  /** Seconds since the bar was made. */
  get elapsed(): number {
    return (performance.now() - this.#start) / 1000;
  }

  /**
   * Records that `step` steps are done.
   *
   * @param step Steps done so far (1-based).
   * @param loss The latest loss.
   */
  update(step: number, loss: number): void {
    const now = performance.now();
    const rate = step / Math.max(this.elapsed, 1e-9);
    const left = (this.#total - step) / rate;
    const stats = `${String(step).padStart(String(this.#total).length)}/${this.#total}` +
      `  loss ${loss.toFixed(4)}  ${rate.toFixed(1)} steps/s  ${formatSeconds(left)} left`;
    this.#lastLine = `${this.#label} ${stats}`;
    if (this.#tty) {
      if (now - this.#lastDraw < 80 && step < this.#total) return;
      this.#lastDraw = now;
      const width = Math.max(10, Math.min(30, _columns() - this.#label.length - stats.length - 5));
      const filled = Math.round((width * step) / this.#total);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      _write(`\r\x1b[2K${this.#label} ${bar} ${stats}`);
    } else {
      const every = Math.max(1, Math.ceil(this.#total / 10));
      if (step % every === 0 || step === this.#total) console.log(this.#lastLine);
    }
  }

  /** Ends the line (on a terminal) so the next output starts fresh. */
  done(): void {
    if (this.#tty) _write("\n");
  }
}

// deno-lint-ignore no-explicit-any
const _deno = (): any => (globalThis as any).Deno;

/** Whether stdout is a terminal (never, outside Deno). */
function _isTerminal(): boolean {
  return _deno()?.stdout?.isTerminal?.() ?? false;
}

function _write(s: string): void {
  _deno().stdout.writeSync(encoder.encode(s));
}

function _columns(): number {
  try {
    return _deno().consoleSize().columns;
  } catch {
    return 100;
  }
}

/** Averages `values` into at most `buckets` points. */
export function downsample(values: readonly number[], buckets: number): number[] {
  if (values.length <= buckets) return [...values];
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * values.length) / buckets);
    const hi = Math.floor(((b + 1) * values.length) / buckets);
    let s = 0;
    for (let i = lo; i < hi; i++) s += values[i];
    out.push(s / (hi - lo));
  }
  return out;
}

const BLOCKS = "▁▂▃▄▅▆▇█";

/**
 * A one-line sparkline of loss curves on a shared log scale, one segment
 * per curve, separated by `│`.
 *
 * @param curves The loss values of each phase.
 * @param width Characters for all segments together.
 * @returns e.g. `█▆▄▃▂▁▁▁│▅▃▂▁▁`.
 * @example
 * ```ts
 * import { sparkline } from "./report.ts";
 * console.log(sparkline([[2, 1, 0.5], [1, 0.1]], 5));
 * ```
 */
export function sparkline(curves: readonly (readonly number[])[], width = 60): string {
  const total = curves.reduce((n, c) => n + c.length, 0) || 1;
  const parts = curves.map((c) =>
    downsample(c, Math.max(1, Math.round((width * c.length) / total)))
  );
  const logs = parts.flat().map(_safeLog);
  const lo = Math.min(...logs), hi = Math.max(...logs);
  const level = (v: number) =>
    BLOCKS[hi > lo ? Math.round(((_safeLog(v) - lo) / (hi - lo)) * (BLOCKS.length - 1)) : 0];
  return parts.map((p) => p.map(level).join("")).join("│");
}

function _safeLog(v: number): number {
  return Math.log10(Math.max(v, 1e-6));
}

/** One curve of the SVG plot. */
export interface Curve {
  /** Legend text. */
  label: string;
  /** Loss per step. */
  values: readonly number[];
  /** Stroke colour. */
  color: string;
}

/**
 * An SVG loss plot: the curves one after another on a shared step axis,
 * loss on a log scale with a gridline per decade, a legend and axis labels.
 *
 * @param curves The phases, in order.
 * @param title The plot title.
 * @returns The SVG document.
 * @example
 * ```ts
 * import { lossCurveSvg } from "./report.ts";
 * const svg = lossCurveSvg([{ label: "train", values: [2, 1, 0.5], color: "#1f77b4" }], "loss");
 * ```
 */
export function lossCurveSvg(curves: readonly Curve[], title: string): string {
  const steps = Math.max(1, curves.reduce((n, c) => n + c.values.length, 0));
  const all = curves.flatMap((c) => c.values).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all, 1))));
  const f: _Frame = {
    x: (step) => _PLOT.left + (_PLOT.width * step) / steps,
    y: (v) => _PLOT.top + (_PLOT.height * (hi - _safeLog(v))) / (hi - lo),
  };
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${_W}" height="${_H}" viewBox="0 0 ${_W} ${_H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${_W}" height="${_H}" fill="white"/>`,
    `<text x="${_W / 2}" y="22" text-anchor="middle" font-size="15">${_esc(title)}</text>`,
    ..._axes(f, lo, hi, steps),
  ];
  let offset = 0;
  for (const c of curves) {
    const pts = downsample(c.values, 400).map((v, j, a) =>
      `${f.x(offset + ((j + 0.5) * c.values.length) / a.length).toFixed(1)},${f.y(v).toFixed(1)}`
    );
    if (offset > 0) {
      const xx = f.x(offset).toFixed(1), { top, height } = _PLOT;
      out.push(
        `<line x1="${xx}" y1="${top}" x2="${xx}" y2="${
          top + height
        }" stroke="#999" stroke-dasharray="4 3"/>`,
      );
    }
    out.push(
      `<polyline points="${pts.join(" ")}" fill="none" stroke="${c.color}" stroke-width="1.5"/>`,
    );
    offset += c.values.length;
  }
  out.push(..._legend(curves), "</svg>");
  return out.join("\n") + "\n";
}

const _W = 720, _H = 360;
const _PLOT = { left: 64, top: 40, width: _W - 64 - 20, height: _H - 40 - 50 };

/** Maps a step and a loss to SVG coordinates. */
interface _Frame {
  x(step: number): number;
  y(loss: number): number;
}

/** Axis lines, a gridline and label per decade, step ticks, axis titles. */
function _axes(f: _Frame, lo: number, hi: number, steps: number): string[] {
  const { left, top, width, height } = _PLOT, right = left + width, bottom = top + height;
  const out: string[] = [];
  for (let e = lo; e <= hi; e++) {
    const yy = f.y(10 ** e).toFixed(1);
    out.push(`<line x1="${left}" y1="${yy}" x2="${right}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dy="4">1e${e}</text>`);
  }
  for (const t of _ticks(steps)) {
    const xx = f.x(t).toFixed(1);
    out.push(`<line x1="${xx}" y1="${bottom}" x2="${xx}" y2="${bottom + 5}" stroke="black"/>`);
    out.push(`<text x="${xx}" y="${bottom + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(
    `<path d="M${left},${top}V${bottom}H${right}" fill="none" stroke="black"/>`,
    `<text x="${left + width / 2}" y="${_H - 10}" text-anchor="middle">training step</text>`,
    `<text transform="translate(16,${
      top + height / 2
    }) rotate(-90)" text-anchor="middle">cross-entropy loss (log scale)</text>`,
  );
  return out;
}

/** A boxed legend in the top-right corner, drawn over the curves. */
function _legend(curves: readonly Curve[]): string[] {
  const x0 = _PLOT.left + _PLOT.width - 196, y0 = _PLOT.top + 2;
  const out = [
    `<rect x="${x0}" y="${y0}" width="192" height="${
      8 + 16 * curves.length
    }" fill="white" stroke="#ccc"/>`,
  ];
  curves.forEach((c, i) => {
    const ly = y0 + 16 + 16 * i;
    out.push(
      `<line x1="${x0 + 8}" y1="${ly - 4}" x2="${x0 + 28}" y2="${
        ly - 4
      }" stroke="${c.color}" stroke-width="2"/>`,
      `<text x="${x0 + 34}" y="${ly}">${_esc(c.label)}</text>`,
    );
  });
  return out;
}

/** About six round tick positions in [0, n]. */
function _ticks(n: number): number[] {
  const raw = n / 6, mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = Math.max(1, [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? mag);
  const out: number[] = [];
  for (let t = 0; t <= n; t += step) out.push(t);
  return out;
}

function _esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
