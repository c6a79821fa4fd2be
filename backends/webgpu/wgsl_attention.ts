/**
 * WGSL templates of the fused attention's forward (see `FusedOps.attention`;
 * the backward's kernels are `wgsl_attention_backward.ts`, on the helpers
 * exported here), blocked
 * as flash attention is: a workgroup takes a block of query rows of one
 * (batch, head), stages the keys and values in tiles in workgroup memory
 * and runs an online softmax per row (the running maximum and sum rescale
 * the accumulated output), so no score matrix is stored and each k/v row
 * is read from global memory once per block. The backward recomputes each
 * probability from the row's saved log-sum-exp: `delta` (rowsum of dO ⊙ O),
 * `dq` (blocks of query rows, keys staged) and `dkv` (blocks of key rows,
 * query rows staged, over the query heads that share them). Keys (or query
 * rows) are visited in order, so every sum adds its terms in the same order
 * as a row-at-a-time kernel would.
 *
 * Words (all kernels): `[0] B·H·T or B·Hkv·S (the invocation count), [1] B,
 * [2] H, [3] T, [4] S, [5] Hkv, [6] causal (0/1), [7] causal offset (i32),
 * [8] scale (f32), [9] has bias`, then offset and four strides (b, h, row,
 * col) of q [10–14], k [15–19], v [20–24] and the bias [25–29], then the
 * element offsets of out [30], lse [31] and gOut [32]. The head dims D and
 * Dv are compile-time constants (private arrays need them).
 *
 * @module
 */
import { type KernelSource, kernelSource, MATH } from "./wgsl_common.ts";

/** Words before the kernel-specific ones. */
export const ATTENTION_WORDS = 33;

export const ACCESS = {
  q: { name: "qs", type: "f32", access: "read" },
  k: { name: "ks", type: "f32", access: "read" },
  v: { name: "vs", type: "f32", access: "read" },
  bias: { name: "bs", type: "f32", access: "read" },
} as const;

/** Shared WGSL: parameter readers, strided offsets and the causal test. */
export function prelude(): string {
  return `
fn w(i: u32) -> u32 { return prm[i]; }
fn iw(i: u32) -> i32 { return bitcast<i32>(prm[i]); }
fn at(base: u32, b: u32, h: u32, r: u32, c: u32) -> i32 {
  return iw(base) + i32(b) * iw(base + 1u) + i32(h) * iw(base + 2u) + i32(r) * iw(base + 3u) +
    i32(c) * iw(base + 4u);
}
fn hidden(t: u32, s: u32) -> bool {
  return w(6u) == 1u && i32(s) > i32(t) + iw(7u);
}
`;
}

/**
 * \`n\` copies of \`stmt(i)\`, i = 0…n−1: the loops over a head's dims are
 * written out, so an invocation's loop count grows with the keys it
 * visits, not with keys × head dims (the software adapter, llvmpipe, stops
 * every invocation after 65,535 loop iterations in all; see
 * {@link attentionLoopIterations}).
 */
export function unrolled(n: number, stmt: (i: string) => string): string {
  const full = Math.floor(n / UNROLL) * UNROLL;
  const tail = Array.from({ length: n - full }, (_, i) => stmt(`${full + i}u`)).join(" ");
  if (full === 0) return tail;
  const body = Array.from({ length: UNROLL }, (_, i) => stmt(`c + ${i}u`)).join(" ");
  return `for (var c = 0u; c < ${full}u; c += ${UNROLL}u) { ${body} } ${tail}`;
}

/** Statements per iteration of a loop over a head's dims. */
const UNROLL = 16;

/**
 * Loop iterations one invocation runs at most in the forward and dq kernels
 * (over S keys) and in the dk/dv kernel (over T query rows of \`group\`
 * heads), for checking against an adapter's limit.
 */
