import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { DataFormatError, parseInstructionJsonl } from '../../finetune/data/instruction-example.ts';
import { ApiError, badRequest } from '../api-error.ts';
import type { FileStore } from '../file-store.ts';
import { pageOf, pageQuery } from '../page-query.ts';
import { routeSchema } from '../openapi-spec.ts';
import type { ServerContext } from '../server-context.ts';

/** Uploads are finetuning data, far larger than a JSON request may be. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

const fileNotFound = (id: string) => new ApiError(404, 'invalid_request_error', `No such File object: ${id}`, 'file_not_found', 'file_id');

/** The `file` and `purpose` fields of a multipart body, read by the platform's own form parser. */
async function readUpload(request: FastifyRequest): Promise<{ filename: string; content: Buffer }> {
  if (!Buffer.isBuffer(request.body)) throw badRequest('Upload the file as multipart/form-data with fields file and purpose', null, 'invalid_media_type');
  let form: FormData;
  try {
    form = await new Response(request.body, { headers: { 'content-type': String(request.headers['content-type']) } }).formData();
  } catch (err) {
    throw badRequest(`The multipart body could not be parsed: ${(err as Error).message}`, null, 'invalid_multipart');
  }
  const purpose = form.get('purpose');
  if (purpose === null) throw badRequest("Missing required parameter: 'purpose'", 'purpose', 'missing_required_parameter');
  if (purpose !== 'fine-tune') throw badRequest(`purpose must be 'fine-tune', not '${String(purpose)}'`, 'purpose');
  const file = form.get('file');
  if (file === null) throw badRequest("Missing required parameter: 'file'", 'file', 'missing_required_parameter');
  if (typeof file === 'string') throw badRequest('file must be a file part, not a text field', 'file');
  return { filename: file.name || 'upload.jsonl', content: Buffer.from(await file.arrayBuffer()) };
}

/** OpenAI's files API for finetuning data: every line is checked before the file is stored. */
export async function fileRoutes(
  app: FastifyInstance,
  opts: { ctx: ServerContext; files: FileStore; /** Whether a queued or running job trains on the file. */ inUse(id: string): boolean },
): Promise<void> {
  const { files } = opts;
  const onRequest = opts.ctx.auth('admin');
  // Encapsulated in this plugin: other routes still take JSON only.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES }, (_request, body, done) => done(null, body));

  app.post('/v1/files', { schema: routeSchema('post', '/v1/files'), onRequest }, async (request) => {
    const { filename, content } = await readUpload(request);
    let examples: number;
    try {
      examples = parseInstructionJsonl(content.toString('utf8'), filename).length;
    } catch (err) {
      if (err instanceof DataFormatError) throw badRequest(err.message, 'file', 'invalid_file');
      throw err;
    }
    const stored = files.save(filename, content, examples);
    request.log.info({ file: stored.id, bytes: stored.bytes, examples }, 'file uploaded');
    return stored;
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
