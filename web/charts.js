/** Small SVG charts drawn in the page: the self-consistency vote tally and the loss curve. */

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  node.append(...children);
  return node;
}

/** A chart is an image to assistive technology, named by its one-line summary. */
function chart(width, height, label, className) {
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: className }, svg('title', {}, label));
}

/**
 * Horizontal bars, one per voted answer, most votes first; the winner is highlighted. `samples` is
 * the number asked for, so that answerless samples show as the bars' shortfall.
 */
export function tallyChart(tally, winner, samples) {
  const entries = Object.entries(tally).sort((a, b) => b[1] - a[1]);
  const row = 22;
  const labelWidth = 120;
  const barWidth = 200;
  const height = entries.length * row + 4;
  const summary = entries.map(([answer, votes]) => `${answer}: ${votes}`).join(', ');
  const root = chart(labelWidth + barWidth + 40, height, `Vote tally of ${samples} samples: ${summary}`, 'tally-chart');
  entries.forEach(([answer, votes], i) => {
    const y = i * row + 2;
    const width = Math.max(2, (votes / samples) * barWidth);
    const shown = answer.length > 16 ? `${answer.slice(0, 15)}…` : answer;
    root.append(
      svg('text', { x: labelWidth - 6, y: y + 14, 'text-anchor': 'end', class: 'label' }, shown),
      svg('rect', { x: labelWidth, y, width, height: row - 6, rx: 2, class: answer === winner ? 'bar winner' : 'bar' }),
      svg('text', { x: labelWidth + width + 4, y: y + 14, class: 'value' }, String(votes)),
    );
  });
  return root;
}

/**
 * Loss per step as a line (training) and dots (held-out), with the axes' extremes labelled. Redrawn
 * whole on each new point: a few hundred points at most.
 */
export function lossChart(training, heldOut = []) {
  const width = 480;
  const height = 200;
  const pad = { left: 48, right: 12, top: 10, bottom: 28 };
  const all = [...training, ...heldOut];
  const last = training.at(-1);
  const label = last ? `Loss curve: ${training.length} steps, last training loss ${last.loss.toFixed(4)}` : 'Loss curve: no steps yet';
  const root = chart(width, height, label, 'loss-chart');
  if (all.length === 0) return root;
  const maxStep = Math.max(1, ...all.map((p) => p.step));
  const losses = all.map((p) => p.loss);
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  const span = hi - lo || 1;
  const x = (step) => pad.left + (step / maxStep) * (width - pad.left - pad.right);
  const y = (loss) => pad.top + (1 - (loss - lo) / span) * (height - pad.top - pad.bottom);
  const bottom = height - pad.bottom;
  root.append(
    svg('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: bottom, class: 'axis' }),
    svg('line', { x1: pad.left, y1: bottom, x2: width - pad.right, y2: bottom, class: 'axis' }),
    svg('text', { x: pad.left - 4, y: pad.top + 8, 'text-anchor': 'end', class: 'tick' }, hi.toFixed(2)),
    svg('text', { x: pad.left - 4, y: bottom, 'text-anchor': 'end', class: 'tick' }, lo.toFixed(2)),
    svg('text', { x: width - pad.right, y: height - 8, 'text-anchor': 'end', class: 'tick' }, `step ${maxStep}`),
    svg('polyline', { points: training.map((p) => `${x(p.step)},${y(p.loss)}`).join(' '), class: 'train-line' }),
    ...heldOut.map((p) => svg('circle', { cx: x(p.step), cy: y(p.loss), r: 4, class: 'held-out-dot' })),
  );
  return root;
}
