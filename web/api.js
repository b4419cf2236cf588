/**
 * Every call the console makes to the server. The key lives in this tab's sessionStorage only: it is
 * gone when the tab closes and is never sent anywhere but this server.
 */

const KEY_ITEM = 'flan-serve.key';

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_ITEM) ?? '',
  set: (key) => (key ? sessionStorage.setItem(KEY_ITEM, key) : sessionStorage.removeItem(KEY_ITEM)),
};

const authHeaders = () => {
  const key = apiKey.get();
  return key ? { authorization: `Bearer ${key}` } : {};
};

/** An error the server sent in OpenAI's shape, with its code kept for the caller. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error.code ?? null;
  }
}

async function request(method, path, { json, form } = {}) {
  const headers = { ...authHeaders(), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) };
  const body = json !== undefined ? JSON.stringify(json) : form;
  const response = await fetch(path, { method, headers, body });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  return response;
}

export const getJson = async (path) => (await request('GET', path)).json();
export const postJson = async (path, json = {}) => (await request('POST', path, { json })).json();
/** An HTML page the server renders (eval reports), fetched with the key so it can be shown inline. */
export const getText = async (path) => (await request('GET', path)).text();

/** OpenAI's files API: a JSONL file for finetuning. */
export function uploadTrainingFile(file) {
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append('file', file, file.name);
  return request('POST', '/v1/files', { form }).then((r) => r.json());
}

/**
 * A streamed chat completion: calls onChunk with each server-sent event's JSON until [DONE]. An error
 * event after the stream began is thrown.
 */
export async function streamChatCompletion(body, onChunk, signal) {
  const headers = { ...authHeaders(), 'content-type': 'application/json' };
  const response = await fetch('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }), signal });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let end;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (data === '[DONE]') return;
      if (!data) continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(500, chunk);
      onChunk(chunk);
    }
  }
}

/**
 * The websocket chat. Browsers cannot set headers on an upgrade, so a key travels as the subprotocol
 * `openai-insecure-api-key.<key>` (as OpenAI's realtime API takes it); without a key the socket relies
 * on the server's keyless loopback mode.
 */
export function openChatSocket() {
  const url = new URL('/v1/chat/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = apiKey.get();
  return key ? new WebSocket(url, [`openai-insecure-api-key.${key}`]) : new WebSocket(url);
}
