/**
 * A time-series line chart: uPlot (a small canvas chart, ~20 kB gzipped) in a PatternFly card.
 * The canvas is not readable by assistive technology, so the figure carries a text summary (each
 * line's latest value) and its number of points (`data-points`, what the tests check).
 */
import { Card, CardBody, CardTitle, Content } from '@patternfly/react-core';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue, latestOf, MIN_SPAN, pointsOf, type ChartSpec, type Columns } from './series';

const HEIGHT = 180;
const FONT = '12px RedHatText, "Red Hat Text", Helvetica, Arial, sans-serif';
const AXIS = { stroke: '#4d4d4d', font: FONT, grid: { stroke: '#e0e0e0', width: 1 }, ticks: { show: false } };

export function TimeSeriesChart({
  chart,
  columns,
  span,
}: {
  chart: ChartSpec;
  columns: Columns;
  /** The time axis, unix seconds: the whole range asked for, not only where there are points. */
  span: [number, number] | undefined;
}) {
  const spanRef = useRef(span);
  spanRef.current = span;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useEffect(() => {
    const el = host.current;
    if (el === null) return undefined;
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: (_u, min, max) => spanRef.current ?? [min, max] },
          y: { range: (_u, _min, max) => [0, Math.max(max * 1.1, MIN_SPAN[chart.unit])] },
        },
        axes: [
          AXIS,
          { ...AXIS, size: 72, values: (_u, ticks) => ticks.map((t) => formatValue(chart.unit, t)) },
        ],
        series: [
          {},
          ...chart.lines.map((l) => ({
            label: l.label,
            stroke: l.color,
            width: 2,
            fill: `${l.color}1f`,
            points: { show: false },
            spanGaps: false,
          })),
        ],
      },
      columns,
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() =>
      u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = undefined;
    };
    // Built once per spec (the first columns included); new data goes through setData below.
  }, [chart]);

  useEffect(() => plot.current?.setData(columns), [columns]);

  const points = pointsOf(columns);
  const latest = latestOf(columns);
  const summary =
    points === 0
      ? 'No data in this range yet.'
      : chart.lines
          .map((l, i) => {
            const v = latest[i];
            return `${l.label}: ${v === undefined ? 'no data' : formatValue(chart.unit, v)}`;
          })
          .join(' · ');
  const titleId = `chart-${chart.id}-title`;
  return (
    <Card isFullHeight>
      <CardTitle component="h2" id={titleId}>
        {chart.title}
      </CardTitle>
      <CardBody>
        <figure
          className="hk-chart"
          aria-labelledby={titleId}
          data-testid={`chart-${chart.id}`}
          data-points={points}
        >
          <div ref={host} className="hk-chart-canvas" aria-hidden="true" />
          <figcaption>
            <Content component="small" data-testid={`chart-${chart.id}-summary`}>
              {chart.lines.length > 1 &&
                chart.lines.map((l) => (
                  <span key={l.label} className="hk-chart-key">
                    <span className="hk-chart-swatch" style={{ background: l.color }} />
                    {l.label}
                  </span>
                ))}
              {summary}
            </Content>
          </figcaption>
        </figure>
      </CardBody>
    </Card>
  );
}
