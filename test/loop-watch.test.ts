// The loop watch: waits count only the time the event loop was free to run, so a held loop never looks like a silent database.
import { LoopWatch } from '../src/shared/loop-watch';

const holdTheLoop = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until); // synchronous work: no timer runs meanwhile
};
const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('LoopWatch', () => {
  let watch: LoopWatch;
  beforeEach(() => {
    watch = new LoopWatch();
    watch.start();
  });
  afterEach(() => watch.stop());

  it('does not time out an answer that arrived while the loop was held (a plain timer would)', async () => {
    // Like a database's answer, which is read in the I/O phase, after the timers phase that fires a timeout that fell
    // due meanwhile: this one comes in the check phase (setImmediate), also after the timers.
    const answer = after(100).then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    const waited = watch.settlesWithin(answer, 50);
    let plainTimerFiredFirst = false;
    void Promise.race([answer.then(() => false), after(50).then(() => true)]).then((timerFirst) => {
      plainTimerFiredFirst = timerFirst;
    });
    holdTheLoop(400); // both the answer and the 50 ms timeout fall due meanwhile
    expect(await waited).toBe(true);
    expect(plainTimerFiredFirst).toBe(true);
  });

  it('times out once the loop has been free for the whole wait, holds aside', async () => {
    const started = performance.now();
    const never = new Promise<void>(() => undefined);
    const waited = watch.settlesWithin(never, 150);
    holdTheLoop(300);
    expect(await waited).toBe(false);
    // The 300 ms hold does not count, less up to one beat (50 ms) that passes for free time: the wait ends 100-150
    // ms after it.
    const waitedMs = performance.now() - started;
    expect(waitedMs).toBeGreaterThanOrEqual(300 + 95);
    expect(waitedMs).toBeLessThan(300 + 150 + 200);
  });

  it('still times out in a process whose loop is held most of the time, within ten times the wait', async () => {
    const started = performance.now();
    const holds = setInterval(() => holdTheLoop(150), 10); // every check and beat runs late
    try {
      expect(await watch.settlesWithin(new Promise<void>(() => undefined), 100)).toBe(false);
    } finally {
      clearInterval(holds);
    }
    expect(performance.now() - started).toBeLessThan(100 * 10 + 400);
  });

  it('passes a rejection on', async () => {
    await expect(watch.settlesWithin(Promise.reject(new Error('refused')), 1000)).rejects.toThrow('refused');
  });

  it('measures free time since a mark, holds aside, even before the late beat has run', async () => {
    const mark = watch.mark();
    holdTheLoop(300);
    expect(watch.freeSince(mark)).toBeLessThan(100);
    await after(120);
    expect(watch.freeSince(mark)).toBeGreaterThanOrEqual(100);
    expect(watch.freeSince(mark)).toBeLessThan(250);
  });

  it('counts all the time as free while stopped', () => {
    watch.stop();
    const mark = watch.mark();
    holdTheLoop(200);
    expect(watch.freeSince(mark)).toBeGreaterThanOrEqual(195); // Date.now() and performance.now() round apart
  });
});
