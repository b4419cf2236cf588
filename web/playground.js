/**
 * Playground: a conversation over the websocket chat, streamed as it is generated. Self-consistency
 * questions go to /v1/chat/completions instead, whose stream keeps each sample apart; they stand alone
 * (their vote is about one question), outside the conversation's history.
 */
import { getJson, openChatSocket, streamChatCompletion } from './api.js';
import { tallyChart } from './charts.js';
import { byId, el, say } from './dom.js';

const status = () => byId('chat-status');
/** Finished turns, as the server's chat template sees them; HTTP turns send them along. */
let history = [];
let socket;
let socketModel;
/** Whether the socket's own history (kept server-side) still equals `history`. */
let socketInSync = true;
/** The running turn: how to stop it. */
let running;
/** Until the user picks a model, the picker follows the socket's. */
let pickedByUser = false;

const number = (id) => (byId(id).value === '' ? undefined : Number(byId(id).value));

function sampling() {
  const temperature = number('temperature');
  const topP = number('top-p');
  return {
    max_tokens: number('max-tokens'),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topP !== undefined && topP < 1 ? { top_p: topP } : {}),
    ...(number('seed') !== undefined ? { seed: number('seed') } : {}),
  };
}

function flanRequest() {
  const flan = {};
  if (byId('cot').checked) flan.chain_of_thought = { mode: 'zero-shot' };
  if (byId('sc').checked) flan.self_consistency = { samples: number('sc-samples') ?? 5, temperature: number('sc-temperature') ?? 0.7 };
  return Object.keys(flan).length ? flan : undefined;
}

/** Keeps the newest text in view as it streams in. */
function scrollToEnd() {
  const transcript = byId('transcript');
  transcript.scrollTop = transcript.scrollHeight;
}

function addTurn(role, ...content) {
  const node = el('div', { class: `turn ${role}` }, el('span', { class: 'who' }, role === 'user' ? 'You' : 'Model'), ...content);
  byId('transcript').append(node);
  scrollToEnd();
  return node;
}

function setRunning(turn) {
  running = turn;
  byId('chat-send').disabled = Boolean(turn);
  byId('chat-stop').disabled = !turn;
}

/** The models /v1/models lists, the socket's own first. */
export async function loadModels() {
  const picker = byId('model-picker');
  const previous = picker.value;
  const { data } = await getJson('/v1/models');
  picker.replaceChildren(...data.map((m) => el('option', { value: m.id }, m.id)));
  picker.value = data.some((m) => m.id === previous) ? previous : (socketModel ?? data[0]?.id ?? '');
  noteTransport();
}

function noteTransport() {
  const picked = byId('model-picker').value || socketModel;
  byId('model-note').textContent = `Chat streams over the websocket${picked ? ` from ${picked}` : ''}.`;
}

/** A new key applies to the next socket: this one closes, and the next turn opens another. */
export function dropSocket() {
  const ws = socket;
  socket = undefined;
  ws?.close();
}

function connect() {
  return new Promise((resolve, reject) => {
    const ws = openChatSocket();
    ws.addEventListener('message', (e) => onSocketMessage(JSON.parse(e.data)));
    ws.addEventListener('close', (e) => {
      if (socket === ws) socket = undefined;
      running?.fail?.(`The connection closed (${e.code})`);
      reject(new Error('Could not open the chat websocket: is the key right?'));
    });
    ws.addEventListener('open', () => {
      socket = ws;
      // The server starts every socket with an empty history.
      socketInSync = history.length === 0;
      resolve(ws);
    });
  });
}

function onSocketMessage(message) {
  if (message.type === 'ready') {
    socketModel = message.model;
    const picker = byId('model-picker');
    if (!pickedByUser && [...picker.options].some((o) => o.value === socketModel)) picker.value = socketModel;
    noteTransport();
  } else if (message.type === 'delta') running?.append(message.text);
  else if (message.type === 'done') running?.finish(message);
  else if (message.type === 'error') {
    if (running) running.fail(message.error.message);
    else say(status(), message.error.message, 'error');
  }
}

function cotAnswer(node, flan) {
  const answer = flan?.prompts?.[0]?.answers?.[0];
  if (answer) node.append(el('p', { class: 'answer' }, 'Answer: ', el('strong', {}, answer)));
}

