/**
 * Secondary networks: NetworkAttachmentDefinitions (Multus) with their CNI type and subnet;
 * create one (a bridge, with host-local addresses when a subnet is given) or delete it.
 */
import { FormGroup, TextInput, FormHelperText, HelperText, HelperTextItem } from '@patternfly/react-core';
import { useState } from 'react';
import { api } from '../api/client';
import { apiVersionOf, NADS, resourcePath } from '../api/resources';
import type { NetworkAttachmentDefinition } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { FormModal } from '../components/FormModal';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { keyOf, nameOf, namespaceOf } from '../vms/selectors';
import { CatalogPage, Empty } from './CatalogPage';
import { DeleteButton } from './DeleteButton';
import { CreateButton, useMay, whyNot } from './gate';
import { describeConfig } from './networks';

const columns: Column<NetworkAttachmentDefinition>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf },
  { id: 'type', title: 'Type', cell: (n) => describeConfig(n.spec?.config).type },
  {
    id: 'subnet',
    title: 'Subnet',
    cell: (n) => <span className="hk-mono">{describeConfig(n.spec?.config).subnet || 'none (L2 only)'}</span>,
  },
];

export default function NetworksPage() {
  const scope = useScope();
  const nads = useWatchList<NetworkAttachmentDefinition>(NADS, scope);
  const [creating, setCreating] = useState(false);
  const { notices, report } = useNotices();
  const may = useMay();
  return (
    <CatalogPage
      title="Networks"
      description="Secondary networks VMs can join (NetworkAttachmentDefinitions): isolated L2 segments, with DHCP when they have a subnet."
      loaded={nads.loaded}
      error={nads.error}
      toolbar={
        <CreateButton id="create-network" allowed={may('create', NADS)} onClick={() => setCreating(true)}>
          Create network
        </CreateButton>
      }
    >
      {notices}
      {nads.items.length === 0 ? (
        <Empty>No secondary network yet. VMs use the pod network by default.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="Networks"
          rows={nads.items}
          rowKey={keyOf}
          columns={columns}
          rowActions={(n) => (
            <DeleteButton
              path={resourcePath(NADS, namespaceOf(n), nameOf(n))}
              what={`network "${nameOf(n)}"`}
              onError={report}
              why={whyNot(may('delete', NADS, namespaceOf(n)))}
            />
          )}
        />
      )}
      {creating && <CreateNetworkModal onClose={() => setCreating(false)} />}
    </CatalogPage>
  );
}

function CreateNetworkModal({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState('default');
  const [subnet, setSubnet] = useState('10.10.0.0/24');
  const submit = async () => {
    const config = {
      cniVersion: '0.3.1',
      type: 'bridge',
      ...(subnet.trim() !== '' ? { ipam: { type: 'host-local', subnet: subnet.trim() } } : {}),
    };
    const nad: NetworkAttachmentDefinition = {
      apiVersion: apiVersionOf(NADS),
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: name.trim(), namespace },
      spec: { config: JSON.stringify(config) },
    };
    await api.create(resourcePath(NADS, namespace), nad);
  };
  return (
    <FormModal
      id="create-network"
      title="Create a network"
      submitLabel="Create"
      onSubmit={submit}
      onClose={onClose}
    >
      <FormGroup label="Name" isRequired fieldId="network-name">
        <TextInput id="network-name" isRequired value={name} onChange={(_e, v) => setName(v)} />
      </FormGroup>
      <FormGroup label="Namespace" isRequired fieldId="network-namespace">
        <TextInput
          id="network-namespace"
          isRequired
          value={namespace}
          onChange={(_e, v) => setNamespace(v)}
        />
      </FormGroup>
      <FormGroup label="Subnet" fieldId="network-subnet">
        <TextInput id="network-subnet" value={subnet} onChange={(_e, v) => setSubnet(v)} />
        <FormHelperText>
          <HelperText>
            <HelperTextItem>
              Guests get addresses from it by DHCP; leave empty for a bare L2 segment.
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
      </FormGroup>
    </FormModal>
  );
}
