/**
 * Snapshot schedules (hikube.io SnapshotSchedule): which VMs each snapshots, on which cron (UTC),
 * its last and next run, how many of its snapshots exist and how many it keeps, live. Create one,
 * suspend or resume it, delete it (its snapshots stay). The API's refusals show under the fields.
 */
import { Button, FormGroup, TextInput } from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { api, ApiStatusError, errorMessage } from '../api/client';
import { useApiGroup } from '../api/discovery';
import { HIKUBE_GROUP, resourcePath, SNAPSHOT_SCHEDULES } from '../api/resources';
import type { SnapshotSchedule } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { FieldHelp, FormModal, useValidated } from '../components/FormModal';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { RowMenu } from '../components/RowMenu';
import { useNow } from '../components/useNow';
import { age, keyOf, nameOf, namespaceOf, until } from '../vms/selectors';
import { CatalogPage, Empty } from './CatalogPage';
import { useDelete } from './DeleteButton';
import { useMay, whyNot } from './gate';
import {
  buildSchedule,
  formCauses,
  retentionText,
  scheduleState,
  selectorText,
  type ScheduleForm,
} from './schedules';

function columns(now: number): Column<SnapshotSchedule>[] {
  return [
    { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
    { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf, visibleFrom: 'md' },
    {
      id: 'schedule',
      title: 'Schedule (UTC)',
      cell: (s) => <span className="hk-mono">{s.spec.schedule}</span>,
    },
    {
      id: 'selector',
      title: 'VMs',
      cell: (s) => <span className="hk-mono hk-break">{selectorText(s.spec.selector) || 'all'}</span>,
      visibleFrom: 'md',
    },
    { id: 'state', title: 'Status', cell: scheduleState },
    {
      id: 'last',
      title: 'Last run',
      cell: (s) => {
        const t = s.status?.lastScheduleTime;
        return t === undefined ? 'never' : <time dateTime={t} title={t}>{`${age(t, now)} ago`}</time>;
      },
      visibleFrom: 'lg',
    },
    {
      id: 'next',
      title: 'Next run',
      cell: (s) => {
        const t = s.status?.nextScheduleTime;
        if (s.spec.suspend === true || t === undefined) return '';
        return <time dateTime={t} title={t}>{`in ${until(t, now)}`}</time>;
      },
    },
    { id: 'snapshots', title: 'Snapshots', cell: (s) => String(s.status?.snapshots ?? 0) },
    { id: 'keep', title: 'Keeps', cell: retentionText, visibleFrom: 'lg' },
  ];
}

export default function SnapshotSchedulesPage() {
  const served = useApiGroup(HIKUBE_GROUP);
  const scope = useScope();
  const schedules = useWatchList<SnapshotSchedule>(SNAPSHOT_SCHEDULES, {
    ...scope,
    enabled: served !== null && served !== undefined,
  });
  const [creating, setCreating] = useState(false);
  const { notices, report } = useNotices();
  const remove = useDelete(report);
  const may = useMay();
  const mayCreate = whyNot(may('create', SNAPSHOT_SCHEDULES));
  const mayPatch = (s: SnapshotSchedule) => whyNot(may('patch', SNAPSHOT_SCHEDULES, namespaceOf(s)));
  const now = useNow();
  const cols = useMemo(() => columns(now), [now]);
  const setSuspend = (s: SnapshotSchedule, suspend: boolean) =>
    api
      .mergePatch(resourcePath(SNAPSHOT_SCHEDULES, namespaceOf(s), nameOf(s)), { spec: { suspend } })
      .catch((err: unknown) =>
        report(`${suspend ? 'Suspend' : 'Resume'} schedule "${nameOf(s)}": ${errorMessage(err)}`),
      );
  return (
    <CatalogPage
      title="Snapshot schedules"
      description="Snapshots taken on a cron schedule (UTC) of the VMs a label selector matches, the oldest pruned by count and age."
      loaded={served === null || schedules.loaded}
      error={schedules.error}
      toolbar={
        <>
          <Button
            variant="primary"
            onClick={() => setCreating(true)}
            isAriaDisabled={served === null || mayCreate !== undefined}
            {...(served === null
              ? { 'aria-describedby': 'schedules-unavailable' }
              : mayCreate !== undefined
                ? { 'aria-describedby': 'create-schedule-why' }
                : {})}
          >
            Create schedule
          </Button>
          {mayCreate !== undefined && (
            <span id="create-schedule-why" hidden>
              {mayCreate}
            </span>
          )}
        </>
      }
    >
      {notices}
      {served === null ? (
        <Empty>
          <span id="schedules-unavailable">
            This server does not serve {HIKUBE_GROUP} snapshot schedules.
          </span>
        </Empty>
      ) : schedules.items.length === 0 ? (
        <Empty>No snapshot schedule yet.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="Snapshot schedules"
          rows={schedules.items}
          rowKey={keyOf}
          columns={cols}
          rowActions={(s) => (
            <RowMenu
              label={`Actions for schedule "${nameOf(s)}"`}
              items={[
                s.spec.suspend === true
                  ? {
                      id: 'resume',
                      label: 'Resume',
                      why: mayPatch(s),
                      onClick: () => void setSuspend(s, false),
                    }
                  : {
                      id: 'suspend',
                      label: 'Suspend',
                      why: mayPatch(s),
                      onClick: () => void setSuspend(s, true),
                    },
                {
                  id: 'delete',
                  label: 'Delete',
                  danger: true,
                  why: whyNot(may('delete', SNAPSHOT_SCHEDULES, namespaceOf(s))),
                  onClick: () =>
                    remove.ask(
                      resourcePath(SNAPSHOT_SCHEDULES, namespaceOf(s), nameOf(s)),
                      `schedule "${nameOf(s)}" (its snapshots stay)`,
                    ),
                },
              ]}
            />
          )}
        />
      )}
      {remove.modal}
      {creating && <CreateScheduleModal onClose={() => setCreating(false)} />}
    </CatalogPage>
  );
}

const FIELDS = {
  name: ['metadata.name'],
  namespace: ['metadata.namespace'],
  schedule: ['spec.schedule'],
  selector: ['spec.selector'],
  keep: ['spec.retention.count'],
  maxAge: ['spec.retention.maxAge'],
} as const;

const HELP: Record<keyof ScheduleForm, string> = {
  name: 'Also the label hikube.io/snapshot-schedule on its snapshots.',
  namespace: 'Its VMs are snapshotted.',
  schedule:
    'Cron in UTC: minute hour day-of-month month day-of-week (e.g. 0 3 * * *), or @hourly, @daily, @weekly.',
  selector: 'Label terms such as app=web, tier!=db, backup, !legacy; empty: every VM of the namespace.',
  keep: 'Snapshots kept per VM, newest first; empty keeps all.',
  maxAge: 'Older snapshots are deleted, e.g. 7d, 36h, 2w; empty keeps them.',
};
const LABELS: Record<keyof ScheduleForm, string> = {
  name: 'Name',
  namespace: 'Namespace',
  schedule: 'Schedule',
  selector: 'VM selector',
  keep: 'Keep (count)',
  maxAge: 'Maximum age',
};

function CreateScheduleModal({ onClose }: { onClose: () => void }) {
  const [form, setForm] = useState<ScheduleForm>({
    name: '',
    namespace: 'default',
    schedule: '0 3 * * *',
    selector: '',
    keep: '7',
    maxAge: '',
  });
  const submit = async () => {
    const causes = formCauses(form);
    if (causes.length > 0)
      throw new ApiStatusError(422, 'Invalid', `SnapshotSchedule "${form.name.trim()}" is invalid`, causes);
    const schedule = buildSchedule(form);
    await api.create(resourcePath(SNAPSHOT_SCHEDULES, form.namespace.trim()), schedule, {
      fieldValidation: 'Strict',
    });
  };
  return (
    <FormModal
      id="create-schedule"
      title="Create a snapshot schedule"
      submitLabel="Create"
      onSubmit={submit}
      onClose={onClose}
      fields={Object.values(FIELDS).flat()}
    >
      {(Object.keys(FIELDS) as (keyof ScheduleForm)[]).map((k) => (
        <ScheduleField
          key={k}
          field={k}
          value={form[k]}
          onChange={(v) => setForm((f) => ({ ...f, [k]: v }))}
        />
      ))}
    </FormModal>
  );
}

function ScheduleField({
  field,
  value,
  onChange,
}: {
  field: keyof ScheduleForm;
  value: string;
  onChange: (v: string) => void;
}) {
  const id = `schedule-${field}`;
  const validated = useValidated(FIELDS[field]);
  const required = field === 'name' || field === 'namespace' || field === 'schedule';
  return (
    <FormGroup label={LABELS[field]} isRequired={required} fieldId={id}>
      <TextInput
        id={id}
        value={value}
        isRequired={required}
        className={field === 'schedule' || field === 'selector' ? 'hk-mono' : ''}
        onChange={(_e, v) => onChange(v)}
        validated={validated}
        aria-describedby={`${id}-help`}
      />
      <FieldHelp id={id} paths={FIELDS[field]}>
        {HELP[field]}
      </FieldHelp>
    </FormGroup>
  );
}
