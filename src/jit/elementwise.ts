// Element-wise formulas written over `Arith<T>` (the AdamW and EMA updates of optim.ts) compiled into one fused
// JavaScript loop over Float32Arrays: a third interpreter beside TF.js tensors and ONNX graphs. One pass reads each
// element of every array once and writes the results back in place, where a graph of separate element-wise operators
// would stream the whole parameter vector through memory once per operator (~20 times for AdamW with two EMAs).
import type { Arith } from './ops';

/** Names an expression of the loop body (a JavaScript identifier). */
type Expr = string;

class LoopBody implements Arith<Expr> {
  readonly lines: string[] = [];
  private count = 0;

  private let(expr: string): Expr {
    const name = `t${this.count++}`;
    this.lines.push(`const ${name} = ${expr};`);
    return name;
  }

  add = (a: Expr, b: Expr) => this.let(`${a} + ${b}`);
  sub = (a: Expr, b: Expr) => this.let(`${a} - ${b}`);
  mul = (a: Expr, b: Expr) => this.let(`${a} * ${b}`);
  div = (a: Expr, b: Expr) => this.let(`${a} / ${b}`);
  square = (x: Expr) => this.let(`${x} * ${x}`);
  sqrt = (x: Expr) => this.let(`Math.sqrt(${x})`);
  // float32 constants, as the tensor interpreters hold them
  scalar = (v: number) => `${Math.fround(v)}`;
  maximum = (x: Expr, floor: number) => this.let(`Math.max(${x}, ${Math.fround(floor)})`);
  perSample = (): Expr => notElementwise('perSample');
  meanPerSample = (): Expr => notElementwise('meanPerSample');
  mean = (): Expr => notElementwise('mean');
}

function notElementwise(op: string): never {
  throw new Error(`internal: ${op} is not an element-wise operation`);
}

/** Runs the compiled loop over elements start .. end - 1 of the arrays; outputs overwrite arrays of the same name. */
export type ElementwiseLoop<A extends string, S extends string> = (arrays: Record<A, Float32Array>, scalars: Record<S, number>, start: number, end: number) => void;

/**
 * Compiles `formula`: it receives the element of each array and each per-call scalar as expressions and returns the
 * new value of some arrays by name. Every element is read before any is written, so outputs may be inputs.
 */
export function compileElementwise<A extends string, S extends string>(arrays: readonly A[], scalars: readonly S[],
  formula: (o: Arith<Expr>, element: Record<A, Expr>, scalar: Record<S, Expr>) => Partial<Record<A, Expr>>): ElementwiseLoop<A, S> {
  const ident = (prefix: string, i: number) => `${prefix}${i}`;
  const body = new LoopBody();
  const element = Object.fromEntries(arrays.map((a, i) => [a, ident('x', i)])) as Record<A, Expr>;
  const scalar = Object.fromEntries(scalars.map((s, i) => [s, ident('s', i)])) as Record<S, Expr>;
  const out = formula(body, element, scalar);
  const source = [
    ...arrays.map((a, i) => `const ${ident('a', i)} = arrays[${JSON.stringify(a)}];`),
    ...scalars.map((s, i) => `const ${ident('s', i)} = scalars[${JSON.stringify(s)}];`),
    'for (let i = start; i < end; i++) {',
    ...arrays.map((_, i) => `  const ${ident('x', i)} = ${ident('a', i)}[i];`),
    ...body.lines.map((l) => `  ${l}`),
    ...arrays.flatMap((a, i) => (out[a] !== undefined ? [`  ${ident('a', i)}[i] = ${out[a]};`] : [])),
    '}',
  ].join('\n');
  return new Function('arrays', 'scalars', 'start', 'end', source) as ElementwiseLoop<A, S>;
}
