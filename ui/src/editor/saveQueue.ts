// The editor's local saves, strictly in order. Yjs updates depend on the ones before them: a
// batch the store missed would leave every later batch saved but impossible to integrate. So one
// batch is in flight at a time, and a batch the store refuses (a full disk, say) is kept, merged
// with what was typed since, and retried with backoff until the store has every byte.

/** Waits between retries of a refused save, in milliseconds; the last one repeats. */
export const RETRY_DELAYS_MS: readonly number[] = [500, 1_000, 2_000, 5_000, 10_000, 30_000];

/** What the lawyer reads while saves are refused (`reason` is the store's message). */
export function notSavedMessage(reason: string): string {
  const sentence = /[.!?]$/.test(reason.trim()) ? reason.trim() : `${reason.trim()}.`;
  return (
    `Your last changes could not be saved to this computer: ${sentence} ` +
    "Lawyers Hub keeps retrying; don't close the window."
  );
}

export interface SaveQueueOptions {
  /** Resolves once `update` is durable on this computer; rejects when the store refused it. */
  save: (update: Uint8Array) => Promise<unknown>;
  /** Several updates as one, in order (Y.mergeUpdates). */
  merge: (updates: Uint8Array[]) => Uint8Array;
  /** A reason the lawyer can read, from whatever `save` rejected with. */
  reason: (error: unknown) => string;
  /** 1 while changes wait to be saved, 0 once all are. */
  onSaving: (unsaved: number) => void;
  /** The persistent message while saves are refused; `null` once the store accepts again. */
  onProblem: (message: string | null) => void;
  delaysMs?: readonly number[];
  /**
   * Starts a run of saves; by default at once. The editor passes `afterPaint`: an edit is
   * handed to Rust after the keystroke's frame is painted, and keystrokes typed within one frame
   * go as one update. Answers a function that starts the run at once if it has not started.
   */
  schedule?: (run: () => void) => () => void;
}

export class SaveQueue {
  /** Updates not yet durable, oldest first. While one is in flight it stays at the front. */
  private waiting: Uint8Array[] = [];
  private running = false;
  private failures = 0;
  private lastReason: string | null = null;
  private drained: (() => void)[] = [];
  /** Updates pushed, and how many of the oldest are durable: the difference is unsaved. */
  private pushed = 0;
  private saved = 0;
  /** `saveNow` callers waiting for the outcome of the next attempt. */
  private attempts: ((saved: boolean) => void)[] = [];
  /** Ends the wait before the next retry early. */
  private wake: (() => void) | null = null;
  /** Starts the scheduled run now, while one is scheduled and has not started. */
  private startNow: (() => void) | null = null;

  constructor(private readonly options: SaveQueueOptions) {}

  push(update: Uint8Array): void {
    this.pushed++;
    this.waiting.push(update);
    if (this.running) return;
    this.running = true;
    if (this.options.schedule) {
      this.startNow = this.options.schedule(() => {
        this.startNow = null;
        void this.run();
      });
    } else {
      void this.run();
    }
  }

  /** True while the store refuses saves (the message is showing). */
  get blocked(): boolean {
    return this.failures > 0;
  }

  /** Local changes (editor updates) not durable yet: refused, in flight or waiting. */
  get unsaved(): number {
    return this.pushed - this.saved;
  }

  /** Why the store refused the last attempt, while it refuses; null otherwise. */
  get reason(): string | null {
    return this.failures > 0 ? this.lastReason : null;
  }

  /**
   * One attempt to save everything now, without waiting out the retry delay: true once nothing
   * is unsaved, false as soon as an attempt is refused (the retries go on as before). Used when
   * the window is about to close.
   */
  saveNow(): Promise<boolean> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.attempts.push(resolve);
      this.wake?.();
      this.startNow?.();
    });
  }

  /** Resolves when every update pushed so far is durable (waits through retries). */
  flushed(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Saves until nothing waits; `running` is already true (set when the run was scheduled). */
  private async run(): Promise<void> {
    this.options.onSaving(1);
    while (this.waiting.length > 0) {
      // Everything waiting goes as one batch: after a refusal the retry carries the refused
      // bytes and all typed since, so nothing is ever sent ahead of what it depends on.
      if (this.waiting.length > 1) this.waiting = [this.options.merge(this.waiting)];
      const batch = this.waiting[0]!;
      // The batch holds every update pushed so far (later ones queue behind it).
      const covers = this.pushed;
      try {
        await this.options.save(batch);
      } catch (error: unknown) {
        this.failures++;
        this.lastReason = this.options.reason(error);
        this.options.onProblem(notSavedMessage(this.lastReason));
        this.settleAttempts(false);
        await this.pause(this.delay());
        continue;
      }
      this.saved = covers;
      this.waiting.shift();
      if (this.failures > 0) {
        this.failures = 0;
        this.options.onProblem(null);
      }
    }
    this.running = false;
    this.settleAttempts(true);
    this.options.onSaving(0);
    const drained = this.drained;
    this.drained = [];
    for (const resolve of drained) resolve();
  }

  private settleAttempts(saved: boolean): void {
    const attempts = this.attempts;
    this.attempts = [];
    for (const resolve of attempts) resolve(saved);
  }

  /** Waits `ms`, or less if `saveNow` asks for an attempt meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private delay(): number {
    const delays = this.options.delaysMs ?? RETRY_DELAYS_MS;
    return delays[Math.min(this.failures, delays.length) - 1] ?? 1_000;
  }
}
