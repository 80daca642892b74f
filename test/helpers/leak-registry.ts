// Where test helpers register what the suite-wide leak scan reads (log lines, events, process output) and the seeds it names.

type Source = () => unknown[];

const sources: { kind: string; read: Source }[] = [];

/** Registers texts (or objects, scanned as JSON) for the leak scan at the end of the test file. */
export function registerLeakSource(kind: string, read: Source): void {
  sources.push({ kind, read });
}

export function leakSources(): readonly { kind: string; read: Source }[] {
  return sources;
}

const seedDescriptions: (() => string)[] = [];

/** Registers how to replay the file's generated inputs, named by the leak scan when it finds something. */
export function registerSeeds(describe: () => string): void {
  seedDescriptions.push(describe);
}

export function seedsToReplay(): string[] {
  return seedDescriptions.map((describe) => describe());
}
