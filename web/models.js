/**
 * Models: the server's versions with the job that made each and its held-out loss; activate one or
 * roll back. Versions come from /admin/models; job and loss from the fine-tuning jobs' checkpoints.
 * `versionRows` is the one place that joins them, so a richer versions route only changes it.
 */
import { getJson, postJson } from './api.js';
import { byId, el, formatLoss, formatTime, guarded, say } from './dom.js';

const status = () => byId('models-status');

/** Version id -> {job, loss} for every version a fine-tuning job produced. */
async function jobOfEachVersion() {
  const { data: jobs } = await getJson('/v1/fine_tuning/jobs?limit=100');
  const byVersion = new Map();
  await Promise.all(
    jobs
      .filter((job) => job.status === 'succeeded' || job.fine_tuned_model)
      .map(async (job) => {
        const { data } = await getJson(`/v1/fine_tuning/jobs/${encodeURIComponent(job.id)}/checkpoints?limit=100`);
        for (const c of data) byVersion.set(c.fine_tuned_model_checkpoint, { job: job.id, loss: c.metrics.valid_loss });
      }),
  );
  return byVersion;
}

/** One row per version: {id, model, created, active, job?, loss?}. */
export async function versionRows() {
  const [{ data: versions }, jobs] = await Promise.all([getJson('/admin/models'), jobOfEachVersion().catch(() => new Map())]);
  return versions.map((v) => ({ ...v, ...jobs.get(v.id) }));
}

/** Hooks other sections call when the served model changed (the playground's model picker). */
const listeners = [];
export const onServedModelChange = (listener) => listeners.push(listener);

async function change(work, message) {
  const info = await work();
  say(status(), `${message} ${info.id}.`);
  await refreshModels();
  for (const listener of listeners) await listener();
}

export async function refreshModels() {
  const rows = await versionRows();
  byId('versions').tBodies[0].replaceChildren(
    ...rows.map((v) =>
      el(
        'tr',
        { 'data-version': v.id, class: v.active ? 'active' : undefined },
        el('th', { scope: 'row' }, el('code', {}, v.id)),
        el('td', {}, v.job ? el('code', {}, v.job) : v.source),
        el('td', { class: 'num' }, formatLoss(v.loss)),
        el('td', {}, formatTime(v.created)),
        el(
          'td',
          {},
          v.active
            ? el('strong', {}, 'serving')
            : el('button', { type: 'button', 'aria-label': `Activate ${v.id}`, onclick: guarded(status(), () => change(() => postJson(`/admin/models/${encodeURIComponent(v.id)}/activate`), 'Now serving')) }, 'Activate'),
        ),
      ),
    ),
  );
}

export function initModels() {
  byId('models-refresh').addEventListener('click', guarded(status(), refreshModels));
  byId('models-rollback').addEventListener('click', guarded(status(), () => change(() => postJson('/admin/models/rollback'), 'Rolled back to')));
}
