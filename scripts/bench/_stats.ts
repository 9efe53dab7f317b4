/** Shared helpers for benchmark tables: percentiles, peak memory, table printing. */
import { readFileSync, writeFileSync } from 'node:fs';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

export function summarise(samplesMs: readonly number[]): { median: number; p95: number; p99: number; min: number; max: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  return { median: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN };
}

/**
 * The peak RSS of this process in windows. `take()` returns the peak in MB since the previous take (or
 * the start) and starts a new window; `stop()` ends and returns the peak of the last window.
 *
 * On Linux the kernel keeps the exact peak (VmHWM in /proc/self/status) and resets it on request
 * (writing 5 to /proc/self/clear_refs): every spike counts and nothing runs in between, so the
 * measured process's event loop is left alone. Elsewhere RSS is sampled every `everyMs`.
 */
export function trackPeakRss(everyMs = 10): { take(): number; stop(): number } {
  const kernel = kernelPeakRss();
  if (kernel) {
    kernel.reset();
    const take = (): number => {
      const peak = kernel.read();
      kernel.reset();
      return peak / (1024 * 1024);
    };
    return { take, stop: take };
  }
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  t.unref();
  const take = (): number => {
    const p = Math.max(peak, process.memoryUsage.rss());
    peak = process.memoryUsage.rss();
    return p / (1024 * 1024);
  };
  return {
    take,
    stop() {
      clearInterval(t);
      return take();
    },
  };
}

/** The kernel's peak RSS of this process (bytes) and its reset, when both work here; else null. */
function kernelPeakRss(): { read(): number; reset(): void } | null {
  const read = (): number => {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) throw new Error('no VmHWM');
    return Number(m[1]) * 1024;
  };
  const reset = (): void => writeFileSync('/proc/self/clear_refs', '5');
  try {
    reset();
    read();
    return { read, reset };
  } catch {
    return null;
  }
}

export function printTable(title: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] ?? {});
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c] ?? ''))));
}