export function attentionLoopIterations(
  z: { T: number; S: number; D: number; Dv: number; group: number },
): { forward: number; dq: number; dkv: number } {
  const KT = tileRows(z.D + z.Dv), QT = tileRows(z.D + z.Dv + 2);
  // A loop of n iterations counts n + 1 (its last test); a written-out
  // loop over a head's dims runs ⌊n / UNROLL⌋ iterations.
  const per = (n: number) => (n >= UNROLL ? Math.floor(n / UNROLL) + 1 : 0);
  const tiles = (n: number, rows: number, inner: number) => {
    const t = Math.ceil(n / rows);
    return t + 1 + t * (rows + 1 + rows * inner);
  };
  const once = 3 * (z.D + z.Dv + 2);
  return {
    forward: tiles(z.S, KT, per(z.D) + per(z.Dv)) + once,
    dq: tiles(z.S, KT, 2 * per(z.D) + per(z.Dv)) + once,
    dkv: z.group * (tiles(z.T, QT, 2 * per(z.D) + per(z.Dv)) + 1) + 1 + once,
  };
}

/** Query rows (forward, dq) or key rows (dk/dv) per workgroup. */
export const ATTENTION_ROWS = 64;

/** Floats of workgroup memory the kernels stage tiles in (16 KiB). */
const STAGE_FLOATS = 4096;

/**
 * Rows per staged tile when each row takes `perRow` floats: the largest
 * power of two that fits {@link STAGE_FLOATS}, at most 32 (at least 4 for
 * head dims up to 256).
 */
export function tileRows(perRow: number): number {
  let n = 32;
  while (n > 1 && n * perRow > STAGE_FLOATS) n >>= 1;
  return n;
}

/**
 * The workgroup's block: `bh` (b·H + h, or b·Hkv + kh), its first row
 * `r0` of `rows` rows, and this invocation's row `r` (`live` when inside).
 * Every value but `r`/`live` is uniform, so the tile loops may hold
 * barriers.
 */
export function block(rowsWord: string, headsWord: string): string {
  return `
  let g = wid.y * nwg.x + wid.x;
  let rows = ${rowsWord};
  let nb = (rows + ${ATTENTION_ROWS - 1}u) / ${ATTENTION_ROWS}u;
  let bh = g / max(nb, 1u);
  if (bh >= w(1u) * ${headsWord}) { return; }
  let r0 = (g % nb) * ${ATTENTION_ROWS}u;
  let r = r0 + lid;
  let live = r < rows;`;
}

/** Entry point of a blocked kernel. */
export function entry(body: string): string {
  return `
@compute @workgroup_size(${ATTENTION_ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {${body}
}
`;
}

/**
 * Query-side prelude: the block's (b, h), the invocation's t and its q row,
 * and \`kEnd\`, one past the last key any row of the block may see (a
 * causal block stops there; uniform).
 */
export function queryBlock(D: number): string {
  return block("w(3u)", "w(2u)") + `
  let T = w(3u); let H = w(2u); let S = w(4u);
  let h = bh % H; let b = bh / H;
  let kh = (h * w(5u)) / H;
  let t = r;
  var kEnd = S;
  if (w(6u) == 1u) {
    let last = i32(min(T, r0 + ${ATTENTION_ROWS}u)) - 1;
    kEnd = u32(clamp(last + iw(7u) + 1, 0, i32(S)));
  }
  var qv: array<f32, ${D}>;
  if (live) { for (var d = 0u; d < ${D}u; d++) { qv[d] = qs[at(10u, b, h, t, d)]; } }`;
}

/**
 * Stages keys [s0, s0 + KT) of k (and v) into \`kt\` (\`vt\`): the
 * workgroup's invocations load the tile together; past \`kEnd\` it holds 0.
 */
function stageKeys(KT: number, D: number, Dv: number, withV: boolean): string {
  const v = withV
    ? `
${
      stage(KT * Dv, (i) => `
      let s = s0 + ${i} / ${Dv}u;
      var x = 0.0;
      if (s < kEnd) { x = vs[at(20u, b, kh, s, ${i} % ${Dv}u)]; }
      vt[${i}] = x;`)
    }`
    : "";
  return `
${
    stage(KT * D, (i) => `
      let s = s0 + ${i} / ${D}u;
      var x = 0.0;
      if (s < kEnd) { x = ks[at(15u, b, kh, s, ${i} % ${D}u)]; }
      kt[${i}] = x;`)
  }${v}
    workgroupBarrier();`;
}

