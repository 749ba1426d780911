/**
 * kubevirt.io/v1 volumes and networks of a VMI: where each disk's bytes come from and which network
 * each interface joins. Exactly one source per volume and per network; checked in validation.ts.
 */
import { DownwardAPIVolumeFile, LocalObjectReference } from '../core/refs.js';
import {
  Empty,
  ListMap,
  NoEffect,
  Obj,
  Preserve,
  Quantity,
  StringEnum,
  Type,
  type Static,
  opt,
} from '../schema.js';

const SecretRef = Obj('Reference to a Secret in the same namespace.', { name: Type.String() });

const CloudInit = (kind: string) =>
  Obj(`A ${kind} cloud-init data source built by the node agent.`, {
    userData: opt(Type.String({ description: 'Cloud-init user data, inline.' })),
    userDataBase64: opt(Type.String({ description: 'Cloud-init user data, base64.' })),
    secretRef: opt(SecretRef),
    networkData: opt(Type.String({ description: 'Network configuration, inline.' })),
    networkDataBase64: opt(Type.String()),
    networkDataSecretRef: opt(SecretRef),
  });

export const VolumeSources = {
  containerDisk: opt(
    Obj(
      'An ephemeral disk from an OCI image holding /disk/*.qcow2 or .raw; changes are lost when the VMI stops.',
      {
        image: Type.String({ description: 'Image reference, e.g. registry:5000/debian:12.' }),
        imagePullPolicy: opt(StringEnum(['Always', 'IfNotPresent', 'Never'])),
        imagePullSecret: opt(Type.String()),
        path: opt(Type.String({ description: 'Path of the disk inside the image.' })),
      },
    ),
  ),
  cloudInitNoCloud: opt(CloudInit('NoCloud')),
  cloudInitConfigDrive: opt(CloudInit('ConfigDrive')),
  persistentVolumeClaim: opt(
    Obj('A PersistentVolumeClaim in the same namespace.', {
      claimName: Type.String(),
      readOnly: opt(Type.Boolean()),
      hotpluggable: opt(Type.Boolean()),
    }),
  ),
  dataVolume: opt(
    Obj('A CDI DataVolume in the same namespace.', {
      name: Type.String(),
      hotpluggable: opt(Type.Boolean()),
    }),
  ),
  ephemeral: opt(
    Obj('A copy-on-write layer over a PVC, dropped when the VMI stops.', {
      persistentVolumeClaim: opt(
        Obj('The PVC under the layer.', { claimName: Type.String(), readOnly: opt(Type.Boolean()) }),
      ),
    }),
  ),
  emptyDisk: opt(Obj('A blank, temporary disk.', { capacity: Quantity('Size of the disk.') })),
  hostDisk: opt(
    Obj('A disk image on the host.', {
      path: Type.String(),
      type: StringEnum(['Disk', 'DiskOrCreate']),
      capacity: opt(Quantity()),
      shared: opt(NoEffect(Type.Boolean())),
    }),
  ),
  configMap: opt(
    Obj('A ConfigMap as a disk.', {
      name: Type.String(),
      optional: opt(Type.Boolean()),
      volumeLabel: opt(Type.String()),
    }),
  ),
  secret: opt(
    Obj('A Secret as a disk.', {
      secretName: Type.String(),
      optional: opt(Type.Boolean()),
      volumeLabel: opt(Type.String()),
    }),
  ),
  serviceAccount: opt(Obj('A service account token as a disk.', { serviceAccountName: Type.String() })),
  sysprep: opt(
    Obj('Sysprep answer files for Windows (autounattend.xml, unattend.xml), from one of:', {
      secret: opt(LocalObjectReference('A Secret holding the answer files.')),
      configMap: opt(LocalObjectReference('A ConfigMap holding the answer files.')),
    }),
  ),
  downwardAPI: opt(
    Obj('Fields of the VMI as files on a disk.', {
      fields: opt(Type.Array(DownwardAPIVolumeFile)),
      volumeLabel: opt(Type.String()),
    }),
  ),
  downwardMetrics: opt(Empty()),
  memoryDump: opt(
    Obj('A PVC that receives a dump of the guest memory.', {
      claimName: Type.String(),
      readOnly: opt(Type.Boolean()),
      hotpluggable: opt(Type.Boolean()),
    }),
  ),
};
export const VOLUME_SOURCES = Object.keys(VolumeSources);

export const Volume = Obj('A named data source for a disk.', {
  name: Type.String(),
  ...VolumeSources,
  containerPath: opt(NoEffect(Preserve('A path of the virt-launcher container as a volume.'))),
});
export type Volume = Static<typeof Volume>;

export const Network = Obj('A network the VMI joins; an interface of the same name connects to it.', {
  name: Type.String(),
  pod: opt(
    Obj('The default network (the pod network in KubeVirt).', {
      vmNetworkCIDR: opt(Type.String()),
      vmIPv6NetworkCIDR: opt(Type.String()),
    }),
  ),
  multus: opt(
    Obj('A secondary network described by a NetworkAttachmentDefinition.', {
      networkName: Type.String({
        description: 'NetworkAttachmentDefinition name, optionally namespace/name.',
      }),
      default: opt(Type.Boolean()),
    }),
  ),
  resourceClaim: opt(NoEffect(Preserve('A DRA network device claim.'))),
});
export type Network = Static<typeof Network>;
export const NETWORK_SOURCES = ['pod', 'multus'];

export const Volumes = ListMap(Volume, 'name', 'Volumes the disks refer to.');
export const Networks = ListMap(Network, 'name', 'Networks the interfaces refer to.');

export const AccessCredential = Obj('Credentials injected into the guest.', {
  sshPublicKey: opt(
    Obj('SSH public keys from a Secret.', {
      source: Obj('Where the keys come from.', {
        secret: Obj('A Secret whose values are authorized keys.', { secretName: Type.String() }),
      }),
      propagationMethod: Obj('How the keys reach the guest.', {
        noCloud: opt(Empty()),
        configDrive: opt(Empty()),
        qemuGuestAgent: opt(Obj('Through the guest agent.', { users: Type.Array(Type.String()) })),
      }),
    }),
  ),
  userPassword: opt(
    Obj('User passwords from a Secret, set by the guest agent.', {
      source: Obj('Where the passwords come from.', {
        secret: Obj('A Secret mapping user names to passwords.', { secretName: Type.String() }),
      }),
      propagationMethod: Obj('How the passwords reach the guest.', { qemuGuestAgent: opt(Empty()) }),
    }),
  ),
});
