import { createServer } from 'node:net';
import { fetcherService } from '@batchline/fetcher';
import { monitorService } from '@batchline/monitor';
import { notifierService } from '@batchline/notifier';
import { persisterService } from '@batchline/persister';
import { pollerService } from '@batchline/poller';
import { type StartedService, startService } from '@batchline/runtime';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  testNamespace,
  testNatsUrl,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ofKind } from './chart-checks.ts';
import { helm, helmBinary, type Manifest, parseManifests } from './helm.ts';
import {
  dashboardExpressions,
  type Expression,
  exposedSeries,
  expressionProblems,
  ruleExpressions,
} from './observability-checks.ts';

/** Series Prometheus itself adds to every scrape target (the rules' "service down" reads `up`). */
const SCRAPE_SERIES = ['up'];

const TIMEOUT = 120_000;

/** A port the monitor's HTTP API can take (its /metrics there is scraped by a ServiceMonitor of its own). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
let MONITOR_PORT = 0;

/**
 * The chart's Grafana dashboard and PrometheusRule against the real services: each of the five is started here
 * and its /metrics (on the health port the ServiceMonitor scrapes) read, so a metric the dashboard or a rule names
 * must be one a service registers, not one listed by hand; and every expression must parse as PromQL.
 */
describe('the Grafana dashboard and the PrometheusRule', () => {
  let db: MigratedTestDatabase;
  const services: StartedService[] = [];
  const exposed = new Set<string>(SCRAPE_SERIES);
  let dashboard: Expression[];
  let rules: Expression[];
  let manifests: Manifest[];

  beforeAll(async () => {
    const rendered = await helm(await helmBinary('helm3'), 'template', {
      name: 'observability',
      values: {
        metrics: {
          serviceMonitor: { enabled: true },
          prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
          grafanaDashboard: { enabled: true },
        },
      },
    });
    if (rendered.code !== 0) throw new Error(rendered.stderr);
    manifests = parseManifests(rendered.stdout).map((entry) => entry.manifest);
    const configMap = ofKind(manifests, 'ConfigMap').find(
      (m) => m.metadata.labels?.grafana_dashboard === '1',
    );
    dashboard = dashboardExpressions(
      JSON.parse((configMap!.data as Record<string, string>)['batchline.json']!),
    );
    rules = ruleExpressions(ofKind(manifests, 'PrometheusRule')[0] as never);

    db = await migratedTestDatabase('deploy_observability');
    MONITOR_PORT = await freePort();
    const env = {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      BATCHLINE_NAMESPACE: testNamespace('observability'),
      HEALTH_PORT: '0',
      MONITOR_PORT: String(MONITOR_PORT),
      LOG_LEVEL: 'silent',
      // Nothing is pending, so no provider is called; the services only need to start.
      OPENAI_API_KEY: 'sk-test-observability',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    };
    for (const definition of [
      pollerService,
      fetcherService,
      persisterService,
      notifierService,
      monitorService,
    ]) {
      const service = await startService(definition, env);
      services.push(service);
      const response = await fetch(`http://127.0.0.1:${service.health!.port}/metrics`);
      for (const name of exposedSeries(await response.text())) exposed.add(name);
    }
    // What the monitor's own ServiceMonitor scrapes: /metrics on its http port (the API's request metrics).
    const monitorHttp = await fetch(`http://127.0.0.1:${MONITOR_PORT}/metrics`);
    for (const name of exposedSeries(await monitorHttp.text())) exposed.add(name);
  }, TIMEOUT);

  afterAll(async () => {
    await services[0]?.context.bus.deleteTopology();
    for (const service of services.reverse()) await service.stop();
    await db?.close();
  });

  it('ships the dashboard in a ConfigMap labelled for the Grafana sidecar, and the rule with its labels', () => {
    expect(dashboard.length).toBeGreaterThan(10);
    expect(rules.map((r) => r.where)).toEqual([
      'rule batchline/BatchlineServiceDown',
      'rule batchline/BatchlineServiceAbsent',
      'rule batchline/BatchlineConsumerLag',
      'rule batchline/BatchlineDeadLetters',
      'rule batchline/BatchlineBatchLandingStuck',
      'rule batchline/BatchlineBatchStuckAtProvider',
      'rule batchline/BatchlineProviderPaused',
    ]);
    expect(ofKind(manifests, 'PrometheusRule')[0]!.metadata.labels?.release).toBe('kube-prometheus-stack');
  });

  it("scrapes /metrics on every health port and on the monitor's http port, whose API metrics are exposed", () => {
    const scraped = ofKind(manifests, 'ServiceMonitor').flatMap((monitor) =>
      (monitor as unknown as { spec: { endpoints: { port: string; path: string }[] } }).spec.endpoints.map(
        (endpoint) => `${monitor.metadata.name}:${endpoint.port}${endpoint.path}`,
      ),
    );
    expect(scraped).toEqual(['prod-batchline:health/metrics', 'prod-batchline-monitor-http:http/metrics']);
    expect(exposed).toContain('batchline_monitor_http_requests_total');
  });

  it('has dashboard queries that parse and name only metrics the services expose', () => {
    expect(expressionProblems(dashboard, exposed)).toEqual([]);
  });

  it('has rule expressions that parse and name only metrics the services expose', () => {
    expect(expressionProblems(rules, exposed)).toEqual([]);
  });

  it('is not vacuous: it reports a syntax error, an unknown metric and an expression without a metric', () => {
    expect(
      expressionProblems(
        [
          { where: 'broken', expr: 'sum(rate(batchline_batches[5m])' },
          { where: 'unknown', expr: 'max(batchline_no_such_metric_total{namespace="x"}) > 0' },
          { where: 'constant', expr: '1 > 0' },
          { where: 'by name', expr: 'max({__name__="batchline_nope"})' },
        ],
        exposed,
      ),
    ).toEqual([
      expect.stringMatching(/^broken: syntax error at \d+/),
      'unknown: unknown metric batchline_no_such_metric_total',
      'constant: names no metric: 1 > 0',
      'by name: unknown metric batchline_nope',
    ]);
  });
});
