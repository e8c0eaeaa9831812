import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICES } from './chart-checks.ts';
import { chartHealthPort, REPO_ROOT, run } from './helm.ts';

/**
 * The laptop stack, checked without a Docker engine: dclint validates it against the Compose Specification's JSON
 * schema and its best-practice rules, then the checks below make sure the pieces are wired to each other.
 */

const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose/compose.yaml');
const DCLINT = join(REPO_ROOT, 'node_modules/.bin/dclint');
// Every rule on; ports double-quoted as the repository's formatter (biome) writes them.
const DCLINT_CONFIG = join(REPO_ROOT, 'deploy/compose/.dclintrc.json');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
}

let services: Record<string, ComposeService>;

beforeAll(async () => {
  // Compose resolves YAML merge keys (<<), as `docker compose config` would.
  const compose = parse(await readFile(COMPOSE_FILE, 'utf8'), { merge: true }) as {
    services: typeof services;
  };
  services = compose.services;
});

const lint = (file: string) =>
  run(DCLINT, ['--config', DCLINT_CONFIG, '--max-warnings', '0', '--color', 'false', file]);

describe('deploy/compose/compose.yaml', () => {
  it('passes dclint: the Compose Specification schema and every rule, without warnings', async () => {
    const result = await lint(COMPOSE_FILE);
    expect(result.stdout + result.stderr).not.toMatch(/error|warning/);
    expect(result.code).toBe(0);
  });

  it('lint is not vacuous: a bad depends_on condition and an untagged image fail', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'batchline-compose-'));
    try {
      const broken = join(dir, 'compose.yaml');
      await writeFile(
        broken,
        'name: x\nservices:\n  a:\n    image: nats\n    depends_on:\n      b:\n        condition: started\n',
      );
      const result = await lint(broken);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain('invalid-schema');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs every batchline service from the one image, healthy once /readyz answers, with time to drain', async () => {
    const healthPort = await chartHealthPort();
    for (const name of SERVICES) {
      const service = services[name];
      expect(service?.command, name).toEqual(['run', name]);
      expect(service?.build).toEqual({ context: '../..', dockerfile: 'deploy/docker/Dockerfile' });
      expect(service?.healthcheck?.test.join(' '), name).toContain(`http://127.0.0.1:${healthPort}/readyz`);
      expect(Number.parseInt(service?.stop_grace_period ?? '0', 10), name).toBeGreaterThan(30);
      expect(service?.environment?.OTEL_SERVICE_NAME, name).toBe(`batchline-${name}`);
    }
  });

  it('starts services after the migration and their dependencies, each of which can report it', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(target?.healthcheck, dependency).toBeDefined();
        if (condition === 'service_completed_successfully') expect(target?.restart, dependency).toBe('no');
      }
    }
    for (const name of SERVICES) {
      expect(services[name]?.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        nats: { condition: 'service_healthy' },
      });
    }
    expect(services.migrate?.command).toEqual(['migrate']);
    expect(services.migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('points every service at the stack: Postgres, NATS with JetStream, the emulator and Jaeger over OTLP', () => {
    const postgres = services.postgres?.environment ?? {};
    const databaseUrl = new URL(services.poller?.environment?.DATABASE_URL ?? '');
    expect([databaseUrl.hostname, databaseUrl.username, databaseUrl.password, databaseUrl.pathname]).toEqual([
      'postgres',
      postgres.POSTGRES_USER,
      postgres.POSTGRES_PASSWORD,
      `/${postgres.POSTGRES_DB}`,
    ]);
    expect(services.migrate?.environment?.DATABASE_URL).toBe(databaseUrl.toString());

    expect(services.poller?.environment?.NATS_URL).toBe('nats://nats:4222');
    expect(services.nats?.command).toContain('--jetstream');

    const openai = new URL(services.poller?.environment?.OPENAI_BASE_URL ?? '');
    const emulator = services.emulator?.command ?? [];
    expect(openai.hostname).toBe('emulator');
    expect(emulator.slice(0, 1)).toEqual(['emulator']);
    expect(emulator[emulator.indexOf('--port') + 1]).toBe(openai.port);
    // Reachable from the other containers, not only inside its own.
    expect(emulator[emulator.indexOf('--host') + 1]).toBe('0.0.0.0');

    const otlp = new URL(services.poller?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT ?? '');
    expect(otlp.hostname).toBe('jaeger');
    expect(services.poller?.environment?.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    expect(services.jaeger?.command).toContain(`receivers.otlp.protocols.http.endpoint=0.0.0.0:${otlp.port}`);
  });

  it('publishes only the monitor and the Jaeger UI, on the loopback interface', () => {
    const published = Object.entries(services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => `${name} ${port}`),
    );
    expect(published.sort()).toEqual(['jaeger 127.0.0.1:16686:16686', 'monitor 127.0.0.1:8080:8080']);
  });

  it('seeds viewpoints and submits a sample batch whose lines follow the submit input format', async () => {
    expect(services.seed?.command).toContain('--file=/seed/viewpoints.sql');
    expect(services.submit?.command).toEqual(['submit', '--input', '/seed/sentences.jsonl']);
    const sql = await readFile(join(REPO_ROOT, 'deploy/compose/seed/viewpoints.sql'), 'utf8');
    expect(sql).toMatch(/INSERT INTO wl_spec_vps \(id, name\) VALUES[\s\S]+ON CONFLICT \(id\) DO NOTHING;/);
    const lines = (await readFile(join(REPO_ROOT, 'deploy/compose/seed/sentences.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const entry = JSON.parse(line) as { review_sentence_id: unknown; text: unknown };
      expect(Object.keys(entry).sort()).toEqual(['review_sentence_id', 'text']);
      expect(Number.isInteger(entry.review_sentence_id) && (entry.review_sentence_id as number) > 0).toBe(
        true,
      );
      expect(typeof entry.text).toBe('string');
    }
  });
});
