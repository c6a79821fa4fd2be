/**
 * The demo's defaults, in a module with no imports so a page can use them
 * (the command line's parser, `cli.ts`, imports `node:util`).
 *
 * @module
 */

/** The projections adapted by default: every attention and MLP projection. */
export const DEFAULT_TARGETS: readonly string[] = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "up_proj",
  "down_proj",
];

/** Step counts used by `--quick` unless set explicitly. */
export const QUICK_STEPS = { pretrain: 30, finetune: 20 } as const;

/** Step counts of a full run. */
export const FULL_STEPS = { pretrain: 400, finetune: 300 } as const;
