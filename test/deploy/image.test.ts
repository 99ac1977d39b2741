/**
 * The container image (Dockerfile): it builds with the container engine on this machine, is
 * small and non-root with a health check, and the agent in it joins a cluster, answers its
 * health checks (the image's own HEALTHCHECK command included) and leaves gracefully on SIGTERM.
 *
 * Long (minutes: a full `npm ci` and build inside the image), so it runs only with
 * GOSSIP_TEST_IMAGE=1 (`npm run test:image`). Where something is missing it says exactly what,
 * and what it did instead:
 * - no podman or docker: skipped;
 * - no registry access for the base image (this sandbox): the image is built on a stand-in base
 *   imported from this machine's node, npm and a static busybox (test/support/container.ts);
 * - an engine that cannot run containers (here crun's setrlimit is refused): the container's
 *   filesystem (`podman create` + `podman mount`) runs under `chroot` as the image's user, with
 *   its entrypoint, environment and working directory, and the HEALTHCHECK command runs the same
 *   way. Build-time RUN steps fall back to `--isolation chroot` for the same reason.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { containerEngine, nodeBaseImage, run } from '../support/container.ts';
import { GossipAgent } from '../support/gossip-agent.ts';
import { freePort, waitFor } from '../support/serf.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGE = 'localhost/gossip-image-test:latest';
const TOKEN = 'image-test-token-0123';
const GRACE_S = 10;
/** The official base is about 200 MB and the app 15 MB; more means something leaked in. */
const MAX_IMAGE_BYTES = 320 * 1024 * 1024;

const wanted = process.env.GOSSIP_TEST_IMAGE === '1';
const engineCheck = wanted ? containerEngine() : undefined;
const skip = !wanted
  ? 'builds the container image (minutes): run with GOSSIP_TEST_IMAGE=1 (npm run test:image)'
  : engineCheck && 'unavailable' in engineCheck
    ? `cannot build the image here: ${engineCheck.unavailable}`
    : false;

interface ImageConfig {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  ExposedPorts: Record<string, unknown>;
  Healthcheck?: { Test: string[] };
  StopSignal?: string;
}

