/**
 * A panel as plain data: title, visualisation, unit and its PromQL queries, each declaring whether
 * a healthy probe run against the local target must return data for it. The Grafana JSON is built
 * from these specs (panels.ts), and the Prometheus proof test executes the same queries, so the
 * declaration sits next to the query it is about.
 */
export type Visualisation = 'timeseries' | 'stat' | 'heatmap' | 'state-timeline';

/**
 * `data`: a healthy run must return at least one series. `maybe-empty`: legitimately empty on a
 * healthy run (e.g. drops, errors, load-only or fault-only series); the query must still execute.
 */
export type DataExpectation = 'data' | 'maybe-empty';

export interface QuerySpec {
  readonly expr: string;
  readonly legend: string;
  readonly expect: DataExpectation;
  /** Why a query may be empty on a healthy run; required reading for `maybe-empty`. */
  readonly emptyWhen?: string;
  /**
   * This query's Grafana unit when it differs from the panel's: rendered as a field override (and a
   * right-hand axis), so no panel shows two units on one axis.
   */
  readonly unit?: string;
  /** `heatmap`: histogram buckets as Grafana heatmap rows (`le` per series). */
  readonly format?: 'heatmap';
}

/** A value a state-timeline panel shows as a named, coloured state. */
export interface ValueState {
  readonly value: number;
  readonly text: string;
  readonly color: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly visualisation: Visualisation;
  /** Grafana unit id: 's', 'percentunit', 'reqps', 'short', … */
  readonly unit: string;
  readonly queries: readonly QuerySpec[];
  /** Grid width out of 24; rows lay panels out left to right. */
  readonly width?: number;
  readonly min?: number;
  readonly max?: number;
  /** Stat panels: value at which the background turns red (ascending steps green → red). */
  readonly redAbove?: number;
  /** Stat panels: value below which the background turns red (e.g. budget remaining). */
  readonly redBelow?: number;
  readonly stacked?: boolean;
  /** State-timeline panels: the states its values stand for. */
  readonly states?: readonly ValueState[];
  /** Show the dashboard's alert annotations (firing latency alerts) on this panel. */
  readonly alertAnnotations?: boolean;
}

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export interface VariableSpec {
  readonly name: string;
  readonly label: string;
  /** Label values of this metric (a `label_values(metric, label)` query), or a fixed list. */
  readonly source:
    { readonly metric: string; readonly label: string } | { readonly values: readonly string[] };
  readonly multi: boolean;
  readonly includeAll: boolean;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: readonly VariableSpec[];
  readonly rows: readonly RowSpec[];
  /** PromQL over ALERTS shown as annotations on the panels that ask for them. */
  readonly alertAnnotation?: string;
}
