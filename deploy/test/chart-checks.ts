import type { Manifest } from './helm.ts';

/**
 * Checks across the rendered manifests that no schema can express: every selector, name and port reference
 * resolves inside the release, the services run and drain as batchline needs, and credentials travel only
 * through Secrets. Each function returns one line per problem.
 */

export const SERVICES = ['poller', 'fetcher', 'persister', 'notifier', 'monitor', 'batcher'] as const;
export const SECRET_VARIABLES = [
  'DATABASE_URL',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'SLACK_WEBHOOK_URL',
  'SLACK_CRITICAL_WEBHOOK_URL',
  'ADMIN_TOKENS',
  'ADMIN_READONLY_TOKENS',
] as const;
/** batchline's own shutdown deadline (libs/runtime): the pod must be given longer. */
const DRAIN_DEADLINE_SECONDS = 30;

// Only the fields these checks read.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, unknown> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean };
    terminationGracePeriodSeconds?: number;
    volumes?: { name: string; emptyDir?: object }[];
  };
}
type Selector = Record<string, string>;

const spec = (manifest: Manifest) => manifest.spec as Record<string, unknown>;
const podOf = (workload: Manifest) => spec(workload).template as PodTemplate;
const named = (manifest: Manifest) => `${manifest.kind}/${manifest.metadata.name}`;
const matches = (selector: Selector, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The pod templates of the Deployments and Jobs, with their owner. */
export function podTemplates(manifests: readonly Manifest[]): { owner: Manifest; template: PodTemplate }[] {
  return manifests
    .filter((manifest) => manifest.kind === 'Deployment' || manifest.kind === 'Job')
    .map((owner) => ({ owner, template: podOf(owner) }));
}

export const ofKind = (manifests: readonly Manifest[], kind: string) =>
  manifests.filter((m) => m.kind === kind);

/** Selectors, scale targets, backends and named ports all point at something the release renders. */
export function referenceProblems(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const deployments = ofKind(manifests, 'Deployment');
  const pods = podTemplates(manifests);
  const services = ofKind(manifests, 'Service');
  const deploymentsSelectedBy = (selector: Selector) =>
    deployments.filter((deployment) => matches(selector, podOf(deployment).metadata.labels));

  for (const deployment of deployments) {
    const selector = (spec(deployment).selector as { matchLabels: Selector }).matchLabels;
    const others = deploymentsSelectedBy(selector).filter((other) => other !== deployment);
    if (!matches(selector, podOf(deployment).metadata.labels)) {
      problems.push(`${named(deployment)}: its selector does not match its own pods`);
    }
    if (others.length > 0)
      problems.push(`${named(deployment)}: its selector also matches ${others.map(named)}`);
  }
  for (const service of services) {
    const selected = deploymentsSelectedBy(spec(service).selector as Selector);
    if (selected.length !== 1) {
      problems.push(`${named(service)}: selects ${selected.length} Deployments`);
      continue;
    }
    const containerPorts = podOf(selected[0]!).spec.containers.flatMap((c) => c.ports ?? []);
    for (const port of spec(service).ports as { name: string; targetPort: string | number }[]) {
      if (!containerPorts.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort)) {
        problems.push(
          `${named(service)}: port ${port.name} targets ${port.targetPort}, which its pods do not have`,
        );
      }
    }
  }
  for (const budget of ofKind(manifests, 'PodDisruptionBudget')) {
    const selected = deploymentsSelectedBy((spec(budget).selector as { matchLabels: Selector }).matchLabels);
    if (selected.length !== 1) problems.push(`${named(budget)}: selects ${selected.length} Deployments`);
  }
  for (const autoscaler of ofKind(manifests, 'HorizontalPodAutoscaler')) {
    const target = spec(autoscaler).scaleTargetRef as { kind: string; name: string };
    const deployment = deployments.find(
      (d) => target.kind === 'Deployment' && d.metadata.name === target.name,
    );
    if (!deployment) {
      problems.push(`${named(autoscaler)}: scales ${target.kind}/${target.name}, which is not rendered`);
      continue;
    }
    if (spec(deployment).replicas !== undefined) {
      problems.push(`${named(deployment)}: sets replicas although ${named(autoscaler)} owns them`);
    }
    const containers = podOf(deployment).spec.containers;
    if (containers.some((c) => c.resources?.requests?.cpu === undefined)) {
      problems.push(`${named(deployment)}: has no CPU request for ${named(autoscaler)} to scale on`);
    }
  }
  for (const ingress of ofKind(manifests, 'Ingress')) {
    type Backend = { service: { name: string; port: { name?: string; number?: number } } };
    const rules = spec(ingress).rules as { http: { paths: { backend: Backend }[] } }[];
    for (const { backend } of rules.flatMap((rule) => rule.http.paths)) {
      const { name, port } = backend.service;
      const service = services.find((s) => s.metadata.name === name);
      const ports = service ? (spec(service).ports as { name: string; port: number }[]) : [];
      if (!ports.some((p) => p.name === port.name || p.port === port.number)) {
        problems.push(
          `${named(ingress)}: routes to ${name}:${port.name ?? port.number}, which is not rendered`,
        );
      }
    }
  }
  for (const monitor of ofKind(manifests, 'ServiceMonitor')) {
    const selector = (spec(monitor).selector as { matchLabels: Selector }).matchLabels;
    const selected = services.filter((service) => matches(selector, service.metadata.labels ?? {}));
    if (selected.length === 0) problems.push(`${named(monitor)}: selects no Service`);
    for (const endpoint of spec(monitor).endpoints as { port: string }[]) {
      for (const service of selected.filter(
        (s) => !(spec(s).ports as { name: string }[]).some((p) => p.name === endpoint.port),
      )) {
        problems.push(`${named(monitor)}: ${named(service)} has no port ${endpoint.port}`);
      }
    }
  }
  for (const policy of ofKind(manifests, 'NetworkPolicy')) {
    const selector = (spec(policy).podSelector as { matchLabels: Selector }).matchLabels;
    for (const { owner } of pods.filter(({ template }) => !matches(selector, template.metadata.labels))) {
      problems.push(`${named(policy)}: does not apply to the pods of ${named(owner)}`);
    }
    const podPortNames = new Set(
      pods
        .flatMap(({ template }) => template.spec.containers.flatMap((c) => c.ports ?? []))
        .map((p) => p.name),
    );
    const rules = (spec(policy).ingress ?? []) as { ports?: { port: string | number }[] }[];
    for (const port of rules.flatMap((rule) => rule.ports ?? [])) {
      if (typeof port.port === 'string' && !podPortNames.has(port.port)) {
        problems.push(`${named(policy)}: admits port ${port.port}, which no pod has`);
      }
    }
  }
  return problems;
}

