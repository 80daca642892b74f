// Waits for work to finish, but no longer than a bound, so that a host's shutdown never hangs on an unreachable database.

/** True when the work finished within `ms`; false when the wait gave up (the work goes on). A rejection passes through. */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([work.then(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
