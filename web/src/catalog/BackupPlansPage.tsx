/**
 * Backup plans (Cozystack's backups.cozystack.io Plan): which application each backs up, with
 * which BackupClass, on which cron (UTC), its last and next run and the retention it keeps (Hikube's
 * backups.hikube.io/keep and max-age annotations), live. Create one, delete one (its Backups stay).
 * The API's refusals show under the fields.
 */
import { Button, FormGroup, FormSelect, FormSelectOption, TextInput } from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { api } from '../api/client';
import { useApiGroup } from '../api/discovery';
import { BACKUPS_GROUP, PLANS, resourcePath } from '../api/resources';
import type { Plan } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { FieldHelp, FormModal, useValidated } from '../components/FormModal';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { RowMenu } from '../components/RowMenu';
import { useNow } from '../components/useNow';
import { KEEP_ANNOTATION, MAX_AGE_ANNOTATION, buildPlan, planRetention, type PlanForm } from '../vms/backups';
import { age, keyOf, nameOf, namespaceOf, until } from '../vms/selectors';
import { CatalogPage, Empty } from './CatalogPage';
import { useDelete } from './DeleteButton';

function columns(now: number): Column<Plan>[] {
  return [
    { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
    { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf, visibleFrom: 'md' },
    {
      id: 'application',
      title: 'Application',
      cell: (p) => `${p.spec.applicationRef.kind} ${p.spec.applicationRef.name}`,
    },
    { id: 'class', title: 'Class', cell: (p) => p.spec.backupClassName, visibleFrom: 'md' },
    {
      id: 'schedule',
      title: 'Schedule (UTC)',
      cell: (p) => <span className="hk-mono">{p.spec.schedule.cron}</span>,
    },
    {
      id: 'last',
      title: 'Last run',
      cell: (p) => {
        const t = p.status?.lastScheduleTime;
        return t === undefined ? 'never' : <time dateTime={t} title={t}>{`${age(t, now)} ago`}</time>;
      },
      visibleFrom: 'lg',
    },
    {
      id: 'next',
      title: 'Next run',
      cell: (p) => {
        const t = p.status?.nextScheduleTime;
        return t === undefined ? '' : <time dateTime={t} title={t}>{`in ${until(t, now)}`}</time>;
      },
    },
    { id: 'keep', title: 'Keeps', cell: planRetention, visibleFrom: 'lg' },
  ];
}

export default function BackupPlansPage() {
  const served = useApiGroup(BACKUPS_GROUP);
  const scope = useScope();
  const plans = useWatchList<Plan>(PLANS, { ...scope, enabled: served !== null && served !== undefined });
  const [creating, setCreating] = useState(false);
  const { notices, report } = useNotices();
  const remove = useDelete(report);
  const now = useNow();
  const cols = useMemo(() => columns(now), [now]);
  return (
    <CatalogPage
      title="Backup plans"
      description="Backups of a VM instance or VM taken on a cron schedule (UTC) to the target of a BackupClass, the oldest pruned by count and age."
      loaded={served === null || plans.loaded}
      error={plans.error}
      toolbar={
        <Button variant="primary" onClick={() => setCreating(true)} isAriaDisabled={served === null}>
          Create plan
        </Button>
      }
    >
      {notices}
      {served === null ? (
        <Empty>This server does not serve {BACKUPS_GROUP}.</Empty>
      ) : plans.items.length === 0 ? (
        <Empty>No backup plan yet.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="Backup plans"
          rows={plans.items}
          rowKey={keyOf}
          columns={cols}
          rowActions={(p) => (
            <RowMenu
              label={`Actions for plan "${nameOf(p)}"`}
              items={[
                {
                  id: 'delete',
                  label: 'Delete',
                  danger: true,
                  onClick: () =>
                    remove.ask(
                      resourcePath(PLANS, namespaceOf(p), nameOf(p)),
                      `plan "${nameOf(p)}" (its backups stay)`,
                    ),
                },
              ]}
            />
          )}
        />
      )}
      {remove.modal}
      {creating && <CreatePlanModal onClose={() => setCreating(false)} />}
    </CatalogPage>
  );
}

const FIELDS: Record<keyof PlanForm, readonly string[]> = {
  name: ['metadata.name'],
  namespace: ['metadata.namespace'],
  kind: ['spec.applicationRef.kind'],
  application: ['spec.applicationRef.name', 'spec.applicationRef'],
  cron: ['spec.schedule.cron'],
  backupClassName: ['spec.backupClassName'],
  keep: [`metadata.annotations[${KEEP_ANNOTATION}]`],
  maxAge: [`metadata.annotations[${MAX_AGE_ANNOTATION}]`],
};
const LABELS: Record<keyof PlanForm, string> = {
  name: 'Name',
  namespace: 'Namespace',
  kind: 'Application kind',
  application: 'Application',
  cron: 'Schedule',
  backupClassName: 'Backup class',
  keep: 'Keep (count)',
  maxAge: 'Maximum age',
};
const HELP: Record<keyof PlanForm, string> = {
  name: 'Its BackupJobs are named after it.',
  namespace: 'Where the application is.',
  kind: 'A Hikube VM instance, or a KubeVirt VM.',
  application: 'The name of the VM instance or VM.',
  cron: 'Cron in UTC: minute hour day-of-month month day-of-week (e.g. 0 3 * * *), or @daily.',
  backupClassName: 'Where backups go; default is a local directory of the node.',
  keep: 'Backups kept, newest first; empty keeps all.',
  maxAge: 'Older backups are deleted, e.g. 7d, 36h, 2w; empty keeps them.',
};

function CreatePlanModal({ onClose }: { onClose: () => void }) {
  const [form, setForm] = useState<PlanForm>({
    name: '',
    namespace: 'default',
    kind: 'VMInstance',
    application: '',
    cron: '0 3 * * *',
    backupClassName: 'default',
    keep: '7',
    maxAge: '',
  });
  const submit = async () => {
    await api.create(resourcePath(PLANS, form.namespace.trim()), buildPlan(form), {
      fieldValidation: 'Strict',
    });
  };
  return (
    <FormModal
      id="create-plan"
      title="Create a backup plan"
      submitLabel="Create"
      onSubmit={submit}
      onClose={onClose}
      fields={Object.values(FIELDS).flat()}
    >
      {(Object.keys(FIELDS) as (keyof PlanForm)[]).map((k) => (
        <PlanField key={k} field={k} value={form[k]} onChange={(v) => setForm((f) => ({ ...f, [k]: v }))} />
      ))}
    </FormModal>
  );
}

function PlanField({
  field,
  value,
  onChange,
}: {
  field: keyof PlanForm;
  value: string;
  onChange: (v: string) => void;
}) {
  const id = `plan-${field}`;
  const validated = useValidated(FIELDS[field]);
  const required = field !== 'keep' && field !== 'maxAge';
  return (
    <FormGroup label={LABELS[field]} isRequired={required} fieldId={id}>
      {field === 'kind' ? (
        <FormSelect id={id} value={value} onChange={(_e, v) => onChange(v)} aria-describedby={`${id}-help`}>
          <FormSelectOption value="VMInstance" label="VM instance (apps.cozystack.io)" />
          <FormSelectOption value="VirtualMachine" label="VM (kubevirt.io)" />
        </FormSelect>
      ) : (
        <TextInput
          id={id}
          value={value}
          isRequired={required}
          className={field === 'cron' ? 'hk-mono' : ''}
          onChange={(_e, v) => onChange(v)}
          validated={validated}
          aria-describedby={`${id}-help`}
        />
      )}
      <FieldHelp id={id} paths={FIELDS[field]}>
        {HELP[field]}
      </FieldHelp>
    </FormGroup>
  );
}