export interface SecretExpectations {
  /** Secrets the cluster must already hold (existingSecret values). */
  external: readonly string[];
  /** Keys that the configuration leaves unset on purpose although a pod requires them. */
  unsetRequiredKeys: readonly string[];
}

const decode = (value: string) => Buffer.from(value, 'base64').toString('utf8');

/**
 * Credentials reach pods only as secretKeyRefs to a rendered or an expected external Secret; a Secret that a hook
 * Job reads exists before the Job (it is itself an earlier hook, or external); the ConfigMap a pod reads exists.
 */
export function secretProblems(manifests: readonly Manifest[], expected: SecretExpectations): string[] {
  const problems: string[] = [];
  const secrets = ofKind(manifests, 'Secret');
  const configMaps = ofKind(manifests, 'ConfigMap');
  const missingRequired = new Set<string>();
  const hookWeight = (manifest: Manifest) =>
    Number(manifest.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
  const isHook = (manifest: Manifest) => manifest.metadata.annotations?.['helm.sh/hook'] !== undefined;

  for (const { owner, template } of podTemplates(manifests)) {
    for (const container of template.spec.containers) {
      for (const source of container.envFrom ?? []) {
        if (source.secretRef)
          problems.push(`${named(owner)}: imports a whole Secret; name each variable instead`);
        const map = source.configMapRef?.name;
        if (map !== undefined && !configMaps.some((c) => c.metadata.name === map)) {
          problems.push(`${named(owner)}: reads ConfigMap ${map}, which is not rendered`);
        }
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if ((SECRET_VARIABLES as readonly string[]).includes(variable.name) && !ref) {
          problems.push(`${named(owner)}: ${variable.name} is not read from a Secret`);
        }
        if (!ref) continue;
        if (expected.external.includes(ref.name)) continue;
        const secret = secrets.find((s) => s.metadata.name === ref.name);
        if (!secret) {
          problems.push(
            `${named(owner)}: ${variable.name} comes from Secret ${ref.name}, which is neither rendered nor expected`,
          );
          continue;
        }
        if (isHook(owner) && !(isHook(secret) && hookWeight(secret) < hookWeight(owner))) {
          problems.push(`${named(owner)}: is a hook but Secret ${ref.name} is not created before it`);
        }
        const data = (secret.data ?? {}) as Record<string, string>;
        if (data[ref.key] === undefined && !ref.optional) missingRequired.add(ref.key);
      }
    }
  }
  const unexpected = [...missingRequired].filter((key) => !expected.unsetRequiredKeys.includes(key));
  const absent = expected.unsetRequiredKeys.filter((key) => !missingRequired.has(key));
  if (unexpected.length > 0) problems.push(`required Secret keys without a value: ${unexpected.join(', ')}`);
  if (absent.length > 0) problems.push(`expected ${absent.join(', ')} to be unset, but a value is rendered`);

  for (const map of configMaps) {
    for (const key of Object.keys((map.data ?? {}) as object)) {
      if ((SECRET_VARIABLES as readonly string[]).includes(key)) problems.push(`${named(map)}: holds ${key}`);
    }
  }
  return problems;
}

/** No credential appears in clear text anywhere but base64-encoded in a Secret's data. */
export function plainTextLeaks(manifests: readonly Manifest[], credentials: readonly string[]): string[] {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const visible =
      manifest.kind === 'Secret'
        ? JSON.stringify({ ...manifest, data: undefined })
        : JSON.stringify(manifest);
    for (const credential of credentials.filter((c) => visible.includes(c))) {
      problems.push(`${named(manifest)}: shows ${credential.slice(0, 6)}… in clear text`);
    }
  }
  const stored = ofKind(manifests, 'Secret').flatMap((secret) =>
    Object.values((secret.data ?? {}) as Record<string, string>).map(decode),
  );
  for (const credential of credentials.filter((c) => !stored.some((value) => value.includes(c)))) {
    problems.push(`${credential.slice(0, 6)}… is in no Secret`);
  }
  return problems;
}

