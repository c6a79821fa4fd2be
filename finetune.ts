/**
 * `deno task finetune`: LoRA fine-tuning of a Hugging Face checkpoint
 * directory on a text or JSONL file, writing a PEFT adapter. With no
 * `--model`, it runs on the tiny Llama in `demo/tiny_llama/`. `--help`
 * lists the flags.
 *
 * @module
 */
import { HELP, parseFinetuneArgs, UsageError } from "./demo/finetune/cli.ts";
import { finetune } from "./demo/finetune/run.ts";

let opts;
try {
  opts = parseFinetuneArgs(Deno.args);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`finetune: ${e.message}\n\n${HELP}`);
  Deno.exit(2);
}
if (opts.help) {
  console.log(HELP);
  Deno.exit(0);
}
const enc = new TextEncoder();
const say = opts.json ? () => {} : (line: string) => {
  if (line.startsWith("\r") || line === "\n") Deno.stdout.writeSync(enc.encode(line));
  else console.log(line);
};
const result = await finetune(opts, say);
if (opts.json) console.log(JSON.stringify(result));
