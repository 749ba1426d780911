/**
 * The VM list: every VM of the picked namespace (or of all, for who may list them all), live (watches on VMs and VMIs), with search, a status
 * filter, bulk start/stop/delete, and an empty state that leads to the create wizard.
 */
import {
  Alert,
  Button,
  Dropdown,
  DropdownItem,
  DropdownList,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  MenuToggle,
  PageSection,
  SearchInput,
  Select,
  SelectList,
  SelectOption,
  Content,
  Title,
  Toolbar,
  Tooltip,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { CubesIcon } from '@patternfly/react-icons/dist/esm/icons/cubes-icon';
import { useMemo, useState } from 'react';
import { VMIS, VMS } from '../api/resources';
import type { PrintableStatus, VirtualMachine, VirtualMachineInstance } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { navigate } from '../app/router';
import { runOnAll, type Action } from '../components/actions';
import { ActionsMenu, ConfirmModal } from '../components/ActionsMenu';
import { useNotices } from '../components/Notices';
import { ResourceTable } from '../components/ResourceTable';
import { useNow } from '../components/useNow';
import { Loading } from '../components/Loading';
import { useAccess } from '../auth/AccessContext';
import { AccessDenied, forbidden } from '../components/AccessDenied';
import { BULK_ACTIONS, permitted, VM_ACTIONS } from './actions';
import { vmColumns } from './columns';
import { ALL_STATUSES } from './StatusLabel';
import { ipsOf, joinVmis, keyOf, nameOf, namespaceOf, printableStatus, type VmView } from './selectors';

export function VmListPage() {
  const { namespace, may } = useAccess();
  const where = namespace === undefined ? {} : { namespace };
  const vms = useWatchList<VirtualMachine>(VMS, where);
  const vmis = useWatchList<VirtualMachineInstance>(VMIS, where);
  const denied = forbidden(vms.error);
  const rowActions = useMemo(() => permitted(VM_ACTIONS, may), [may]);
  const bulkActions = useMemo(() => permitted(BULK_ACTIONS, may), [may]);
  const now = useNow();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<PrintableStatus | 'all'>('all');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const { notices, report } = useNotices();

  const views = useMemo(() => joinVmis(vms.items, vmis.items), [vms.items, vmis.items]);
  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    return views.filter(
      (v) =>
        (status === 'all' || printableStatus(v.vm) === status) &&
        (q === '' ||
          [nameOf(v.vm), namespaceOf(v.vm), ...ipsOf(v.vmi)].some((s) => s.toLowerCase().includes(q))),
    );
  }, [views, search, status]);
  const chosen = rows.filter((v) => selected.has(keyOf(v.vm)));
  const columns = useMemo(() => vmColumns(now), [now]);

  const mayCreate =
    namespace === undefined
      ? true
      : may({ verb: 'create', group: 'kubevirt.io', resource: 'virtualmachines' }, namespace);
  const button = (
    <Button
      variant="primary"
      onClick={() => navigate({ page: 'create' })}
      isAriaDisabled={mayCreate !== true}
      data-testid="create-vm"
    >
      Create VM
    </Button>
  );
  const create = mayCreate === true ? button : <Tooltip content={mayCreate}>{button}</Tooltip>;

  return (
    <>
      {notices}
      <PageSection>
        <Title headingLevel="h1">Virtual machines</Title>
        <Content component="p">
          KubeVirt VirtualMachines in {namespace === undefined ? 'every namespace' : `namespace ${namespace}`}
          , as the API server reports them, live.
        </Content>
      </PageSection>
      <PageSection aria-label="Virtual machine list">
        {vms.error !== undefined && denied === undefined && (
          <Alert variant="warning" isInline title={`Reconnecting to the API server: ${vms.error.message}`} />
        )}
        {denied !== undefined ? (
          <AccessDenied
            what={`the virtual machines of ${namespace === undefined ? 'every namespace' : `namespace ${namespace}`}`}
            error={denied}
          />
        ) : !vms.loaded ? (
          <Loading />
        ) : views.length === 0 ? (
          <EmptyState titleText="No virtual machines yet" headingLevel="h2" icon={CubesIcon}>
            <EmptyStateBody>
              Create one from an image and an instance type, or <code>kubectl apply</code> a VirtualMachine.
            </EmptyStateBody>
            <EmptyStateFooter>
              <EmptyStateActions>{create}</EmptyStateActions>
            </EmptyStateFooter>
          </EmptyState>
        ) : (
          <>
            <Toolbar>
              <ToolbarContent>
                <ToolbarItem>
                  <SearchInput
                    aria-label="Search by name, namespace or IP"
                    placeholder="Search by name, namespace or IP"
                    value={search}
                    onChange={(_e, v) => setSearch(v)}
                    onClear={() => setSearch('')}
                  />
                </ToolbarItem>
                <ToolbarItem>
                  <StatusFilter
                    value={status}
                    onChange={setStatus}
                    present={views.map((v) => printableStatus(v.vm))}
                  />
                </ToolbarItem>
                <ToolbarItem>{create}</ToolbarItem>
                <ToolbarItem>
                  <BulkActions
                    actions={bulkActions}
                    targets={chosen}
                    onError={report}
                    onDone={() => setSelected(new Set())}
                  />
                </ToolbarItem>
              </ToolbarContent>
            </Toolbar>
            <ResourceTable
              ariaLabel="Virtual machines"
              rows={rows}
              rowKey={(v) => keyOf(v.vm)}
              columns={columns}
              selection={{ selected, onChange: setSelected }}
              rowActions={(v) => (
                <ActionsMenu
                  actions={rowActions}
                  target={v}
                  targetName={`VM "${nameOf(v.vm)}"`}
                  onError={report}
                  variant="kebab"
                />
              )}
            />
            {rows.length === 0 && (
              <EmptyState titleText="No VM matches" headingLevel="h2" variant="sm">
                <EmptyStateBody>Clear the search or the status filter.</EmptyStateBody>
              </EmptyState>
            )}
          </>
        )}
      </PageSection>
    </>
  );
}

