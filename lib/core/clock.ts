/**
 * The time every time-based check reads (token expiry, lockout windows, caches, rate-limit windows in
 * memory). Tests inject one they can move instead of sleeping; the database and Redis keep their own
 * clocks for what they store. Also the injection token: `@Inject(Clock)`, or just a `Clock` parameter.
 */
export abstract class Clock {
  /** Milliseconds since the epoch. */
  abstract now(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

/** A clock that moves only when told to: `clock.advance(61_000)` instead of waiting a minute. */
export class ManualClock extends Clock {
  constructor(private current = Date.now()) {
    super();
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(ms: number): void {
    this.current = ms;
  }
}
