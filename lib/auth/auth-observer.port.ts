/**
 * What authentication reports besides audit events: the time each verification took. The monitoring
 * feature turns it into a histogram; without it, nothing is recorded.
 */
export abstract class AuthObserver {
  abstract observeVerification(seconds: number, outcome: 'success' | 'failure'): void;
}
