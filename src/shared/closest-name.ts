// Finds the known name a mistyped one most likely meant, for "did you mean" hints in error messages.

/** Edit distance (insertions, deletions, substitutions), case-insensitive; names are short, so a plain table will do. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[y.length]!;
}

function commonPrefix(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return n;
}

/**
 * The candidate closest to `name`: within a third of its length in edits (at least 2), or sharing a prefix of at least
 * 5 characters (`windowMs` for `windowSeconds`, a unit mixed up). Undefined when nothing is close enough to suggest.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const edits = distance(name, candidate);
    const close = edits <= Math.max(2, Math.floor(name.length / 3)) || commonPrefix(name, candidate) >= 5;
    // Fewer edits win; a long shared prefix breaks ties.
    const score = edits * 100 - commonPrefix(name, candidate);
    if (close && score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
