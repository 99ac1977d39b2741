/**
 * Operations helpers for a running node: liveness and readiness for probes (a function, a
 * response builder, a `node:http`/Express middleware) and the budgeted graceful shutdown.
 */
export * from './health.ts';
export * from './shutdown.ts';
