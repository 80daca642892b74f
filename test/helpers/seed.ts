// The seed of a property-based test: FC_SEED when set (to replay a run), else a fresh one; printed either way.

/** Returns the seed to run `label` with and prints how to replay it. `fixed` keeps a suite on one known sample by default. */
export function propertySeed(label: string, fixed?: number): number {
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (fixed ?? Date.now() % 2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got '${process.env.FC_SEED}'`);
  console.log(`${label}: seed ${seed} (replay with FC_SEED=${seed})`);
  return seed;
}
