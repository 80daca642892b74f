// Jest's test order: the long suites first, so both workers stay busy to the end of a run.
// A fresh clone has no timing cache, and jest then starts the largest files first: a short file with the longest
// suite (the hostile admin writes, then ~9 minutes on FerretDB) started last and kept one worker busy alone for
// minutes.
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

/** Longest first, as measured in a fresh-clone run on the 2-core machine. */
const LONG_FIRST = [
  'cli-commands',
  'tokens',
  'hostile-backup',
  'definitions',
  'soak',
  'hostile-token-writes',
  'package',
  'hostile-reads-and-endpoint',
  'hostile-definition-writes',
  'backup',
  'cli',
  'admin-ui',
  'express-fit',
  'multi-instance',
  'endpoint',
  'change-feed',
  'readme-reference',
];

class LongSuitesFirst extends Sequencer {
  async sort(tests) {
    const rank = (test) => {
      const index = LONG_FIRST.indexOf(path.basename(test.path, '.test.ts'));
      return index < 0 ? LONG_FIRST.length : index;
    };
    return [...(await super.sort(tests))].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongSuitesFirst;
