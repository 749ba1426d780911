/**
 * Network test helpers: tiny-guest VMs that serve their name over HTTP (busybox httpd) and UDP (a
 * 9 KB static echo server built here with gcc, since busybox has no UDP server), clients that ask
 * a loopback address which guest answered, and the cleanup of a data dir's network segments.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './platform.js';

export const HTTP_PORT = 8080;
export const UDP_PORT = 9001;

const UDP_ECHO_C = String.raw`
/* UDP echo for the tiny guest: answers each datagram with "<hostname> <payload>". No libc. */
static long sc(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}
struct sin { unsigned short fam, port; unsigned addr; char zero[8]; };
__asm__(".globl _start\n_start:\n mov %rsp,%rdi\n and $-16,%rsp\n call cmain\n hlt\n");
void cmain(long *sp) {
  char **argv = (char **)(sp + 1);
  unsigned port = 0;
  for (char *p = sp[0] > 1 ? argv[1] : "9001"; *p; p++) port = port * 10 + (unsigned)(*p - '0');
  char uts[390];
  sc(63, (long)uts, 0, 0, 0, 0, 0);
  char *name = uts + 65;
  int n = 0;
  while (name[n]) n++;
  char buf[2048];
  for (int i = 0; i < n; i++) buf[i] = name[i];
  buf[n] = ' ';
  long fd = sc(41, 2, 2, 0, 0, 0, 0);
  struct sin a = {2, (unsigned short)((port >> 8) | (port << 8)), 0, {0}};
  if (sc(49, fd, (long)&a, sizeof a, 0, 0, 0) < 0) sc(60, 1, 0, 0, 0, 0, 0);
  for (;;) {
    struct sin from;
    unsigned len = sizeof from;
    long got = sc(45, fd, (long)(buf + n + 1), sizeof buf - n - 1, 0, (long)&from, (long)&len);
    if (got < 0) continue;
    sc(44, fd, (long)buf, n + 1 + got, 0, (long)&from, len);
  }
}
`;

/** The UDP echo binary, base64, built once into .cache/ (gcc comes with the build tools). */
export function udpEchoBase64(): string {
  const dir = join(repoRoot, '.cache', 'test-bin');
  const bin = join(dir, 'udpecho');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'udpecho.c'), UDP_ECHO_C);
    execFileSync('gcc', [
      '-Os',
      '-static',
      '-nostdlib',
      '-fno-stack-protector',
      '-fno-asynchronous-unwind-tables',
      '-Wl,--build-id=none',
      '-Wl,-z,noexecstack',
      '-s',
      '-o',
      bin,
      join(dir, 'udpecho.c'),
    ]);
  }
  return readFileSync(bin).toString('base64');
}

/** User data starting the name servers: HTTP on 8080 (the hostname), UDP echo on 9001. */
export function serverUserData(extra = ''): string {
  return [
    '#!/bin/sh',
    'mkdir -p /tmp/www && hostname > /tmp/www/index.html',
    `httpd -p ${HTTP_PORT} -h /tmp/www`,
    `echo ${udpEchoBase64()} | base64 -d > /tmp/udpecho && chmod +x /tmp/udpecho`,
    `/tmp/udpecho ${UDP_PORT} &`,
    extra,
  ].join('\n');
}

export interface GuestVmOptions {
  labels?: Record<string, string>;
  userData?: string;
  namespace?: string;
  /** Secondary networks: interface name → NetworkAttachmentDefinition name. */
  networks?: Record<string, string>;
  readinessProbe?: string[];
  ports?: { name: string; port: number; protocol?: string }[];
}

/** A tiny VM (128 MiB) with a default interface, optional secondary networks, labels and probe. */
export function guestVm(name: string, o: GuestVmOptions = {}): string {
  const labels = Object.entries(o.labels ?? {});
  const nets = Object.entries(o.networks ?? {});
  const ports = o.ports ?? [];
  return [
    'apiVersion: kubevirt.io/v1',
    'kind: VirtualMachine',
    'metadata:',
    `  name: ${name}`,
    ...(o.namespace !== undefined ? [`  namespace: ${o.namespace}`] : []),
    'spec:',
    '  runStrategy: Always',
    '  template:',
    ...(labels.length > 0
      ? ['    metadata:', '      labels:', ...labels.map(([k, v]) => `        ${k}: "${v}"`)]
      : []),
    '    spec:',
    '      terminationGracePeriodSeconds: 5',
    ...(o.readinessProbe !== undefined
      ? ['      readinessProbe:', ...o.readinessProbe.map((l) => `        ${l}`)]
      : []),
    '      domain:',
    '        devices:',
    '          disks:',
    '          - {name: root, disk: {}}',
    '          - {name: cloudinit, disk: {}}',
    '          interfaces:',
    `          - name: default`,
    '            masquerade: {}',
    ...(ports.length > 0
      ? [
          '            ports:',
          ...ports.map(
            (p) => `            - {name: ${p.name}, port: ${p.port}, protocol: ${p.protocol ?? 'TCP'}}`,
          ),
        ]
      : []),
    ...nets.map(([iface]) => `          - {name: ${iface}, bridge: {}}`),
    '        memory: {guest: 128Mi}',
    '      networks:',
    '      - {name: default, pod: {}}',
    ...nets.map(([iface, nad]) => `      - {name: ${iface}, multus: {networkName: ${nad}}}`),
    '      volumes:',
    '      - {name: root, containerDisk: {image: hikube/tiny}}',
    '      - name: cloudinit',
    '        cloudInitNoCloud:',
    '          userData: |',
    ...(o.userData ?? serverUserData()).split('\n').map((l) => `            ${l}`),
    '',
  ].join('\n');
}

/** GETs / over one TCP connection and returns the body (the guest's hostname), or throws. */
export function httpName(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      const m = /\r\n\r\n([\s\S]*)$/.exec(data);
      if (!data.startsWith('HTTP/1.') || m === null)
        reject(new Error(`not an HTTP answer: ${JSON.stringify(data.slice(0, 80))}`));
      else resolve((m[1] ?? '').trim());
    });
  });
}

/** Sends one datagram and returns the answer, or throws after `timeoutMs`. */
export function udpAsk(host: string, port: number, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg.toString());
    });
    socket.send(text, port, host);
  });
}
