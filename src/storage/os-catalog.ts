/**
 * The OS catalog as data: one golden image per OS the platform offers, named as the DataSource a
 * VM clones its root disk from (`kubevirt-os-images/ubuntu-2204`, as KubeVirt's common golden
 * images are named), with the preference it defaults to, the upstream image a user would expect
 * (the containerdisks project's registry reference and/or the distribution's official cloud image)
 * and the names of the local images that already hold it. Nothing here is fetched by itself: an
 * image is pulled or imported when a VM or `hikube image import NAME` asks for it.
 */
import type { KubeObject } from '../api/meta.js';
import { normalizeReference } from './images.js';

/** Where the golden images' DataSources and PVCs live (KubeVirt's convention). */
export const OS_IMAGES_NAMESPACE = 'kubevirt-os-images';
/** KubeVirt's label naming the preference a DataSource's VMs default to. */
export const DEFAULT_PREFERENCE_LABEL = 'instancetype.kubevirt.io/default-preference';
/** Annotations on a golden DataSource (hikube's). */
export const UPSTREAM_ANNOTATION = 'os.hikube.io/upstream';
export const CONTAINERDISK_ANNOTATION = 'os.hikube.io/containerdisk';
export const LOCAL_IMAGE_ANNOTATION = 'os.hikube.io/local-image';
export const DISPLAY_NAME_ANNOTATION = 'os.hikube.io/display-name';
/** The OS and version, as a label value (`ubuntu-22.04`). */
export const OS_LABEL = 'os.hikube.io/os';
/** JSON of the kernel boot a VM from this image needs (`firmware.kernelBoot`), for images without a boot loader. */
export const KERNEL_BOOT_ANNOTATION = 'os.hikube.io/kernel-boot';

export interface OsImage {
  /** The DataSource's name. */
  name: string;
  displayName: string;
  /** OS name and version, as `hikube image list` shows them. */
  os: string;
  /** A VirtualMachineClusterPreference of src/api/catalog.ts. */
  preference: string;
  /** `containerDisk.image` short names that resolve to this image. */
  shortNames: string[];
  /** The containerdisks project's image (a registry reference). */
  containerDisk?: string;
  /** The distribution's official cloud image. */
  url?: string;
  /** Local image store names (built-in or imported) that hold it; the first found is used. */
  local: string[];
  /** No upstream image can be named (a licence is needed): the user imports an ISO or disk. */
  userSupplied?: boolean;
}

const ubuntu = (version: string, codename: string): OsImage => ({
  name: `ubuntu-${version.replace('.', '')}`,
  displayName: `Ubuntu ${version} LTS`,
  os: `ubuntu ${version}`,
  preference: 'ubuntu',
  shortNames: [`ubuntu:${version}`, `ubuntu:${codename}`],
  containerDisk: `quay.io/containerdisks/ubuntu:${version}`,
  url: `https://cloud-images.ubuntu.com/releases/${codename}/release/ubuntu-${version}-server-cloudimg-amd64.img`,
  local: [`ubuntu:${version}`],
});

const debian = (version: string, codename: string): OsImage => ({
  name: `debian-${version}`,
  displayName: `Debian ${version} (${codename})`,
  os: `debian ${version}`,
  preference: 'debian',
  shortNames: [`debian:${version}`, `debian:${codename}`],
  containerDisk: `quay.io/containerdisks/debian:${version}`,
  url: `https://cloud.debian.org/images/cloud/${codename}/latest/debian-${version}-genericcloud-amd64.qcow2`,
  local: [`debian:${version}`],
});

/** An OS known by family and version (`rocky-10`), with the short name `family:version`. */
const distro = (
  family: string,
  version: string,
  displayName: string,
  preference: string,
  upstream: { url?: string; containerDisk?: string } = {},
): OsImage => ({
  name: `${family}-${version}`,
  displayName,
  os: `${family.replace(/-/g, ' ')} ${version}`,
  preference,
  shortNames: [`${family}:${version}`],
  ...upstream,
  local: [`${family}:${version}`],
});

const rocky = (v: string): OsImage =>
  distro('rocky', v, `Rocky Linux ${v}`, 'centos', {
    url: `https://dl.rockylinux.org/pub/rocky/${v}/images/x86_64/Rocky-${v}-GenericCloud-Base.latest.x86_64.qcow2`,
  });

const almalinux = (v: string): OsImage =>
  distro('almalinux', v, `AlmaLinux ${v}`, 'centos', {
    url: `https://repo.almalinux.org/almalinux/${v}/cloud/x86_64/images/AlmaLinux-${v}-GenericCloud-latest.x86_64.qcow2`,
  });

const windows = (version: string): OsImage => ({
  name: `windows-${version}`,
  displayName: `Windows Server ${version}`,
  os: `windows ${version}`,
  preference: 'windows',
  shortNames: [`windows:${version}`],
  local: [`windows:${version}`],
  userSupplied: true,
});

