import { sendToAll } from '../../activities/email-refusal';
import { EmailPermanentError } from '../../adapters/email/port';

/**
 * sendToAll: a notice's recipients are handed over together; each one's outcome comes back
 * in order, a permanent refusal as an outcome, any other failure thrown only after every
 * recipient was tried.
 */
describe('sendToAll', () => {
  /** A send that settles when `settle` is called. */
  function pending<T>() {
    let settle!: (outcome: { value: T } | { error: unknown }) => void;
    const promise = new Promise<T>((resolve, reject) => {
      settle = (o) => ('value' in o ? resolve(o.value) : reject(o.error));
    });
    return { promise, settle };
  }

  it('when all are sent, then each outcome comes back in the order given', async () => {
    await expect(sendToAll([Promise.resolve('a'), Promise.resolve('b')])).resolves.toEqual([{ ok: 'a' }, { ok: 'b' }]);
  });

  it('when one is refused for good, then it is an outcome beside the others, not a failure', async () => {
    const refusal = new EmailPermanentError('mailbox does not exist');
    await expect(sendToAll([Promise.reject(refusal), Promise.resolve('b')])).resolves.toEqual([{ refused: refusal }, { ok: 'b' }]);
  });

  it('when one fails for now, then the failure is thrown only after the others settled', async () => {
    const first = pending<string>();
    const second = pending<string>();
    let settled = false;
    const all = sendToAll([first.promise, second.promise]).finally(() => (settled = true));
    first.settle({ error: new Error('provider unavailable') });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    second.settle({ value: 'b' });
    await expect(all).rejects.toThrow('provider unavailable');
  });

  it('when one fails for now and another is refused for good, then the temporary failure is thrown (the retry sends what is left)', async () => {
    await expect(sendToAll([Promise.reject(new EmailPermanentError('no')), Promise.reject(new Error('timeout'))])).rejects.toThrow('timeout');
  });
});
