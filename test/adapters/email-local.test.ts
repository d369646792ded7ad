import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalEmailSender } from '../../adapters/email/local';
import { readOutbox } from '../support/outbox';
import { EmailPermanentError, type EmailMessage } from '../../adapters/email/port';

const FROM = 'RealtyForYou <no-reply@realtyforyou.com>';

function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return {
    to: 'jane@example.com',
    subject: 'Your RealtyForYou password reset code',
    text: 'Hi Jane,\n\nYour reset code is: 123456\n',
    html: '<p>Hi Jane,</p>\n<p>Your reset code is: <strong>123456</strong></p>\n',
    idempotencyKey: 'password-reset:user-1:attempt-1',
    ...overrides,
  };
}

describe('LocalEmailSender', () => {
  let outboxDir: string;

  beforeEach(() => {
    outboxDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-email-')), 'outbox');
  });

  afterEach(() => {
    fs.rmSync(path.dirname(outboxDir), { recursive: true, force: true });
  });

  it('when a message is sent, then readOutbox returns its recipient, subject, bodies and idempotency key', async () => {
    const lines: Array<{ obj: object; msg: string }> = [];
    const sender = new LocalEmailSender({ outboxDir, logger: { info: (obj, msg) => lines.push({ obj, msg }) } });
    const { messageId } = await sender.send(FROM, message());

    const [sent, ...rest] = await readOutbox(outboxDir);
    expect(rest).toHaveLength(0);
    expect(sent).toMatchObject({
      from: FROM,
      to: 'jane@example.com',
      subject: 'Your RealtyForYou password reset code',
      idempotencyKey: 'password-reset:user-1:attempt-1',
      messageId,
      text: 'Hi Jane,\n\nYour reset code is: 123456\n',
      html: '<p>Hi Jane,</p>\n<p>Your reset code is: <strong>123456</strong></p>\n',
      attachments: [],
    });
    expect(messageId).toMatch(/^<[0-9a-f]{32}@realtyforyou\.local>$/);
    expect(sent?.file).toMatch(/^\d{4}-\d{2}-\d{2}T[\d-]+Z-[0-9a-f]{24}\.eml$/);
    expect(new Date(sent?.date ?? '').getTime()).not.toBeNaN();
    expect(sent?.raw).toContain('MIME-Version: 1.0\r\n');
    expect(sent?.raw).toMatch(/Content-Type: multipart\/alternative;\r\n boundary="/);
    expect(sent?.raw).not.toMatch(/multipart\/mixed/);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.obj).toMatchObject({ messageId, to: 'jane@example.com' });
  });

  it('when the subject, name and bodies are not ASCII, then they are encoded and decode back unchanged', async () => {
    const sender = new LocalEmailSender({ outboxDir });
    const subject = 'Réinitialisation du mot de passe — 東京のお部屋 🏠 ' + 'très longue '.repeat(8);
    const text = `Bonjour Zoë,\n  indented line with trailing space \nlast line without newline=${'é'.repeat(120)}`;
    const html = `<p>Grüße aus München</p>\n<p>${'x'.repeat(200)}</p>`;
    await sender.send(FROM, message({ to: 'Zoë Müller <zoe@example.com>', subject, text, html, idempotencyKey: 'k-ü-1' }));

    const [sent] = await readOutbox(outboxDir);
    expect(sent?.subject).toBe(subject);
    expect(sent?.to).toBe('Zoë Müller <zoe@example.com>');
    expect(sent?.text).toBe(text);
    expect(sent?.html).toBe(html);
    expect(sent?.idempotencyKey).toBe('k-ü-1');
    // On the wire: encoded-words, quoted-printable, every line 7-bit and short.
    expect(sent?.raw).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(sent?.raw).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(sent?.raw).not.toMatch(/[^\r\n\x20-\x7e]/);
    for (const line of (sent?.raw ?? '').split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    const bodyLines = (sent?.raw ?? '').split('\r\n\r\n').slice(1).join('\r\n\r\n').split('\r\n');
    for (const line of bodyLines) expect(line.length).toBeLessThanOrEqual(76);
  });

  it('when the same idempotency key is sent twice, then one file exists and the same messageId is returned', async () => {
    const sender = new LocalEmailSender({ outboxDir });
    const first = await sender.send(FROM, message());
    const second = await sender.send(FROM, message({ subject: 'A retry that must not be written' }));
    const third = await new LocalEmailSender({ outboxDir }).send(FROM, message());
    expect(second.messageId).toBe(first.messageId);
    expect(third.messageId).toBe(first.messageId);
    const files = fs.readdirSync(outboxDir);
    expect(files).toHaveLength(1);
    expect((await readOutbox(outboxDir))[0]?.subject).toBe('Your RealtyForYou password reset code');
  });

  it('when the same key is sent concurrently, then still only one file is written', async () => {
    const sender = new LocalEmailSender({ outboxDir });
    const results = await Promise.all([sender.send(FROM, message()), sender.send(FROM, message())]);
    expect(results[0].messageId).toBe(results[1].messageId);
    expect(fs.readdirSync(outboxDir)).toHaveLength(1);
  });

  it('when two keys are sent, then two files with different message ids are written', async () => {
    const sender = new LocalEmailSender({ outboxDir });
    const a = await sender.send(FROM, message({ idempotencyKey: 'welcome:1' }));
    const b = await sender.send(FROM, message({ idempotencyKey: 'welcome:2' }));
    expect(a.messageId).not.toBe(b.messageId);
    const sent = await readOutbox(outboxDir);
    expect(sent.map((m) => m.idempotencyKey).sort()).toEqual(['welcome:1', 'welcome:2']);
  });

  it('when an ICS invite is attached, then it is a base64 MIME part with its content type and filename', async () => {
    const ics = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//RealtyForYou//Tours//EN',
      'METHOD:REQUEST',
      'BEGIN:VEVENT',
      'UID:tour-42@realtyforyou.local',
      'SUMMARY:Visite — 12 rue de la Paix',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const sender = new LocalEmailSender({ outboxDir });
    await sender.send(
      FROM,
      message({
        idempotencyKey: 'tour-invite:42',
        attachments: [{ filename: 'invite.ics', contentType: 'text/calendar; method=REQUEST', content: Buffer.from(ics) }],
      }),
    );

    const [sent] = await readOutbox(outboxDir);
    expect(sent?.text).toContain('123456');
    expect(sent?.html).toContain('<strong>123456</strong>');
    expect(sent?.attachments).toHaveLength(1);
    const [invite] = sent?.attachments ?? [];
    expect(invite?.filename).toBe('invite.ics');
    expect(invite?.contentType).toMatch(/^text\/calendar; method=REQUEST/);
    expect(invite?.content.toString('utf8')).toBe(ics);
    expect(sent?.raw).toMatch(/Content-Type: multipart\/mixed;\r\n boundary="/);
    expect(sent?.raw).toMatch(/Content-Type: text\/calendar; method=REQUEST; charset=UTF-8; name="invite\.ics"\r\n/);
    expect(sent?.raw).toContain('Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="invite.ics"\r\n');
  });

  it('when the file is written, then every line ends with CRLF and there is no bare LF or CR', async () => {
    await new LocalEmailSender({ outboxDir }).send(FROM, message({ text: 'one\ntwo\r\nthree\rfour' }));
    const [file] = fs.readdirSync(outboxDir);
    const raw = fs.readFileSync(path.join(outboxDir, file ?? ''), 'utf8');
    expect(raw.endsWith('\r\n')).toBe(true);
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(raw).not.toMatch(/\r[^\n]/);
    expect(raw).toMatch(/\r\n\r\n/);
    expect(raw).toMatch(/^From: RealtyForYou <no-reply@realtyforyou\.com>\r\nTo: jane@example\.com\r\n/);
    expect(raw).toMatch(/\r\nMessage-ID: <[0-9a-f]{32}@realtyforyou\.local>\r\n/);
    expect(raw).toMatch(/\r\nX-Idempotency-Key: password-reset:user-1:attempt-1\r\n/);
    expect(raw).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r\n/);
  });

  it.each([
    ['a recipient with a line break', { to: 'jane@example.com\r\nBcc: all@example.com' }],
    ['a recipient without an address', { to: 'Jane' }],
    ['a subject with a line break', { subject: 'Hello\r\nBcc: all@example.com' }],
    ['an attachment with a bad content type', { attachments: [{ filename: 'a.ics', contentType: 'text/calendar\r\nX: y', content: Buffer.from('') }] }],
  ] as Array<[string, Partial<EmailMessage>]>)('when the message has %s, then it fails permanently and nothing is written', async (_what, overrides) => {
    const sender = new LocalEmailSender({ outboxDir });
    await expect(sender.send(FROM, message(overrides))).rejects.toBeInstanceOf(EmailPermanentError);
    expect(await readOutbox(outboxDir)).toEqual([]);
  });
});
