import { parser } from '@prometheus-io/lezer-promql';

/**
 * Checks of the chart's Grafana dashboard and PrometheusRule: every expression parses as PromQL (the parser of
 * Prometheus' own UI, `@prometheus-io/lezer-promql`), and every metric it names is one the services expose.
 */

/** Where an expression comes from (for messages) and its text. */
export interface Expression {
  where: string;
  expr: string;
}

interface DashboardPanel {
  title?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: DashboardPanel[];
}
interface Dashboard {
  panels?: DashboardPanel[];
  templating?: { list?: { name: string; query?: string | { query?: string } }[] };
}

/** Grafana's interval variables, replaced by a duration before parsing (Grafana does so before querying). */
const GRAFANA_INTERVALS = /\$__(rate_interval|interval|range)\b/g;
/** A query variable's `label_values(<series selector>, <label>)`: Grafana's, around a PromQL selector. */
const LABEL_VALUES = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/;

/** Every PromQL expression of a dashboard: its panels' targets (rows included) and its query variables. */
export function dashboardExpressions(dashboard: Dashboard): Expression[] {
  const out: Expression[] = [];
  const visit = (panels: DashboardPanel[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined) {
          out.push({
            where: `panel "${panel.title}" ${target.refId}`,
            expr: target.expr.replace(GRAFANA_INTERVALS, '5m'),
          });
        }
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    if (query === undefined || variable.name === 'datasource') continue;
    const selector = LABEL_VALUES.exec(query)?.[1];
    out.push({ where: `variable $${variable.name}`, expr: selector ?? query });
  }
  return out;
}

interface RuleManifest {
  spec: { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] };
}

/** Every rule expression of a PrometheusRule. */
export function ruleExpressions(rule: RuleManifest): Expression[] {
  return rule.spec.groups.flatMap((group) =>
    group.rules.map((r) => ({ where: `rule ${group.name}/${r.alert ?? r.record}`, expr: String(r.expr) })),
  );
}

/** Parses one expression: its syntax errors (with their position) and the metric names its selectors name. */
export function parsePromQL(expr: string): { errors: string[]; metrics: string[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const metrics: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError)
      errors.push(`syntax error at ${cursor.from}: "${expr.slice(cursor.from, cursor.from + 20)}"`);
    if (cursor.name === 'VectorSelector') {
      const selector = cursor.node;
      const name = selector.getChild('Identifier');
      if (name) metrics.push(expr.slice(name.from, name.to));
      // {__name__="..."} names a metric too.
      for (const matcher of selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = matcher.getChild('LabelName');
        const value = matcher.getChild('StringLiteral');
        if (label && value && expr.slice(label.from, label.to) === '__name__') {
          metrics.push(expr.slice(value.from + 1, value.to - 1));
        }
      }
    }
  } while (cursor.next());
  return { errors, metrics };
}

/** The series names a Prometheus text exposition offers, from its `# TYPE` lines (histograms and summaries expand). */
export function exposedSeries(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** One line per problem: expressions that do not parse, and metrics no service exposes. */
export function expressionProblems(expressions: readonly Expression[], known: ReadonlySet<string>): string[] {
  return expressions.flatMap(({ where, expr }) => {
    const { errors, metrics } = parsePromQL(expr);
    if (metrics.length === 0 && errors.length === 0) return [`${where}: names no metric: ${expr}`];
    return [
      ...errors.map((error) => `${where}: ${error} in ${expr}`),
      ...metrics.filter((metric) => !known.has(metric)).map((metric) => `${where}: unknown metric ${metric}`),
    ];
  });
}
