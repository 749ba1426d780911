/**
 * A VM at a glance: what it is (instance type, image, OS), where it runs (node, IPs, accelerator),
 * its conditions and its events (watched by involvedObject.uid, for the VM and its current VMI).
 */
import {
  Card,
  CardBody,
  CardTitle,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Grid,
  GridItem,
  Label,
  Content,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useMemo, type ReactNode } from 'react';
import { EVENTS } from '../../api/resources';
import type { Condition, Event } from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { useNow } from '../../components/useNow';
import {
  age,
  conditionOf,
  imageOf,
  instanceTypeOf,
  ipsOf,
  namespaceOf,
  nodeOf,
  osOf,
  runStrategy,
  type VmView,
} from '../selectors';

export function Overview({ view }: { view: VmView }) {
  const now = useNow();
  const { vm, vmi } = view;
  const info = vmi?.status?.guestOSInfo;
  const agent = conditionOf(vmi?.status?.conditions, 'AgentConnected')?.status === 'True';
  const items: [string, ReactNode][] = [
    ['Namespace', namespaceOf(vm)],
    [
      'Created',
      vm.metadata.creationTimestamp !== undefined
        ? `${age(vm.metadata.creationTimestamp, now)} ago (${new Date(vm.metadata.creationTimestamp).toLocaleString()})`
        : '',
    ],
    ['Run strategy', runStrategy(vm)],
    ['Instance type', instanceTypeOf(vm) || '—'],
    ['Preference', vm.spec.preference?.name ?? '—'],
    [
      'Image',
      <span className="hk-mono" key="image">
        {imageOf(vm) ?? '—'}
      </span>,
    ],
    ['Phase', vmi?.status?.phase ?? 'No instance'],
    ['Node', nodeOf(vmi) || '—'],
    [
      'IP addresses',
      <span className="hk-mono" key="ips">
        {ipsOf(vmi).join(', ') || '—'}
      </span>,
    ],
    ['Accelerator', vmi?.status?.accelerator?.toUpperCase() ?? '—'],
    [
      'Guest OS',
      info !== undefined
        ? `${osOf(view)}${info.kernelRelease !== undefined ? ` (kernel ${info.kernelRelease})` : ''}`
        : agent
          ? osOf(view)
          : 'Unknown: no guest agent connected',
    ],
  ];
  return (
    <Grid hasGutter>
      <GridItem lg={6}>
        <Card isFullHeight>
          <CardTitle component="h2">Details</CardTitle>
          <CardBody>
            <DescriptionList isHorizontal isCompact termWidth="11rem" aria-label="VM details">
              {items.map(([term, value]) => (
                <DescriptionListGroup key={term}>
                  <DescriptionListTerm>{term}</DescriptionListTerm>
                  <DescriptionListDescription data-testid={`detail-${term.toLowerCase().replace(/ /g, '-')}`}>
                    {value}
                  </DescriptionListDescription>
                </DescriptionListGroup>
              ))}
            </DescriptionList>
          </CardBody>
        </Card>
      </GridItem>
      <GridItem lg={6}>
        <Card isFullHeight>
          <CardTitle component="h2">Conditions</CardTitle>
          <CardBody>
            <Conditions
              rows={[
                ...(vm.status?.conditions ?? []).map((c) => ({ object: 'VM', c })),
                ...(vmi?.status?.conditions ?? []).map((c) => ({ object: 'VMI', c })),
              ]}
              now={now}
            />
          </CardBody>
        </Card>
      </GridItem>
      <GridItem span={12}>
        <Card>
          <CardTitle component="h2">Events</CardTitle>
          <CardBody>
            <Events namespace={namespaceOf(vm)} uids={[vm.metadata.uid, vmi?.metadata.uid]} now={now} />
          </CardBody>
        </Card>
      </GridItem>
    </Grid>
  );
}

function Conditions({ rows, now }: { rows: { object: string; c: Condition }[]; now: number }) {
  if (rows.length === 0) return <Content component="p">No conditions reported yet.</Content>;
  return (
    <Table aria-label="Conditions" variant="compact">
      <Thead>
        <Tr>
          <Th modifier="nowrap">Type</Th>
          <Th modifier="nowrap">Status</Th>
          <Th modifier="nowrap">Reason</Th>
          <Th modifier="nowrap">Changed</Th>
        </Tr>
      </Thead>
      <Tbody>
        {rows.map(({ object, c }) => (
          <Tr key={`${object}/${c.type}`}>
            <Td dataLabel="Type">
              {c.type} <span className="hk-subtle">({object})</span>
            </Td>
            <Td dataLabel="Status">{c.status}</Td>
            <Td dataLabel="Reason" modifier="breakWord">
              {c.reason ?? ''}
              {c.message !== undefined && c.message !== '' && (
                <div className="hk-small hk-subtle">{c.message}</div>
              )}
            </Td>
            <Td dataLabel="Changed">
              {typeof c.lastTransitionTime === 'string' ? age(c.lastTransitionTime, now) : ''}
            </Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

function Events({ namespace, uids, now }: { namespace: string; uids: (string | undefined)[]; now: number }) {
  const [vmUid, vmiUid] = uids;
  const forVm = useWatchList<Event>(EVENTS, {
    namespace,
    query: { fieldSelector: `involvedObject.uid=${vmUid ?? ''}` },
    enabled: vmUid !== undefined,
  });
  const forVmi = useWatchList<Event>(EVENTS, {
    namespace,
    query: { fieldSelector: `involvedObject.uid=${vmiUid ?? ''}` },
    enabled: vmiUid !== undefined,
  });
  const events = useMemo(
    () => [...forVm.items, ...forVmi.items].sort((a, b) => Date.parse(lastSeen(b)) - Date.parse(lastSeen(a))),
    [forVm.items, forVmi.items],
  );
  if (events.length === 0) return <Content component="p">No events.</Content>;
  return (
    <Table aria-label="Events" variant="compact">
      <Thead>
        <Tr>
          <Th modifier="nowrap">Type</Th>
          <Th modifier="nowrap">Reason</Th>
          <Th modifier="nowrap">Object</Th>
          <Th>Message</Th>
          <Th modifier="nowrap">From</Th>
          <Th modifier="nowrap">Last seen</Th>
        </Tr>
      </Thead>
      <Tbody>
        {events.map((e) => (
          <Tr key={e.metadata.uid ?? e.metadata.name}>
            <Td dataLabel="Type">
              {e.type === 'Warning' ? (
                <Label color="orange" status="warning">
                  Warning
                </Label>
              ) : (
                'Normal'
              )}
            </Td>
            <Td dataLabel="Reason">{e.reason ?? ''}</Td>
            <Td dataLabel="Object">{e.involvedObject.kind ?? ''}</Td>
            <Td dataLabel="Message">{e.message ?? ''}</Td>
            <Td dataLabel="From">{e.source?.component ?? e.reportingComponent ?? ''}</Td>
            <Td dataLabel="Last seen">
              {age(lastSeen(e), now)}
              {(e.count ?? 1) > 1 ? ` (×${e.count})` : ''}
            </Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

const lastSeen = (e: Event): string => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';
