// A column of texts (token names, definition records, route keys) in one array of UTF-16 code units.
import { resized } from './typed-columns';

/** The length of a slot that holds null (or was never set). */
const ABSENT = 0xffffffff;
/** Code units decoded per String.fromCharCode call: far below any engine's limit on arguments. */
const DECODE_CHUNK = 4096;

/**
 * One text per slot, or null. The garbage collector sees three typed arrays instead of an object per text: at
 * 100,000 tokens, 100,000 to 200,000 fewer heap objects for every major collection to mark (docs/performance.md,
 * "GC regimes"). A text set over another or cleared leaves garbage in the arena, dropped whenever the arena is full
 * (which doubles only when less than half of it was garbage).
 */
export class PackedTexts {
  private arena = new Uint16Array(1024);
  /** Code units in use in the arena, garbage included. */
  private end = 0;
  private garbage = 0;
  private offsets = new Uint32Array(0);
  private lengths = new Uint32Array(0);

  /** Makes room for `capacity` slots (never fewer than there are). */
  resize(capacity: number): void {
    const old = this.lengths.length;
    if (capacity <= old) return;
    this.offsets = resized(this.offsets, capacity);
    const lengths = new Uint32Array(capacity).fill(ABSENT);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }

  get(slot: number): string | null {
    const length = this.lengths[slot]!;
    if (length === ABSENT) return null;
    const from = this.offsets[slot]!;
    let text = '';
    for (let at = from; at < from + length; at += DECODE_CHUNK)
      text += String.fromCharCode.apply(
        null,
        this.arena.subarray(at, Math.min(at + DECODE_CHUNK, from + length)) as unknown as number[],
      );
    return text;
  }

  /** Whether a slot holds exactly this text, compared where it lies (no string made). */
  equals(slot: number, text: string): boolean {
    if (this.lengths[slot] !== text.length) return false;
    const from = this.offsets[slot]!;
    for (let i = 0; i < text.length; i += 1) if (this.arena[from + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  set(slot: number, text: string | null): void {
    this.clear(slot);
    if (text === null) return;
    if (this.end + text.length > this.arena.length) this.makeRoom(text.length);
    for (let i = 0; i < text.length; i += 1) this.arena[this.end + i] = text.charCodeAt(i);
    this.offsets[slot] = this.end;
    this.lengths[slot] = text.length;
    this.end += text.length;
  }

  clear(slot: number): void {
    const length = this.lengths[slot]!;
    if (length !== ABSENT) this.garbage += length;
    this.lengths[slot] = ABSENT;
  }

  /** Moves the texts to an arena that fits them and `extra` more code units with room to grow. */
  private makeRoom(extra: number): void {
    const live = this.end - this.garbage;
    let size = this.arena.length;
    // Compacting in place of growing when half is garbage keeps the arena within twice what is live.
    if (this.garbage * 2 < this.end) size *= 2;
    while (size < (live + extra) * 1.25) size *= 2;
    const arena = new Uint16Array(size);
    let end = 0;
    for (let slot = 0; slot < this.lengths.length; slot += 1) {
      const length = this.lengths[slot]!;
      if (length === ABSENT) continue;
      const from = this.offsets[slot]!;
      arena.set(this.arena.subarray(from, from + length), end);
      this.offsets[slot] = end;
      end += length;
    }
    this.arena = arena;
    this.end = end;
    this.garbage = 0;
  }
}
