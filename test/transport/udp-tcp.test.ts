/**
 * What only the socket transport does: bind-address validation, port 0 and the shared UDP/TCP
 * port, the inbound and outbound stream limits, send errors that are counted instead of thrown,
 * and dual-stack IPv6. Loopback only; every socket is closed in `afterEach`, even on failure.
 * The behaviour it shares with the in-memory network is in `contract.test.ts`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, it } from 'node:test';
import type { DialResult, Stream } from '../../src/transport/transport.ts';
import {
  MAX_INBOUND_STREAMS,
  UdpTcpTransport,
  type UdpTcpTransportOptions,
} from '../../src/transport/udp-tcp.ts';

const TEST_TIMEOUT_MS = 10_000;

const hasIpv6 = Object.values(os.networkInterfaces()).some((list) =>
  (list ?? []).some((i) => i.family === 'IPv6' && i.internal && i.address === '::1'),
);

/** Everything a test opened, closed by `afterEach`. */
const open: { transports: UdpTcpTransport[]; closers: (() => Promise<void>)[] } = {
  transports: [],
  closers: [],
};

afterEach(async () => {
  await Promise.all(open.transports.map((t) => t.shutdown()));
  for (const close of open.closers) await close();
  open.transports = [];
  open.closers = [];
});

async function listen(options: Partial<UdpTcpTransportOptions> = {}): Promise<UdpTcpTransport> {
  const t = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0', ...options });
  open.transports.push(t);
  return t;
}

function portOf(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, maxMs = 3000): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  while (!condition() && performance.now() < deadline) await sleep(2);
  return condition();
}

function dial(from: UdpTcpTransport, to: string, timeoutMs = 3000): Promise<DialResult> {
  return new Promise((resolve) => from.dialStream(to, timeoutMs, resolve));
}

describe('UdpTcpTransport.listen', () => {
  const invalid: [string, RegExp][] = [
    ['', /bindAddr is missing/],
    ['localhost:7946', /"localhost" is not an IP address/],
    ['127.0.0.1', /the port is missing/],
    ['[::1]', /the port is missing/],
    ['::1:7946', /IPv6 address needs brackets/],
    ['[::1:7946', /closing "\]" is missing/],
    ['127.0.0.1:65536', /port is not a number in 0\.\.65535/],
    ['127.0.0.1:http', /port is not a number in 0\.\.65535/],
    ['1.2.3.4.5:7946', /not an IP address/],
  ];
  for (const [bindAddr, why] of invalid) {
    it(`rejects bindAddr ${JSON.stringify(bindAddr)} saying what is wrong and giving an example`, async () => {
      await assert.rejects(UdpTcpTransport.listen({ bindAddr }), (error: Error & { code?: string }) => {
        assert.match(error.message, why);
        assert.match(error.message, /e\.g\. "0\.0\.0\.0:7946" or "\[::1\]:7946"/);
        assert.equal(error.code, 'ERR_INVALID_BIND_ADDR');
        return true;
      });
    });
  }

  it('with port 0 binds UDP and TCP on the same free port', { timeout: TEST_TIMEOUT_MS }, async () => {
    const t = await listen();
    const port = portOf(t.localAddr);
    assert.ok(port > 0);
    assert.equal(t.localAddr, `127.0.0.1:${port}`);
    // Both protocols really hold that port: a second bind of either fails.
    const udp = dgram.createSocket('udp4');
    open.closers.push(() => new Promise((resolve) => udp.close(() => resolve())));
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: '127.0.0.1', port }, resolve);
      }),
      { code: 'EADDRINUSE' },
    );
    const server = net.createServer();
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port }, resolve);
      }),
      { code: 'EADDRINUSE' },
    );
    assert.ok(t.stats.udpRecvBufferBytes > 0, 'receive buffer size is reported');
  });

  it('reports a port in use by TCP or by UDP, naming which', { timeout: TEST_TIMEOUT_MS }, async () => {
    const t = await listen();
    await assert.rejects(
      UdpTcpTransport.listen({ bindAddr: t.localAddr }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'EADDRINUSE');
        assert.match(error.message, /cannot bind TCP on "127\.0\.0\.1:\d+": the port is already in use/);
        return true;
      },
    );
    // Only UDP taken (TCP free on that number). A free UDP port's number may be held by some
    // other process's TCP socket (tests run in parallel): then the transport rightly names TCP,
    // and the check is made again on another UDP port.
    const udpErrors: string[] = [];
    for (let attempt = 0; attempt < 20 && udpErrors.length === 0; attempt++) {
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => udp.bind({ address: '127.0.0.1', port: 0 }, resolve));
      const udpPort = udp.address().port;
      try {
        const error = await UdpTcpTransport.listen({ bindAddr: `127.0.0.1:${udpPort}` }).then(
          async (unexpected) => {
            await unexpected.shutdown();
            return undefined;
          },
          (e: Error) => e,
        );
        assert.ok(error, `listen on 127.0.0.1:${udpPort} succeeded although UDP is taken`);
        if (/cannot bind TCP on .*in use/.test(error.message)) continue; // someone else's TCP
        udpErrors.push(error.message);
      } finally {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
      }
    }
    assert.equal(udpErrors.length, 1, 'a UDP port whose TCP number was free within 20 tries');
    assert.match(udpErrors[0]!, /cannot bind UDP on "127\.0\.0\.1:\d+": the port is already in use/);
  });

  it('frees both ports on shutdown, so the address can be bound again', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const t = await listen();
    await t.shutdown();
    const again = await listen({ bindAddr: t.localAddr });
    assert.equal(again.localAddr, t.localAddr);
  });
});

