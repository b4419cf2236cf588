import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import { checkJsonlOffThread } from '../../finetune/data/check-jsonl-off-thread.ts';
import { DataFormatError } from '../../finetune/data/instruction-example.ts';
import { ApiError, badRequest } from '../api-error.ts';
import type { FileStore } from '../file-store.ts';
import { pageOf, pageQuery } from '../page-query.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

/** Uploads are finetuning data, far larger than a JSON request may be. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

const fileNotFound = (id: string) => new ApiError(404, 'invalid_request_error', `No such File object: ${id}`, 'file_not_found', 'file_id');

/**
 * Streams a multipart upload's `file` part to `staging` on disk (never whole in memory) and returns its
 * name; `purpose` is checked too. @fastify/multipart (busboy) parses the form.
 */
async function receiveUpload(request: FastifyRequest, staging: string): Promise<string> {
  if (!request.isMultipart()) throw badRequest('Upload the file as multipart/form-data with fields file and purpose', null, 'invalid_media_type');
  let purpose: unknown;
  let filename: string | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      if (part.fieldname === 'purpose') purpose = part.value;
    } else if (part.fieldname === 'file' && filename === undefined) {
      await pipeline(part.file, createWriteStream(staging));
      filename = part.filename || 'upload.jsonl';
    } else {
      part.file.resume();
    }
  }
  if (purpose === undefined) throw badRequest("Missing required parameter: 'purpose'", 'purpose', 'missing_required_parameter');
  if (purpose !== 'fine-tune') throw badRequest(`purpose must be 'fine-tune', not '${String(purpose)}'`, 'purpose');
  if (filename === undefined) throw badRequest("Missing required parameter: 'file'", 'file', 'missing_required_parameter');
  return filename;
}

/** OpenAI's files API for finetuning data: every line is checked before the file is stored. */
export async function fileRoutes(
  app: FastifyInstance,
  opts: { ctx: ServerContext; files: FileStore; /** Whether a queued or running job trains on the file. */ inUse(id: string): boolean },
): Promise<void> {
  const { files } = opts;
  const onRequest = opts.ctx.auth('admin');
  // Encapsulated in this plugin: other routes still take JSON only.
  await app.register(multipart, { limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 4, parts: 8 } });

  app.post('/v1/files', { schema: routeSchema('post', '/v1/files'), onRequest }, async (request) => {
    const staging = files.stagingPath();
    try {
      const filename = await receiveUpload(request, staging);
      // Checked in a worker thread, streaming: a large or malformed file never stalls the event loop.
      const examples = await checkJsonlOffThread(staging, filename).catch((err: unknown) => {
        throw err instanceof DataFormatError ? badRequest(err.message, 'file', 'invalid_file') : err;
      });
      const stored = files.adopt(staging, filename, examples);
      request.log.info({ file: stored.id, bytes: stored.bytes, examples }, 'file uploaded');
      return stored;
    } finally {
      rmSync(staging, { force: true });
    }
  });

  app.get('/v1/files', { schema: routeSchema('get', '/v1/files'), onRequest }, async (request) => {
    return pageOf(files.list(), pageQuery(request.query), (f) => f.id);
  });

  const fileParam = (params: unknown) => (params as { file_id: string }).file_id;

  app.get('/v1/files/:file_id', { schema: routeSchema('get', '/v1/files/{file_id}'), onRequest }, async (request) => {
    const id = fileParam(request.params);
    return files.get(id) ?? Promise.reject(fileNotFound(id));
  });

  app.get('/v1/files/:file_id/content', { schema: routeSchema('get', '/v1/files/{file_id}/content'), onRequest }, async (request, reply) => {
    const id = fileParam(request.params);
    const path = files.contentPath(id);
    if (!path) throw fileNotFound(id);
    return reply.type('application/jsonl').send(createReadStream(path));
  });

  app.delete('/v1/files/:file_id', { schema: routeSchema('delete', '/v1/files/{file_id}'), onRequest }, async (request) => {
    const id = fileParam(request.params);
    if (!files.get(id)) throw fileNotFound(id);
    if (opts.inUse(id)) throw new ApiError(409, 'invalid_request_error', `File ${id} is the training file of a queued or running job`, 'file_in_use', 'file_id');
    files.delete(id);
    request.log.info({ file: id }, 'file deleted');
    return { id, object: 'file' as const, deleted: true as const };
  });
}
