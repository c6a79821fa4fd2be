/**
 * A tiny WebAssembly binary emitter: just enough to build the CPU kernels at
 * load time without any external toolchain or binary blob.
 *
 * A `ModuleBuilder` (module_builder.ts) collects function types, one
 * imported shared memory and functions; a {@link FuncBuilder} appends
 * instructions to one function body. Instructions are written as methods
 * (`f.localGet(0)`) that push raw opcode bytes; structured control flow (`block`/`loop`/`if`) takes
 * the enclosed code as a callback and emits its own `end`, so nesting is
 * balanced by construction and branch depths are checked. Beyond that the
 * emitter validates nothing itself: `WebAssembly.validate` /
 * `new WebAssembly.Module` do.
 *
 * @module
 */

/** Value types (their binary encodings). */
export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
/** A value type byte. */
export type ValType = number;

/** Unsigned LEB128 encoding of a non-negative integer (< 2^53). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 encoding of an integer (|n| < 2^53). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = ((n % 128) + 128) % 128; // low 7 bits, two's complement
    n = Math.floor(n / 128);
    const signBit = (byte & 0x40) !== 0;
    if ((n === 0 && !signBit) || (n === -1 && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** The 16 bytes of a v128 whose four 32-bit lanes all hold `one[0]`. */
function lanes(one: Float32Array | Int32Array): number[] {
  const b = [...new Uint8Array(one.buffer)];
  return [...b, ...b, ...b, ...b];
}

/** One function body under construction. */
export class FuncBuilder {
  /** Encoded instructions so far. */
  readonly code: number[] = [];
  /** Declared (non-parameter) locals, in order. */
  readonly locals: ValType[] = [];

  /** Structured instructions open around the code being emitted. */
  #depth = 0;

  /**
   * Starts an empty body.
   * @param params parameter types; they are locals 0..params.length-1.
   * @param results result types.
   */
  constructor(readonly params: ValType[], readonly results: ValType[]) {}

