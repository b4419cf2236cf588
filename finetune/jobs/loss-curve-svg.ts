export interface CurvePoint {
  step: number;
  loss: number;
}

const escape = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/**
 * A self-contained SVG of the training loss per step (and held-out loss, when measured), with axis
 * ranges labelled, for the admin pages and job reports. No fonts or scripts: it renders anywhere.
 */
export function lossCurveSvg(train: readonly CurvePoint[], heldOut: readonly CurvePoint[] = [], title = 'loss'): string {
  const width = 640;
  const height = 320;
  const pad = { left: 56, right: 16, top: 28, bottom: 36 };
  const all = [...train, ...heldOut].filter((p) => Number.isFinite(p.loss));
  const header = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`;
  const titleText = `<text x="${pad.left}" y="18">${escape(title)}</text>`;
  if (all.length === 0) return `${header}${titleText}<text x="${pad.left}" y="${height / 2}">no steps yet</text></svg>`;
  const maxStep = Math.max(1, ...all.map((p) => p.step));
  const minStep = Math.min(...all.map((p) => p.step));
  let lo = Math.min(...all.map((p) => p.loss));
  let hi = Math.max(...all.map((p) => p.loss));
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x = (step: number) => pad.left + ((step - minStep) / Math.max(1, maxStep - minStep)) * (width - pad.left - pad.right);
  const y = (loss: number) => pad.top + ((hi - loss) / (hi - lo)) * (height - pad.top - pad.bottom);
  const line = (points: readonly CurvePoint[], color: string, name: string) =>
    points.length === 0
      ? ''
      : `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.map((p) => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' ')}"><title>${name}</title></polyline>` +
        points.map((p) => `<circle cx="${x(p.step).toFixed(1)}" cy="${y(p.loss).toFixed(1)}" r="2" fill="${color}"/>`).join('');
  const bottom = height - pad.bottom;
  return [
    header,
    titleText,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${bottom}" stroke="#888"/>`,
    `<line x1="${pad.left}" y1="${bottom}" x2="${width - pad.right}" y2="${bottom}" stroke="#888"/>`,
    `<text x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end">${hi.toFixed(3)}</text>`,
    `<text x="${pad.left - 6}" y="${bottom}" text-anchor="end">${lo.toFixed(3)}</text>`,
    `<text x="${pad.left}" y="${bottom + 16}">step ${minStep}</text>`,
    `<text x="${width - pad.right}" y="${bottom + 16}" text-anchor="end">${maxStep}</text>`,
    line(train, '#1f77b4', 'training loss'),
    line(heldOut, '#d62728', 'held-out loss'),
    `<text x="${width - pad.right}" y="18" text-anchor="end"><tspan fill="#1f77b4">train</tspan>${heldOut.length ? ' <tspan fill="#d62728">held-out</tspan>' : ''}</text>`,
    '</svg>',
  ].join('');
}
