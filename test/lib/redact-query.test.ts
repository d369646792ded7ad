import { redactQuery } from '../../lib/telemetry';

/** What a server span shows of a query string: signature values never, everything else as sent. */
describe('redactQuery', () => {
  it('when a query carries signature parameters, then their values are REDACTED and the rest is kept as sent', () => {
    expect(redactQuery('expires=4102444800&signature=abc%2Fdef')).toBe('expires=4102444800&signature=REDACTED');
    expect(redactQuery('X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ff00&x-id=GetObject')).toBe('X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&x-id=GetObject');
    expect(redactQuery('sig=1&sig=2&Signature=3&AWSAccessKeyId=4&X-Goog-Signature=5&X-Amz-Security-Token=6')).toBe(
      'sig=REDACTED&sig=REDACTED&Signature=REDACTED&AWSAccessKeyId=REDACTED&X-Goog-Signature=REDACTED&X-Amz-Security-Token=REDACTED',
    );
  });

  it('when a parameter name is percent-encoded, then it is recognised all the same', () => {
    expect(redactQuery('%73ignature=secret&city=Austin')).toBe('%73ignature=REDACTED&city=Austin');
    expect(redactQuery('X-Amz-Credential=AKIA')).toBe('X-Amz-Credential=REDACTED');
  });

  it('when a query has nothing to redact (or cannot be decoded), then it is returned unchanged', () => {
    for (const q of ['', 'city=Austin&min_price=300000&sort=price&per_page=20', 'flag', 'a=%E0%A4%A&signature_hint=x', 'status=pending&sign=1']) {
      expect(redactQuery(q)).toBe(q);
    }
  });
});
