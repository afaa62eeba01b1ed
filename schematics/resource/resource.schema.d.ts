/** How the resource is served (see schema.json). */
export type ResourceTransport = 'rest' | 'graphql' | 'ws';

/** Options of the `resource` schematic (`nest g -c nestjs-zero-trust resource <name>`; see schema.json). */
export interface ResourceOptions {
  /** Singular resource name, e.g. `task` or `invoice-line`. */
  name: string;
  /**
   * `rest` (default): an `@OwnsResource` controller. `graphql`: a resolver served by `/graphql` (Apollo,
   * `zeroTrustGraphql()`). `ws`: a gateway on `/<plural>` behind the zero-trust WebSocket adapter.
   */
  transport?: ResourceTransport;
  /** Folder of the application's sources; the Nest CLI passes the project's. Default `src`. */
  sourceRoot?: string;
  /** Leave the resource's BOLA e2e test out. */
  skipTests?: boolean;
}
