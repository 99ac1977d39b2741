/**
 * The Kubernetes manifests (deploy/k8s): every object passes the Kubernetes OpenAPI schema of
 * its kind (kubernetes-models' validators), each kustomization's resources exist, and the
 * pieces fit together as docs/kubernetes.md says: the seed name is a headless Service that
 * publishes not-ready pods and is what GOSSIP_JOIN resolves; probes hit the health endpoints;
 * the key comes from a Secret mounted where GOSSIP_KEYRING_DIR points; a label is set; the grace
 * period equals the agent's --shutdown-grace; the disruption budget and Services select the pods;
 * named ports match; the pod runs as the image's non-root user. Finally the agent's own config
 * loader accepts each workload's environment (a misspelt GOSSIP_ variable or a bad value fails).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { configFromEnv, resolveConfig } from '../../src/agent/config.ts';
import { parseDurationMs } from '../../src/agent/duration.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = join(ROOT, 'deploy', 'k8s');

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML
type Obj = any;

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

function load(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${relative(ROOT, file)}: YAML errors`);
  return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

/** The kubernetes-models class for an apiVersion/kind (`apps/v1` + `StatefulSet`). */
async function modelFor(apiVersion: string, kind: string): Promise<new (o: Obj) => { validate(): void }> {
  const path = apiVersion.includes('/') ? apiVersion : `v1`;
  const mod = (await import(`kubernetes-models/${path}/${kind}`)) as Record<string, unknown>;
  const cls = mod[kind] as new (o: Obj) => { validate(): void };
  assert.ok(cls, `kubernetes-models has no ${apiVersion} ${kind}`);
  return cls;
}

/** The objects a kustomization directory produces (resources only, recursively). */
function kustomize(dir: string): Obj[] {
  const k = load(join(dir, 'kustomization.yaml'))[0];
  assert.equal(k.kind, 'Kustomization');
  const out: Obj[] = [];
  for (const r of k.resources as string[]) {
    const p = join(dir, r);
    assert.ok(existsSync(p), `${relative(ROOT, dir)}/kustomization.yaml: ${r} does not exist`);
    if (statSync(p).isDirectory()) out.push(...kustomize(p));
    else out.push(...load(p));
  }
  return out;
}

/** The env of a container as the kubelet would give it (fieldRefs and Secrets stood in for). */
function envOf(container: Obj): Record<string, string> {
  const stand: Record<string, string> = {
    'metadata.namespace': 'prod',
    'status.podIP': '10.1.2.3',
    'metadata.name': 'gossip-0',
  };
  const env: Record<string, string> = {};
  for (const e of container.env as Obj[]) {
    let v: string;
    if (e.value !== undefined)
      v = String(e.value).replace(/\$\((\w+)\)/g, (_, n: string) => env[n] ?? `$(${n})`);
    else if (e.valueFrom?.fieldRef) v = stand[e.valueFrom.fieldRef.fieldPath]!;
    else if (e.valueFrom?.secretKeyRef) v = 'a-token-from-the-secret';
    else throw new Error(`env ${e.name}: no value`);
    env[e.name] = v;
  }
  return env;
}

