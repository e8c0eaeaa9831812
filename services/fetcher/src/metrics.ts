import { Histogram, type Registry } from '@batchline/metrics';

const MIB = 1024 * 1024;

/** What a fetch tells `/metrics`: the size of each batch's result files and how fast they were fetched. */
export function createFetchMetrics(
  registry: Registry,
): (provider: string, bytes: number, seconds: number) => void {
  const size = new Histogram({
    name: 'batchline_fetcher_download_bytes',
    help: "Bytes of a batch's result files (output and error) read by one fetch, by provider",
    labelNames: ['provider'],
    buckets: [0.01, 0.1, 1, 10, 50, 100, 200, 500].map((mib) => mib * MIB),
    registers: [registry],
  });
  const throughput = new Histogram({
    name: 'batchline_fetcher_download_throughput_bytes_per_second',
    help: "A fetch's result bytes over its time from start to last chunk acknowledged, by provider",
    labelNames: ['provider'],
    buckets: [0.01, 0.1, 0.5, 1, 5, 10, 50, 100].map((mib) => mib * MIB),
    registers: [registry],
  });
  return (provider, bytes, seconds) => {
    size.observe({ provider }, bytes);
    if (seconds > 0) throughput.observe({ provider }, bytes / seconds);
  };
}
