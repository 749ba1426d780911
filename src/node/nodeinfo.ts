/**
 * The Node's `status.nodeInfo`, filled with the host's real values as a kubelet does: clients
 * (the official Python client among them) refuse a Node that lacks any of these fields. The file
 * reads and the QEMU version query are ports so the assembly is a pure, tested function.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { QEMU_BINARY } from '../hypervisor/probe-qemu.js';

export interface NodeSystemInfo {
  architecture: string;
  bootID: string;
  containerRuntimeVersion: string;
  kernelVersion: string;
  kubeProxyVersion: string;
  kubeletVersion: string;
  machineID: string;
  operatingSystem: string;
  osImage: string;
  systemUUID: string;
}

export interface HostFacts {
  /** A file's text, or undefined when it is absent or unreadable. */
  read(path: string): string | undefined;
  /** The first line of `qemu-system-x86_64 --version`, or undefined when QEMU does not run. */
  qemuVersionLine: string | undefined;
  hostname: string;
  /** Node's process.arch. */
  arch: string;
}

/** `QEMU emulator version 7.2.22 (Debian …)` → `qemu://7.2.22`, as kubelets print `containerd://1.7.2`. */
export function runtimeVersion(line: string | undefined): string {
  const version = /version\s+(\d+(?:\.\d+)+)/.exec(line ?? '')?.[1];
  return `qemu://${version ?? 'unknown'}`;
}

/** 32 hex digits as a lower-case UUID (8-4-4-4-12). */
const asUuid = (hex: string): string =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };

function osImage(osRelease: string | undefined): string {
  const line = (osRelease ?? '').split('\n').find((l) => l.startsWith('PRETTY_NAME='));
  const value = line
    ?.slice('PRETTY_NAME='.length)
    .trim()
    .replace(/^"(.*)"$/, '$1');
  return value === undefined || value === '' ? 'Linux' : value;
}

export function nodeSystemInfo(facts: HostFacts, serverVersion: string): NodeSystemInfo {
  const trimmed = (path: string): string | undefined => {
    const text = facts.read(path)?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  // machine-id is stable per installation; without one, derive a stable id from the host name.
  const machineID =
    trimmed('/etc/machine-id') ??
    trimmed('/var/lib/dbus/machine-id') ??
    createHash('sha256').update(`hikube-node:${facts.hostname}`).digest('hex').slice(0, 32);
  // product_uuid is the firmware's; hosts without DMI (or where it is root-only) get one derived
  // from the machine id, so it is stable across restarts.
  const systemUUID = trimmed('/sys/class/dmi/id/product_uuid') ?? asUuid(machineID.toLowerCase());
  return {
    architecture: GO_ARCH[facts.arch] ?? facts.arch,
    bootID: trimmed('/proc/sys/kernel/random/boot_id') ?? '',
    containerRuntimeVersion: runtimeVersion(facts.qemuVersionLine),
    kernelVersion: trimmed('/proc/sys/kernel/osrelease') ?? '',
    kubeProxyVersion: serverVersion,
    kubeletVersion: serverVersion,
    machineID,
    operatingSystem: 'linux',
    osImage: osImage(facts.read('/etc/os-release') ?? facts.read('/usr/lib/os-release')),
    systemUUID,
  };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function qemuVersionLine(binary: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 5000 }, (err, stdout) => {
      resolve(err === null ? stdout.split('\n')[0] : undefined);
    });
  });
}

/** The host's facts, read for real. */
export async function readHostFacts(binary: string = QEMU_BINARY): Promise<HostFacts> {
  return {
    read: readOrUndefined,
    qemuVersionLine: await qemuVersionLine(binary),
    hostname: hostname(),
    arch: process.arch,
  };
}
