/** One bar, optionally paired with a second (a comparison) and marked with a reference (random baseline). */
export interface Bar {
  label: string;
  value: number;
  /** A second value drawn beside the first, e.g. the run after a finetune. */
  second?: number;
  /** A reference drawn as a tick across the bar, e.g. the random-guess baseline. */
  reference?: number;
}

export interface BarChartOptions {
  title: string;
  /** The value at the right edge: 100 for percentages, 1 for AUC and toxicity. */
  max: number;
  /** Legend names of the two series when bars carry `second`. */
  series?: [string, string];
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const ROW = 22;
const LABEL_WIDTH = 260;
const PLOT_WIDTH = 400;
const COLORS = ['#4c78a8', '#f58518'];

function format(value: number, max: number): string {
  return max > 1 ? value.toFixed(1) : value.toFixed(3);
}

/**
 * A horizontal bar chart as standalone SVG: no script and no external assets, so a report opens from
 * disk or an artifact store, and its numbers are in the markup for anyone who wants to scrape them.
 */
export function renderBarChart(bars: readonly Bar[], options: BarChartOptions): string {
  const paired = bars.some((b) => b.second !== undefined);
  const rowHeight = paired ? ROW * 1.6 : ROW;
  const top = paired ? 48 : 30;
  const height = top + bars.length * rowHeight + 10;
  const width = LABEL_WIDTH + PLOT_WIDTH + 70;
  const x = (v: number) => LABEL_WIDTH + (Math.max(0, Math.min(v, options.max)) / options.max) * PLOT_WIDTH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<text x="0" y="18" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  if (paired && options.series) {
    options.series.forEach((name, i) => {
      parts.push(`<rect x="${LABEL_WIDTH + i * 160}" y="28" width="12" height="12" fill="${COLORS[i]}"/>`);
      parts.push(`<text x="${LABEL_WIDTH + i * 160 + 16}" y="38" font-size="12">${escapeXml(name)}</text>`);
    });
  }
  bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    const barHeight = paired ? ROW * 0.7 : ROW - 6;
    parts.push(`<text x="${LABEL_WIDTH - 6}" y="${y + barHeight}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`);
    const series = paired ? [bar.value, bar.second] : [bar.value];
    series.forEach((v, s) => {
      if (v === undefined) return;
      const by = y + s * barHeight;
      parts.push(
        `<rect class="bar" data-label="${escapeXml(bar.label)}" data-value="${v}" x="${LABEL_WIDTH}" y="${by}" width="${(x(v) - LABEL_WIDTH).toFixed(2)}" height="${barHeight - 2}" fill="${COLORS[s]}"/>`,
      );
      parts.push(`<text x="${x(v) + 4}" y="${by + barHeight - 5}" font-size="11">${format(v, options.max)}</text>`);
    });
    if (bar.reference !== undefined) {
      const rx = x(bar.reference).toFixed(2);
      parts.push(`<line class="reference" x1="${rx}" x2="${rx}" y1="${y - 2}" y2="${y + (paired ? 2 : 1) * barHeight}" stroke="#000" stroke-dasharray="3,2"/>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}
