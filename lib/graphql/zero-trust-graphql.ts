/**
 * The GraphQL module options that keep the module's policy whole on GraphQL. The global guards already
 * run for every resolver (see `RequestView`); what only the GraphQL server can do is set here:
 *
 * - `fieldResolverEnhancers`: Nest runs no guard on a `@ResolveField` without it (the boot check refuses
 *   an app whose resolve-fields would run unguarded).
 * - Abuse limits from GraphQL Armor (depth, cost, aliases, directives, tokens) as validation rules: a
 *   document over a limit is refused before any resolver runs. Batched HTTP operations are off.
 * - Introspection and "Did you mean ...?" suggestions off in production (schema discovery for attackers).
 * - Errors masked: a client error keeps its message and code, anything else is "Internal server error";
 *   never a stack, SQL, or the original exception.
 *
 * Loaded only by an app that calls it: @nestjs/graphql, graphql and @escape.tech/graphql-armor are
 * optional peers, imported here on demand.
 */
export interface ZeroTrustGraphqlOptions {
  /** `apollo` (`@nestjs/apollo`, Express or Fastify) or `mercurius` (`@nestjs/mercurius`, Fastify). */
  driver: 'apollo' | 'mercurius';
  /** Turns introspection and field suggestions off. Default: `NODE_ENV === 'production'`. */
  production?: boolean;
  /** Deepest selection accepted. Default 8. */
  maxDepth?: number;
  /** Aliases per document. Default 15: each alias is a resolver call, authorized and counted on its own. */
  maxAliases?: number;
  /** Cost of a document (GraphQL Armor's cost model: objects 2, scalars 1, depth multiplied). Default 5000. */
  maxCost?: number;
  /** Directives per document. Default 50. */
  maxDirectives?: number;
  /** Tokens per document, counted by the parser before anything else. Default 1000. */
  maxTokens?: number;
}

type GraphqlErrorLike = {
  message: string;
  path?: readonly (string | number)[];
  locations?: readonly unknown[];
  extensions?: Record<string, unknown>;
  originalError?: unknown;
};

/** Codes whose message is the client's business (a bad document, a refused call); everything else is masked. */
const CLIENT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND']);
const SUGGESTION = / ?Did you mean .*$/s;
/** The same code for the same refusal on every driver (Apollo names some statuses, Mercurius none). */
const STATUS_CODES: Readonly<Record<number, string>> = { 400: 'BAD_REQUEST', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 429: 'TOO_MANY_REQUESTS' };

function statusOf(error: unknown): number | undefined {
  let current = error as { originalError?: unknown; getStatus?: () => number; status?: unknown } | undefined;
  for (let i = 0; i < 5 && current; i++) {
    if (typeof current.getStatus === 'function') return current.getStatus();
    current = current.originalError as typeof current;
  }
  return undefined;
}

/**
 * The error a client sees: generic unless it is the client's own (a 4xx refusal, a document the server
 * refused), and even then only message, code and where. `production` also strips field suggestions.
 */
