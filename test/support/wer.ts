/**
 * Word error rate of a transcript against the text that was spoken: (substitutions +
 * deletions + insertions) / words of the reference, over a word-level edit distance.
 * Both sides are normalized first, so "3", "three" and "$450,000" / "450000 dollars"
 * compare equal, and case and punctuation do not count.
 */

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: [number, string][] = [[1e12, 'trillion'], [1e9, 'billion'], [1e6, 'million'], [1e3, 'thousand']];

/** 450000 → "four hundred fifty thousand" (no "and", as speech-to-text writes digits anyway). */
export function numberToWords(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a whole number: ${n}`);
  if (n < 20) return ONES[n]!;
  if (n < 100) return n % 10 ? `${TENS[Math.floor(n / 10)]} ${ONES[n % 10]}` : TENS[n / 10]!;
  if (n < 1000) return n % 100 ? `${ONES[Math.floor(n / 100)]} hundred ${numberToWords(n % 100)}` : `${ONES[n / 100]} hundred`;
  for (const [value, name] of SCALES) {
    if (n >= value) {
      const rest = n % value;
      const head = `${numberToWords(Math.floor(n / value))} ${name}`;
      return rest ? `${head} ${numberToWords(rest)}` : head;
    }
  }
  throw new Error(`unreachable: ${n}`);
}

function spellNumber(digits: string): string {
  const [whole, fraction] = digits.split('.');
  const words = numberToWords(Number(whole));
  return fraction ? `${words} point ${[...fraction].map((d) => ONES[Number(d)]).join(' ')}` : words;
}

/** Lower case, numbers spelled out, currency and percent as words, punctuation dropped. */
export function normalizeForWer(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
    .replace(/\$(\d+(?:\.\d+)?)/g, '$1 dollars')
    .replace(/(\d+(?:\.\d+)?)\s*%/g, '$1 percent')
    .replace(/\d+(?:\.\d+)?/g, (m) => ` ${spellNumber(m)} `)
    .replace(/[’']/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
}

/** Word error rate of `hypothesis` against `reference`, 0 (identical) and up. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const ref = normalizeForWer(reference);
  const hyp = normalizeForWer(hypothesis);
  if (ref.length === 0) throw new Error('the reference has no words');
  // One row of the Levenshtein table at a time.
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const substitution = prev[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      row.push(Math.min(substitution, prev[j]! + 1, row[j - 1]! + 1));
    }
    prev = row;
  }
  return prev[hyp.length]! / ref.length;
}