/** A turn over the websocket: its history is the server's, mirrored in `history`. */
function socketTurn(ws, content, system) {
  const text = el('p', { class: 'text streaming' });
  const node = addTurn('assistant', text);
  const user = { role: 'user', content };
  setRunning({
    append: (delta) => {
      text.append(delta);
      scrollToEnd();
    },
    finish: (done) => {
      text.textContent = done.text;
      text.classList.remove('streaming');
      cotAnswer(node, done.flan);
      node.append(el('p', { class: 'meta' }, `${done.finish_reason} · ${done.usage.completion_tokens} tokens`));
      if (done.finish_reason !== 'cancelled') history.push(user, { role: 'assistant', content: done.text });
      scrollToEnd();
      setRunning(undefined);
      say(status(), 'Done.');
    },
    fail: (message) => {
      text.classList.remove('streaming');
      node.append(el('p', { class: 'error' }, message));
      setRunning(undefined);
    },
    stop: () => ws.send(JSON.stringify({ type: 'cancel' })),
  });
  const flan = flanRequest();
  const model = byId('model-picker').value;
  ws.send(JSON.stringify({ type: 'start', content, ...(model ? { model } : {}), ...(system ? { system } : {}), ...sampling(), ...(flan ? { flan } : {}) }));
}

/** A turn over HTTP, streamed: one text per sample, and the vote when self-consistency is on. */
async function httpTurn(content, system) {
  const flan = flanRequest();
  const standalone = Boolean(flan?.self_consistency);
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...(standalone ? [] : history), { role: 'user', content }];
  const samples = flan?.self_consistency?.samples ?? 1;
  const texts = Array.from({ length: samples }, () => el('p', { class: 'text streaming' }));
  const body = standalone
    ? el('div', { class: 'samples' }, texts.map((t, i) => el('details', { class: 'sample', open: i === 0 }, el('summary', {}, `Sample ${i + 1}`), t)))
    : texts[0];
  const node = addTurn('assistant', standalone ? el('p', { class: 'meta' }, `Self-consistency over ${samples} samples`) : undefined, body);
  const controller = new AbortController();
  setRunning({ stop: () => controller.abort() });
  let finalFlan;
  try {
    await streamChatCompletion(
      { model: byId('model-picker').value, messages, ...sampling(), ...(flan ? { flan } : {}) },
      (chunk) => {
        for (const choice of chunk.choices) if (choice.delta?.content) texts[choice.index].append(choice.delta.content);
        if (chunk.flan) finalFlan = chunk.flan;
        scrollToEnd();
      },
      controller.signal,
    );
    if (standalone) showVote(node, texts, finalFlan, samples);
    else {
      cotAnswer(node, finalFlan);
      history.push({ role: 'user', content }, { role: 'assistant', content: texts[0].textContent });
      socketInSync = false;
    }
    say(status(), 'Done.');
  } catch (err) {
    node.append(el('p', { class: 'error' }, controller.signal.aborted ? 'Stopped.' : err.message));
  } finally {
    texts.forEach((t) => t.classList.remove('streaming'));
    scrollToEnd();
    setRunning(undefined);
  }
}

function showVote(node, texts, flan, samples) {
  const outcome = flan?.prompts?.[0];
  outcome?.answers.forEach((answer, i) => {
    texts[i].parentElement.querySelector('summary').textContent = `Sample ${i + 1}: ${answer ?? 'no answer'}`;
  });
  const vote = outcome?.vote;
  if (!vote) {
    node.append(el('p', { class: 'answer' }, 'No sample gave an answer to vote on.'));
    return;
  }
  node.append(
    el('p', { class: 'answer' }, 'Majority answer: ', el('strong', {}, vote.answer), ` (${Math.round(vote.share * 100)}% of samples)`),
    el('figure', { class: 'tally' }, tallyChart(vote.tally, vote.answer, samples), el('figcaption', {}, 'Votes per extracted answer')),
  );
}

async function send() {
  const input = byId('chat-input');
  const content = input.value.trim();
  if (!content || running) return;
  const system = byId('system').value.trim();
  input.value = '';
  addTurn('user', el('p', { class: 'text' }, content));
  say(status(), 'Generating…');
  const viaSocket = !byId('sc').checked && socketInSync;
  if (viaSocket) {
    const ws = socket ?? (await connect().catch(() => undefined));
    if (ws) return socketTurn(ws, content, system);
    // A server that takes keys but not yet in the subprotocol refuses the socket; HTTP takes the header.
    say(status(), 'The websocket was refused; chatting over HTTP instead.');
  }
  await httpTurn(content, system);
}

export function initPlayground() {
  const fail = (err) => say(status(), err.message, 'error');
  byId('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    send().catch(fail);
  });
  byId('chat-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      byId('chat-form').requestSubmit();
    }
  });
  byId('chat-stop').addEventListener('click', () => running?.stop());
  byId('chat-reset').addEventListener('click', () => {
    history = [];
    socket?.send(JSON.stringify({ type: 'reset' }));
    socketInSync = true;
    byId('transcript').replaceChildren();
    say(status(), 'New conversation.');
  });
  // Self-consistency votes over chain-of-thought answers, so it turns the trigger on with it.
  byId('sc').addEventListener('change', (e) => {
    if (e.target.checked) byId('cot').checked = true;
  });
  byId('model-picker').addEventListener('change', () => {
    pickedByUser = true;
    noteTransport();
  });
  connect().catch(fail);
}
