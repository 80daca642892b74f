// close() and the last-use writer: waits for the last write (not a read-back) up to its bound, then says it stopped waiting.
import type { Catalog } from '../src/catalog/catalog';
import { LAST_USE_STOP_WAIT_MS, LastUseRecorder } from '../src/catalog/last-use';
import { WriteGate } from '../src/database/write-gate';
import type { ApiTokenModel } from '../src/models/api-token';
import type { LastUseModel } from '../src/models/last-use';
import { captureLogger } from './helpers/capture';

// A stand-in model and catalog: the wait's bound is the unit under test (test/last-used.test.ts writes for real).
function recorderWith(
  bulkWrite: (operations: unknown[]) => Promise<unknown>,
  readBack: () => Promise<unknown[]> = () => Promise.resolve([]),
) {
  const logs = captureLogger();
  const tokens = { collection: { bulkWrite } } as unknown as ApiTokenModel;
  const lastUses = {
    collection: { insertMany: () => Promise.resolve(), deleteMany: () => Promise.resolve() },
    find: () => ({ lean: () => ({ exec: readBack }) }),
  } as unknown as LastUseModel;
  const catalog = { noteUse: () => undefined } as unknown as Catalog;
  const settings = { lastUsedIntervalMs: 3_600_000, instanceId: 'test' };
  return { logs, recorder: new LastUseRecorder({ tokens, lastUses }, catalog, settings, logs, new WriteGate()) };
}

afterEach(() => jest.useRealTimers());

it('waits up to LAST_USE_STOP_WAIT_MS for a write that hangs, says so, and lets the write go on', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  let release = (): void => undefined;
  const written: unknown[] = [];
  const { logs, recorder } = recorderWith(
    (operations) =>
      new Promise((resolve) => {
        release = () => resolve(written.push(...operations));
      }),
  );
  recorder.record('token-a');
  let stopped = false;
  const stopping = recorder.stop().then(() => (stopped = true));
  await jest.advanceTimersByTimeAsync(LAST_USE_STOP_WAIT_MS - 1);
  expect({ stopped, lines: logs.lines.length }).toEqual({ stopped: false, lines: 0 });
  await jest.advanceTimersByTimeAsync(1);
  await stopping;
  expect(logs.lines.map((line) => [line.level, line.obj])).toEqual([['warn', { waitedMs: LAST_USE_STOP_WAIT_MS }]]);
  release();
  await recorder.flush();
  expect(written).toHaveLength(1);
});

it('resolves with a write that finishes in time, and says nothing', async () => {
  const written: unknown[] = [];
  const { logs, recorder } = recorderWith((operations) => Promise.resolve(written.push(...operations)));
  recorder.record('token-a');
  recorder.record('token-b');
  await recorder.stop();
  expect({ written: written.length, lines: logs.lines }).toEqual({ written: 2, lines: [] });
});

it('writes at once while a read-back is still under way (a collection scan on FerretDB), and says nothing', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  const written: unknown[] = [];
  let readBacks = 0;
  const { logs, recorder } = recorderWith(
    (operations) => Promise.resolve(written.push(...operations)),
    () => {
      readBacks += 1;
      return new Promise(() => undefined);
    },
  );
  recorder.record('token-a');
  void recorder.flush();
  const turns = async (until: () => boolean) => {
    for (let turn = 0; turn < 20 && !until(); turn += 1) await new Promise((resolve) => setImmediate(resolve));
  };
  await turns(() => readBacks === 1);
  expect({ written: written.length, readBacks }).toEqual({ written: 1, readBacks: 1 });
  recorder.record('token-b');
  let stopped = false;
  const stopping = recorder.stop().then(() => (stopped = true));
  // No timer advanced: a close() that waited for the read-back would still be waiting, up to its bound.
  await turns(() => stopped);
  await stopping;
  expect({ written: written.length, readBacks, lines: logs.lines }).toEqual({ written: 2, readBacks: 1, lines: [] });
});