/**
 * A tile of \`n\` floats loaded by the workgroup's invocations together,
 * written out (element \`i\` of the body is this invocation's index).
 */
export function stage(n: number, body: (i: string) => string): string {
  return Array.from({ length: Math.ceil(n / ATTENTION_ROWS) }, (_, u) => `
    {
      let i${u} = lid + ${u * ATTENTION_ROWS}u;
      if (i${u} < ${n}u) {${body(`i${u}`)}
      }
    }`).join("");
}

/** The score of the live row t against staged key j (key s). */
function stagedScore(D: number): string {
  return `
        var dot = 0.0;
        ${unrolled(D, (d) => `dot += qv[${d}] * kt[j * ${D}u + ${d}];`)}
        var x = dot * bitcast<f32>(prm[8]);
        if (w(9u) == 1u) { x += bs[at(25u, b, h, t, s)]; }`;
}

/**
 * The walk of a query block over the keys: tile by tile (staged by the
 * whole workgroup, then a barrier), each live row runs \`rowBody\` for every
 * key it sees, with \`x\` its score against staged key \`j\` (key \`s\`).
 */
export function keyTiles(KT: number, D: number, Dv: number, rowBody: string): string {
  return `
  for (var s0 = 0u; s0 < kEnd; s0 += ${KT}u) {${stageKeys(KT, D, Dv, true)}
    if (live) {
      let jEnd = min(${KT}u, kEnd - s0);
      for (var j = 0u; j < jEnd; j++) {
        let s = s0 + j;
        if (hidden(t, s)) { continue; }${stagedScore(D)}${rowBody}
      }
    }
    workgroupBarrier();
  }`;
}

/**
 * The forward: out [rows, Dv] and lse [rows]. A workgroup takes
 * 64 query rows of one (b, h) and walks the keys in tiles staged in
 * workgroup memory (each k and v row read from global memory once per
 * block, not once per query row), each row keeping an online softmax.
 */
export function attentionSource(D: number, Dv: number): KernelSource {
  const KT = tileRows(D + Dv);
  const body = queryBlock(D) + `
  var acc: array<f32, ${Dv}>;
  var m = -inf_();
  var l = 0.0;
${
    keyTiles(
      KT,
      D,
      Dv,
      `
        if (x == -inf_()) { continue; }
        let mn = max(m, x);
        let corr = select(exp_acc(m - mn), 0.0, m == -inf_());
        let p = exp_acc(x - mn);
        l = l * corr + p;
        ${unrolled(Dv, (e) => `acc[${e}] = acc[${e}] * corr + p * vt[j * ${Dv}u + ${e}];`)}
        m = mn;`,
    )
  }
  if (!live) { return; }
  let idx = bh * T + t;
  let o = w(30u) + idx * ${Dv}u;
  // No keys at all: an empty sum (0, log-sum-exp -inf). Every key hidden:
  // 0/0 as the softmax gives it, spelled out since WGSL leaves 0/0 open.
  let none = S == 0u;
  let nan = nan_();
  for (var e = 0u; e < ${Dv}u; e++) {
    out[o + e] = select(select(acc[e] / l, nan, l == 0.0), 0.0, none);
  }
  lse[w(31u) + idx] = select(select(m + log_acc(l), nan, l == 0.0), -inf_(), none);`;
  return kernelSource([
    ACCESS.q,
    ACCESS.k,
    ACCESS.v,
    ACCESS.bias,
    { name: "out", type: "f32", access: "read_write" },
    { name: "lse", type: "f32", access: "read_write" },
  ], MATH + prelude() + tiles({ kt: KT * D, vt: KT * Dv }) + entry(body));
}

/** Workgroup arrays of the given sizes (floats). */
export function tiles(arrays: Record<string, number>): string {
  return Object.entries(arrays).map(([n, len]) => `var<workgroup> ${n}: array<f32, ${len}>;\n`)
    .join("");
}
