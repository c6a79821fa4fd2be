/**
 * Reading the untyped JSON of `tokenizer.json` with checks: every accessor
 * names the field it reads, so a malformed file fails with a TypeError that
 * says where, instead of a crash deep inside the pipeline.
 *
 * @module
 */

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** A short rendering of a value for error messages. */
export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v);
  if (typeof v === "number" || typeof v === "boolean" || v == null) return String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === "object") {
    const type = (v as JsonObject).type;
    return typeof type === "string" ? `an object of type ${JSON.stringify(type)}` : "an object";
  }
  return typeof v;
}

/** `v` as an object, or a TypeError naming `where`. */
export function asObject(v: unknown, where: string): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${where} must be an object, got ${describe(v)}`);
  }
  return v as JsonObject;
}

/** `v` as an array, or a TypeError naming `where`. */
export function asArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`${where} must be an array, got ${describe(v)}`);
  return v;
}

/** `v` as a string, or a TypeError naming `where`. */
export function asString(v: unknown, where: string): string {
  if (typeof v !== "string") throw new TypeError(`${where} must be a string, got ${describe(v)}`);
  return v;
}

/** `v` as a non-negative integer, or a TypeError naming `where`. */
export function asIndex(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new TypeError(`${where} must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

/** A required string field. */
export function str(o: JsonObject, key: string, where: string): string {
  return asString(o[key], `${where}.${key}`);
}

/** An optional string field: `null` when absent or null. */
export function optStr(o: JsonObject, key: string, where: string): string | null {
  const v = o[key];
  return v == null ? null : asString(v, `${where}.${key}`);
}

/** An optional boolean field with its default. */
export function optBool(o: JsonObject, key: string, where: string, dflt: boolean): boolean {
  const v = o[key];
  if (v == null) return dflt;
  if (typeof v !== "boolean") {
    throw new TypeError(`${where}.${key} must be a boolean, got ${describe(v)}`);
  }
  return v;
}

/** The `type` tag of a component object. */
export function typeTag(o: JsonObject, where: string): string {
  return str(o, "type", where);
}

/** The TypeError for a component this library does not implement. */
export function unsupported(kind: string, type: string, supported: readonly string[]): TypeError {
  return new TypeError(
    `Tokenizer: unsupported ${kind} type ${JSON.stringify(type)} (supported: ${
      supported.join(", ")
    })`,
  );
}
