/** DI token of the resolved `apiKeys` / `machineClients` options. Internal: never exported from the package. */
export const CLIENTS_CONFIG = Symbol('zero-trust:clients-config');
