import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { RequestContexts } from './request-context.js';
import { contextOfExecution } from './request-view.js';

/**
 * The first interceptor: runs the rest of the request (other interceptors, pipes, the handler) inside
 * the request's context. The middleware already did so on Express; on Fastify the body parser's stream
 * events lose the store between the middleware and the handler, so it is entered again here.
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Every transport: a GraphQL field resolution, a socket or RPC message runs in its own call's context.
    const requestContext = contextOfExecution(context);
    if (!requestContext || RequestContexts.current() === requestContext) return next.handle();
    return new Observable((subscriber) => RequestContexts.run(requestContext, () => next.handle().subscribe(subscriber)));
  }
}
