// Group commit: rows that arrive while a write is under way are written together by the next one, in
// one statement and one commit, and each caller's promise settles when its own row is committed.
// Under a burst the store sees a few large inserts instead of a queue of small ones, and a caller
// still returns only once its row is durable (a webhook answered 2xx is never lost).

export class GroupCommit<T> {
  private readonly waiting: Array<{ item: T; settle: (error?: unknown) => void }> = [];
  private writing = false;

  /** `write` stores a batch of at most `maxBatch` items in one statement. */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves once `item` is committed; rejects with the error of the write that carried it. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        await this.write(batch.map((w) => w.item));
        for (const w of batch) w.settle();
      } catch (error) {
        for (const w of batch) w.settle(error ?? new Error("group commit failed"));
      }
    }
    this.writing = false;
  }
}
