import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakePerspective {
  url: string;
  /** Comment texts analysed, in arrival order. */
  texts: string[];
  close(): Promise<void>;
}

/**
 * A stand-in for the Perspective API on 127.0.0.1: POST /v1alpha1/comments:analyze?key=K answered in
 * Perspective's shape with the toxicity the test assigns; a wrong key gets Perspective's 400.
 */
export async function startFakePerspective(
  key: string,
  toxicity: (text: string) => number,
  /** Answers this many requests first with 429 and Retry-After: 0, as the quota does. */
  throttleFirst = 0,
): Promise<FakePerspective> {
  const texts: string[] = [];
  let throttled = 0;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || url.pathname !== '/v1alpha1/comments:analyze') {
      res.writeHead(404).end();
      return;
    }
    if (throttled < throttleFirst) {
      throttled++;
      res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 429, message: 'Quota exceeded' } }));
      return;
    }
    if (url.searchParams.get('key') !== key) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 400, message: 'API key not valid.' } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { comment: { text: string }; requestedAttributes: Record<string, unknown> };
    if (!('TOXICITY' in body.requestedAttributes)) {
      res.writeHead(400).end();
      return;
    }
    texts.push(body.comment.text);
    const value = toxicity(body.comment.text);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        attributeScores: { TOXICITY: { spanScores: [], summaryScore: { value, type: 'PROBABILITY' } } },
        languages: ['en'],
        detectedLanguages: ['en'],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    texts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
