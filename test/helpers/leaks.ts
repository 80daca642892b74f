// Collects every secret a test made, plus its digest and stored bcrypt hash, and finds any of them in given texts.
import type { Connection } from 'mongoose';
import { digestSecret } from '../../src/domain/secrets';

export class LeakTracker {
  private readonly secrets = new Set<string>();

  constructor(private readonly pepper: string) {}

  track(secret: string): string {
    this.secrets.add(secret);
    return secret;
  }

  get count(): number {
    return this.secrets.size;
  }

  /** Every sensitive value: the secrets, their digests, and every bcrypt hash stored in the tokens collection. */
  async sensitiveValues(connection: Connection, tokensCollection: string): Promise<string[]> {
    const pepper = Buffer.from(this.pepper);
    const values = [...this.secrets].flatMap((secret) => [secret, digestSecret(pepper, secret)]);
    const docs = await connection
      .collection(tokensCollection)
      .find({}, { projection: { secretHash: 1, secretDigest: 1 } })
      .toArray();
    for (const doc of docs) values.push(String(doc.secretHash), String(doc.secretDigest));
    return values;
  }

  /** The sensitive values that occur in any of the texts (empty when nothing leaked). */
  static findIn(values: string[], texts: string[]): string[] {
    return values.filter((value) => texts.some((text) => text.includes(value)));
  }
}
