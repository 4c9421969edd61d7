/**
 * DashboardSpec → Grafana dashboard JSON through the Grafana foundation SDK's builders, in the
 * classic dashboard model (schemaVersion 4x, `panels` + `templating`), which every Grafana from
 * 10 on provisions from files; docs/dashboards.md says why not the v2 schema.
 */
import {
  AnnotationPanelFilterBuilder,
  AnnotationQueryBuilder,
  CustomVariableBuilder,
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  HeatmapColorMode,
  HeatmapColorOptionsBuilder,
  PanelBuilder as HeatmapPanelBuilder,
  RowsHeatmapOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  AxisPlacement,
  BigValueColorMode,
  HeatmapCellLayout,
  BigValueGraphMode,
  LegendDisplayMode,
  VisibilityMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DASHBOARD_LINK_TITLE,
  DASHBOARD_TAGS,
  DATASOURCE_REF,
  DATASOURCE_VARIABLE,
  DEFAULT_PANEL_WIDTH,
  PANEL_HEIGHT,
  REFRESH,
  TIME_FROM,
} from './defaults.js';
import type { DashboardSpec, PanelSpec, VariableSpec } from './panel-spec.js';

const GRID_WIDTH = 24;
const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

type AnyPanelBuilder =
  TimeseriesPanelBuilder | StatPanelBuilder | HeatmapPanelBuilder | StateTimelinePanelBuilder;

function valueMappings(panel: PanelSpec): ValueMapping[] {
  if (!panel.states) return [];
  return [
    {
      type: MappingType.ValueToText,
      options: Object.fromEntries(
        panel.states.map((state, index) => [
          String(state.value),
          { text: state.text, color: state.color, index },
        ]),
      ),
    },
  ];
}

function thresholds(panel: PanelSpec): ThresholdsConfigBuilder {
  const steps =
    panel.redBelow !== undefined
      ? [
          { value: null, color: 'red' },
          { value: panel.redBelow, color: 'green' },
        ]
      : panel.redAbove !== undefined
        ? [
            { value: null, color: 'green' },
            { value: panel.redAbove, color: 'red' },
          ]
        : [{ value: null, color: 'green' }];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);
}

function panelBuilder(panel: PanelSpec): AnyPanelBuilder {
  if (panel.visualisation === 'heatmap') {
    // Prometheus buckets are already counts per `le`: Grafana draws them, it does not re-bucket.
    return new HeatmapPanelBuilder()
      .calculate(false)
      .rowsFrame(new RowsHeatmapOptionsBuilder().layout(HeatmapCellLayout.Le))
      .color(new HeatmapColorOptionsBuilder().mode(HeatmapColorMode.Scheme).scheme('Oranges').steps(64))
      .showLegend();
  }
  if (panel.visualisation === 'state-timeline') {
    return new StateTimelinePanelBuilder()
      .mappings(valueMappings(panel))
      .thresholds(thresholds(panel))
      .showValue(VisibilityMode.Never)
      .mergeValues(true)
      .fillOpacity(80);
  }
  if (panel.visualisation === 'stat') {
    return new StatPanelBuilder()
      .colorMode(
        panel.redAbove !== undefined || panel.redBelow !== undefined
          ? BigValueColorMode.Background
          : BigValueColorMode.Value,
      )
      .graphMode(BigValueGraphMode.Area)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
      .thresholds(thresholds(panel));
  }
  const builder = new TimeseriesPanelBuilder()
    .legend(
      new VizLegendOptionsBuilder()
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .showLegend(true)
        .calcs(['lastNotNull', 'max']),
    )
    .thresholds(thresholds(panel));
  if (panel.stacked) builder.stacking(new StackingConfigBuilder().mode(StackingMode.Normal)).fillOpacity(30);
  return builder;
}

