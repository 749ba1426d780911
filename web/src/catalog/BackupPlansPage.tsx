/**
 * Backup plans (Cozystack's backups.cozystack.io Plan): which application each backs up, with
 * which BackupClass, on which cron (UTC), its last and next run and the retention it keeps (Hikube's
 * backups.hikube.io/keep and max-age annotations), live. Create one (the class picked among the
 * BackupClasses that serve the application's kind, `default` preselected), delete one (its Backups
 * stay). Buttons are disabled with the reason when RBAC forbids them or no class can be picked;
 * the API's refusals show under the fields.
 */
import { FormGroup, FormSelect, FormSelectOption } from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { api } from '../api/client';
import { useApiGroup } from '../api/discovery';
import { BACKUPS_GROUP, PLANS, resourcePath } from '../api/resources';
import type { Plan } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { FieldHelp, FormModal } from '../components/FormModal';
import { useNotices } from '../components/Notices';
import type { Column } from '../components/ResourceTable';
import { useNow } from '../components/useNow';
import { BackupClassSelect, useClassChoice } from '../vms/BackupClassSelect';
import { pickedClass, type ClassChoice } from '../vms/backups';
import { nameOf, namespaceOf } from '../vms/selectors';
import { deleteItem, useDelete } from './DeleteButton';
import { useMay, whyNot } from './gate';
import {
  KEEP_ANNOTATION,
  MAX_AGE_ANNOTATION,
  buildPlan,
  groupOfKind,
  planRetention,
  type PlanForm,
} from './plans';
import { createAllowed, FormFields, runColumns, ScheduledPage } from './scheduled';

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
    ...runColumns<Plan>(
      now,
      (p) => p.status?.lastScheduleTime,
      (p) => p.status?.nextScheduleTime,
    ),
    { id: 'keep', title: 'Keeps', cell: planRetention, visibleFrom: 'lg' },
  ];
}

export default function BackupPlansPage() {
  const served = useApiGroup(BACKUPS_GROUP);
  const scope = useScope();
  const enabled = served !== null && served !== undefined;
  const plans = useWatchList<Plan>(PLANS, { ...scope, enabled });
  const [creating, setCreating] = useState(false);
  const { notices, report } = useNotices();
  const remove = useDelete(report);
  const may = useMay();
  // Any class at all: which fit the application's kind is the form's choice.
  const classes = useClassChoice({ apiGroup: 'apps.cozystack.io', kind: 'VMInstance' }, enabled);
  const noClass = classes.options.length === 0 ? classes.why : undefined;
  const now = useNow();
  const cols = useMemo(() => columns(now), [now]);
  return (
    <ScheduledPage
      title="Backup plans"
      description="Backups of a VM instance or VM taken on a cron schedule (UTC) to the target of a BackupClass, the oldest pruned by count and age."
      create={{
        id: 'add-plan',
        label: 'Create plan',
        allowed: createAllowed(served, BACKUPS_GROUP, may('create', PLANS), noClass),
        onClick: () => setCreating(true),
      }}
      served={served}
      notServed={`This server does not serve ${BACKUPS_GROUP}.`}
      list={plans}
      empty="No backup plan yet."
      columns={cols}
      menu={(p) => ({
        label: `Actions for plan "${nameOf(p)}"`,
        items: [
          deleteItem(
            remove.ask,
            whyNot(may('delete', PLANS, namespaceOf(p))),
            resourcePath(PLANS, namespaceOf(p), nameOf(p)),
            `plan "${nameOf(p)}" (its backups stay)`,
          ),
        ],
      })}
    >
      {notices}
      {remove.modal}
      {creating && <CreatePlanModal onClose={() => setCreating(false)} />}
    </ScheduledPage>
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
    backupClassName: '',
    keep: '7',
    maxAge: '',
  });
  const choice = useClassChoice({ apiGroup: groupOfKind(form.kind), kind: form.kind }, true);
  const backupClassName = pickedClass(choice, form.backupClassName) ?? '';
  const set = (k: keyof PlanForm, v: string) => setForm((f) => ({ ...f, [k]: v }));
  const submit = async () => {
    await api.create(resourcePath(PLANS, form.namespace.trim()), buildPlan({ ...form, backupClassName }), {
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
      <FormFields
        prefix="plan"
        fields={FIELDS}
        labels={LABELS}
        help={HELP}
        required={['name', 'namespace', 'kind', 'application', 'cron', 'backupClassName']}
        mono={['cron']}
        value={form}
        onChange={set}
        custom={{
          kind: (
            <ChoiceGroup key="kind" id="plan-kind" field="kind">
              <FormSelect
                id="plan-kind"
                value={form.kind}
                onChange={(_e, v) => set('kind', v)}
                aria-describedby="plan-kind-help"
              >
                <FormSelectOption value="VMInstance" label="VM instance (apps.cozystack.io)" />
                <FormSelectOption value="VirtualMachine" label="VM (kubevirt.io)" />
              </FormSelect>
            </ChoiceGroup>
          ),
          backupClassName: (
            <ChoiceGroup key="class" id="plan-backupClassName" field="backupClassName" choice={choice}>
              <BackupClassSelect
                id="plan-backupClassName"
                choice={choice}
                value={backupClassName}
                onChange={(v) => set('backupClassName', v)}
                describedBy="plan-backupClassName-help"
              />
            </ChoiceGroup>
          ),
        }}
      />
    </FormModal>
  );
}

/** A select of the plan form, with its help (or why no class can be picked) and the API's causes. */
function ChoiceGroup({
  id,
  field,
  choice,
  children,
}: {
  id: string;
  field: keyof PlanForm;
  choice?: ClassChoice;
  children: React.ReactNode;
}) {
  return (
    <FormGroup label={LABELS[field]} isRequired fieldId={id}>
      {children}
      <FieldHelp id={id} paths={FIELDS[field]}>
        {choice?.why ?? HELP[field]}
      </FieldHelp>
    </FormGroup>
  );
}
