// Keeps a view current by polling: the console's pages show state the cluster changes on its own.

/** Runs `load`, then again `intervalMs` after each run ends, until `stop()`. */
export class Refresher {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    private readonly load: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** Runs `load` at once (after an action, say) and restarts the interval. */
  async now(): Promise<void> {
    clearTimeout(this.#timer);
    await this.load();
    if (!this.#stopped) this.#timer = setTimeout(() => void this.now(), this.intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
