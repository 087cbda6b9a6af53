/**
 * Changes held back from the native index while hnswlib writes a snapshot of it on the thread
 * pool: its `saveIndex` takes no lock, and a resize would free the memory it reads. Held vectors
 * are searched exactly, by scanning them; held deletions are applied when the write is done.
 */
export class HeldChanges {
  private frozen = false;
  private readonly adds = new Map<number, number[]>();
  private readonly deletes: number[] = [];

  /** Deletions waiting: hnswlib still finds those labels. */
  get deletions(): number {
    return this.deletes.length;
  }

  /** From now on, changes are held. */
  freeze(): void {
    this.frozen = true;
  }

  /** Holds an added vector while frozen; false when it goes into the native index now. */
  add(label: number, vector: ArrayLike<number>): boolean {
    if (!this.frozen) return false;
    this.adds.set(label, normalized(vector));
    return true;
  }

  /** Holds a deletion while frozen (a held add is simply dropped); false when it is marked in the native index now. */
  remove(label: number): boolean {
    if (this.adds.delete(label)) return true;
    if (!this.frozen) return false;
    this.deletes.push(label);
    return true;
  }

  /** Cosine similarity of each held vector to `vector`. */
  search(vector: readonly number[]): Array<{ label: number; similarity: number }> {
    if (this.adds.size === 0) return [];
    const query = normalized(vector);
    const hits: Array<{ label: number; similarity: number }> = [];
    for (const [label, held] of this.adds) {
      let dot = 0;
      for (let i = 0; i < held.length; i++) dot += (held[i] ?? 0) * (query[i] ?? 0);
      hits.push({ label, similarity: dot });
    }
    return hits;
  }

  /** Ends the freeze, handing over what was held; does nothing when not frozen. */
  thaw(native: { insert(label: number, vector: number[]): void; markDeleted(label: number): void }): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const [label, vector] of this.adds) native.insert(label, vector);
    this.adds.clear();
    for (const label of this.deletes.splice(0)) native.markDeleted(label);
  }

  /** Forgets what was held (the index is emptied). */
  clear(): void {
    this.adds.clear();
    this.deletes.length = 0;
  }
}

function normalized(vector: ArrayLike<number>): number[] {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] ?? 0) ** 2;
  norm = Math.sqrt(norm) || 1;
  return Array.from(vector, (x) => x / norm);
}
