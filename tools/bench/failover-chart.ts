// The failover benchmark's chart (--svg FILE): for each profile a panel of
// horizontal bars, one pair per system: failure → declared dead and failure
// → answering, the bar at the median, a whisker from min to max. Hand-written
// SVG (a few dozen lines, no dependency): the output is plain text that
// diffs well in docs/, renders on GitHub, and needs nothing installed beyond
// what the benchmark already uses.

export interface ChartBar {
  label: string;
  min: number;
  median: number;
  max: number;
}

export interface ChartGroup {
  /** e.g. "lubdub" */
  name: string;
  bars: ChartBar[];
}

export interface ChartPanel {
  title: string;
  groups: ChartGroup[];
}

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round axis step giving about five ticks up to `max`. */
function step(max: number): number {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function renderChart(title: string, panels: ChartPanel[], note: string): string {
  const W = 760;
  const left = 120;
  const right = 30;
  const barH = 14;
  const gap = 4;
  const groupGap = 14;
  const plotW = W - left - right;
  const out: string[] = [];
  let y = 34;
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  const labels = panels[0]?.groups[0]?.bars.map((b) => b.label) ?? [];
  // legend
  labels.forEach((l, i) => {
    const x = left + i * 260;
    out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 16}" y="${y + 10}" font-size="12">${esc(l)} (median; whisker min–max)</text>`);
  });
  y += 26;
  for (const panel of panels) {
    const max = Math.max(1, ...panel.groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.max) ? b.max : 0))));
    const s = step(max);
    const top = Math.ceil(max / s) * s;
    const x = (v: number) => left + (Math.max(0, v) / top) * plotW;
    out.push(`<text x="${left}" y="${y + 12}" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
    y += 20;
    const panelTop = y;
    for (const g of panel.groups) {
      const h = g.bars.length * (barH + gap) - gap;
      out.push(`<text x="${left - 8}" y="${y + h / 2 + 4}" text-anchor="end" font-size="12">${esc(g.name)}</text>`);
      g.bars.forEach((b, i) => {
        const by = y + i * (barH + gap);
        if (Number.isFinite(b.median)) {
          out.push(`<rect x="${left}" y="${by}" width="${(x(b.median) - left).toFixed(1)}" height="${barH}" fill="${COLORS[i % COLORS.length]}"/>`);
          const wy = by + barH / 2;
          out.push(`<line x1="${x(b.min).toFixed(1)}" y1="${wy}" x2="${x(b.max).toFixed(1)}" y2="${wy}" stroke="#222" stroke-width="1.2"/>`);
          for (const v of [b.min, b.max]) out.push(`<line x1="${x(v).toFixed(1)}" y1="${wy - 4}" x2="${x(v).toFixed(1)}" y2="${wy + 4}" stroke="#222" stroke-width="1.2"/>`);
          out.push(`<text x="${Math.min(W - right, x(b.max) + 4).toFixed(1)}" y="${by + barH - 3}" font-size="10" fill="#333">${Math.round(b.median)}</text>`);
        } else {
          out.push(`<text x="${left + 4}" y="${by + barH - 3}" font-size="10" fill="#888">not measured</text>`);
        }
      });
      y += h + groupGap;
    }
    // axis
    out.push(`<line x1="${left}" y1="${panelTop - 4}" x2="${left}" y2="${y - groupGap + 4}" stroke="#444"/>`);
    const axisY = y - groupGap + 4;
    out.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#444"/>`);
    for (let v = 0; v <= top + 1e-9; v += s) {
      out.push(`<line x1="${x(v).toFixed(1)}" y1="${axisY}" x2="${x(v).toFixed(1)}" y2="${axisY + 4}" stroke="#444"/><text x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" font-size="10">${v}</text>`);
      if (v > 0) out.push(`<line x1="${x(v).toFixed(1)}" y1="${panelTop - 4}" x2="${x(v).toFixed(1)}" y2="${axisY}" stroke="#ddd" stroke-width="0.6"/>`);
    }
    out.push(`<text x="${left + plotW}" y="${axisY + 30}" text-anchor="end" font-size="11">ms</text>`);
    y = axisY + 44;
  }
  out.push(`<text x="${left}" y="${y}" font-size="10" fill="#555">${esc(note)}</text>`);
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join("\n")}\n</svg>\n`;
}
