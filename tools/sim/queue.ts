// The event queue in virtual time: a binary heap ordered by time, then by
// insertion (so events at the same ms run in the order they were scheduled).

export interface Ev {
  at: number;
  order: number;
  run: () => void;
}

export class EventQueue {
  private heap: Ev[] = [];
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, run: () => void): void {
    const h = this.heap;
    const e: Ev = { at, order: this.order++, run };
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = h[p]!;
      if (q.at < at || (q.at === at && q.order < e.order)) break;
      h[i] = q;
      i = p;
    }
    h[i] = e;
  }

  peekAt(): number {
    return this.heap.length > 0 ? this.heap[0]!.at : Infinity;
  }

  pop(): Ev | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && (h[r]!.at < h[l]!.at || (h[r]!.at === h[l]!.at && h[r]!.order < h[l]!.order))) c = r;
        const x = h[c]!;
        if (last.at < x.at || (last.at === x.at && last.order < x.order)) break;
        h[i] = x;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