export function maskGraphqlError(formatted: GraphqlErrorLike, error: unknown, production: boolean): GraphqlErrorLike {
  const status = statusOf(error);
  const code = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : undefined;
  // An error with a path happened while executing (a resolver threw, a value did not serialize): internal
  // unless it is a refusal with a status. One without a path is about the document (parse, validation).
  const duringExecution = formatted.path !== undefined;
  const clientError = status !== undefined ? status < 500 : !duringExecution && (code === undefined || CLIENT_CODES.has(code));
  const where = { ...(formatted.path ? { path: formatted.path } : {}), ...(formatted.locations ? { locations: formatted.locations } : {}) };
  if (!clientError) return { message: 'Internal server error', ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  const message = production ? formatted.message.replace(SUGGESTION, '') : formatted.message;
  const byStatus = status !== undefined ? STATUS_CODES[status] : undefined;
  return { message, ...where, extensions: { code: byStatus ?? code ?? 'BAD_REQUEST', ...(status !== undefined ? { status } : {}) } };
}

/**
 * Options to spread into `GraphQLModule.forRootAsync({ driver, useFactory: async () => ({ ...await
 * zeroTrustGraphql({ driver: 'apollo' }), autoSchemaFile: true }) })`.
 *
 * Subscriptions run on each driver's own WebSocket server, which these options do not reach: add
 * `zeroTrustGraphqlSubscriptions` (Apollo, graphql-ws) or spread `zeroTrustMercuriusSubscriptions`
 * (Mercurius) with this result as their third argument.
 */
export async function zeroTrustGraphql(options: ZeroTrustGraphqlOptions): Promise<Record<string, unknown>> {
  if (options?.driver !== 'apollo' && options?.driver !== 'mercurius') throw new TypeError("zeroTrustGraphql: driver must be 'apollo' or 'mercurius'");
  const production = options.production ?? process.env.NODE_ENV === 'production';
  const limits = {
    maxDepth: { n: options.maxDepth ?? 8 },
    maxAliases: { n: options.maxAliases ?? 15 },
    costLimit: { maxCost: options.maxCost ?? 5000 },
    maxDirectives: { n: options.maxDirectives ?? 50 },
    maxTokens: { n: options.maxTokens ?? 1000 },
    blockFieldSuggestion: { enabled: production },
  };
  for (const [name, value] of Object.entries({ maxDepth: limits.maxDepth.n, maxAliases: limits.maxAliases.n, maxCost: limits.costLimit.maxCost, maxDirectives: limits.maxDirectives.n, maxTokens: limits.maxTokens.n })) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`zeroTrustGraphql: ${name} must be a whole number of at least 1 (got ${String(value)})`);
  }
  // The CommonJS entry by path: graphql 16 has no `exports` map, and a bundler that prefers its `module`
  // field would load a second copy whose types the server's schema does not recognise ("another realm").
  const graphql = await import('graphql/index.js');
  const enhancers = { fieldResolverEnhancers: ['guards', 'interceptors', 'filters'] };
  if (options.driver === 'apollo') {
    const { ApolloArmor } = await import('@escape.tech/graphql-armor');
    const armor = new ApolloArmor(limits).protect();
    return {
      ...enhancers,
      introspection: !production,
      includeStacktraceInErrorResponses: false,
      // One HTTP request, one operation: a batch would multiply the work behind one rate-limit hit at the edge.
      allowBatchedHttpRequests: false,
      plugins: armor.plugins,
      validationRules: [...armor.validationRules, ...(production ? [graphql.NoSchemaIntrospectionCustomRule] : [])],
      formatError: (formatted: GraphqlErrorLike, error: unknown) => maskGraphqlError(formatted, error, production),
    };
  }
  // Mercurius: the same rules from the same library, as plain validation rules (the token limit and the
  // suggestion filter are Apollo plugins: Mercurius's own `queryDepth`, and the error formatter, stand in).
  const { ApolloArmor } = await import('@escape.tech/graphql-armor');
  const rules = new ApolloArmor({ ...limits, maxTokens: { enabled: false }, blockFieldSuggestion: { enabled: false } }).protect().validationRules;
  return {
    ...enhancers,
    graphiql: false,
    allowBatchedQueries: false,
    queryDepth: limits.maxDepth.n,
    validationRules: [...rules, ...(production ? [graphql.NoSchemaIntrospectionCustomRule] : [])],
    errorFormatter: (execution: { errors?: GraphqlErrorLike[]; data?: unknown }) => ({
      statusCode: 200,
      response: { data: execution.data ?? null, errors: (execution.errors ?? []).flatMap((error) => mercuriusErrors(error, production)) },
    }),
  };
}

/** Mercurius gathers a document's validation errors into one (`originalError.errors`): each is reported, masked. */
function mercuriusErrors(error: GraphqlErrorLike, production: boolean): GraphqlErrorLike[] {
  const json = (value: GraphqlErrorLike): GraphqlErrorLike => (typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as unknown as { toJSON(): GraphqlErrorLike }).toJSON() : value);
  const gathered = (error.originalError as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(gathered)) {
    return gathered.map((each: GraphqlErrorLike) => {
      const { message, locations } = json(each);
      return maskGraphqlError({ message: String(message), ...(locations ? { locations } : {}), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }, undefined, production);
    });
  }
  return [maskGraphqlError(json(error), error, production)];
}
