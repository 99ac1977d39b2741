/**
 * The CLI's way to a running agent: its HTTP API, the same one third parties use. Errors come
 * back as `AgentApiError` with the agent's message, or with an explanation of why the agent
 * could not be reached and what to do.
 */
import { GossipError } from '../errors.ts';

/** The agent answered with an error, or could not be reached. */
export class AgentApiError extends GossipError {
  override name = 'AgentApiError';
  readonly status: number;
  constructor(message: string, status: number) {
    super('agent-api', message);
    this.status = status;
  }
}

export interface ClientOptions {
  /** `ip:port` of the agent's HTTP API. */
  http: string;
  token?: string | undefined;
  /** @default 30000 */
  timeoutMs?: number;
}

export class AgentClient {
  readonly base: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    this.base = options.http.startsWith('http') ? options.http.replace(/\/$/, '') : `http://${options.http}`;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        ...init,
        headers,
        signal: init.signal ?? AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new AgentApiError(
        `cannot reach the gossip agent at ${this.base} (${cause}). Is it running? Start one with \`gossip agent\`, or point --http at it.`,
        0,
      );
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const body = (await res.json()) as { error?: string };
        if (body.error) message = body.error;
      } catch {
        // not JSON: keep the status line
      }
      throw new AgentApiError(message, res.status);
    }
    return res;
  }

  async get<T>(path: string): Promise<T> {
    return (await (await this.#fetch(path)).json()) as T;
  }

  async post<T>(path: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    const res = await this.#fetch(path, {
      method: 'POST',
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
    return (await res.json()) as T;
  }

  /** Reads a newline-delimited JSON or SSE response line by line. */
  async *lines(path: string, init: RequestInit = {}): AsyncGenerator<string> {
    const res = await this.#fetch(path, { ...init, signal: init.signal ?? null });
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        yield buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    }
    if (buf) yield buf;
  }
}

/** Common flags of commands that talk to an agent: `--http ADDR` and `--token TOKEN`. */
export const CLIENT_FLAGS = {
  http: { type: 'string' },
  token: { type: 'string' },
} as const;

export function clientFrom(values: { http?: string; token?: string }, env: NodeJS.ProcessEnv): AgentClient {
  return new AgentClient({
    http: values.http ?? env.GOSSIP_HTTP ?? '127.0.0.1:7373',
    token: values.token ?? env.GOSSIP_HTTP_TOKEN,
  });
}
