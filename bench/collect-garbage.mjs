// Forced garbage collections (node --expose-gc) for the benches' live-memory figures.
import { setImmediate } from 'node:timers/promises';

/**
 * Three collections with a turn of the event loop between them, so that what one collection leaves to the next
 * (weak references, finalizers, the driver's buffers) is gone too. Does nothing without --expose-gc.
 */
export async function collectGarbage() {
  for (let i = 0; i < 3; i += 1) {
    globalThis.gc?.();
    await setImmediate();
  }
}
