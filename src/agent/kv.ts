/**
 * The agent's side of `/v1/kv` (src/agent/http.ts) and `gossip kv`: the replicated state's
 * entries and watch events in the API's JSON shapes (src/api/types.ts).
 */
import type {
  KvEntryJson,
  KvListResponse,
  KvWatchEvent,
  KvWriteResponse,
  ReplicasResponse,
  ValueJson,
} from '../api/types.ts';
import type { ReplicatedState, StateEntry, WatchEvent } from '../state/index.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A value as `{value}` text when it is valid UTF-8, else `{valueBase64}`. */
export function valueJson(value: Uint8Array): ValueJson {
  try {
    return { value: strictUtf8.decode(value) };
  } catch {
    return { valueBase64: Buffer.from(value).toString('base64') };
  }
}

/** `GET /v1/kv`: every visible key, by node, then key. */
export function kvList(
  state: ReplicatedState,
  filter: { node?: string | undefined; prefix?: string | undefined },
): KvListResponse {
  const nodes: KvListResponse['nodes'] = {};
  const options = {
    ...(filter.node !== undefined ? { node: filter.node } : {}),
    ...(filter.prefix !== undefined ? { prefix: filter.prefix } : {}),
  };
  for (const e of state.entries(options)) {
    let map = nodes[e.node];
    if (map === undefined) {
      map = {};
      nodes[e.node] = map;
    }
    map[e.key] = { ...valueJson(e.value), version: e.version };
  }
  return { nodes };
}

function entryJson(e: StateEntry): KvEntryJson {
  return {
    ...valueJson(e.value),
    node: e.node,
    key: e.key,
    version: e.version,
    generation: e.generation,
    ephemeral: e.ephemeral,
    ...(e.ttlRemainingMs !== undefined ? { ttlRemainingMs: e.ttlRemainingMs } : {}),
    ownerStatus: e.ownerStatus,
  };
}

/** `GET /v1/kv/:key`. */
export function kvGet(
  state: ReplicatedState,
  key: string,
  node: string | undefined,
): KvEntryJson | undefined {
  const e = state.getEntry(key, node === undefined ? {} : { node });
  return e === undefined ? undefined : entryJson(e);
}

/** `PUT /v1/kv/:key`. */
export function kvSet(
  state: ReplicatedState,
  key: string,
  value: Uint8Array,
  options: { ttlMs?: number | undefined; ephemeral: boolean },
): KvWriteResponse {
  const r = state.set(key, value, {
    ephemeral: options.ephemeral,
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  });
  return { version: r.version, generation: r.generation };
}

/** `DELETE /v1/kv/:key`. */
export function kvDelete(state: ReplicatedState, key: string): KvWriteResponse | undefined {
  const r = state.delete(key);
  return r === undefined ? undefined : { version: r.version, generation: r.generation };
}

/**
 * `GET /v1/kv?watch=1`: the library's watch as the API's events. Its snapshot becomes one
 * `set` per entry (no id: a resume from the middle of a snapshot must start it over), then
 * `ready` carrying the snapshot's token; each later change carries its own.
 */
export async function* kvWatch(
  state: ReplicatedState,
  options: { node?: string | undefined; prefix?: string | undefined; since?: string | undefined },
  signal: AbortSignal,
): AsyncIterable<KvWatchEvent> {
  const watch = state.watch({
    signal,
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.since !== undefined ? { since: options.since } : {}),
  });
  const since = options.since;
  // A resumed watch says so at once (no snapshot comes); one that cannot resume gets a snapshot.
  if (since !== undefined && state.canResume(since))
    yield { event: 'ready', id: since, data: { token: since } };
  try {
    for await (const e of watch as AsyncIterable<WatchEvent>) {
      if (e.type === 'snapshot') {
        for (const x of e.entries) {
          yield {
            event: 'set',
            data: {
              ...valueJson(x.value),
              node: x.node,
              key: x.key,
              version: x.version,
              generation: x.generation,
              snapshot: true,
            },
          };
        }
        yield { event: 'ready', id: e.token, data: { token: e.token } };
      } else {
        if (e.type === 'set') {
          yield {
            event: 'set',
            id: e.token,
            data: {
              ...valueJson(e.value),
              node: e.node,
              key: e.key,
              version: e.version,
              generation: e.generation,
            },
          };
        } else {
          yield {
            event: 'delete',
            id: e.token,
            data: { node: e.node, key: e.key, version: e.version, generation: e.generation, cause: e.cause },
          };
        }
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

/** `GET /v1/replicas/:node`. */
export async function replicas(state: ReplicatedState, node: string): Promise<ReplicasResponse> {
  const answers = await state.replicas(node);
  return {
    node,
    replicas: answers.map((a) => ({ node: a.node, generation: a.generation, version: a.version })),
  };
}
