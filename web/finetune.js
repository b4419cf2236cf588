/**
 * Fine-tuning: upload a JSONL file, start a job (full or LoRA), follow its events with the loss curve
 * redrawn as each step arrives, cancel it. Events are read as OpenAI's clients read them: ask again
 * after the last id seen.
 */
import { getJson, postJson, uploadTrainingFile } from './api.js';
import { lossChart } from './charts.js';
import { byId, el, formatLoss, guarded, say } from './dom.js';

const status = () => byId('finetune-status');
const POLL_MS = 1000;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** Called when a followed job has finished (a new version may exist). */
let onFinished = async () => {};
let follower;

async function refreshFiles(selectId) {
  const { data } = await getJson('/v1/files');
  const select = byId('job-file');
  const previous = selectId ?? select.value;
  select.replaceChildren(...data.map((f) => el('option', { value: f.id }, `${f.filename} (${f.examples ?? '?'} examples) · ${f.id}`)));
  if (data.some((f) => f.id === previous)) select.value = previous;
}

/** What a job can start from: every name /v1/models lists (a base's name finetunes the version it serves). */
async function refreshBaseModels() {
  const { data } = await getJson('/v1/models');
  const select = byId('job-model');
  const previous = select.value;
  select.replaceChildren(...data.map((m) => el('option', { value: m.id }, m.id)));
  select.value = data.some((m) => m.id === previous) ? previous : (data[0]?.id ?? '');
}

export async function refreshJobs() {
  const { data } = await getJson('/v1/fine_tuning/jobs?limit=20');
  byId('jobs').tBodies[0].replaceChildren(
    ...data.map((job) =>
      el(
        'tr',
        { 'data-job': job.id },
        el('th', { scope: 'row' }, el('code', {}, job.id)),
        el('td', {}, job.model),
        el('td', { class: `job-status ${job.status}` }, job.status),
        el('td', { class: 'num' }, `${job.flan.trained_steps}/${job.flan.steps}`),
        el('td', {}, job.fine_tuned_model ? el('code', {}, job.fine_tuned_model) : '—'),
        el('td', {}, el('button', { type: 'button', 'aria-label': `Follow ${job.id}`, onclick: () => follow(job.id) }, 'Follow')),
      ),
    ),
  );
}

export async function refreshFinetune() {
  await Promise.all([refreshFiles(), refreshBaseModels(), refreshJobs()]);
}

/** Polls one job's events and state until it ends; following another job stops this one. */
function follow(jobId) {
  follower?.stop();
  const training = [];
  const heldOut = [];
  const list = byId('job-events');
  list.replaceChildren();
  byId('job-follow').hidden = false;
  byId('job-title').textContent = `Job ${jobId}`;
  byId('loss-chart').replaceChildren(lossChart(training, heldOut));
  // Events come newest first (OpenAI's order), `after` paging back in time: each poll reads from the
  // newest back to the first event already seen, then draws the new ones in the order they happened.
  const seen = new Set();
  let stopped = false;
  let timer;
  const readEvents = async () => {
    const fresh = [];
    for (let after; ; ) {
      const page = await getJson(`/v1/fine_tuning/jobs/${encodeURIComponent(jobId)}/events?limit=100${after ? `&after=${after}` : ''}`);
      const unseen = page.data.filter((e) => !seen.has(e.id));
      fresh.push(...unseen);
      if (!page.has_more || unseen.length < page.data.length) break;
      after = page.data.at(-1).id;
    }
    for (const e of fresh.reverse()) {
      seen.add(e.id);
      if (e.event === 'metrics' && typeof e.data?.loss === 'number') training.push({ step: e.data.step, loss: e.data.loss });
      else if (e.event === 'eval' && typeof e.data?.held_out_loss === 'number') heldOut.push({ step: e.data.step, loss: e.data.held_out_loss });
      // Per-step metrics would flood the list; the chart shows them.
      if (e.event !== 'metrics') list.append(el('li', { class: e.level }, e.message));
    }
    if (fresh.length) byId('loss-chart').replaceChildren(lossChart(training, heldOut));
  };
  const poll = async () => {
    await readEvents();
    const job = await getJson(`/v1/fine_tuning/jobs/${encodeURIComponent(jobId)}`);
    const last = training.at(-1);
    byId('job-state').textContent = `${job.status} · step ${job.flan.trained_steps} of ${job.flan.steps}${last ? ` · loss ${formatLoss(last.loss)}` : ''}${job.fine_tuned_model ? ` · ${job.fine_tuned_model}` : ''}`;
    byId('job-state').dataset.status = job.status;
    byId('job-cancel').disabled = TERMINAL.has(job.status);
    if (TERMINAL.has(job.status)) {
      // The job may have ended between reading its events and its state: its last events come now.
      await readEvents();
      await refreshJobs();
      await onFinished();
      return;
    }
    if (!stopped) timer = setTimeout(() => poll().catch((err) => say(status(), err.message, 'error')), POLL_MS);
  };
  follower = {
    jobId,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
  poll().catch((err) => say(status(), err.message, 'error'));
}

function jobRequest() {
  const value = (id) => byId(id).value.trim();
  const method = document.querySelector('input[name="job-method"]:checked').value;
  const suffix = value('job-suffix');
  return {
    model: value('job-model'),
    training_file: value('job-file'),
    ...(suffix ? { suffix } : {}),
    hyperparameters: { batch_size: Number(value('job-batch')) },
    flan: {
      method,
      steps: Number(value('job-steps')),
      learning_rate: Number(value('job-lr')),
      max_source_length: Number(value('job-source-length')),
      max_target_length: Number(value('job-target-length')),
      hot_swap: byId('job-hot-swap').checked,
    },
  };
}

export function initFinetune(finished) {
  onFinished = finished;
  byId('upload-form').addEventListener(
    'submit',
    guarded(status(), async () => {
      const file = byId('upload-file').files[0];
      if (!file) throw new Error('Choose a JSONL file first');
      say(status(), `Uploading ${file.name}…`);
      const stored = await uploadTrainingFile(file);
      await refreshFiles(stored.id);
      say(status(), `Uploaded ${stored.filename}: ${stored.examples} examples, ${stored.id}.`);
    }),
  );
  byId('job-form').addEventListener(
    'submit',
    guarded(status(), async () => {
      const job = await postJson('/v1/fine_tuning/jobs', jobRequest());
      say(status(), `Started ${job.id}.`);
      await refreshJobs();
      follow(job.id);
    }),
  );
  byId('job-cancel').addEventListener(
    'click',
    guarded(status(), async () => {
      if (!follower) return;
      const job = await postJson(`/v1/fine_tuning/jobs/${encodeURIComponent(follower.jobId)}/cancel`);
      say(status(), `Cancelling ${job.id}.`);
    }),
  );
}
