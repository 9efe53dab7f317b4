/** Sliding-window counters keyed by an IP or phone id, on an injected clock; at most `maxKeys`, the stalest dropped first. */
export class SlidingWindowCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly maxKeys = 10_000,
  ) {}

  count(key: string): number {
    return this.prune(key).length;
  }

  /** The next event would exceed the limit. */
  isLimited(key: string): boolean {
    return this.count(key) >= this.limit;
  }

  hit(key: string): void {
    const list = this.prune(key);
    list.push(this.now());
    this.hits.delete(key);
    this.hits.set(key, list); // re-insert: Map order is then least-recently-hit first
    if (this.hits.size > this.maxKeys) {
      const oldest = this.hits.keys().next().value;
      if (oldest !== undefined) this.hits.delete(oldest);
    }
  }

  private prune(key: string): number[] {
    const list = this.hits.get(key);
    if (!list) return [];
    const cutoff = this.now() - this.windowMs;
    while (list.length > 0 && (list[0] ?? 0) <= cutoff) list.shift();
    if (list.length === 0) this.hits.delete(key);
    return list;
  }
}
