/** The last number of a text, thousands separators removed ("1,000" is 1000): MGSM's answer rule. */
export function lastNumber(text: string): string | undefined {
  const numbers = text.replace(/(\d),(?=\d{3}\b)/g, '$1').match(/-?\d+(?:\.\d+)?/g);
  if (!numbers) return undefined;
  return canonicalNumber(numbers[numbers.length - 1]);
}

/** "18.00" and "18" are the same answer. */
export function canonicalNumber(text: string): string {
  const n = Number(text);
  return Number.isFinite(n) ? String(n) : text;
}

/** MGSM compares numbers, so "18", "18.0" and "$18" all match a gold 18. */
export function mgsmAnswerMatches(prediction: string | null, target: string): boolean {
  return prediction !== null && Number(prediction) === Number(canonicalNumber(target.replace(/,/g, '')));
}

/** Kojima's second stage for arithmetic: the first number after "Therefore, the answer is". */
export function firstNumber(text: string): string | null {
  const m = /-?\d[\d,]*(?:\.\d+)?/.exec(text);
  return m ? canonicalNumber(m[0].replace(/,/g, '')) : null;
}
