/** The email port: SendGrid, or rendered .eml files in an outbox folder (the default). */

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable across retries of the same logical send; providers that support it dedupe on it. */
  idempotencyKey: string;
  attachments?: Array<{ filename: string; contentType: string; content: Buffer }>;
}

export interface EmailSender {
  readonly name: 'local' | 'sendgrid';
  /** Resolves with the provider's message id. Rejects with EmailPermanentError for 4xx-like failures. */
  send(from: string, message: EmailMessage): Promise<{ messageId: string }>;
}

/** A failure retrying cannot fix (bad address, rejected content, bad credentials). */
export class EmailPermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmailPermanentError';
  }
}
