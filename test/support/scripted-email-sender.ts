import { EmailPermanentError, type EmailMessage, type EmailSender } from '../../adapters/email/port';

export type ScriptedOutcome = 'ok' | 'transient' | 'permanent';

/**
 * An email provider for tests of what sits on top of one (the ledger, the notices): it
 * records each message it is handed and answers as scripted — one outcome per call in
 * order, or per recipient address — after `delayMs`. It also tracks how many sends were in
 * flight at once.
 */
export class ScriptedEmailSender implements EmailSender {
  readonly name = 'local' as const;
  readonly handed: EmailMessage[] = [];
  maxInFlight = 0;
  private inFlight = 0;
  private readonly script: ScriptedOutcome[] = [];
  private readonly byRecipient = new Map<string, ScriptedOutcome>();

  constructor(private readonly delayMs = 0) {}

  /** The next calls' outcomes, in order (then 'ok'). */
  then(...outcomes: ScriptedOutcome[]): this {
    this.script.push(...outcomes);
    return this;
  }

  /** Every call to `address` answers `outcome` (before the ordered script). */
  for(address: string, outcome: ScriptedOutcome): this {
    this.byRecipient.set(address, outcome);
    return this;
  }

  async send(_from: string, message: EmailMessage): Promise<{ messageId: string }> {
    this.handed.push(message);
    const number = this.handed.length;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const outcome = this.byRecipient.get(message.to) ?? this.script.shift() ?? 'ok';
      if (outcome === 'transient') throw new Error('provider unavailable');
      if (outcome === 'permanent') throw new EmailPermanentError('mailbox does not exist');
      return { messageId: `msg-${number}` };
    } finally {
      this.inFlight -= 1;
    }
  }
}
