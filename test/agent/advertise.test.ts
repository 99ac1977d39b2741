/**
 * The advertise-address rule (src/agent/network.ts), table-driven over made-up hosts: IPv4,
 * IPv6 and dual stack; a seed's subnet first, then the default route's interface, then the
 * first by name; never link-local; loopback and unspecified refused towards remote peers with
 * the flag to set. (The namespace test checks a real wildcard bind picks the same.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseAdvertiseAddr, type HostNetwork, type InterfaceAddr } from '../../src/agent/network.ts';
import { ConfigError } from '../../src/errors.ts';

const lo: InterfaceAddr[] = [
  { iface: 'lo', address: '127.0.0.1', family: 'IPv4', prefix: 8, internal: true },
  { iface: 'lo', address: '::1', family: 'IPv6', prefix: 128, internal: true },
];
const host = (addrs: InterfaceAddr[], v4: string[] = [], v6: string[] = []): HostNetwork => ({
  addrs: [...lo, ...addrs],
  defaultRoute: { v4, v6 },
});
const v4 = (iface: string, address: string, prefix = 24): InterfaceAddr => ({
  iface,
  address,
  family: 'IPv4',
  prefix,
  internal: false,
});
const v6 = (iface: string, address: string, prefix = 64): InterfaceAddr => ({
  iface,
  address,
  family: 'IPv6',
  prefix,
  internal: false,
});

/** A pod on a Class E network (not RFC 1918: "no private IP address found" elsewhere). */
const pod = host([v4('eth0', '240.0.3.7', 16), v6('eth0', 'fe80::1')], ['eth0']);
/** Two NICs: a public one with the default route, a private one towards the cluster. */
const twoNics = host([v4('eth0', '203.0.113.10'), v4('eth1', '10.1.2.3', 16)], ['eth0']);
/** Dual stack, IPv6 default route. */
const dual = host([v4('eth0', '10.0.0.5'), v6('eth0', 'fd00::5'), v6('eth0', 'fe80::5')], ['eth0'], ['eth0']);
/** No default route anywhere: the first by name. */
const noRoute = host([v4('ens9', '192.0.2.9'), v4('ens3', '198.51.100.3')]);

describe('advertise address rule', () => {
  const cases: {
    name: string;
    bound: string;
    advertise?: string;
    seeds?: string[];
    net: HostNetwork;
    want: string;
    why: RegExp;
  }[] = [
    {
      name: 'explicit --advertise wins',
      bound: '0.0.0.0:7946',
      advertise: '10.9.9.9',
      net: twoNics,
      want: '10.9.9.9:7946',
      why: /--advertise/,
    },
    {
      name: 'a concrete bind is advertised',
      bound: '10.1.2.3:8000',
      net: twoNics,
      want: '10.1.2.3:8000',
      why: /bind address/,
    },
    {
      name: 'wildcard: the subnet of a seed beats the default route',
      bound: '0.0.0.0:7946',
      seeds: ['10.1.200.1'],
      net: twoNics,
      want: '10.1.2.3:7946',
      why: /same subnet.*10\.1\.200\.1/,
    },
    {
      name: 'wildcard: the default route when no seed subnet matches',
      bound: '0.0.0.0:7946',
      seeds: ['172.16.0.1'],
      net: twoNics,
      want: '203.0.113.10:7946',
      why: /default route/,
    },
    {
      name: 'wildcard: a Class E pod network is fine (no private-range rule)',
      bound: '0.0.0.0:7946',
      net: pod,
      want: '240.0.3.7:7946',
      why: /default route/,
    },
    {
      name: 'wildcard: no default route, the first by interface name',
      bound: '0.0.0.0:7946',
      net: noRoute,
      want: '198.51.100.3:7946',
      why: /first IPv4 address by interface name/,
    },
    {
      name: ':: prefers IPv6 (never link-local)',
      bound: '[::]:7946',
      net: dual,
      want: '[fd00::5]:7946',
      why: /IPv6 address of eth0/,
    },
    {
      name: ':: with IPv4 seeds: the seeds\u2019 family',
      bound: '[::]:7946',
      seeds: ['10.0.0.9'],
      net: dual,
      want: '10.0.0.5:7946',
      why: /same subnet/,
    },
    {
      name: ':: with IPv6 seeds',
      bound: '[::]:7946',
      seeds: ['fd00::77'],
      net: dual,
      want: '[fd00::5]:7946',
      why: /same subnet/,
    },
    {
      name: '0.0.0.0 never advertises IPv6',
      bound: '0.0.0.0:7946',
      seeds: ['fd00::77'],
      net: dual,
      want: '10.0.0.5:7946',
      why: /default route/,
    },
    {
      name: 'loopback-only host with loopback seeds (a local test)',
      bound: '0.0.0.0:7946',
      seeds: ['127.0.0.1'],
      net: host([]),
      want: '127.0.0.1:7946',
      why: /loopback/,
    },
    {
      name: 'loopback bind with loopback seeds is fine',
      bound: '127.0.0.1:7946',
      seeds: ['127.0.0.2'],
      net: host([]),
      want: '127.0.0.1:7946',
      why: /bind address/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = chooseAdvertiseAddr({
        bound: c.bound,
        advertise: c.advertise,
        seedIps: c.seeds ?? [],
        network: c.net,
      });
      assert.equal(got.addr, c.want);
      assert.match(got.reason, c.why);
    });
  }

  const refused: {
    name: string;
    bound: string;
    advertise?: string;
    seeds?: string[];
    net: HostNetwork;
    msg: RegExp;
  }[] = [
    {
      name: 'loopback bind towards a remote seed',
      bound: '127.0.0.1:7946',
      seeds: ['10.0.0.5'],
      net: twoNics,
      msg: /loopback.*10\.0\.0\.5.*--advertise/,
    },
    {
      name: 'loopback --advertise towards a remote seed',
      bound: '0.0.0.0:7946',
      advertise: '127.0.0.1:7946',
      seeds: ['10.0.0.5'],
      net: twoNics,
      msg: /refusing to advertise 127\.0\.0\.1:7946.*--advertise/,
    },
    {
      name: 'IPv6 loopback towards a remote seed',
      bound: '[::1]:7946',
      seeds: ['fd00::9'],
      net: dual,
      msg: /loopback/,
    },
    {
      name: 'unspecified --advertise',
      bound: '0.0.0.0:7946',
      advertise: '0.0.0.0',
      net: twoNics,
      msg: /unspecified.*--advertise/,
    },
    {
      name: 'wildcard on a host with only loopback and link-local, remote seeds',
      bound: '0.0.0.0:7946',
      seeds: ['10.0.0.5'],
      net: host([v6('eth0', 'fe80::1')]),
      msg: /no IPv4 address peers could reach.*--advertise/,
    },
  ];
  for (const c of refused) {
    it(`refuses: ${c.name}`, () => {
      assert.throws(
        () =>
          chooseAdvertiseAddr({
            bound: c.bound,
            advertise: c.advertise,
            seedIps: c.seeds ?? [],
            network: c.net,
          }),
        (e: unknown) => e instanceof ConfigError && c.msg.test(e.message),
      );
    });
  }
});
