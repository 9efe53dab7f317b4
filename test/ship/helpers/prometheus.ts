/** Reads one sample from Prometheus exposition text: the metric name and EXACTLY these labels. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).sort(([x], [y]) => x.localeCompare(y));
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1] ?? '', x[2] ?? ''] as const).sort(([x], [y]) => x.localeCompare(y));
    if (got.length === want.length && got.every(([k, v], i) => want[i]?.[0] === k && want[i]?.[1] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Every metric family name in the text (from its # TYPE line). */
export function metricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));
}
