/**
 * `gossip/client`: the agent's HTTP API for programs that manage agents: {@link GossipClient}
 * and the types of every request and answer. It loads none of the protocol.
 */
export { AgentApiError } from '../errors.ts';
export * from './client.ts';
export * from './types.ts';
