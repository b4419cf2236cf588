/**
 * Evals: start a suite against this server, watch its progress, read its report, and compare a
 * before run with an after run (e.g. either side of a finetune). Reports are the server's own HTML
 * pages, fetched with the key and shown in a sandboxed frame (no scripts, no access to this page).
 */
import { getJson, getText, postJson } from './api.js';
import { byId, el, guarded, say } from './dom.js';

const status = () => byId('evals-status');
const POLL_MS = 1500;
let timer;

const summaryText = (summary) =>
  summary ? Object.entries(summary).map(([metric, value]) => `${metric} ${Number(value).toFixed(1)}`).join(', ') : '';

function progressCell(run) {
  if (run.status === 'succeeded') return el('td', {}, summaryText(run.summary) || 'done');
  if (run.status === 'failed') return el('td', { class: 'error' }, run.error?.message ?? 'failed');
  const p = run.progress;
  if (!p) return el('td', {}, '—');
  const label = `${p.done} of ${p.total}${p.task ? ` (${p.task})` : ''}`;
  return el('td', {}, el('progress', { max: p.total, value: p.done, 'aria-label': `Progress of ${run.id}` }), ' ', label);
}

const pick = (name, run) => el('input', { type: 'radio', name, value: run.id, disabled: run.status !== 'succeeded', 'aria-label': `${name === 'eval-before' ? 'Before' : 'After'}: ${run.id}` });

export async function refreshEvals() {
  clearTimeout(timer);
  const before = document.querySelector('input[name="eval-before"]:checked')?.value;
  const after = document.querySelector('input[name="eval-after"]:checked')?.value;
  const { data } = await getJson('/admin/evals?limit=20');
  byId('eval-runs').tBodies[0].replaceChildren(
    ...data.map((run) =>
      el(
        'tr',
        { 'data-run': run.id },
        el('th', { scope: 'row' }, el('code', {}, run.id)),
        el('td', {}, `${run.suite}, ${run.mode}`),
        el('td', {}, run.model_version ?? run.model),
        el('td', { class: `run-status ${run.status}` }, run.status),
        progressCell(run),
        el('td', {}, pick('eval-before', run)),
        el('td', {}, pick('eval-after', run)),
        el('td', {}, run.report ? el('button', { type: 'button', 'aria-label': `Report of ${run.id}`, onclick: guarded(status(), () => show(run.report)) }, 'Report') : ''),
      ),
    ),
  );
  for (const [name, id] of [['eval-before', before], ['eval-after', after]]) {
    const input = id && document.querySelector(`input[name="${name}"][value="${CSS.escape(id)}"]`);
    if (input && !input.disabled) input.checked = true;
  }
  const busy = data.some((run) => run.status === 'queued' || run.status === 'running');
  if (busy && !byId('evals').hidden) timer = setTimeout(() => refreshEvals().catch((err) => say(status(), err.message, 'error')), POLL_MS);
}

async function show(path) {
  const frame = byId('eval-report');
  frame.srcdoc = await getText(path);
  frame.hidden = false;
  frame.focus();
}

function evalRequest() {
  const value = (id) => byId(id).value.trim();
  const tasks = value('eval-tasks').split(',').map((t) => t.trim()).filter(Boolean);
  return {
    suite: value('eval-suite'),
    mode: value('eval-mode'),
    ...(tasks.length ? { tasks } : {}),
    ...(value('eval-limit') ? { limit: Number(value('eval-limit')) } : {}),
    ...(value('eval-data-dir') ? { data_dir: value('eval-data-dir') } : {}),
  };
}

export function initEvals() {
  byId('eval-form').addEventListener(
    'submit',
    guarded(status(), async () => {
      const run = await postJson('/admin/evals', evalRequest());
      say(status(), `Queued ${run.id}.`);
      await refreshEvals();
    }),
  );
  byId('eval-compare').addEventListener(
    'click',
    guarded(status(), async () => {
      const before = document.querySelector('input[name="eval-before"]:checked')?.value;
      const after = document.querySelector('input[name="eval-after"]:checked')?.value;
      if (!before || !after) throw new Error('Pick a finished run as before and another as after');
      await show(`/admin/evals/${encodeURIComponent(before)}/compare/${encodeURIComponent(after)}`);
      say(status(), `Comparing ${before} (before) with ${after} (after).`);
    }),
  );
}