function StatusFilter({
  value,
  onChange,
  present,
}: {
  value: PrintableStatus | 'all';
  onChange: (v: PrintableStatus | 'all') => void;
  present: PrintableStatus[];
}) {
  const [open, setOpen] = useState(false);
  const counts = new Map<PrintableStatus, number>();
  for (const s of present) counts.set(s, (counts.get(s) ?? 0) + 1);
  return (
    <Select
      isOpen={open}
      selected={value}
      onOpenChange={setOpen}
      onSelect={(_e, v) => {
        onChange(v as PrintableStatus | 'all');
        setOpen(false);
      }}
      toggle={(ref) => (
        <MenuToggle ref={ref} onClick={() => setOpen(!open)} isExpanded={open}>
          {value === 'all' ? 'All statuses' : value}
        </MenuToggle>
      )}
    >
      <SelectList>
        <SelectOption value="all">All statuses</SelectOption>
        {ALL_STATUSES.filter((s) => counts.has(s)).map((s) => (
          <SelectOption key={s} value={s}>
            {s} ({counts.get(s)})
          </SelectOption>
        ))}
      </SelectList>
    </Select>
  );
}

function BulkActions({
  actions,
  targets,
  onError,
  onDone,
}: {
  actions: readonly Action<VmView>[];
  targets: VmView[];
  onError: (m: string) => void;
  onDone: () => void;
}) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState<Action<VmView> | undefined>(undefined);
  const run = (action: Action<VmView>) => {
    void runOnAll(action, targets, (v) => `VM "${nameOf(v.vm)}"`).then((failures) => {
      failures.forEach(onError);
      onDone();
    });
  };
  return (
    <>
      <Dropdown
        isOpen={open}
        onOpenChange={setOpen}
        toggle={(ref) => (
          <MenuToggle
            ref={ref}
            onClick={() => setOpen(!open)}
            isExpanded={open}
            isDisabled={targets.length === 0}
          >
            {targets.length === 0 ? 'Bulk actions' : `Bulk actions (${targets.length} selected)`}
          </MenuToggle>
        )}
      >
        <DropdownList>
          {actions.map((action) => {
            const eligible = targets.filter((t) => action.enabled(t) === true).length;
            return (
              <DropdownItem
                key={action.id}
                data-testid={`bulk-${action.id}`}
                isAriaDisabled={eligible === 0}
                description={
                  eligible === targets.length
                    ? undefined
                    : eligible === 0
                      ? `No selected VM can ${action.label.toLowerCase()} now`
                      : `${eligible} of ${targets.length} selected can`
                }
                onClick={() => {
                  setOpen(false);
                  if (eligible === 0) return;
                  if (action.confirm !== undefined) setConfirming(action);
                  else run(action);
                }}
              >
                {action.label}
              </DropdownItem>
            );
          })}
        </DropdownList>
      </Dropdown>
      {confirming !== undefined && (
        <ConfirmModal
          title={`${confirming.label} ${targets.filter((t) => confirming.enabled(t) === true).length} VMs?`}
          verb={confirming.confirm?.verb ?? confirming.label}
          onConfirm={() => {
            run(confirming);
            setConfirming(undefined);
          }}
          onCancel={() => setConfirming(undefined)}
        >
          {targets
            .filter((t) => confirming.enabled(t) === true)
            .map((t) => nameOf(t.vm))
            .join(', ')}
        </ConfirmModal>
      )}
    </>
  );
}
