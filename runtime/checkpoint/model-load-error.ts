import { basename } from 'node:path';

/**
 * The one error a bad model directory produces: it names the file and the problem, so the CLI and the
 * server can print it as-is instead of a stack trace from deep inside a parser.
 */
export class ModelLoadError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${basename(file)}: ${problem} (${file})`);
    this.name = 'ModelLoadError';
  }
}
