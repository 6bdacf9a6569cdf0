/**
 * Shared output for benchmarks: a human table by default, or with --json one JSON object per
 * configuration per line (so runs can be scripted and compared), plus small timing helpers.
 */

export type BenchRow = Record<string, string | number | boolean | null>;

/** p in [0, 100]; nearest-rank percentile of an unsorted sample. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Peak resident set size of this process so far, in MB (Linux: from /proc via resourceUsage). */
export function peakRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

export class BenchReporter {
  private readonly rows: BenchRow[] = [];

  constructor(private readonly json: boolean) {}

  /** Emits one configuration's result: immediately as a JSON line, or buffered for the table. */
  add(row: BenchRow): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify(row)}\n`);
    } else {
      this.rows.push(row);
      process.stderr.write(`done: ${Object.entries(row).slice(0, 6).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    }
  }

  /** Prints the buffered rows as an aligned table (no-op in JSON mode). */
  finish(): void {
    if (this.json || this.rows.length === 0) return;
    const columns = [...new Set(this.rows.flatMap((r) => Object.keys(r)))];
    const cells = this.rows.map((r) => columns.map((c) => (r[c] === undefined ? '' : String(r[c]))));
    const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
    const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i])).join('  ');
    console.log(line(columns));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of cells) console.log(line(row));
  }
}

/** Parses "1000,4000" or "4000" into numbers, rejecting anything else. */
export function parseNumberList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.length === 0 || numbers.some((n) => !Number.isFinite(n) || n <= 0)) {
    throw new Error(`expected a comma-separated list of positive numbers, got "${value}"`);
  }
  return numbers;
}
