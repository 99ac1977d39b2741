/**
 * The CLI's requests to the agent, on `node:http`: what {@link GossipClient} needs of `fetch`
 * ({@link FetchLike}), without Node's `fetch` itself. Loading that (undici, in Node 20) cost a
 * `gossip members` more start-up CPU than all of the command's own code, and its pooled
 * keep-alive connection held the finished process open for a few hundred milliseconds more
 * (`npm run bench -- cli-start`). One request per connection (`Connection: close`): a command
 * makes one or two.
 */
import { request } from 'node:http';
import type { FetchLike, ResponseLike } from '../api/client.ts';

/** Longest body read whole by `json()` or `text()` (a member list of a big cluster fits). */
export const HTTP_FETCH_BODY_MAX = 64 * 1024 * 1024;

export const httpFetch: FetchLike = async (url, init) => {
  const u = new URL(url);
  // TLS (an agent behind an HTTPS proxy) is loaded only when asked for: it is most of node:https.
  const send = u.protocol === 'https:' ? (await import('node:https')).request : request;
  return new Promise<ResponseLike>((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers, connection: 'close' };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = send(
      u,
      { method: init.method, headers, ...(init.signal ? { signal: init.signal } : {}) },
      (res) => {
        const status = res.statusCode ?? 0;
        let used = false;
        const take = () => {
          if (used) throw new TypeError('the body was read already');
          used = true;
        };
        const whole = async (): Promise<string> => {
          take();
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const chunk of res) {
            size += (chunk as Buffer).length;
            if (size > HTTP_FETCH_BODY_MAX) {
              res.destroy();
              throw new Error(`the agent's answer is over ${HTTP_FETCH_BODY_MAX} bytes`);
            }
            chunks.push(chunk as Buffer);
          }
          return Buffer.concat(chunks).toString('utf8');
        };
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: res.statusMessage ?? '',
          text: whole,
          json: async () => JSON.parse(await whole()) as unknown,
          body: {
            getReader() {
              take();
              const it = res[Symbol.asyncIterator]();
              return {
                async read() {
                  const r = await it.next();
                  return r.done ? { done: true } : { done: false, value: new Uint8Array(r.value as Buffer) };
                },
                async cancel() {
                  res.destroy();
                },
              };
            },
          },
        });
      },
    );
    // A failure keeps its code where fetch's does (`cause.code`: ECONNREFUSED, ...).
    req.once('error', (e) => reject(new Error(`request to ${u.host} failed: ${e.message}`, { cause: e })));
    req.end(init.body);
  });
};