describe('deploy/k8s manifests', () => {
  const files = yamlFiles(K8S);

  it('every object passes its kind’s Kubernetes schema', async () => {
    let checked = 0;
    for (const file of files) {
      for (const o of load(file)) {
        if (o.kind === 'Kustomization') continue;
        const Model = await modelFor(o.apiVersion, o.kind);
        try {
          new Model(o).validate();
        } catch (e) {
          assert.fail(`${relative(ROOT, file)}: ${o.kind} ${o.metadata?.name}: ${(e as Error).message}`);
        }
        checked++;
      }
    }
    assert.ok(checked >= 5, `${checked} objects checked`);
  });

  for (const variant of ['statefulset', 'deployment'] as const) {
    it(`${variant}: the pieces fit together`, () => {
      const objs = kustomize(join(K8S, variant));
      const byKind = (kind: string) => objs.filter((o) => o.kind === kind);
      const workload = byKind(variant === 'statefulset' ? 'StatefulSet' : 'Deployment')[0];
      assert.ok(workload, `a ${variant}`);
      const pod = workload.spec.template.spec;
      const podLabels = workload.spec.template.metadata.labels as Record<string, string>;
      const selects = (sel: Record<string, string>) =>
        Object.entries(sel).every(([k, v]) => podLabels[k] === v);
      assert.ok(selects(workload.spec.selector.matchLabels));
      const c = pod.containers.find((x: Obj) => x.name === 'gossip');
      const env = envOf(c);

      // The seed name: headless, publishes not-ready pods, and is what the agents resolve.
      const seeds = byKind('Service').find((s) => s.spec.clusterIP === 'None');
      assert.ok(seeds, 'a headless Service');
      assert.equal(seeds.spec.publishNotReadyAddresses, true, 'not-ready pods are seeds too');
      assert.ok(selects(seeds.spec.selector));
      assert.equal(env.GOSSIP_JOIN, `dns+srv://_gossip._tcp.${seeds.metadata.name}.prod.svc.cluster.local`);
      assert.ok(seeds.spec.ports.some((p: Obj) => p.name === 'gossip' && p.protocol === 'TCP'));
      if (variant === 'statefulset') assert.equal(workload.spec.serviceName, seeds.metadata.name);
      // Named ports exist on the container.
      const portNames = new Set((c.ports as Obj[]).map((p) => p.name));
      for (const s of byKind('Service')) {
        for (const p of s.spec.ports)
          assert.ok(portNames.has(p.targetPort), `${s.metadata.name}: ${p.targetPort}`);
      }
      // Health probes.
      assert.equal(c.livenessProbe.httpGet.path, '/v1/health/live');
      assert.equal(c.readinessProbe.httpGet.path, '/v1/health/ready');
      assert.ok(portNames.has(c.readinessProbe.httpGet.port));
      // Keys from a Secret, mounted where the agent reads them.
      const keysMount = c.volumeMounts.find((m: Obj) => m.mountPath === env.GOSSIP_KEYRING_DIR);
      assert.ok(keysMount, 'GOSSIP_KEYRING_DIR is a mounted volume');
      const keysVolume = pod.volumes.find((v: Obj) => v.name === keysMount.name);
      assert.ok(keysVolume.secret?.secretName, 'the keys come from a Secret');
      assert.ok((keysVolume.secret.defaultMode & 0o040) !== 0, 'readable by the pod group (fsGroup)');
      // A label.
      assert.ok(env.GOSSIP_LABEL && env.GOSSIP_LABEL.length > 0, 'a cluster label');
      // Grace period = the agent's shutdown budget.
      assert.equal(pod.terminationGracePeriodSeconds * 1000, parseDurationMs(env.GOSSIP_SHUTDOWN_GRACE!));
      // Non-root, as the image's user node (uid 1000; see the Dockerfile).
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 1000);
      assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^USER node$/m);
      // A disruption budget over the same pods.
      const pdb = byKind('PodDisruptionBudget')[0];
      assert.ok(pdb && selects(pdb.spec.selector.matchLabels));
      if (variant === 'deployment') {
        assert.ok(Number(env.GOSSIP_BOOTSTRAP_MIN_PEERS) > 0, 'a Deployment gates its first start');
        assert.equal(workload.spec.strategy.rollingUpdate.maxUnavailable, 0);
      }

      // The agent's own loader accepts this environment, and every GOSSIP_ variable is one it knows.
      for (const [name, value] of Object.entries(env)) {
        if (!name.startsWith('GOSSIP_') || value === '') continue;
        assert.equal(
          Object.keys(configFromEnv({ [name]: value })).length,
          1,
          `${name} is not an agent variable`,
        );
      }
      const config = resolveConfig(configFromEnv(env));
      assert.equal(config.advertiseAddr, '10.1.2.3:7946');
      assert.equal(config.label, 'prod.gossip');
      assert.equal(config.keyringDir, '/etc/gossip/keys');
      assert.equal(config.dataDir, variant === 'statefulset' ? '/var/lib/gossip' : undefined);
      assert.equal(dirname(config.keyringDir!), '/etc/gossip');
    });
  }
});
