import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { throwError } from 'rxjs';
import { AuditService } from '../audit/audit.service.js';
import { IncidentLog } from '../audit/incident.log.js';
import { describeContext, RequestContexts, rawResponse } from '../core/request-context.js';
import { REQUEST_ID_HEADER } from './http.constants.js';
import { HTTP_CONFIG } from './http.internal-constants.js';
import type { HttpConfig } from './http.options.js';
import { applyHeaders } from './security-headers.js';

/** SQLSTATE 42501: the database refused (a missing grant or a row-level-security policy). */
function isDatabaseDenial(exception: unknown): boolean {
  return (exception as { driverError?: { code?: string } } | undefined)?.driverError?.code === '42501';
}

const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'FST_ERR_CTP_EMPTY_JSON_BODY_ABORTED']);

/** The client went away mid-request (body-parser's `request.aborted`, a reset socket): nothing to answer, no bug. */
function isClientAbort(exception: unknown, res: { destroyed?: boolean; writableEnded?: boolean }): boolean {
  const error = exception as { type?: unknown; code?: unknown } | undefined;
  return error?.type === 'request.aborted' || ABORT_CODES.has(String(error?.code)) || (res.destroyed === true && !res.writableEnded);
}

/** Why a 503 happened, for its incident line: the error's own `reason` (`issuer_unavailable`) or its class. */
function unavailableReason(exception: unknown): string {
  const reason = (exception as { reason?: unknown } | undefined)?.reason;
  if (typeof reason === 'string' && /^[a-z_]{1,40}$/.test(reason)) return reason;
  if (!(exception instanceof HttpException)) return 'database_unavailable';
  const name = (exception as { constructor?: { name?: string } }).constructor?.name;
  return name === 'SessionStoreUnavailable' ? 'session_store_unavailable' : 'store_unavailable';
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
  /** 503s and client aborts are faults, not bugs: one line per incident with counts, never a stack per request. */
  private readonly incidentLog = new IncidentLog(this.logger);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(HTTP_CONFIG) private readonly config: HttpConfig,
    private readonly audit: AuditService,
  ) {}

  catch(exception: unknown, host: ArgumentsHost) {
    // GraphQL reports an error a resolver returns as that field's error (graphql-js completeValue); an
    // Observable would be taken for the field's value. RPC and WebSocket handlers expect the Observable,
    // whose error is sent to the peer as it is: the same generic body as HTTP's, never the exception
    // (a driver error's enumerable `query` and `parameters` would go out with it).
    if (host.getType<string>() === 'graphql') return exception;
    if (host.getType() !== 'http') return throwError(() => this.toBody(exception));
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
    const res = rawResponse(response);
    if (isClientAbort(exception, res as { destroyed?: boolean; writableEnded?: boolean })) {
      this.incidentLog.record('client_abort', 'clients went away before their answer');
      if (res.headersSent || (res as { destroyed?: boolean }).destroyed) return;
    } else if (body.statusCode === 503) {
      const reason = unavailableReason(exception);
      this.incidentLog.record(`unavailable:${reason}`, `answered 503 (${reason}), last request ${requestId}`);
    } else if (body.statusCode >= 500) {
      this.logger.error(`request ${requestId} failed`, exception instanceof Error ? exception.stack : String(exception));
    }
    if (res.headersSent) return;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // A 503 of the module means a store did not answer: tell clients when to come back instead of failing them.
    if (body.statusCode === 503 && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', '5');
    applyHeaders(res, this.config.headers);
    this.adapterHost.httpAdapter.reply(response, body, body.statusCode);
  }

  /** Requests per incident kind (`unavailable:<reason>`, `client_abort`) since boot, for the metrics. */
  incidents(): ReadonlyMap<string, number> {
    return this.incidentLog.totals();
  }

  protected toBody(exception: unknown): ErrorBody {
    // SQLSTATE 42501 (insufficient privilege): a grant or a row-level-security policy stopped the query.
    // The database said no, so the client gets the same 403 an authorization rule would give.
    if (isDatabaseDenial(exception)) {
      return { statusCode: 403, message: 'Access denied', error: 'Forbidden' };
    }
    // A hung database is an outage, not a bug: SQLSTATE 57014 (statement_timeout), 25P03 (idle in
    // transaction too long), node-postgres' read and pool-acquire timeouts answer 503 (with Retry-After).
    const dbError = ((exception as { driverError?: unknown } | undefined)?.driverError ?? exception) as { code?: unknown; message?: unknown } | undefined;
    if (dbError?.code === '57014' || dbError?.code === '25P03' || /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout)$/.test(String(dbError?.message))) {
      return { statusCode: 503, message: 'Service Unavailable', error: 'Service Unavailable' };
    }
    // A guard that returns false on a message or socket: Nest throws its transport's exception (RpcException,
    // WsException) with its fixed text, not an HttpException. It is a refusal, not a failure of the server.
    if (isGuardRefusal(exception)) return { statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' };
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

/**
 * Nest's refusal when a guard returns false outside HTTP: `new RpcException('Forbidden resource')` or
 * `new WsException('Forbidden resource')` (`FORBIDDEN_MESSAGE` of @nestjs/core). Matched by shape and text,
 * so neither optional transport package is loaded here.
 */
function isGuardRefusal(exception: unknown): boolean {
  const candidate = exception as { getError?: unknown } | undefined;
  return !(exception instanceof HttpException) && typeof candidate?.getError === 'function' && (candidate.getError as () => unknown).call(exception) === 'Forbidden resource';
}
