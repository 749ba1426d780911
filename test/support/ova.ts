/**
 * OVAs built by the tests: an OVF descriptor written as VMware's exporter writes one (envelope,
 * references, disk section, virtual hardware with CIM items, vmw:Config for firmware), and the
 * tar around it, with member names of the test's choosing (including hostile ones).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';

export interface OvfSpec {
  name: string;
  cpus: number;
  memoryMiB: number;
  /** Member name and capacity in bytes of each disk. */
  disks: { href: string; capacity: number }[];
  nics?: string[];
  firmware?: 'efi' | 'bios';
  /** Extra `<Item>` XML (devices). */
  extraItems?: string;
}

export function ovfXml(s: OvfSpec): string {
  let id = 10;
  const item = (body: string): string =>
    `      <Item>\n        <rasd:InstanceID>${id++}</rasd:InstanceID>\n${body}\n      </Item>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-1" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
${s.disks.map((d, i) => `    <File ovf:href="${d.href}" ovf:id="file${i}"/>`).join('\n')}
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
${s.disks.map((d, i) => `    <Disk ovf:capacity="${d.capacity}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk${i}" ovf:fileRef="file${i}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`).join('\n')}
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="${s.name}">
    <Info>A virtual machine</Info>
    <Name>${s.name}</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian10_64Guest"><Info>The kind of installed guest operating system</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
${item(`        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n        <rasd:ElementName>${s.cpus} virtual CPU(s)</rasd:ElementName>\n        <rasd:ResourceType>3</rasd:ResourceType>\n        <rasd:VirtualQuantity>${s.cpus}</rasd:VirtualQuantity>`)}
${item(`        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n        <rasd:ElementName>${s.memoryMiB}MB of memory</rasd:ElementName>\n        <rasd:ResourceType>4</rasd:ResourceType>\n        <rasd:VirtualQuantity>${s.memoryMiB}</rasd:VirtualQuantity>`)}
${item(`        <rasd:Address>0</rasd:Address>\n        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>\n        <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>\n        <rasd:ResourceType>6</rasd:ResourceType>`)}
${s.disks.map((_, i) => item(`        <rasd:AddressOnParent>${i}</rasd:AddressOnParent>\n        <rasd:ElementName>Hard Disk ${i + 1}</rasd:ElementName>\n        <rasd:HostResource>ovf:/disk/vmdisk${i}</rasd:HostResource>\n        <rasd:Parent>12</rasd:Parent>\n        <rasd:ResourceType>17</rasd:ResourceType>`)).join('\n')}
${(s.nics ?? ['VmxNet3']).map((m, i) => item(`        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n        <rasd:Connection>VM Network</rasd:Connection>\n        <rasd:ElementName>Network adapter ${i + 1}</rasd:ElementName>\n        <rasd:ResourceSubType>${m}</rasd:ResourceSubType>\n        <rasd:ResourceType>10</rasd:ResourceType>`)).join('\n')}
${item(`        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n        <rasd:ElementName>Video card</rasd:ElementName>\n        <rasd:ResourceType>24</rasd:ResourceType>`)}
${s.extraItems ?? ''}
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="${s.firmware ?? 'bios'}"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

/** Writes a tar of `members` (name → bytes, or a host file to read) to `file`, in order. */
export async function writeOva(file: string, members: [string, Buffer | { path: string }][]): Promise<void> {
  const tar = pack();
  const done = pipeline(Readable.from(tar), createWriteStream(file));
  for (const [name, body] of members) {
    const data = Buffer.isBuffer(body) ? body : readFileSync(body.path);
    await new Promise<void>((resolve, reject) =>
      tar.entry({ name, size: data.length }, data, (err) => (err ? reject(err) : resolve())),
    );
  }
  tar.finalize();
  await done;
}
