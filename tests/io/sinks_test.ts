/**
 * The browser forms of adapter I/O: `lora.save` into a `Map` of files and
 * into a directory handle (an in-memory stand-in for the File System Access
 * API), and `lora.load` back from a map of `File`s, as a page does.
 */
import assert from "node:assert/strict";
import { lora, nn } from "../../mod.ts";
import {
  type WritableDirectoryHandleLike,
  type WritableFileLike,
  writeFileTo,
} from "../../io/mod.ts";

function model(seed: number) {
  const m = lora.wrap(
    new nn.Sequential(new nn.Linear(4, 3), new nn.Linear(3, 2)),
    ["0", "1"],
    2,
    4,
    {
      seed,
    },
  );
  // Non-zero B so the round trip is visible.
  for (const [k, p] of m.namedParameters()) if (k.endsWith("loraB")) p.assign(p.add(0.5));
  return m;
}

async function adapters(m: nn.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, p] of m.namedParameters()) {
    if (k.includes("lora")) out[k] = Array.from(await p.data());
  }
  return out;
}

/** A directory handle over a Map, as `showDirectoryPicker()` gives one. */
function memoryHandle(files: Map<string, Uint8Array>, prefix = ""): WritableDirectoryHandleLike {
  return {
    kind: "directory",
    getDirectoryHandle: (name) => Promise.resolve(memoryHandle(files, `${prefix}${name}/`)),
    getFileHandle: (name) =>
      Promise.resolve({
        createWritable(): Promise<WritableFileLike> {
          const parts: Uint8Array[] = [];
          return Promise.resolve({
            write: (d: Uint8Array) => Promise.resolve(void parts.push(d.slice())),
            close: () => {
              files.set(`${prefix}${name}`, new Uint8Array(parts.flatMap((p) => [...p])));
              return Promise.resolve();
            },
          });
        },
      }),
  };
}

Deno.test("lora.save into a Map of files and lora.load from Files round-trip", async () => {
  const a = model(1);
  const files = new Map<string, Uint8Array>();
  await lora.save(a, files);
  assert.deepEqual([...files.keys()].sort(), ["adapter_config.json", "adapter_model.safetensors"]);
  const config = JSON.parse(new TextDecoder().decode(files.get("adapter_config.json")));
  assert.equal(config.peft_type, "LORA");
  // A page hands over File objects (from <input type=file multiple>).
  const asFiles = new Map([...files].map(([k, v]) => [k, new File([v.slice()], k)]));
  const b = model(2);
  assert.notDeepEqual(await adapters(b), await adapters(a));
  await lora.load(b, asFiles);
  assert.deepEqual(await adapters(b), await adapters(a));
});

Deno.test("lora.save through a directory handle writes the same bytes as to a Map", async () => {
  const a = model(3);
  const viaMap = new Map<string, Uint8Array>(), viaHandle = new Map<string, Uint8Array>();
  await lora.save(a, viaMap);
  await lora.save(a, memoryHandle(viaHandle));
  assert.deepEqual(viaHandle, viaMap);
  await writeFileTo(memoryHandle(viaHandle), "sub/x.bin", Uint8Array.of(1, 2));
  assert.deepEqual(viaHandle.get("sub/x.bin"), Uint8Array.of(1, 2));
  await assert.rejects(() => lora.load(model(4), new Map()), /adapter_config\.json not found/);
  await assert.rejects(() => writeFileTo(42 as never, "a", new Uint8Array()), TypeError);
});
