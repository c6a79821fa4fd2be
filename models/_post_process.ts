/**
 * The `post_processor` of `tokenizer.json` for a single sequence: the special
 * tokens it puts around the ids (Llama's `<s> $A`, RoBERTa's `<s> $A </s>`).
 * Pairs of sequences are not encoded by this library, so only the `single`
 * template is read.
 *
 * @module
 */

import {
  asArray,
  asIndex,
  asObject,
  asString,
  describe,
  type JsonObject,
  typeTag,
  unsupported,
} from "./_json.ts";

/** A post-processor: the ids with the special tokens added. */
export type PostProcess = (ids: number[]) => number[];

const SUPPORTED = [
  "TemplateProcessing",
  "ByteLevel",
  "Sequence",
  "BertProcessing",
  "RobertaProcessing",
] as const;

/** Builds the post-processor, or `null` when it adds nothing. */
export function buildPostProcessor(
  v: unknown,
  where = "tokenizer.json post_processor",
): PostProcess | null {
  if (v == null) return null;
  const o = asObject(v, where);
  const type = typeTag(o, where);
  switch (type) {
    case "ByteLevel":
      return null; // it only trims offsets, which this library does not report
    case "Sequence": {
      const steps = asArray(o.processors, `${where}.processors`)
        .map((p, i) => buildPostProcessor(p, `${where}.processors[${i}]`))
        .filter((p): p is PostProcess => p !== null);
      return steps.length ? (ids) => steps.reduce((acc, step) => step(acc), ids) : null;
    }
    case "TemplateProcessing":
      return template(o, where);
    case "BertProcessing":
    case "RobertaProcessing": {
      const cls = tokenPair(o.cls, `${where}.cls`);
      const sep = tokenPair(o.sep, `${where}.sep`);
      return (ids) => [cls, ...ids, sep];
    }
    default:
      throw unsupported("post_processor", type, SUPPORTED);
  }
}

/** `["<s>", 0]` → 0. */
function tokenPair(v: unknown, where: string): number {
  const pair = asArray(v, where);
  asString(pair[0], `${where}[0]`);
  return asIndex(pair[1], `${where}[1]`);
}

/** TemplateProcessing's `single` template: special tokens' ids around `$A`. */
function template(o: JsonObject, where: string): PostProcess {
  const specials = asObject(o.special_tokens ?? {}, `${where}.special_tokens`);
  const before: number[] = [], after: number[] = [];
  let seen = false;
  asArray(o.single, `${where}.single`).forEach((p, i) => {
    const w = `${where}.single[${i}]`;
    const piece = asObject(p, w);
    if ("Sequence" in piece) {
      const id = asObject(piece.Sequence, `${w}.Sequence`).id;
      if (id !== "A" || seen) {
        throw new TypeError(`${w}: a single template holds $A once, got ${describe(id)}`);
      }
      seen = true;
      return;
    }
    const name = asString(asObject(piece.SpecialToken, `${w}.SpecialToken`).id, `${w}.id`);
    const spec = specials[name];
    if (spec === undefined) {
      throw new TypeError(`${w}: special token ${JSON.stringify(name)} is not in special_tokens`);
    }
    const ids = asArray(asObject(spec, `${where}.special_tokens.${name}`).ids, `${name}.ids`)
      .map((id, k) => asIndex(id, `${where}.special_tokens.${name}.ids[${k}]`));
    (seen ? after : before).push(...ids);
  });
  if (before.length === 0 && after.length === 0) return (ids) => ids;
  return (ids) => [...before, ...ids, ...after];
}