export const OS_IMAGES: readonly OsImage[] = [
  ubuntu('20.04', 'focal'),
  ubuntu('22.04', 'jammy'),
  ubuntu('24.04', 'noble'),
  debian('11', 'bullseye'),
  debian('12', 'bookworm'),
  debian('13', 'trixie'),
  {
    name: 'centos-7',
    displayName: 'CentOS 7',
    os: 'centos 7',
    preference: 'centos',
    shortNames: ['centos:7'],
    containerDisk: 'quay.io/containerdisks/centos:7-2009',
    url: 'https://cloud.centos.org/centos/7/images/CentOS-7-x86_64-GenericCloud.qcow2',
    local: ['centos:7'],
  },
  {
    name: 'centos-stream-8',
    displayName: 'CentOS Stream 8',
    os: 'centos stream 8',
    preference: 'centos',
    shortNames: ['centos-stream:8', 'centos:8'],
    containerDisk: 'quay.io/containerdisks/centos-stream:8',
    url: 'https://cloud.centos.org/centos/8-stream/x86_64/images/CentOS-Stream-GenericCloud-8-latest.x86_64.qcow2',
    local: ['centos-stream:8'],
  },
  {
    name: 'centos-stream-9',
    displayName: 'CentOS Stream 9',
    os: 'centos stream 9',
    preference: 'centos',
    shortNames: ['centos-stream:9', 'centos:stream9'],
    containerDisk: 'quay.io/containerdisks/centos-stream:9',
    url: 'https://cloud.centos.org/centos/9-stream/x86_64/images/CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2',
    local: ['centos-stream:9'],
  },
  rocky('8'),
  rocky('9'),
  rocky('10'),
  almalinux('8'),
  almalinux('9'),
  almalinux('10'),
  {
    name: 'fedora-40',
    displayName: 'Fedora 40',
    os: 'fedora 40',
    preference: 'centos',
    shortNames: ['fedora:40'],
    containerDisk: 'quay.io/containerdisks/fedora:40',
    local: ['fedora:40'],
  },
  distro('centos-stream', '10', 'CentOS Stream 10', 'centos', {
    url: 'https://cloud.centos.org/centos/10-stream/x86_64/images/CentOS-Stream-GenericCloud-10-latest.x86_64.qcow2',
    containerDisk: 'quay.io/containerdisks/centos-stream:10',
  }),
  distro('opensuse-leap', '15.6', 'openSUSE Leap 15.6', 'custom', {
    url: 'https://download.opensuse.org/repositories/Cloud:/Images:/Leap_15.6/images/openSUSE-Leap-15.6.x86_64-NoCloud.qcow2',
  }),
  distro('opensuse-leap', '16.0', 'openSUSE Leap 16.0', 'custom', {
    url: 'https://download.opensuse.org/distribution/leap/16.0/appliances/Leap-16.0-Minimal-VM.x86_64-Cloud.qcow2',
  }),
  distro('alpine', '3.21', 'Alpine Linux 3.21', 'custom', {
    url: 'https://dl-cdn.alpinelinux.org/alpine/v3.21/releases/cloud/nocloud_alpine-3.21.7-x86_64-bios-cloudinit-r0.qcow2',
  }),
  {
    name: 'cirros',
    displayName: 'CirrOS (test image)',
    os: 'cirros',
    preference: 'custom',
    shortNames: [],
    url: 'https://download.cirros-cloud.net/0.6.2/cirros-0.6.2-x86_64-disk.img',
    local: ['cirros'],
  },
  {
    name: 'talos',
    displayName: 'Talos Linux',
    os: 'talos',
    preference: 'custom',
    shortNames: [],
    url: 'https://github.com/siderolabs/talos/releases/download/v1.7.6/nocloud-amd64.raw.xz',
    local: ['talos'],
  },
  windows('2019'),
  windows('2022'),
  {
    name: 'hikube-tiny',
    displayName: 'Hikube tiny (test image)',
    os: 'linux (busybox)',
    preference: 'custom',
    shortNames: [],
    local: ['hikube/tiny'],
  },
];

/** `ubuntu-2204`, `ubuntu-22.04`, `ubuntu:22.04`, `ubuntu:jammy` → the catalog entry, else undefined. */
export function findOsImage(name: string): OsImage | undefined {
  const n = name.trim().toLowerCase();
  return OS_IMAGES.find(
    (o) => o.name === n || o.shortNames.includes(n) || o.shortNames.some((s) => s.replace(':', '-') === n),
  );
}

/** A short `containerDisk.image` name of the catalog → its full registry reference. */
export function catalogReference(reference: string): { image: OsImage; full: string } | undefined {
  const want = normalizeReference(reference);
  const image = OS_IMAGES.find((o) => o.shortNames.some((s) => normalizeReference(s) === want));
  return image?.containerDisk === undefined ? undefined : { image, full: image.containerDisk };
}

export const osLabel = (os: string): string =>
  os
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** The golden DataSource of a catalog entry (seeded at first start; users may edit or delete it). */
export function osDataSource(o: OsImage): KubeObject {
  const upstream = o.url ?? (o.containerDisk !== undefined ? `docker://${o.containerDisk}` : undefined);
  return {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataSource',
    metadata: {
      name: o.name,
      namespace: OS_IMAGES_NAMESPACE,
      labels: { [DEFAULT_PREFERENCE_LABEL]: o.preference, [OS_LABEL]: osLabel(o.os) },
      annotations: {
        [DISPLAY_NAME_ANNOTATION]: o.displayName,
        [UPSTREAM_ANNOTATION]: upstream ?? 'user-supplied: import an ISO or disk image',
        ...(o.containerDisk !== undefined ? { [CONTAINERDISK_ANNOTATION]: o.containerDisk } : {}),
      },
    },
    spec: { source: { pvc: { namespace: OS_IMAGES_NAMESPACE, name: o.name } } },
  };
}

/** What the first start seeds: the namespace of the golden images and one DataSource per OS. */
export function osCatalogObjects(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OS_IMAGES_NAMESPACE } },
    ...OS_IMAGES.map(osDataSource),
  ];
}