function buildPanel(
  panel: PanelSpec,
  id: number,
  gridPos: { x: number; y: number; w: number; h: number },
): AnyPanelBuilder {
  const builder = panelBuilder(panel)
    .id(id)
    .title(panel.title)
    .description(panel.description)
    .datasource(DATASOURCE_REF)
    .unit(panel.unit)
    .gridPos(gridPos);
  if (panel.min !== undefined) builder.min(panel.min);
  if (panel.max !== undefined) builder.max(panel.max);
  panel.queries.forEach((query, index) => {
    const refId = REF_IDS[index] ?? `Q${index}`;
    const target = new DataqueryBuilder()
      .refId(refId)
      .datasource(DATASOURCE_REF)
      .expr(query.expr)
      .legendFormat(query.legend)
      .range();
    if (query.format === 'heatmap') target.format(PromQueryFormat.Heatmap);
    builder.withTarget(target);
    // A second unit gets its own field config and the right-hand axis, never the panel's axis.
    if (query.unit !== undefined && query.unit !== panel.unit) {
      builder.overrideByQuery(refId, [
        { id: 'unit', value: query.unit },
        { id: 'custom.axisPlacement', value: AxisPlacement.Right },
      ]);
    }
  });
  return builder;
}

function buildVariable(variable: VariableSpec): QueryVariableBuilder | CustomVariableBuilder {
  if ('values' in variable.source) {
    const builder = new CustomVariableBuilder(variable.name)
      .label(variable.label)
      .values(variable.source.values.join(','))
      .multi(variable.multi)
      .includeAll(variable.includeAll);
    if (variable.includeAll) builder.allValue('.*').current({ selected: true, text: 'All', value: '$__all' });
    return builder;
  }
  const builder = new QueryVariableBuilder(variable.name)
    .label(variable.label)
    .datasource(DATASOURCE_REF)
    .query(`label_values(${variable.source.metric}, ${variable.source.label})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(variable.multi)
    .includeAll(variable.includeAll);
  if (variable.includeAll) builder.allValue('.*');
  return builder;
}

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const dashboard = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([...spec.tags])
    .editable()
    .refresh(REFRESH)
    .time({ from: TIME_FROM, to: 'now' })
    .timezone('browser')
    .withVariable(
      new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Prometheus').type('prometheus').regex(''),
    )
    // Every canary dashboard in the header, keeping the time range and the variables they share.
    .link(
      new DashboardLinkBuilder(DASHBOARD_LINK_TITLE)
        .type(DashboardLinkType.Dashboards)
        .tags([...DASHBOARD_TAGS])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true)
        .targetBlank(false),
    );
  for (const variable of spec.variables) dashboard.withVariable(buildVariable(variable));

  let y = 0;
  let id = 0;
  const annotated: number[] = [];
  for (const row of spec.rows) {
    dashboard.withRow(new RowBuilder(row.title).gridPos({ x: 0, y, w: GRID_WIDTH, h: 1 }));
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? DEFAULT_PANEL_WIDTH;
      if (x + w > GRID_WIDTH) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      id += 1;
      if (panel.alertAnnotations) annotated.push(id);
      dashboard.withPanel(buildPanel(panel, id, { x, y, w, h: PANEL_HEIGHT }));
      x += w;
    }
    y += PANEL_HEIGHT;
  }
  if (spec.alertAnnotation !== undefined && annotated.length > 0) {
    dashboard.annotation(
      new AnnotationQueryBuilder()
        .name('Firing latency alerts')
        .datasource(DATASOURCE_REF)
        .enable(true)
        .iconColor('red')
        .expr(spec.alertAnnotation)
        .step('60s')
        .titleFormat('{{alertname}}')
        .textFormat('{{env}} {{path}} (severity {{severity}})')
        .tagKeys('alertname,env,path,severity')
        .useValueForTime(false)
        .filter(new AnnotationPanelFilterBuilder().exclude(false).ids(annotated)),
    );
  }
  return dashboard.build();
}
