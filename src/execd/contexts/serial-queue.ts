/** Runs tasks one at a time in arrival order; a failed task does not block the ones after it. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  get length(): number {
    return this.waiting;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(async () => {
      this.waiting--;
      return task();
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
