import { existsSync, readFileSync } from 'node:fs';

/**
 * docs/benchmarks.md holds the search benchmark (rewritten whole by `npm run bench`) and
 * sections other benchmarks own (e.g. `npm run bench:stt`), fenced by HTML comments so
 * each run replaces only its own part and keeps the others.
 */

const begin = (name: string) => `<!-- section:${name} begin -->`;
const end = (name: string) => `<!-- section:${name} end -->`;
const SECTION_RE = /<!-- section:([\w-]+) begin -->[\s\S]*?<!-- section:\1 end -->/g;

/** `doc` with section `name` set to `body` (in place, or appended). */
export function setSection(doc: string, name: string, body: string): string {
  const block = `${begin(name)}\n${body.trim()}\n${end(name)}`;
  const re = new RegExp(`${begin(name)}[\\s\\S]*?${end(name)}`);
  if (re.test(doc)) return doc.replace(re, () => block);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

/** `markdown` (a freshly rendered file) plus the fenced sections of the file at `file` it lacks. */
export function keepSections(file: string, markdown: string): string {
  if (!existsSync(file)) return markdown;
  let out = markdown;
  for (const m of readFileSync(file, 'utf8').matchAll(SECTION_RE)) {
    if (!out.includes(begin(m[1]!))) out = `${out.trimEnd()}\n\n${m[0]}\n`;
  }
  return out;
}
