// The leak scan's search itself: it must find what it looks for wherever it sits, and nothing else.
import bcrypt from 'bcrypt';
import { generateSecret } from '../src';
import { digestSecret } from '../src/domain/secrets';
import { leaksIn } from './helpers/leak-scanner';

describe('leak scanner', () => {
  const secret = generateSecret();
  const digest = digestSecret(Buffer.from('p'.repeat(32)), secret);
  const sensitive = new Map([
    [secret, 'a secret'],
    [digest, 'a secret digest'],
  ]);

  it('finds a secret or digest inside JSON, log text and longer runs of its alphabet', () => {
    const texts = [
      { kind: 'response', text: JSON.stringify({ name: 'x', leaked: secret }) },
      { kind: 'log', text: `authorization=Bearer ${secret}.` },
      { kind: 'event', text: `prefix${digest}suffix` },
    ];
    expect(leaksIn(texts, sensitive)).toEqual([
      expect.stringMatching(/^response shows a secret in field "leaked"/),
      expect.stringMatching(/^log shows a secret/),
      expect.stringMatching(/^event shows a secret digest/),
    ]);
  });

  it('names the JSON field a value sits in, also after other fields and inside nested objects', () => {
    const text = `POST /admin/udapi/tokens {} ${JSON.stringify({ id: 'x', nested: { a: 1, name: `${secret}!` } })}`;
    const [line] = leaksIn([{ kind: 'response', text }], sensitive);
    expect(line).toMatch(/^response shows a secret in field "name": POST \/admin\/udapi\/tokens/);
    expect(line).not.toContain(secret);
  });

  it('finds any bcrypt hash, known or not', async () => {
    const hash = await bcrypt.hash('anything', 4);
    expect(leaksIn([{ kind: 'log', text: `stored ${hash}` }], new Map())).toEqual([
      expect.stringMatching(/^log shows a bcrypt hash/),
    ]);
  });

  it('reports nothing for texts without them, and never prints the value it found', () => {
    const clean = [
      {
        kind: 'response',
        text: JSON.stringify({
          id: '5b0c6ad4-8b4f-4d8c-9a43-0e2bb0a3b3a1',
          secret: '[one-time secret]',
          other: generateSecret(),
        }),
      },
    ];
    expect(leaksIn(clean, sensitive)).toEqual([]);
    const [line] = leaksIn([{ kind: 'log', text: secret }], sensitive);
    expect(line).not.toContain(secret);
  });
});