/** Each enabled service runs `batchline run <service>` with probes on its health port and time to drain. */
export function serviceProblems(manifests: readonly Manifest[], enabled: readonly string[]): string[] {
  const problems: string[] = [];
  const deployments = ofKind(manifests, 'Deployment');
  const images = new Set(
    podTemplates(manifests).flatMap(({ template }) => template.spec.containers.map((c) => c.image)),
  );
  if (images.size !== 1) problems.push(`expected one image for every pod, found ${[...images].join(', ')}`);
  const running = deployments.map((d) => podOf(d).spec.containers[0]?.args?.join(' '));
  const expectedRuns = enabled.map((service) => `run ${service}`);
  if (running.sort().join('|') !== [...expectedRuns].sort().join('|')) {
    problems.push(`Deployments run [${running.join(', ')}], expected [${expectedRuns.join(', ')}]`);
  }
  for (const { owner, template } of podTemplates(manifests)) {
    if (template.spec.securityContext?.runAsNonRoot !== true)
      problems.push(`${named(owner)}: may run as root`);
    for (const container of template.spec.containers) {
      if (container.securityContext?.allowPrivilegeEscalation !== false) {
        problems.push(`${named(owner)}: allows privilege escalation`);
      }
      const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
      const tmpVolume = template.spec.volumes?.find((volume) => volume.name === tmp?.name);
      if (container.securityContext?.readOnlyRootFilesystem !== true || !tmpVolume?.emptyDir) {
        problems.push(
          `${named(owner)}: needs a read-only root filesystem with an emptyDir on /tmp (tsx's cache)`,
        );
      }
    }
  }
  for (const deployment of deployments) {
    const pod = podOf(deployment).spec;
    const container = pod.containers[0]!;
    const healthPort = Number(container.env?.find((v) => v.name === 'HEALTH_PORT')?.value);
    const portNamed = (name: string | number) =>
      container.ports?.find((p) => p.name === name || p.containerPort === name)?.containerPort;
    const probes = [
      ['startupProbe', '/healthz'],
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const;
    for (const [probe, path] of probes) {
      const httpGet = container[probe]?.httpGet;
      if (httpGet?.path !== path || portNamed(httpGet.port) !== healthPort) {
        problems.push(`${named(deployment)}: ${probe} must GET ${path} on HEALTH_PORT (${healthPort})`);
      }
    }
    const preStop = container.lifecycle?.preStop?.exec?.command;
    const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    if (grace <= DRAIN_DEADLINE_SECONDS + preStopSeconds) {
      problems.push(
        `${named(deployment)}: ${grace}s of grace do not cover a ${preStopSeconds}s preStop and the ${DRAIN_DEADLINE_SECONDS}s drain`,
      );
    }
  }
  const notifier = deployments.find((d) => podOf(d).spec.containers[0]?.args?.[1] === 'notifier');
  if (notifier) {
    const strategy = (spec(notifier).strategy as { type: string }).type;
    if (spec(notifier).replicas !== 1 || strategy !== 'Recreate') {
      problems.push(
        `${named(notifier)}: must run exactly one replica with the Recreate strategy (Slack rate limit)`,
      );
    }
  }
  return problems;
}
