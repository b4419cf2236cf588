import WebSocket from 'ws';

// Messages are queued from the moment the socket opens, so none is lost between two awaits.
const queues = new WeakMap<WebSocket, { messages: unknown[]; waiters: ((m: unknown) => void)[] }>();

/** Opens a websocket to an http:// URL, with a bearer key when given; resolves once open (after the server's ready message is queued). */
export async function openSocket(httpUrl: string, key?: string, maxPayload?: number): Promise<WebSocket> {
  const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...(maxPayload ? { maxPayload } : {}),
  });
  const queue = { messages: [] as unknown[], waiters: [] as ((m: unknown) => void)[] };
  queues.set(socket, queue);
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    const waiter = queue.waiters.shift();
    if (waiter) waiter(message);
    else queue.messages.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const ready = (await nextMessage(socket)) as { type: string };
  if (ready.type !== 'ready') throw new Error(`expected a ready message first, got ${JSON.stringify(ready)}`);
  return socket;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test code reads the protocol's fields freely
export function nextMessage(socket: WebSocket): Promise<any> {
  const queue = queues.get(socket);
  if (!queue) throw new Error('open the socket with openSocket');
  if (queue.messages.length > 0) return Promise.resolve(queue.messages.shift());
  return new Promise((resolve) => queue.waiters.push(resolve));
}
