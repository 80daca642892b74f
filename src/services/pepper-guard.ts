// Refuses a wrong pepper: records the store's pepper check at the first start, compares every later start with it.
import { makePepperCheck, pepperMatches } from '../domain/pepper-check';
import { isDuplicateKeyError } from '../database/mongo-errors';
import { AdminError, PepperMismatchError } from '../errors';
import { PEPPER_CHECK_ID, type MetaModel, type PepperCheckDoc } from '../models/meta';
import type { ApiTokenModel } from '../models/api-token';
import type { Logger } from '../types';

export interface PepperGuardDeps {
  model: MetaModel;
  /** Read only to tell a new store from an upgraded one in the log. */
  tokenModel: ApiTokenModel;
  pepper: Buffer;
  /** The metadata collection's name, for the error message. */
  collection: string;
  instanceId: string;
  /** The manager log. */
  log: Logger;
}

export class PepperGuard {
  private passed: Promise<void> | undefined;

  constructor(private readonly deps: PepperGuardDeps) {}

  /**
   * Resolves once the pepper is known to match the store's check, recording the check first in a store that has
   * none; rejects with a PepperMismatchError when it does not match. A success is remembered; after a failure the
   * next call looks again (an operator may have fixed the store meanwhile).
   */
  check(): Promise<void> {
    const passed = (this.passed ??= this.run());
    passed.catch(() => {
      if (this.passed === passed) this.passed = undefined;
    });
    return passed;
  }

  /** The same check before a write that digests a secret: a mismatch is the admin API's 503, never a stored token. */
  async beforeSecretWrite(): Promise<void> {
    try {
      await this.check();
    } catch (error) {
      if (!(error instanceof PepperMismatchError)) throw error;
      this.deps.log.error({ err: { name: error.name, code: error.code } }, error.message);
      throw AdminError.of(
        'ServiceUnavailable',
        "This instance's pepper does not match the one the stored tokens were made with: it creates and rotates no secret until an operator fixes it (see the manager log).",
      );
    }
  }

  private async run(): Promise<void> {
    const stored = await this.read();
    if (stored) return this.compare(stored);
    const check = await makePepperCheck(this.deps.pepper);
    try {
      // The unique _id lets one instance's value win when several start on a new store together.
      await this.deps.model.create({
        _id: PEPPER_CHECK_ID,
        ...check,
        recordedBy: this.deps.instanceId,
        recordedAt: new Date(),
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const winner = await this.read();
      if (!winner) throw error;
      return this.compare(winner);
    }
    if (await this.deps.tokenModel.exists({})) {
      this.deps.log.warn(
        { collection: this.deps.collection },
        'Recorded the pepper check for a store that already holds tokens (an upgrade): this pepper is now the store\'s. If it is not the one the tokens were made with, every instance with the right one will refuse to start; see "Rotating the pepper" in SECURITY.md',
      );
    } else {
      this.deps.log.info({ collection: this.deps.collection }, 'Recorded the pepper check of a new store');
    }
  }

  private read(): Promise<PepperCheckDoc | null> {
    return this.deps.model.findById(PEPPER_CHECK_ID).lean<PepperCheckDoc>().exec();
  }

  private async compare(stored: PepperCheckDoc): Promise<void> {
    const { algorithm, N, r, p, salt, value } = stored;
    if (!(await pepperMatches(this.deps.pepper, { algorithm, N, r, p, salt, value })))
      throw new PepperMismatchError(this.deps.collection);
  }
}
