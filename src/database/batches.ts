// Splits a list into consecutive slices of at most `size`, so no single database command grows without bound.

export function* batchesOf<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
