/**
 * Prints a fuzz case as code: any argument value as a JavaScript
 * expression, a tensor spec as the `tensor(…)` call and view that make it,
 * and the whole case as one line of TypeScript that replays it.
 *
 * @module
 */
import type { Arg, Case, TSpec } from "./_gen.ts";
import { OPS } from "./_ops.ts";

/** A JavaScript expression that recreates `v`. */
export function code(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return "Symbol()";
  if (typeof v === "function") return "() => 1";
  if (v instanceof Float32Array || v instanceof Int32Array) {
    return `new ${v.constructor.name}([${[...v].map(code).join(", ")}])`;
  }
  if (Array.isArray(v)) {
    const items: string[] = [];
    for (let i = 0; i < v.length; i++) items.push(i in v ? code(v[i]) : "");
    return `[${items.join(", ")}${v.length > 0 && !(v.length - 1 in v) ? "," : ""}]`;
  }
  if (v && typeof v === "object") {
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${code(x)}`).join(", ")} }`;
  }
  return String(v);
}

function tensorCode(s: TSpec): string {
  const dt = s.dtype === "int32" ? `, dtype: "int32"` : "";
  const leaf = `tensor(${code(s.values)}, { shape: ${code(s.base)}${dt} })`;
  const v = s.view;
  const view = v?.t === "transpose"
    ? `.transpose(${v.a}, ${v.b})`
    : v?.t === "narrow"
    ? `.narrow(${v.dim}, ${v.start}, ${s.shape[v.dim]})`
    : v?.t === "expand"
    ? `.expand(${code(s.shape)})`
    : v?.t === "permute"
    ? `.permute(${code(v.dims)})`
    : "";
  if (!s.requiresGrad) return leaf + view;
  return `(() => { const l = ${leaf}; l.requiresGrad = true; return l${view}; })()`;
}

function argCode(a: Arg): string {
  if (a.k === "v") return code(a.v);
  if (a.k === "list") return `[${a.items.map(argCode).join(", ")}]`;
  return tensorCode(a.spec);
}

/** One line of TypeScript that replays the case from the repository root. */
export function reproduction(c: Case, backend: string): string {
  const op = OPS.get(c.op)!;
  let expr = op.show(c.args.map(argCode));
  if (c.wrap) expr = `${c.wrap}(() => ${expr})`;
  return `import { arange, cat, full, linalg, manualSeed, nn, noGrad, ones, rand, randn, scope, setBackend, stack, tensor, where, zeros } from "./mod.ts"; ` +
    `await setBackend("${backend}"); console.log(await ${expr});`;
}
