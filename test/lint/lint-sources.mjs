// Lints in-memory sources with the project's eslint.config.mjs and prints the messages as
// JSON. Its own process because ESLint loads its flat config with import(), which jest's
// CommonJS module sandbox refuses. stdin: [{ filePath, code }]; stdout: [{ filePath, messages }].
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import process from 'node:process';

const cases = JSON.parse(readFileSync(0, 'utf8'));
const eslint = new ESLint({ cwd: process.cwd() });
const results = [];
for (const { filePath, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push({
    filePath,
    messages: (result?.messages ?? []).map(({ ruleId, message, line }) => ({ ruleId, message, line })),
  });
}
process.stdout.write(JSON.stringify(results));
