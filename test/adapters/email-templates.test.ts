import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalEmailSender } from '../../adapters/email/local';
import { readOutbox } from '../support/outbox';
import { EmailTemplateError, renderEmail } from '../../adapters/email/templates';

const RESET_VARS = { full_name: 'Jane Doe', code: '482913', expires_minutes: 15 };

describe('renderEmail', () => {
  it('when password-reset is rendered, then the code and expiry are in the text and html and no placeholder is left', async () => {
    const email = await renderEmail('password-reset', RESET_VARS);
    expect(email.subject).toBe('Your RealtyForYou password reset code');
    for (const part of [email.text, email.html]) {
      expect(part).toContain('Jane Doe');
      expect(part).toContain('482913');
      expect(part).toContain('15 minutes');
      expect(part).toContain('RealtyForYou');
      expect(part).not.toMatch(/\{\{|\}\}/);
    }
    expect(email.html).toMatch(/^<!DOCTYPE html>/);
  });

  it('when welcome is rendered, then it greets the new user', async () => {
    const email = await renderEmail('welcome', { full_name: 'Sam Lee' });
    expect(email.subject).toBe('Welcome to RealtyForYou');
    expect(email.text).toMatch(/^Hi Sam Lee,/);
    expect(email.html).toContain('Hi Sam Lee,');
  });

  it('when full_name holds markup, then it is escaped in the html part only', async () => {
    const fullName = `<script>alert("x")</script> & O'Brien`;
    const email = await renderEmail('password-reset', { ...RESET_VARS, full_name: fullName });
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; O&#39;Brien');
    expect(email.text).toContain(fullName);
  });

  it('when a value looks like a placeholder, then it is inserted as text, not expanded', async () => {
    const email = await renderEmail('password-reset', { ...RESET_VARS, full_name: '{{code}}' });
    expect(email.text).toContain('Hi {{code}},');
  });

  it('when a variable is missing, then it throws instead of rendering', async () => {
    await expect(renderEmail('password-reset', { full_name: 'Jane', expires_minutes: 15 })).rejects.toThrow(
      /needs variable code/,
    );
  });

  it('when a variable is not used by the template, then it is ignored', async () => {
    const email = await renderEmail('welcome', { full_name: 'Sam', fullName: 'Other', extra: 42 });
    expect(email).toEqual(await renderEmail('welcome', { full_name: 'Sam' }));
    expect(`${email.subject}${email.text}${email.html}`).not.toMatch(/Other|42/);
  });

  it('when a number is not finite, then it throws', async () => {
    await expect(renderEmail('password-reset', { ...RESET_VARS, expires_minutes: Number.NaN })).rejects.toBeInstanceOf(
      EmailTemplateError,
    );
  });

  it.each(['../password-reset', 'Password-Reset', 'password_reset', 'password-reset.txt', '', 'a/b'])(
    'when the template name is %j, then it throws',
    async (name) => {
      await expect(renderEmail(name, RESET_VARS)).rejects.toThrow(/Invalid email template name/);
    },
  );

  it('when no template has that name, then it throws', async () => {
    await expect(renderEmail('no-such-template', {})).rejects.toThrow(/Unknown email template: no-such-template/);
  });

  describe('booking and tour templates', () => {
    const BOOKING_VARS: Record<string, Record<string, string>> = {
      'booking-request': {
        recipient_name: 'Rita Realtor',
        buyer_name: 'Bob Buyer',
        property_address: '12 Oak Street, Springfield',
        when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
        duration_minutes: '30',
        notes: 'Is the basement finished?',
      },
      'booking-confirmed': {
        recipient_name: 'Bob Buyer',
        other_party_name: 'Rita Realtor',
        property_address: '12 Oak Street, Springfield',
        when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
        duration_minutes: '45',
      },
      'booking-reminder': {
        recipient_name: 'Bob Buyer',
        other_party_name: 'Rita Realtor',
        property_address: '12 Oak Street, Springfield',
        when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
        minutes_before: '15',
      },
      'booking-rescheduled': {
        recipient_name: 'Rita Realtor',
        actor_name: 'Bob Buyer',
        property_address: '12 Oak Street, Springfield',
        old_when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
        when: 'Wed, 4 Mar 2026, 14:30 (UTC)',
      },
      'booking-declined': {
        recipient_name: 'Bob Buyer',
        realtor_name: 'Rita Realtor',
        property_address: '12 Oak Street, Springfield',
        when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
        reason: 'The property is under offer',
      },
      'booking-cancelled': {
        recipient_name: 'Rita Realtor',
        actor_name: 'Bob Buyer',
        property_address: '12 Oak Street, Springfield',
        when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
        reason: 'Found another place',
      },
      'booking-expired': {
        recipient_name: 'Bob Buyer',
        property_address: '12 Oak Street, Springfield',
        when: 'Tue, 3 Mar 2026, 10:00 (UTC)',
      },
      'tour-start': {
        recipient_name: 'Bob Buyer',
        other_party_name: 'Rita Realtor',
        property_address: '12 Oak Street, Springfield',
        join_url: 'http://localhost:3000/api/v1/buyers/calls/7/join',
        recording_notice: 'This call is being recorded.',
      },
      'tour-end': {
        recipient_name: 'Rita Realtor',
        other_party_name: 'Bob Buyer',
        property_address: '12 Oak Street, Springfield',
      },
    };

    it.each(Object.entries(BOOKING_VARS))(
      'when %s is rendered with its variables, then every variable shows and the subject is one line',
      async (name, vars) => {
        const email = await renderEmail(name, vars);
        expect(email.subject).not.toMatch(/[\r\n]/);
        expect(email.subject).toContain('12 Oak Street, Springfield');
        expect(email.html).toMatch(/^<!DOCTYPE html>/);
        for (const part of [email.text, email.html]) {
          expect(part).not.toMatch(/\{\{|\}\}/);
          expect(part).toContain('RealtyForYou');
          for (const value of Object.values(vars)) expect(part).toContain(value);
        }
        expect(email.text).toMatch(/^Hi \S/);
      },
    );

    it.each(Object.keys(BOOKING_VARS))('when %s is missing a variable, then it throws', async (name) => {
      const { property_address: _dropped, ...rest } = BOOKING_VARS[name]!;
      await expect(renderEmail(name, rest)).rejects.toThrow(/needs variable property_address/);
    });

    it.each(Object.entries(BOOKING_VARS))('when %s gets markup in every value, then the html escapes it', async (name, vars) => {
      const hostile = Object.fromEntries(Object.keys(vars).map((key) => [key, `<b>${key}</b> & "q"`]));
      const email = await renderEmail(name, hostile);
      expect(email.html).not.toMatch(/<b>/);
      for (const key of Object.keys(vars)) {
        expect(email.html).toContain(`&lt;b&gt;${key}&lt;/b&gt; &amp; &quot;q&quot;`);
        expect(email.text).toContain(`<b>${key}</b> & "q"`);
      }
    });

    it('when the same values are passed to every booking template, then the extras are ignored', async () => {
      const all = Object.assign({}, ...Object.values(BOOKING_VARS)) as Record<string, string>;
      for (const name of Object.keys(BOOKING_VARS)) await expect(renderEmail(name, all)).resolves.toBeDefined();
    });
  });

  describe('with a broken template', () => {
    let dir: string;

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-templates-'));
    });

    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const write = (name: string, subject: string, text: string, html: string): void => {
      fs.writeFileSync(path.join(dir, `${name}.subject.txt`), subject);
      fs.writeFileSync(path.join(dir, `${name}.txt`), text);
      fs.writeFileSync(path.join(dir, `${name}.html`), html);
    };

    it('when the same template folder holds a good template, then it renders (the broken cases below are real)', async () => {
      write('greeting', 'Hello {{full_name}}', 'Hi {{ full_name }}!', '<p>Hi {{full_name}}!</p>');
      await expect(renderEmail('greeting', { full_name: 'A&B' }, { dir })).resolves.toEqual({
        subject: 'Hello A&B',
        text: 'Hi A&B!',
        html: '<p>Hi A&amp;B!</p>',
      });
    });

    it('when a placeholder is not a valid variable name, then it throws', async () => {
      write('bad-placeholder', 'Hi', 'Hi {{full-name}}', '<p>Hi</p>');
      await expect(renderEmail('bad-placeholder', {}, { dir })).rejects.toThrow(/unknown placeholder \{\{full-name\}\}/);
    });

    it('when a placeholder is not closed, then it throws', async () => {
      write('unclosed', 'Hi', 'Hi {{full_name}', '<p>Hi {{full_name}}</p>');
      await expect(renderEmail('unclosed', { full_name: 'Jane' }, { dir })).rejects.toThrow(/malformed placeholder/);
    });

    it('when the subject would span two lines, then it throws', async () => {
      write('two-line-subject', 'Hi\n{{full_name}}', 'Hi {{full_name}}', '<p>Hi</p>');
      await expect(renderEmail('two-line-subject', { full_name: 'Jane' }, { dir })).rejects.toThrow(/several lines/);
    });
  });

  it('when a rendered email is sent locally, then it reads back unchanged from the outbox', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-templates-'));
    try {
      const email = await renderEmail('password-reset', { ...RESET_VARS, full_name: 'Zoë <Dev>' });
      await new LocalEmailSender({ outboxDir: root }).send('RealtyForYou <no-reply@realtyforyou.com>', {
        to: 'zoe@example.com',
        idempotencyKey: 'password-reset:zoe:1',
        ...email,
      });
      const [sent] = await readOutbox(root);
      expect(sent).toMatchObject({ subject: email.subject, text: email.text, html: email.html });
      expect(sent?.html).toContain('Zoë &lt;Dev&gt;');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
