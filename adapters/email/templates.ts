import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Email templates are plain files in `templates/email/`: `<name>.subject.txt`,
 * `<name>.txt` and `<name>.html`, with `{{variable}}` placeholders. Rendering is strict: a
 * placeholder without a value, a malformed placeholder or a value no part uses throws, so a
 * template bug fails the send instead of mailing a half-rendered message.
 */

export const EMAIL_TEMPLATES_DIR = path.join(__dirname, '..', '..', 'templates', 'email');

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export type TemplateVars = Record<string, string | number>;

export class EmailTemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmailTemplateError';
  }
}

const TEMPLATE_NAME = /^[a-z0-9-]+$/;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const VARIABLE_NAME = /^[a-z][a-z0-9_]*$/;

interface TemplateSource {
  subject: string;
  text: string;
  html: string;
}

const cache = new Map<string, Promise<TemplateSource>>();

export async function renderEmail(
  name: string,
  vars: TemplateVars,
  opts: { dir?: string } = {},
): Promise<RenderedEmail> {
  if (!TEMPLATE_NAME.test(name)) throw new EmailTemplateError(`Invalid email template name: ${JSON.stringify(name)}`);
  const source = await loadTemplate(opts.dir ?? EMAIL_TEMPLATES_DIR, name);
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(vars)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new EmailTemplateError(`Email template ${name}: variable ${key} is not a finite number`);
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new EmailTemplateError(`Email template ${name}: variable ${key} must be a string or a number`);
    }
    values.set(key, String(value));
  }

  const fill = (part: keyof TemplateSource, escape: (value: string) => string): string =>
    substitute(name, part, source[part], values, escape);
  const subject = fill('subject', (value) => value).trim();
  const text = fill('text', (value) => value);
  const html = fill('html', escapeHtml);

  if (/[\r\n]/.test(subject)) throw new EmailTemplateError(`Email template ${name}: the subject spans several lines`);
  if (!subject) throw new EmailTemplateError(`Email template ${name}: the subject is empty`);
  return { subject, text, html };
}

function substitute(
  name: string,
  part: string,
  template: string,
  values: Map<string, string>,
  escape: (value: string) => string,
): string {
  // Checked on the template itself, so a `{{` inside a value is just text.
  const leftover = template.replace(PLACEHOLDER, '');
  if (leftover.includes('{{') || leftover.includes('}}')) {
    throw new EmailTemplateError(`Email template ${name} (${part}) has a malformed placeholder`);
  }
  return template.replace(PLACEHOLDER, (_match, variable: string) => {
    if (!VARIABLE_NAME.test(variable)) {
      throw new EmailTemplateError(`Email template ${name} (${part}) has an unknown placeholder {{${variable}}}`);
    }
    const value = values.get(variable);
    if (value === undefined) {
      throw new EmailTemplateError(`Email template ${name} (${part}) needs variable ${variable}`);
    }
    return escape(value);
  });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

function loadTemplate(dir: string, name: string): Promise<TemplateSource> {
  const cacheKey = path.join(dir, name);
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const read = (suffix: string): Promise<string> => readFile(path.join(dir, `${name}${suffix}`), 'utf8');
  const loading = Promise.all([read('.subject.txt'), read('.txt'), read('.html')]).then(
    ([subject, text, html]) => ({ subject, text, html }),
    (err: NodeJS.ErrnoException) => {
      // Not cached: a template added later, or a passing I/O error, is picked up next time.
      cache.delete(cacheKey);
      if (err.code === 'ENOENT') throw new EmailTemplateError(`Unknown email template: ${name}`, { cause: err });
      throw err;
    },
  );
  cache.set(cacheKey, loading);
  return loading;
}
