/**
 * The console's few DOM helpers. Text always goes in as text nodes, never as HTML: model output and
 * server messages are untrusted.
 */

/** An element with attributes (on* keys become listeners) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null));
  return node;
}

export const byId = (id) => document.getElementById(id);

/** Unix seconds as local date and time. */
export const formatTime = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : '—');

export const formatLoss = (loss) => (typeof loss === 'number' ? loss.toFixed(4) : '—');

/** Shows a message in a section's status line (a live region, so screen readers hear it). */
export function say(statusNode, message, kind = 'info') {
  statusNode.textContent = message;
  statusNode.dataset.kind = kind;
}

/** Runs an async handler, reporting its failure in the status line instead of losing it. */
export function guarded(statusNode, handler) {
  return async (event) => {
    event?.preventDefault?.();
    try {
      await handler(event);
    } catch (err) {
      say(statusNode, err.message, 'error');
    }
  };
}
