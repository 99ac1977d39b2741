/**
 * The CLI's way to a running agent: {@link GossipClient} on the agent's HTTP API, the same one
 * third parties use. Errors come back as `AgentApiError` with the agent's message, or with an
 * explanation of why the agent could not be reached and what to do.
 */
import { DEFAULT_HTTP_ADDR, GossipClient } from '../api/client.ts';
import { httpFetch } from './http-fetch.ts';

/** Common flags of commands that talk to an agent: `--http ADDR` and `--token TOKEN`. */
export const CLIENT_FLAGS = {
  http: { type: 'string' },
  token: { type: 'string' },
} as const;

/** The client for `--http` (or `$GOSSIP_HTTP`) and `--token` (or `$GOSSIP_HTTP_TOKEN`). */
export function clientFrom(values: { http?: string; token?: string }, env: NodeJS.ProcessEnv): GossipClient {
  return new GossipClient({
    http: values.http ?? env.GOSSIP_HTTP ?? DEFAULT_HTTP_ADDR,
    token: values.token ?? env.GOSSIP_HTTP_TOKEN,
    fetch: httpFetch,
  });
}