describe('UdpTcpTransport packets', () => {
  it('never throws from sendPacket: bad addresses, bad ports and oversize datagrams are counted and reported', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const errors: string[] = [];
    const t = await listen({
      onError: (error, kind) => errors.push(`${kind}:${(error as { code?: string }).code}`),
    });
    t.sendPacket('nonsense', Uint8Array.from([1]));
    t.sendPacket('example.com:7946', Uint8Array.from([1]));
    t.sendPacket('[::1]:7946', Uint8Array.from([1])); // IPv6 from a udp4 socket
    t.sendPacket('127.0.0.1:0', Uint8Array.from([1]));
    t.sendPacket(t.localAddr, new Uint8Array(70_000)); // over the IPv4 datagram limit
    assert.ok(await waitFor(() => t.stats.packetSendErrors === 5));
    assert.equal(errors.length, 5);
    assert.ok(errors.every((e) => e.startsWith('packet-send:')));
    assert.equal(errors.filter((e) => e === 'packet-send:ERR_INVALID_ADDR').length, 3);
    await t.shutdown();
    t.sendPacket('127.0.0.1:9', Uint8Array.from([1]));
    assert.equal(t.stats.packetSendErrors, 6);
  });

  it('receives IPv4 peers on an IPv6 socket bound dual-stack (IPv4-mapped loopback) as plain IPv4 addresses, and answers them', {
    timeout: TEST_TIMEOUT_MS,
    skip: hasIpv6 ? false : 'needs IPv6 loopback',
  }, async () => {
    const dual = await listen({ bindAddr: '[::ffff:127.0.0.1]:0' }); // a udp6 socket, loopback only
    const v4 = await listen();
    const atDual: string[] = [];
    const atV4: string[] = [];
    dual.attach({ packet: (_d, from) => atDual.push(from), stream: (s) => s.close() });
    v4.attach({ packet: (_d, from) => atV4.push(from), stream: (s) => s.close() });
    v4.sendPacket(`127.0.0.1:${portOf(dual.localAddr)}`, Uint8Array.from([1]));
    assert.ok(await waitFor(() => atDual.length === 1));
    assert.equal(atDual[0], v4.localAddr);
    dual.sendPacket(v4.localAddr, Uint8Array.from([2])); // an IPv4 target from a udp6 socket
    assert.ok(await waitFor(() => atV4.length === 1));
    assert.equal(dual.stats.packetSendErrors, 0);
  });
});

