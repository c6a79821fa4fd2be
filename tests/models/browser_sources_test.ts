/**
 * The browser forms of checkpoint loading: `models.fromPretrained` and
 * `Tokenizer.fromPretrained` given a map of file names to `File`s (what a
 * page gets from `<input type=file multiple>`) load what the same directory
 * loads from disk.
 */
import assert from "node:assert/strict";
import { assertClose, models, tensor } from "../../mod.ts";

async function asFiles(dir: string): Promise<Map<string, File>> {
  const out = new Map<string, File>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, new File([await Deno.readFile(`${dir}/${e.name}`)], e.name));
  }
  return out;
}

Deno.test("fromPretrained and Tokenizer.fromPretrained read a map of Files", async () => {
  const dir = new URL("../../demo/tiny_llama", import.meta.url).pathname;
  const files = await asFiles(dir);
  const [fromDisk, fromFiles] = [
    await models.fromPretrained(dir),
    await models.fromPretrained(files),
  ];
  const [tokDisk, tokFiles] = [
    await models.Tokenizer.fromPretrained(dir),
    await models.Tokenizer.fromPretrained(files),
  ];
  const text = "Q: What does Ivan like?\nA: figs.";
  assert.deepEqual(tokFiles.encode(text), tokDisk.encode(text));
  const ids = tensor([tokDisk.encode(text)], { dtype: "int32" });
  await assertClose(fromFiles.forward(ids), await fromDisk.forward(ids).toArray(), {
    atol: 0,
    rtol: 0,
  });
  await assert.rejects(
    () => models.fromPretrained(new Map([["config.json", files.get("config.json")!]])),
    /safetensors/,
  );
});
