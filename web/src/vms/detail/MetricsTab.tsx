/**
 * The VM's charts (CPU, memory, network, disk) from the history API, refreshed every few seconds,
 * over a time range the user picks. A lazy chunk: uPlot loads only when this tab opens.
 */
import {
  Alert,
  Content,
  Flex,
  FlexItem,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
} from '@patternfly/react-core';
import { useEffect, useMemo, useState } from 'react';
import { api, errorMessage } from '../../api/client';
import { seriesPath } from '../../api/resources';
import {
  ALL_METRICS,
  CHARTS,
  columnsOf,
  RANGES,
  type Columns,
  type RangeId,
  type SeriesList,
  timeSpanOf,
} from '../../metrics/series';
import { TimeSeriesChart } from '../../metrics/TimeSeriesChart';
import { nameOf, namespaceOf, type VmView } from '../selectors';

const REFRESH_MS = 5_000;

export default function MetricsTab({ view }: { view: VmView }) {
  const [range, setRange] = useState<RangeId>('15m');
  const [list, setList] = useState<SeriesList | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const namespace = namespaceOf(view.vm);
  const name = nameOf(view.vm);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const query = new URLSearchParams({ since: range });
        for (const m of ALL_METRICS) query.append('metric', m);
        setList(await api.get<SeriesList>(`${seriesPath(namespace, name)}?${query.toString()}`));
        setError(undefined);
      } catch (err) {
        if (abort.signal.aborted) return;
        setError(errorMessage(err));
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void poll(), REFRESH_MS);
    };
    void poll();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [namespace, name, range]);

  const columns = useMemo(
    () => CHARTS.map((c): Columns => (list === undefined ? [[]] : columnsOf(list, c))),
    [list],
  );
  return (
    <>
      <Flex className="hk-gap-below" alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          <label htmlFor="metrics-range">Time range</label>
        </FlexItem>
        <FlexItem>
          <FormSelect
            id="metrics-range"
            value={range}
            onChange={(_e, v) => setRange(v as RangeId)}
            aria-label="Time range"
          >
            {RANGES.map((r) => (
              <FormSelectOption key={r.id} value={r.id} label={r.label} />
            ))}
          </FormSelect>
        </FlexItem>
        <FlexItem>
          <Content component="small">
            {list !== undefined ? `One point every ${list.step}, refreshed every 5 s.` : 'Loading…'}
          </Content>
        </FlexItem>
      </Flex>
      {error !== undefined && (
        <Alert variant="warning" isInline title="The metrics history could not be read">
          {error}
        </Alert>
      )}
      <Grid hasGutter>
        {CHARTS.map((chart, i) => (
          <GridItem key={chart.id} xl={6}>
            <TimeSeriesChart
              chart={chart}
              columns={columns[i] ?? [[]]}
              span={list === undefined ? undefined : timeSpanOf(list, view.vm.metadata.creationTimestamp)}
            />
          </GridItem>
        ))}
      </Grid>
    </>
  );
}