  #enclose(opcode: number, body: () => void): this {
    this.op(opcode, 0x40); // 0x40: no result
    this.#depth++;
    body();
    this.#depth--;
    return this.op(0x0b);
  }

  /** Checks a branch depth (the function body is the outermost label). */
  #label(depth: number): number {
    if (!Number.isInteger(depth) || depth < 0 || depth > this.#depth) {
      throw new RangeError(`wasm emitter: branch depth ${depth} with ${this.#depth} labels open`);
    }
    return depth;
  }

  /** Declares a new local of type `t` and returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  /** Appends raw bytes. */
  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  /** A SIMD-prefixed (0xfd) instruction; `sub` is LEB128-encoded. */
  simd(sub: number): this {
    return this.op(0xfd, ...uleb(sub));
  }

  // --- control flow -------------------------------------------------------
  // Structured instructions take the code they enclose as a callback and
  // emit their own `end`, so nesting cannot come out unbalanced; branch
  // depths are checked against the nesting they are emitted in.

  /** `block` (no result) around `body`; `br` to it jumps past its end. */
  block(body: () => void): this {
    return this.#enclose(0x02, body);
  }
  /** `loop` (no result) around `body`; `br` to it jumps back to its start. */
  loop(body: () => void): this {
    return this.#enclose(0x03, body);
  }
  /**
   * `if` (no result; pops an i32 condition) running `then`, and `otherwise`
   * (the `else` arm) when given.
   */
  if(then: () => void, otherwise?: () => void): this {
    return this.#enclose(0x04, () => {
      then();
      if (otherwise) {
        this.op(0x05);
        otherwise();
      }
    });
  }
  /**
   * A loop that checks before each pass: `exit` pushes an i32 and a
   * non-zero value leaves; otherwise `body` runs and the loop repeats
   * (`block { loop { exit; br_if 1; body; br 0 } }`).
   */
  loopUntil(exit: () => void, body: () => void): this {
    return this.block(() =>
      this.loop(() => {
        exit();
        this.brIf(1);
        body();
        this.br(0);
      })
    );
  }
  /** Unconditional branch to the label `depth` levels out. */
  br(depth: number): this {
    return this.op(0x0c, ...uleb(this.#label(depth)));
  }
  /** Branch if the popped i32 is non-zero. */
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(this.#label(depth)));
  }
  /** Returns from the function. */
  return(): this {
    return this.op(0x0f);
  }
  /** Calls function `index`. */
  call(index: number): this {
    return this.op(0x10, ...uleb(index));
  }
  /** Picks one of two values by an i32 condition. */
  select(): this {
    return this.op(0x1b);
  }

  // --- locals & constants -------------------------------------------------
  /** Pushes local `i`. */
  localGet(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  /** Pops into local `i`. */
  localSet(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  /** Stores into local `i`, leaving the value on the stack. */
  localTee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  /** Pushes an i32 constant. */
  i32Const(n: number): this {
    return this.op(0x41, ...sleb(n | 0));
  }
  /** Pushes an f32 constant. */
  f32Const(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.op(0x43, ...b);
  }

  // --- memory -------------------------------------------------------------
  /** A load/store opcode with memarg (log2 alignment, byte offset). */
  mem(opcode: number, align: number, offset = 0): this {
    return this.op(opcode, align, ...uleb(offset));
  }
  /** `i32.load`. */
  i32Load(offset = 0): this {
    return this.mem(0x28, 2, offset);
  }
  /** `f32.load`. */
  f32Load(offset = 0): this {
    return this.mem(0x2a, 2, offset);
  }
  /** `i64.load` (used to copy two f32 bit-exactly). */
  i64Load(offset = 0): this {
    return this.mem(0x29, 2, offset);
  }
  /** `i64.store`. */
  i64Store(offset = 0): this {
    return this.mem(0x37, 2, offset);
  }
  /** `i32.store`. */
  i32Store(offset = 0): this {
    return this.mem(0x36, 2, offset);
  }
  /** `f32.store`. */
  f32Store(offset = 0): this {
    return this.mem(0x38, 2, offset);
  }
  /** `v128.load` (16-byte; alignment hint 4 bytes so unaligned is fine). */
  v128Load(offset = 0): this {
    return this.op(0xfd, 0x00, 2, ...uleb(offset));
  }
  /** `v128.load32_splat`: loads one f32 into all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.op(0xfd, 0x09, 2, ...uleb(offset));
  }
  /** `v128.store`. */
  v128Store(offset = 0): this {
    return this.op(0xfd, 0x0b, 2, ...uleb(offset));
  }
  /** `v128.store64_lane`: stores 64-bit lane `lane` (0 or 1) of a v128. */
  v128Store64Lane(lane: number, offset = 0): this {
    return this.op(0xfd, 0x5b, 2, ...uleb(offset), lane);
  }

  // --- scalar arithmetic ----------------------------------------------------
  /** i32 comparison / arithmetic opcodes. */
  i32Eqz = (): this => this.op(0x45);
  /** `i32.eq`. */
  i32Eq = (): this => this.op(0x46);
  /** `i32.ne`. */
  i32Ne = (): this => this.op(0x47);
  /** `i32.lt_s`. */
  i32LtS = (): this => this.op(0x48);
  /** `i32.lt_u`. */
  i32LtU = (): this => this.op(0x49);
  /** `i32.gt_s`. */
  i32GtS = (): this => this.op(0x4a);
  /** `i32.ge_u`. */
  i32GeU = (): this => this.op(0x4f);
  /** `i32.le_s`. */
  i32LeS = (): this => this.op(0x4c);
  /** `i32.ge_s`. */
  i32GeS = (): this => this.op(0x4e);
  /** `i32.add`. */
  i32Add = (): this => this.op(0x6a);
  /** `i32.sub`. */
  i32Sub = (): this => this.op(0x6b);
  /** `i32.mul`. */
  i32Mul = (): this => this.op(0x6c);
  /** `i32.and`. */
  i32And = (): this => this.op(0x71);
  /** `i32.shl`. */
  i32Shl = (): this => this.op(0x74);
  /** `i32.shr_u`. */
  i32ShrU = (): this => this.op(0x76);
  /** `f32.add`. */
  f32Add = (): this => this.op(0x92);
  /** `f32.sub`. */
  f32Sub = (): this => this.op(0x93);
  /** `f32.mul`. */
  f32Mul = (): this => this.op(0x94);
  /** `f32.div`. */
  f32Div = (): this => this.op(0x95);
  /** `f32.max`. */
  f32Max = (): this => this.op(0x97);
  /** `f32.neg`. */
  f32Neg = (): this => this.op(0x8c);
  /** `f32.abs`. */
  f32Abs = (): this => this.op(0x8b);
  /** `f32.sqrt`. */
  f32Sqrt = (): this => this.op(0x91);

  // --- SIMD (f32x4) ---------------------------------------------------------
  /**
   * `i8x16.shuffle` written by f32 lanes: result lane i is lane `lanes[i]`
   * of the concatenation (a, b) (0..3 from a, 4..7 from b).
   */
  f32x4Shuffle = (lanes: readonly number[]): this =>
    this.simd(0x0d).op(...lanes.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)));
  /** `f32x4.splat`. */
  f32x4Splat = (): this => this.simd(0x13);
  /** `f32x4.extract_lane`. */
  f32x4ExtractLane = (lane: number): this => this.simd(0x1f).op(lane);
  /** `f32x4.abs`. */
  f32x4Abs = (): this => this.simd(0xe0);
  /** `f32x4.neg`. */
  f32x4Neg = (): this => this.simd(0xe1);
  /** `f32x4.sqrt`. */
  f32x4Sqrt = (): this => this.simd(0xe3);
  /** `f32x4.add`. */
  f32x4Add = (): this => this.simd(0xe4);
  /** `f32x4.sub`. */
  f32x4Sub = (): this => this.simd(0xe5);
  /** `f32x4.mul`. */
  f32x4Mul = (): this => this.simd(0xe6);
  /** `f32x4.div`. */
  f32x4Div = (): this => this.simd(0xe7);
  /** `f32x4.max` (NaN-propagating, like `Math.max`). */
  f32x4Max = (): this => this.simd(0xe9);
  /** `f32x4.min` (NaN-propagating, like `Math.min`). */
  f32x4Min = (): this => this.simd(0xe8);
  /** `f32x4.pmin`: b < a ? b : a per lane (one x86 instruction; keeps a NaN `a`). */
  f32x4Pmin = (): this => this.simd(0xea);
  /** `f32x4.pmax`: a < b ? b : a per lane (one x86 instruction; keeps a NaN `a`). */
  f32x4Pmax = (): this => this.simd(0xeb);
  /** `f32x4.nearest`: rounds to the nearest integer, ties to even. */
  f32x4Nearest = (): this => this.simd(0x6a);
  /** `f32x4.eq`: all-ones lanes where equal (never for NaN). */
  f32x4Eq = (): this => this.simd(0x41);
  /** `f32x4.lt`: all-ones lanes where a < b (never for NaN). */
  f32x4Lt = (): this => this.simd(0x43);
  /** `f32x4.gt`: all-ones lanes where a > b (never for NaN). */
  f32x4Gt = (): this => this.simd(0x44);
  /** `f32x4.ge`: all-ones lanes where a >= b (never for NaN). */
  f32x4Ge = (): this => this.simd(0x46);
  /** `f32x4.convert_i32x4_s`: signed integers to floats. */
  f32x4ConvertI32x4S = (): this => this.simd(0xfa);
  /** `i32x4.trunc_sat_f32x4_s`: floats to signed integers (NaN → 0, saturating). */
  i32x4TruncSatF32x4S = (): this => this.simd(0xf8);
  /** `i32x4.add`. */
  i32x4Add = (): this => this.simd(0xae);
  /** `i32x4.sub`. */
  i32x4Sub = (): this => this.simd(0xb1);
  /** `i32x4.shl` (stack: vector, i32 count). */
  i32x4Shl = (): this => this.simd(0xab);
  /** `i32x4.shr_s`, arithmetic (stack: vector, i32 count). */
  i32x4ShrS = (): this => this.simd(0xac);
  /** `i32x4.shr_u`, logical (stack: vector, i32 count). */
  i32x4ShrU = (): this => this.simd(0xad);
  /** `v128.and`. */
  v128And = (): this => this.simd(0x4e);
  /** `v128.or`. */
  v128Or = (): this => this.simd(0x50);
  /** `v128.bitselect`: stack a b mask → (a & mask) | (b & ~mask). */
  v128Bitselect = (): this => this.simd(0x52);
  /** `v128.const` with four equal f32 lanes. */
  f32x4Const = (x: number): this => this.simd(0x0c).op(...lanes(new Float32Array([x])));
  /** `v128.const` with four equal i32 lanes. */
  i32x4Const = (n: number): this => this.simd(0x0c).op(...lanes(new Int32Array([n])));
  /**
   * `f32x4.relaxed_madd` (relaxed-SIMD opcode 0xfd 0x105): a*b+c, fused or
   * not at the engine's choice. Stack: a b c → a*b+c.
   */
  f32x4RelaxedMadd = (): this => this.simd(0x105);
}
