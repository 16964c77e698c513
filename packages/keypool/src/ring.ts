/**
 * A set of ids with O(1) add, remove and round-robin `next`. Removal swaps the last id into the hole, so order
 * drifts slightly, but every member is visited once per cycle as long as the set is not changing.
 */
export class Ring {
  private ids: number[] = [];
  private readonly index = new Map<number, number>();
  private cursor = 0;

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.index.has(id);
  }

  add(id: number): void {
    if (this.index.has(id)) return;
    this.index.set(id, this.ids.length);
    this.ids.push(id);
  }

  remove(id: number): void {
    const at = this.index.get(id);
    if (at === undefined) return;
    const lastId = this.ids[this.ids.length - 1] as number;
    this.ids[at] = lastId;
    this.index.set(lastId, at);
    this.ids.pop();
    this.index.delete(id);
    if (this.cursor > this.ids.length) this.cursor = 0;
  }

  /** Next id in rotation, or undefined when empty. */
  next(): number | undefined {
    const n = this.ids.length;
    if (n === 0) return undefined;
    if (this.cursor >= n) this.cursor = 0;
    const id = this.ids[this.cursor];
    this.cursor++;
    return id;
  }

  clear(): void {
    this.ids = [];
    this.index.clear();
    this.cursor = 0;
  }
}
