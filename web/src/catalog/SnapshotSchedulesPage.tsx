/**
 * Snapshot schedules (hikube.io SnapshotSchedule): which VMs each snapshots, on which cron (UTC),
 * its last and next run, how many of its snapshots exist and how many it keeps, live. Create one,
 * suspend or resume it, delete it (its snapshots stay). The API's refusals show under the fields.
 */
import { useMemo, useState } from 'react';
import { api, ApiStatusError, errorMessage } from '../api/client';
import { useApiGroup } from '../api/discovery';
import { HIKUBE_GROUP, resourcePath, SNAPSHOT_SCHEDULES } from '../api/resources';
import type { SnapshotSchedule } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { FormModal } from '../components/FormModal';
import { useNotices } from '../components/Notices';
import type { Column } from '../components/ResourceTable';
import { useNow } from '../components/useNow';
import { nameOf, namespaceOf } from '../vms/selectors';
import { deleteItem, useDelete } from './DeleteButton';
import { useMay, whyNot } from './gate';
import { createAllowed, FormFields, runColumns, ScheduledPage } from './scheduled';
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
    ...runColumns<SnapshotSchedule>(
      now,
      (s) => s.status?.lastScheduleTime,
      (s) => (s.spec.suspend === true ? undefined : s.status?.nextScheduleTime),
    ),
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
    <ScheduledPage
      title="Snapshot schedules"
      description="Snapshots taken on a cron schedule (UTC) of the VMs a label selector matches, the oldest pruned by count and age."
      create={{
        id: 'add-schedule',
        label: 'Create schedule',
        allowed: createAllowed(
          served,
          `${HIKUBE_GROUP} snapshot schedules`,
          may('create', SNAPSHOT_SCHEDULES),
        ),
        onClick: () => setCreating(true),
      }}
      served={served}
      notServed={`This server does not serve ${HIKUBE_GROUP} snapshot schedules.`}
      list={schedules}
      empty="No snapshot schedule yet."
      columns={cols}
      menu={(s) => ({
        label: `Actions for schedule "${nameOf(s)}"`,
        items: [
          s.spec.suspend === true
            ? { id: 'resume', label: 'Resume', why: mayPatch(s), onClick: () => void setSuspend(s, false) }
            : { id: 'suspend', label: 'Suspend', why: mayPatch(s), onClick: () => void setSuspend(s, true) },
          deleteItem(
            remove.ask,
            whyNot(may('delete', SNAPSHOT_SCHEDULES, namespaceOf(s))),
            resourcePath(SNAPSHOT_SCHEDULES, namespaceOf(s), nameOf(s)),
            `schedule "${nameOf(s)}" (its snapshots stay)`,
          ),
        ],
      })}
    >
      {notices}
      {remove.modal}
      {creating && <CreateScheduleModal onClose={() => setCreating(false)} />}
    </ScheduledPage>
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
      <FormFields
        prefix="schedule"
        fields={FIELDS}
        labels={LABELS}
        help={HELP}
        required={['name', 'namespace', 'schedule']}
        mono={['schedule', 'selector']}
        value={form}
        onChange={(k, v) => setForm((f) => ({ ...f, [k]: v }))}
      />
    </FormModal>
  );
}
