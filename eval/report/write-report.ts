import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalResult } from '../run/eval-result.ts';
import { renderRunHtml } from './html-report.ts';

/** Writes result.json (every metric and per-example record) and report.html into dir; returns both paths. */
export function writeRunReport(result: EvalResult, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'result.json');
  const html = join(dir, 'report.html');
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(html, renderRunHtml(result));
  return { json, html };
}
