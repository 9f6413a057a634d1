// Rate limits of `surewire/server`: token buckets, one per session (takeovers) or per principal (new sessions).

/** A token bucket: `rate` tokens a second, at most `burst` saved up; it starts full. */
export class Bucket {
  #tokens: number;
  #at = Date.now();
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  #fill(): number {
    const now = Date.now();
    // A clock that went back refills nothing.
    this.#tokens = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.rate);
    this.#at = now;
    return this.#tokens;
  }

  /** Whether a token is there, without taking it. */
  ready(): boolean {
    return this.#fill() >= 1;
  }

  /** Takes a token; false when there is none (and nothing is taken). */
  take(): boolean {
    if (this.#fill() < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Full again: as good as a new one, so it may be dropped. */
  get full(): boolean {
    return this.#fill() >= this.burst;
  }
}

/** Buckets by key (a principal, an address), created full on first use; full ones are dropped as the map grows. */
export class Buckets {
  readonly #all = new Map<string, Bucket>();
  #sweepAt = 1024;
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  get(key: string): Bucket {
    let b = this.#all.get(key);
    if (!b) {
      if (this.#all.size >= this.#sweepAt) {
        for (const [k, v] of this.#all) if (v.full) this.#all.delete(k);
        // Sweeps stay rare however many keys are busy: the next one waits until the map doubles.
        this.#sweepAt = Math.max(1024, this.#all.size * 2);
      }
      this.#all.set(key, (b = new Bucket(this.rate, this.burst)));
    }
    return b;
  }
}
