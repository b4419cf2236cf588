/** The console's entry point: the key, the section tabs, and each section's first load. */
import { apiKey } from './api.js';
import { byId, say } from './dom.js';
import { initEvals, refreshEvals } from './evals.js';
import { initFinetune, refreshFinetune } from './finetune.js';
import { initModels, onServedModelChange, refreshModels } from './models.js';
import { dropSocket, initPlayground, loadModels } from './playground.js';

const refreshers = {
  playground: loadModels,
  models: refreshModels,
  finetune: refreshFinetune,
  evals: refreshEvals,
};

async function refresh(section) {
  try {
    await refreshers[section]();
  } catch (err) {
    const line = byId(section).querySelector('.status') ?? byId('server-status');
    say(line, err.status === 401 || err.status === 403 ? `${err.message} (set the key above)` : err.message, 'error');
  }
}

/** Tabs as the ARIA pattern has them: one tab stop, arrow keys move between tabs. */
function initTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab) => {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute('aria-selected', String(selected));
      t.tabIndex = selected ? 0 : -1;
      byId(t.getAttribute('aria-controls')).hidden = !selected;
    }
    history.replaceState(null, '', `#${tab.getAttribute('aria-controls')}`);
    void refresh(tab.getAttribute('aria-controls'));
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      const target = step ? tabs[(i + step + tabs.length) % tabs.length] : { Home: tabs[0], End: tabs.at(-1) }[e.key];
      if (!target) return;
      e.preventDefault();
      target.focus();
      select(target);
    });
  });
  select(tabs.find((t) => `#${t.getAttribute('aria-controls')}` === location.hash) ?? tabs[0]);
}

async function showServerStatus() {
  const line = byId('server-status');
  const ready = await fetch('/readyz').then((r) => r.json()).catch(() => null);
  say(line, ready?.status === 'ready' ? `Serving ${ready.model}` : 'The server is not ready yet', ready?.status === 'ready' ? 'info' : 'error');
}

function initKey() {
  const input = byId('key-input');
  input.value = apiKey.get();
  const current = () => document.querySelector('[role="tab"][aria-selected="true"]').getAttribute('aria-controls');
  byId('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey.set(input.value.trim());
    dropSocket();
    say(byId('server-status'), input.value.trim() ? 'Key kept for this tab.' : 'No key: keyless mode.');
    void refresh(current());
  });
  byId('key-forget').addEventListener('click', () => {
    input.value = '';
    apiKey.set('');
    dropSocket();
    say(byId('server-status'), 'Key forgotten.');
  });
}

initKey();
initPlayground();
initModels();
// A finished job may have been hot-swapped in.
initFinetune(async () => {
  await refreshModels();
  await loadModels();
  await showServerStatus();
});
onServedModelChange(loadModels);
onServedModelChange(showServerStatus);
initEvals();
initTabs();
void showServerStatus();
