// Growing the typed arrays that the view's tables keep their columns in.

type TypedColumn = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** A column of the same kind and `length` items, holding the old one's first items (all of them when it grows). */
export function resized<T extends TypedColumn>(old: T, length: number): T {
  const next = new (old.constructor as new (length: number) => T)(length);
  next.set(old.subarray(0, Math.min(old.length, length)));
  return next;
}
