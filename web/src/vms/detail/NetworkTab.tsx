/**
 * The VM on the network: its interfaces with their MAC and IPs, the Services that select it (ports,
 * cluster IP, load balancer address), live; "Expose a port" creates a Service as `hikube expose`.
 */
import {
  Button,
  Card,
  CardBody,
  CardTitle,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  Content,
  TextInput,
} from '@patternfly/react-core';
import { useState } from 'react';
import { api } from '../../api/client';
import { resourcePath, SERVICES } from '../../api/resources';
import type { Service, ServiceType, VirtualMachine } from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { FormModal } from '../../components/FormModal';
import { ResourceTable, type Column } from '../../components/ResourceTable';
import {
  exposeService,
  interfaceRows,
  loadBalancerText,
  portsText,
  servicesOf,
  type ExposeForm,
  type InterfaceRow,
} from '../exposure';
import { nameOf, namespaceOf, type VmView } from '../selectors';

const interfaceColumns: Column<InterfaceRow>[] = [
  { id: 'name', title: 'Name', cell: (r) => r.name },
  { id: 'network', title: 'Network', cell: (r) => r.network },
  { id: 'binding', title: 'Binding', cell: (r) => r.binding, visibleFrom: 'md' },
  { id: 'model', title: 'Model', cell: (r) => r.model, visibleFrom: 'lg' },
  { id: 'mac', title: 'MAC', cell: (r) => <span className="hk-mono">{r.mac}</span>, visibleFrom: 'md' },
  { id: 'ips', title: 'IP addresses', cell: (r) => <span className="hk-mono">{r.ips.join(', ')}</span> },
];

const serviceColumns: Column<Service>[] = [
  { id: 'name', title: 'Name', cell: (s) => nameOf(s), sortValue: (s) => nameOf(s) },
  { id: 'type', title: 'Type', cell: (s) => s.spec?.type ?? 'ClusterIP' },
  { id: 'ports', title: 'Ports', cell: (s) => portsText(s).join(', ') },
  {
    id: 'clusterip',
    title: 'Cluster IP',
    cell: (s) => <span className="hk-mono">{s.spec?.clusterIP ?? ''}</span>,
    visibleFrom: 'md',
  },
  {
    id: 'lb',
    title: 'Load balancer',
    cell: (s) => <span className="hk-mono">{loadBalancerText(s).join('; ')}</span>,
  },
];

export default function NetworkTab({ view }: { view: VmView }) {
  const services = useWatchList<Service>(SERVICES, { namespace: namespaceOf(view.vm) });
  const [exposing, setExposing] = useState(false);
  const mine = servicesOf(view.vm, view.vmi, services.items);
  return (
    <Grid hasGutter>
      <GridItem span={12}>
        <Card>
          <CardTitle component="h2">Interfaces</CardTitle>
          <CardBody>
            <ResourceTable
              ariaLabel="Interfaces"
              rows={interfaceRows(view.vm, view.vmi)}
              rowKey={(r) => r.name}
              columns={interfaceColumns}
            />
          </CardBody>
        </Card>
      </GridItem>
      <GridItem span={12}>
        <Card>
          <CardTitle component="h2">Services</CardTitle>
          <CardBody>
            <Button variant="secondary" className="hk-gap-below" onClick={() => setExposing(true)}>
              Expose a port
            </Button>
            {mine.length === 0 ? (
              <Content component="p">No Service selects this VM.</Content>
            ) : (
              <ResourceTable
                ariaLabel="Services of the VM"
                rows={mine}
                rowKey={(s) => nameOf(s)}
                columns={serviceColumns}
              />
            )}
          </CardBody>
        </Card>
      </GridItem>
      {exposing && <ExposeModal vm={view.vm} onClose={() => setExposing(false)} />}
    </Grid>
  );
}

const TYPES: ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];

function ExposeModal({ vm, onClose }: { vm: VirtualMachine; onClose: () => void }) {
  const [form, setForm] = useState<ExposeForm>({
    name: `${nameOf(vm)}-ssh`,
    port: '22',
    targetPort: '',
    type: 'LoadBalancer',
    protocol: 'TCP',
  });
  const set = (patch: Partial<ExposeForm>) => setForm((f) => ({ ...f, ...patch }));
  const submit = async () => {
    await api.create(resourcePath(SERVICES, namespaceOf(vm)), exposeService(vm, form));
  };
  return (
    <FormModal id="expose" title="Expose a port" submitLabel="Expose" onSubmit={submit} onClose={onClose}>
      <FormGroup label="Service name" isRequired fieldId="expose-name">
        <TextInput id="expose-name" isRequired value={form.name} onChange={(_e, v) => set({ name: v })} />
      </FormGroup>
      <FormGroup label="Port" isRequired fieldId="expose-port">
        <TextInput
          id="expose-port"
          isRequired
          inputMode="numeric"
          value={form.port}
          onChange={(_e, v) => set({ port: v })}
        />
      </FormGroup>
      <FormGroup label="Guest port (defaults to the port)" fieldId="expose-target">
        <TextInput id="expose-target" value={form.targetPort} onChange={(_e, v) => set({ targetPort: v })} />
      </FormGroup>
      <FormGroup label="Type" fieldId="expose-type">
        <FormSelect id="expose-type" value={form.type} onChange={(_e, v) => set({ type: v as ServiceType })}>
          {TYPES.map((t) => (
            <FormSelectOption key={t} value={t} label={t} />
          ))}
        </FormSelect>
      </FormGroup>
      <FormGroup label="Protocol" fieldId="expose-protocol">
        <FormSelect
          id="expose-protocol"
          value={form.protocol}
          onChange={(_e, v) => set({ protocol: v as 'TCP' | 'UDP' })}
        >
          <FormSelectOption value="TCP" label="TCP" />
          <FormSelectOption value="UDP" label="UDP" />
        </FormSelect>
      </FormGroup>
    </FormModal>
  );
}
