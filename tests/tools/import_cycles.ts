/**
 * `deno task check`'s import-cycle check: reads the module graph of the
 * library's entry points from `deno info --json` and fails, printing each
 * cycle, when a library module imports (directly or not) one that imports
 * it back. Type-only imports are left out of the graph Deno reports, so
 * `import type` between siblings is allowed; value imports are not.
 *
 * Usage: `deno run -A tests/tools/import_cycles.ts [entry.ts ...]`
 * (default: mod.ts, backends/mod.ts, io/mod.ts).
 *
 * @module
 */

const entries = Deno.args.length > 0 ? Deno.args : ["mod.ts", "backends/mod.ts", "io/mod.ts"];
const root = new URL("../../", import.meta.url);

interface Info {
  modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
}

/** The library's own modules: files under the repository but outside tests/ and bench/. */
function ours(spec: string): boolean {
  if (!spec.startsWith(root.href)) return false;
  const rel = spec.slice(root.href.length);
  return !rel.startsWith("tests/") && !rel.startsWith("bench/");
}

const graph = new Map<string, string[]>();
for (const entry of entries) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, root).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as Info;
  for (const m of info.modules) {
    if (!ours(m.specifier)) continue;
    const deps = (m.dependencies ?? []).map((d) => d.code?.specifier).filter(
      (s): s is string => s !== undefined && ours(s),
    );
    graph.set(m.specifier, deps);
  }
}

// Tarjan's strongly connected components: every component of more than one
// module (or a module importing itself) is a cycle.
let index = 0;
const idx = new Map<string, number>(), low = new Map<string, number>();
const stack: string[] = [], onStack = new Set<string>();
const cycles: string[][] = [];
function visit(v: string): void {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const comp: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v);

const rel = (s: string) => s.slice(root.href.length);
if (cycles.length > 0) {
  console.error(`import cycles among the library's modules (${cycles.length}):`);
  for (const c of cycles) console.error(`  ${c.map(rel).sort().join(", ")}`);
  Deno.exit(1);
}
console.log(`no import cycles among ${graph.size} library modules`);
