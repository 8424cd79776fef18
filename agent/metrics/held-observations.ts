/**
 * Histogram and counter observations kept exactly, without prom-client, until the registry is built. Per series and
 * bucket it keeps the count and the sum; replaying `count` observations of their mean restores every bucket, the
 * count and the sum, because the mean of values inside one bucket lies inside that bucket.
 */
export class HeldObservations {
  private readonly buckets: readonly number[];
  /** labels as JSON -> per bucket index (buckets.length = +Inf) its count and sum. */
  private readonly series = new Map<string, { labels: Record<string, string>; cells: Map<number, [number, number]> }>();

  constructor(buckets: readonly number[]) {
    this.buckets = buckets;
  }

  observe(labels: Record<string, string>, value: number): void {
    const key = JSON.stringify(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, cells: new Map() };
      this.series.set(key, entry);
    }
    let index = this.buckets.findIndex((upper) => value <= upper);
    if (index === -1) index = this.buckets.length;
    const cell = entry.cells.get(index);
    if (cell) {
      cell[0]++;
      cell[1] += value;
    } else entry.cells.set(index, [1, value]);
  }

  /** Hands every held observation to `observe` (as count x mean per bucket) and forgets them. */
  replay(observe: (labels: Record<string, string>, value: number) => void): void {
    for (const { labels, cells } of this.series.values()) {
      for (const [count, sum] of cells.values()) {
        const mean = sum / count;
        for (let i = 0; i < count; i++) observe(labels, mean);
      }
    }
    this.series.clear();
  }
}

/** Counter increments held per series until the registry is built. */
export class HeldCounts {
  private readonly series = new Map<string, { labels: Record<string, string>; count: number }>();

  inc(labels: Record<string, string> = {}): void {
    const key = JSON.stringify(labels);
    const entry = this.series.get(key);
    if (entry) entry.count++;
    else this.series.set(key, { labels, count: 1 });
  }

  replay(inc: (labels: Record<string, string>, count: number) => void): void {
    for (const { labels, count } of this.series.values()) inc(labels, count);
    this.series.clear();
  }
}
