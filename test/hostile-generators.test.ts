// The hostile-input generators themselves: a value they store as a secret never reappears as other data, so the
// suite-wide leak scan can stay strict (a fuzzed name equal to a fuzzed secret was once reported as a leak).
import fc from 'fast-check';
import { secretProblem } from '../src/domain/secrets';
import { hostileBody } from './helpers/hostile';
import { propertySeed } from './helpers/seed';

/** Every string in a JSON value, with whether it sits in a top-level `secret` field. */
function stringsOf(value: unknown, topLevelSecret: boolean, into: { text: string; isSecret: boolean }[]): void {
  if (typeof value === 'string') into.push({ text: value, isSecret: topLevelSecret });
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, false, into);
  else if (value && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) {
      into.push({ text: key, isSecret: false });
      stringsOf(item, false, into);
    }
}

describe('hostile generators', () => {
  it('give a `secret` field valid secrets of its own only, and other fields none of those', () => {
    const seed = propertySeed('hostile generators');
    const secrets = new Set<string>();
    const others = new Set<string>();
    const samples = fc.sample(hostileBody({ name: 'fuzzed' }), { numRuns: 5000, seed });
    for (const { body } of samples) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        continue;
      }
      const strings: { text: string; isSecret: boolean }[] = [];
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const [key, item] of Object.entries(parsed)) {
          others.add(key);
          stringsOf(item, key === 'secret', strings);
        }
      } else {
        stringsOf(parsed, false, strings);
      }
      for (const { text, isSecret } of strings) (isSecret && secretProblem(text) === null ? secrets : others).add(text);
    }
    // The check can fail: enough valid secrets were generated to mean something.
    expect(secrets.size).toBeGreaterThan(20);
    expect(
      [...secrets].filter((secret) => others.has(secret) || [...others].some((other) => other.includes(secret))),
    ).toEqual([]);
  });
});
