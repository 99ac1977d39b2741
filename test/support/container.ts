/**
 * A container engine for the image test: which one is here (podman, else docker), and a Node.js
 * base image for the Dockerfile's `NODE_IMAGE`: the official one when it is present or can be
 * pulled, else a stand-in imported from this machine (its `node`, `npm` and the shared libraries
 * node needs, with a static busybox for the shell and tools the Dockerfile's RUN steps use, and a
 * `node` user of uid 1000 as in the official images), because a sandbox without registry access
 * cannot pull one. Each function says why when it cannot do its job.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The official base the Dockerfile names by default. */
export const OFFICIAL_NODE_IMAGE = 'node:20-bookworm-slim';
/** The stand-in's name (local only). */
export const STANDIN_NODE_IMAGE = 'localhost/gossip-test-node-standin:20';

export interface Run {
  status: number | null;
  out: string;
}

export function run(cmd: string, args: string[], timeoutMs = 60_000, input?: Buffer): Run {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    ...(input ? { input } : {}),
  });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** podman or docker, whichever answers `info`; or why neither can be used. */
export function containerEngine(): { engine: string } | { unavailable: string } {
  const tried: string[] = [];
  for (const engine of ['podman', 'docker']) {
    const v = run(engine, ['--version'], 10_000);
    if (v.status !== 0) {
      tried.push(`${engine}: not installed`);
      continue;
    }
    const info = run(engine, ['info'], 30_000);
    if (info.status === 0) return { engine };
    tried.push(`${engine}: \`${engine} info\` failed: ${info.out.trim().split('\n').slice(-1)[0]}`);
  }
  return { unavailable: `no usable container engine (${tried.join('; ')})` };
}

/**
 * The base image to build with: the official one if it is here or can be pulled (within a
 * minute), else the stand-in (built once, then reused). `note` says which and why.
 */
export function nodeBaseImage(engine: string): { image: string; note: string } | { unavailable: string } {
  if (run(engine, ['image', 'exists', OFFICIAL_NODE_IMAGE], 10_000).status === 0) {
    return { image: OFFICIAL_NODE_IMAGE, note: `${OFFICIAL_NODE_IMAGE} (present)` };
  }
  const pull = run(engine, ['pull', OFFICIAL_NODE_IMAGE], 60_000);
  if (pull.status === 0) return { image: OFFICIAL_NODE_IMAGE, note: `${OFFICIAL_NODE_IMAGE} (pulled)` };
  const why = pull.out.trim().split('\n').slice(-1)[0] ?? '';
  const standin = buildStandin(engine);
  if ('unavailable' in standin) {
    return { unavailable: `${OFFICIAL_NODE_IMAGE} cannot be pulled (${why}) and ${standin.unavailable}` };
  }
  return {
    image: STANDIN_NODE_IMAGE,
    note: `${OFFICIAL_NODE_IMAGE} cannot be pulled here (${why}); built on a stand-in from this machine's node ${process.version}, npm and busybox`,
  };
}

function buildStandin(engine: string): { ok: true } | { unavailable: string } {
  if (run(engine, ['image', 'exists', STANDIN_NODE_IMAGE], 10_000).status === 0) return { ok: true };
  const busybox = '/bin/busybox';
  if (
    run(busybox, ['--list'], 5000).status !== 0 ||
    !/statically linked/.test(run('file', [busybox]).out + run('ldd', [busybox]).out)
  ) {
    return {
      unavailable: 'no static busybox for a stand-in base image (Debian: apt-get install busybox-static)',
    };
  }
  const nodeBin = process.execPath;
  const npmDir = join(dirname(nodeBin), '..', 'lib', 'node_modules', 'npm');
  if (!existsSync(join(npmDir, 'bin', 'npm-cli.js'))) return { unavailable: `npm not found at ${npmDir}` };
  const root = mkdtempSync(join(tmpdir(), 'gossip-standin-'));
  try {
    for (const d of [
      'bin',
      'usr/bin',
      'usr/local/bin',
      'usr/local/lib',
      'etc',
      'tmp',
      'root',
      'home/node',
      'lib64',
    ]) {
      mkdirSync(join(root, d), { recursive: true });
    }
    chmodSync(join(root, 'tmp'), 0o1777);
    cpSync(busybox, join(root, 'bin/busybox'));
    for (const applet of run(busybox, ['--list']).out.split('\n').filter(Boolean)) {
      if (applet === 'busybox') continue;
      symlinkSync('/bin/busybox', join(root, 'bin', applet));
    }
    symlinkSync('/bin/busybox', join(root, 'usr/bin/env'));
    cpSync(nodeBin, join(root, 'usr/local/bin/node'));
    // The shared libraries node links, at the paths ldd reports, and the rest of the C and C++
    // runtimes (as in the official slim image: native addons such as Vite's rolldown need librt).
    const libs = new Set<string>();
    for (const m of run('ldd', [nodeBin]).out.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) libs.add(m[1]!);
    for (const f of run('dpkg', ['-L', 'libc6', 'libstdc++6', 'libgcc-s1']).out.split('\n')) {
      if (/^\/(usr\/)?lib\/x86_64-linux-gnu\/[^/]+\.so[.\d]*$/.test(f) && existsSync(f)) libs.add(f);
    }
    for (const lib of libs) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      cpSync(lib, join(root, lib), { dereference: true });
    }
    cpSync(npmDir, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    const tar = spawnSync('tar', ['-C', root, '--owner=0', '--group=0', '-cf', '-', '.'], {
      maxBuffer: 1024 * 1024 * 1024,
      timeout: 120_000,
    });
    if (tar.status !== 0) return { unavailable: `cannot pack the stand-in: ${String(tar.stderr)}` };
    const packed = tar.stdout;
    const imp = run(
      engine,
      [
        'import',
        '--change',
        'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        '--change',
        'CMD ["node"]',
        '-',
        STANDIN_NODE_IMAGE,
      ],
      300_000,
      packed,
    );
    if (imp.status !== 0) return { unavailable: `${engine} import of the stand-in failed: ${imp.out}` };
    return { ok: true };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
