import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { documentForRole, parseFuzzArgs, ROLES } from '../../scripts/fuzz';

/**
 * `npm run fuzz` as CI runs it: Schemathesis with `--checks all` against the embedded stack,
 * once per role, with a fixed seed and a small budget, must find nothing. A run that tests
 * fewer operations than the role may call fails too, so it cannot pass by testing nothing.
 */

const SEED = '20261202';
const MAX_EXAMPLES = '8';

interface JunitCase {
  name: string;
  failed: boolean;
}

function junitCases(xml: string): JunitCase[] {
  return [...xml.matchAll(/<testcase\b[^>]*\bname="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>'),
    failed: /<(failure|error)\b/.test(m[3] ?? ''),
  }));
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/fuzz.ts', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('npm run fuzz', () => {
  const reportDir = mkdtempSync(path.join(tmpdir(), 'rfy-fuzz-test-'));

  afterAll(() => rmSync(reportDir, { recursive: true, force: true }));

  it('when the options are bad, then it says how to call it and exits 2 before starting anything', async () => {
    expect(() => parseFuzzArgs(['--role', 'landlord'])).toThrow(/landlord is not one of buyer, realtor, admin/);
    expect(() => parseFuzzArgs(['--max-examples', '0'])).toThrow(/at least 1/);
    expect(() => parseFuzzArgs(['--seed', '1e3'])).toThrow(/whole number/);
    expect(parseFuzzArgs(['--seed', '7', '--role', 'admin', '--', '--max-failures', '3'])).toMatchObject({ seed: 7, roles: ['admin'], extra: ['--max-failures', '3'] });
    const res = await run(['--bogus']);
    expect(res.code).toBe(2);
    expect(res.output).toMatch(/usage: npm run fuzz/);
  });

  it('when the document is split by role, then every operation is in exactly one pass, with its role', () => {
    const op = (roles?: string[]) => ({ responses: {}, ...(roles ? { 'x-roles': roles } : {}) });
    const doc = {
      openapi: '3.1.0',
      paths: {
        '/api/v1/auth/login': { post: op() },
        '/api/v1/auth/me': { get: op(), put: op() },
        '/api/v1/buyers/bookings': { get: op(['buyer']), post: op(['buyer']) },
        '/api/v1/realtors/tours/{id}': { parameters: [], get: op(['realtor']) },
        '/api/v1/admin/users': { get: op(['admin']) },
      },
    };
    const passes = ROLES.map((role) => documentForRole(doc, role).operations);
    expect(passes).toEqual([
      ['POST /api/v1/auth/login', 'GET /api/v1/auth/me', 'PUT /api/v1/auth/me', 'GET /api/v1/buyers/bookings', 'POST /api/v1/buyers/bookings'],
      ['GET /api/v1/realtors/tours/{id}'],
      ['GET /api/v1/admin/users'],
    ]);
    const realtor = documentForRole(doc, 'realtor').document as { paths: Record<string, object> };
    expect(Object.keys(realtor.paths)).toEqual(['/api/v1/realtors/tours/{id}']);
    expect(realtor.paths['/api/v1/realtors/tours/{id}']).toHaveProperty('parameters');
  });

  it('when Schemathesis runs every check against the embedded stack as each role, then it finds nothing in any operation', async () => {
    const res = await run(['--seed', SEED, '--max-examples', MAX_EXAMPLES, '--report-dir', reportDir]);
    expect({ code: res.code, output: res.code === 0 ? '' : res.output.slice(-30_000) }).toEqual({ code: 0, output: '' });
    for (const role of ROLES) {
      const { operations } = documentForRole(JSON.parse(readFileSync(path.join(reportDir, role, 'openapi.json'), 'utf8')) as Record<string, unknown>, role);
      expect(operations.length).toBeGreaterThan(10);
      const cases = junitCases(readFileSync(path.join(reportDir, role, 'junit.xml'), 'utf8'));
      const tested = new Set(cases.map((c) => c.name));
      expect({ role, untested: operations.filter((o) => !tested.has(o)) }).toEqual({ role, untested: [] });
      expect({ role, failed: cases.filter((c) => c.failed).map((c) => c.name) }).toEqual({ role, failed: [] });
    }
  }, 15 * 60_000);
});
