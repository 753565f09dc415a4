/** One measured figure of one repeat, for Postern and (where one exists) the reference stack. */
export interface Sample {
  case: string;
  key: string;
  label: string;
  unit: string;
  /** Which direction is good: the ratio Postern/reference is read against it. */
  better: 'higher' | 'lower';
  postern: number;
  reference: number | null;
}

export interface Row extends Omit<Sample, 'postern' | 'reference'> {
  postern: number;
  reference: number | null;
  /** Postern / reference (null without a reference). */
  ratio: number | null;
  /** Every repeat's values, in order. */
  runs: { postern: number[]; reference: number[] };
  target?: string;
  meetsTarget?: boolean | null;
}

export type Samples = Sample[];

export function sample(c: string, key: string, label: string, unit: string, better: Sample['better'], postern: number, reference: number | null): Sample {
  return { case: c, key, label, unit, better, postern, reference };
}