describe('UdpTcpTransport streams', () => {
  it(`resets inbound streams beyond the limit (default ${MAX_INBOUND_STREAMS}) and counts them`, {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    assert.equal(MAX_INBOUND_STREAMS, 512);
    const server = await listen({ maxInboundStreams: 2 });
    const client = await listen();
    const accepted: Stream[] = [];
    server.attach({ packet() {}, stream: (s) => accepted.push(s) });
    for (let i = 0; i < 2; i++) assert.equal((await dial(client, server.localAddr)).ok, true);
    assert.ok(await waitFor(() => accepted.length === 2));
    const third = await dial(client, server.localAddr);
    // The kernel may complete the handshake before we reset: then the stream dies at once.
    if (third.ok) {
      const closes: (Error | undefined)[] = [];
      third.stream.setHandlers({ data() {}, close: (e) => closes.push(e) });
      assert.ok(await waitFor(() => closes.length === 1));
    }
    assert.ok(await waitFor(() => server.stats.inboundStreamsRejected === 1));
    assert.equal(accepted.length, 2);
    // Closing one makes room again.
    accepted[0]!.setHandlers({ data() {}, close() {} });
    accepted[0]!.destroy();
    await sleep(20);
    assert.equal((await dial(client, server.localAddr)).ok, true);
    assert.ok(await waitFor(() => accepted.length === 3));
  });

  it('fails dials beyond maxOutboundStreams, and dials to a malformed address, asynchronously', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const server = await listen();
    server.attach({ packet() {}, stream() {} });
    const client = await listen({ maxOutboundStreams: 1 });
    assert.equal((await dial(client, server.localAddr)).ok, true);
    const second = await dial(client, server.localAddr);
    assert.equal(second.ok, false);
    assert.equal((second as { error: Error & { code?: string } }).error.code, 'EMFILE');
    let isSync = true;
    const bad = new Promise<DialResult>((resolve) =>
      client.dialStream('no-port', 1000, (r) => {
        assert.equal(isSync, false, 'callback must be asynchronous');
        resolve(r);
      }),
    );
    isSync = false;
    const r = await bad;
    assert.equal((r as { error: Error & { code?: string } }).error.code, 'ERR_INVALID_ADDR');
    assert.equal(client.stats.streamDialErrors, 2);
  });

  it('resets inbound connections that arrive before attach, and counts them', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const server = await listen();
    const socket = net.connect({ host: '127.0.0.1', port: portOf(server.localAddr) });
    open.closers.push(async () => void socket.destroy());
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    await closed;
    assert.equal(server.stats.inboundStreamsDroppedBeforeAttach, 1);
  });
});

describe('UdpTcpTransport shutdown', () => {
  it('lets the process exit when it shuts down while a stream it closed is still ending', {
    timeout: 30_000,
  }, async () => {
    // In a child process, since the failure is a process that never exits: a reset racing the
    // FIN that close() started left Node's TCP handle open (and the loop spinning on it).
    const script = `
      import { UdpTcpTransport } from ${JSON.stringify(new URL('../../src/transport/udp-tcp.ts', import.meta.url).href)};
      const a = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0' });
      const b = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0' });
      b.attach({ packet() {}, stream(s) { s.setHandlers({ data() {}, close() {} }); } });
      a.attach({ packet() {}, stream() {} });
      const r = await new Promise((resolve) => a.dialStream(b.localAddr, 5000, resolve));
      if (!r.ok) throw r.error;
      r.stream.setHandlers({ data() {}, close() {} });
      r.stream.write(new Uint8Array(64 * 1024));
      r.stream.close();
      await Promise.all([a.shutdown(), b.shutdown()]);
      console.log('shut down');`;
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(killer);
    assert.equal(code, 0, `the process did not exit by itself within 20 s (killed):\n${out}`);
    assert.match(out, /shut down/);
    assert.ok(Date.now() - started < 20_000);
  });
});