describe('container image', { skip, timeout: 30 * 60_000 }, () => {
  const engine = engineCheck && 'engine' in engineCheck ? engineCheck.engine : 'podman';
  const cleanups: (() => void | Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('builds, small and non-root, and its agent joins, reports health and leaves on SIGTERM', async () => {
    const base = nodeBaseImage(engine);
    if ('unavailable' in base) {
      console.log(`image NOT built: ${base.unavailable}`);
      assert.fail(`cannot build the image: ${base.unavailable}`);
    }
    console.log(`image base: ${base.note}`);
    const args = [
      'build',
      '--format',
      'docker',
      '--network',
      'host',
      '--build-arg',
      `NODE_IMAGE=${base.image}`,
    ];
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    if (ca) args.push('--secret', `id=ca,src=${ca}`); // a TLS-intercepting proxy's CA, as on this machine
    args.push('-t', IMAGE, ROOT);
    // The build stages leave untagged images behind: remove those this build made.
    const dangling = () =>
      run(engine, ['images', '-q', '--filter', 'dangling=true']).out.split('\n').filter(Boolean);
    const before = new Set(dangling());
    cleanups.push(() => {
      const mine = dangling().filter((id) => !before.has(id));
      if (mine.length > 0) run(engine, ['rmi', '-f', ...mine]);
    });
    const started = performance.now();
    let build = run(engine, args, 25 * 60_000);
    if (build.status !== 0 && /cgroups in hybrid mode|OCI permission denied|setrlimit/.test(build.out)) {
      console.log(`image: ${engine} cannot run build containers here; RUN steps with --isolation chroot`);
      build = run(engine, [args[0]!, '--isolation', 'chroot', ...args.slice(1)], 25 * 60_000);
    }
    cleanups.push(() => void run(engine, ['rmi', '-f', IMAGE]));
    assert.equal(build.status, 0, `the image did not build:\n${build.out.slice(-4000)}`);
    const buildS = (performance.now() - started) / 1000;

    const inspect = JSON.parse(run(engine, ['image', 'inspect', IMAGE]).out) as {
      Size: number;
      Config: ImageConfig;
      Healthcheck?: ImageConfig['Healthcheck'];
    }[];
    const { Size, Config } = inspect[0]!;
    Config.Healthcheck ??= inspect[0]!.Healthcheck; // podman reports it beside Config
    assert.equal(Config.User, 'node', 'runs as the non-root user node');
    assert.ok(
      Config.Healthcheck?.Test.join(' ').includes('/v1/health/live'),
      'health check on /v1/health/live',
    );
    assert.deepEqual(Object.keys(Config.ExposedPorts).sort(), ['7373/tcp', '7946/tcp', '7946/udp']);
    assert.ok(Size < MAX_IMAGE_BYTES, `image of ${Size} bytes`);
    console.log(
      `image: built in ${buildS.toFixed(0)} s, ${(Size / 2 ** 20).toFixed(0)} MiB, user ${Config.User}`,
    );

    // A host agent for the containerized one to join.
    const peer = await GossipAgent.start({ node: 'host-peer', profile: 'local' });
    cleanups.push(() => peer.stop());
    const gossipPort = await freePort();
    const httpPort = await freePort();
    const agentArgs = [
      'agent',
      '--node',
      'in-image',
      '--bind',
      `127.0.0.1:${gossipPort}`,
      '--http',
      `127.0.0.1:${httpPort}`,
      '--profile',
      'local',
      '--join',
      peer.addr,
      '--shutdown-grace',
      `${GRACE_S}s`,
    ];
    const env = [`GOSSIP_HTTP_TOKEN=${TOKEN}`, `GOSSIP_HTTP_PORT=${httpPort}`];
    const runner = startContainer(engine, Config, env, agentArgs);
    cleanups.push(() => runner.kill());
    console.log(`image: ${runner.how}`);

    const base0 = `http://127.0.0.1:${httpPort}`;
    await waitFor(
      'the agent in the image to be ready',
      async () => {
        const r = await fetch(`${base0}/v1/health/ready`, { signal: AbortSignal.timeout(2000) });
        return r.status === 200;
      },
      60_000,
      200,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${runner.log()}`);
    });
    await waitFor(
      'the host peer to see it',
      async () => (await peer.statusOf('in-image')) === 'alive',
      30_000,
    );
    assert.equal(runner.uid(), 1000, 'the agent process runs as uid 1000');
    assert.equal(runner.healthcheck(), 0, "the image's HEALTHCHECK command passes");

    const sent = performance.now();
    const code = await runner.stop('SIGTERM', (GRACE_S + 5) * 1000);
    const exitedMs = performance.now() - sent;
    assert.equal(code, 0, `exit code after SIGTERM\n${runner.log()}`);
    assert.ok(exitedMs < GRACE_S * 1000, `exited within the grace period (${Math.round(exitedMs)} ms)`);
    await waitFor('the host peer to see it left', async () => (await peer.statusOf('in-image')) === 'left');
    console.log(`image: SIGTERM to exit ${Math.round(exitedMs)} ms; the peer saw left`);
  });
});

/** A container of the image, run by the engine when it can, else by chroot into its filesystem. */
function startContainer(engine: string, config: ImageConfig, env: string[], args: string[]) {
  const probe = run(engine, ['run', '--rm', '--network', 'host', IMAGE, 'version'], 120_000);
  if (probe.status === 0) return engineRunner(engine, env, args);
  return chrootRunner(engine, config, env, args, probe.out.trim().split('\n').slice(-1)[0] ?? '');
}

function engineRunner(engine: string, env: string[], args: string[]) {
  const name = `gossip-image-test-${process.pid}`;
  const r = run(engine, [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'host',
    ...env.flatMap((e) => ['-e', e]),
    IMAGE,
    ...args,
  ]);
  if (r.status !== 0) throw new Error(`${engine} run failed: ${r.out}`);
  return {
    how: `${engine} run`,
    log: () => run(engine, ['logs', name]).out,
    uid: () => Number(run(engine, ['exec', name, 'node', '-e', 'console.log(process.getuid())']).out.trim()),
    healthcheck: () => run(engine, ['healthcheck', 'run', name]).status,
    stop: async (_sig: string, timeoutMs: number) => {
      run(engine, ['stop', '-t', String(Math.ceil(timeoutMs / 1000)), name], timeoutMs + 10_000);
      return Number(run(engine, ['inspect', name, '--format', '{{.State.ExitCode}}']).out.trim());
    },
    kill: () => void run(engine, ['rm', '-f', name]),
  };
}

function chrootRunner(engine: string, config: ImageConfig, env: string[], args: string[], why: string) {
  const ctr = run(engine, ['create', '--network', 'host', IMAGE]).out.trim().split('\n').at(-1)!;
  const root = run(engine, ['mount', ctr]).out.trim();
  const fullEnv = [...config.Env, ...env];
  const inImage = (argv: string[]): string[] => [
    `--userspec=${config.User}:${config.User}`,
    root,
    '/bin/sh',
    '-c',
    'cd "$0" && exec env -i "$@"',
    config.WorkingDir || '/',
    ...fullEnv,
    ...argv,
  ];
  const proc: ChildProcess = spawn('chroot', inImage([...config.Entrypoint, ...args]), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const healthArgv = config.Healthcheck!.Test.slice(1); // ["CMD", ...argv]
  return {
    how: `${engine} cannot run containers here (${why}); running the container's filesystem under chroot as ${config.User}`,
    log: () => out,
    // `exec env -i` keeps the PID: the spawned process is the agent itself.
    uid: () => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1]),
    healthcheck: () => run('chroot', inImage(healthArgv), 30_000).status,
    stop: async (sig: NodeJS.Signals | string, timeoutMs: number) => {
      proc.kill(sig as NodeJS.Signals);
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      run(engine, ['umount', ctr]);
      run(engine, ['rm', '-f', ctr]);
    },
  };
}
