import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { throwError } from 'rxjs';
import { AuditService } from '../audit/audit.service.js';
import { describeContext, RequestContexts, rawResponse } from '../core/request-context.js';
import { REQUEST_ID_HEADER } from './http.constants.js';
import { HTTP_CONFIG } from './http.internal-constants.js';
import type { HttpConfig } from './http.options.js';
import { applyHeaders } from './security-headers.js';

/** SQLSTATE 42501: the database refused (a missing grant or a row-level-security policy). */
function isDatabaseDenial(exception: unknown): boolean {
  return (exception as { driverError?: { code?: string } } | undefined)?.driverError?.code === '42501';
}

export interface ErrorBody {
  statusCode: number;
  message: string | string[];
  error: string;
}

/**
 * Every HTTP error leaves in one shape, `{statusCode, message, error}`, with no stack, SQL or
 * driver detail. 5xx answers are generic and logged with the request id so an operator can find
 * them. Headers are applied here too because some errors (a body parser's 413/400) happen before
 * any middleware runs. Subclass it (override `toBody`) and register the subclass through the
 * `enhancers.exceptionFilter` option, or set that option to `false` to keep an app filter of your own.
 */
@Catch()
@Injectable()
export class ZeroTrustExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ZeroTrustExceptionFilter');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(HTTP_CONFIG) private readonly config: HttpConfig,
    private readonly audit: AuditService,
  ) {}

  catch(exception: unknown, host: ArgumentsHost) {
    if (host.getType() !== 'http') return throwError(() => exception);
    const http = host.switchToHttp();
    const request = http.getRequest<object>();
    const response = http.getResponse<object>();
    const context = RequestContexts.of(request);
    const requestId = context.requestId;
    const body = this.toBody(exception);
    if (isDatabaseDenial(exception)) {
      const principal = context.principal;
      this.audit.publish({
        type: 'access.denied',
        outcome: 'denied',
        reason: 'database_denied',
        ...describeContext(context),
        principal: principal ? { subject: principal.subject, sessionId: principal.sessionId } : undefined,
      });
    }
    if (body.statusCode >= 500) {
      this.logger.error(`request ${requestId} failed`, exception instanceof Error ? exception.stack : String(exception));
    }
    const res = rawResponse(response);
    if (res.headersSent) return;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // A 503 of the module means a store did not answer: tell clients when to come back instead of failing them.
    if (body.statusCode === 503 && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', '5');
    applyHeaders(res, this.config.headers);
    this.adapterHost.httpAdapter.reply(response, body, body.statusCode);
  }

  protected toBody(exception: unknown): ErrorBody {
    // SQLSTATE 42501 (insufficient privilege): a grant or a row-level-security policy stopped the query.
    // The database said no, so the client gets the same 403 an authorization rule would give.
    if (isDatabaseDenial(exception)) {
      return { statusCode: 403, message: 'Access denied', error: 'Forbidden' };
    }
    const statusCode = exception instanceof HttpException ? exception.getStatus() : 500;
    const error = STATUS_CODES[statusCode] ?? 'Error';
    if (statusCode >= 500 || !(exception instanceof HttpException)) {
      return { statusCode, message: statusCode === 500 ? 'Internal server error' : error, error };
    }
    const payload = exception.getResponse();
    if (typeof payload === 'string') return { statusCode, message: payload, error };
    const message = (payload as { message?: unknown }).message;
    const safeMessage =
      typeof message === 'string' || (Array.isArray(message) && message.every((m) => typeof m === 'string'))
        ? (message as string | string[])
        : error;
    return { statusCode, message: safeMessage, error };
  }
}
