// Where test helpers register what the suite-wide leak scan reads: log lines, events and process output.

type Source = () => unknown[];

const sources: { kind: string; read: Source }[] = [];

/** Registers texts (or objects, scanned as JSON) for the leak scan at the end of the test file. */
export function registerLeakSource(kind: string, read: Source): void {
  sources.push({ kind, read });
}

export function leakSources(): readonly { kind: string; read: Source }[] {
  return sources;
}
