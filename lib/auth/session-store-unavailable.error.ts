import { ServiceUnavailableException } from '@nestjs/common';

/**
 * The session store could not answer "is this session live?" (or could not start or rotate one).
 * That is not the client's fault: answering 401 `invalid_token` would make OAuth clients throw their
 * tokens away and log users out over a database blip, and fill the audit trail with false attacks. The
 * request gets 503 with `Retry-After` instead, and the store's failure is reported once per interval.
 */
export class SessionStoreUnavailable extends ServiceUnavailableException {
  constructor(readonly reason?: unknown) {
    super('Service temporarily unavailable');
  }
}
