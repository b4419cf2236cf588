import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobStatus } from '../finetune/jobs/job-registry.ts';
import { integerGemmWeightLevels } from '../runtime/device/integer-gemm-range.ts';
import type { GraphNodePlacement } from '../runtime/device/node-placement.ts';
import type { EngineStats } from '../runtime/engine/engine-api.ts';

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one) so that
 * two apps in one process, as in tests, do not share or clash over counters.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly tokens: Counter<'kind'>;
  readonly timeToFirstToken: Histogram;
  readonly perTokenLatency: Histogram;
  readonly requestDuration: Histogram<'route'>;

  /** `jobs` counts the lab's fine-tuning jobs by status; a server without a lab exports none. */
  constructor(
    stats: () => EngineStats | undefined,
    nodePlacement: () => readonly GraphNodePlacement[] = () => [],
    jobs?: () => Record<JobStatus, number>,
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'flan_http_requests_total',
      help: 'HTTP requests by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.tokens = new Counter({
      name: 'flan_tokens_total',
      help: 'Model tokens processed: prompt (encoder input) and completion (generated)',
      labelNames: ['kind'],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'flan_time_to_first_token_seconds',
      help: 'From accepting a generation to its first token',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.perTokenLatency = new Histogram({
      name: 'flan_inter_token_latency_seconds',
      help: 'Between consecutive tokens of one sample',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'flan_generation_duration_seconds',
      help: 'Whole generation requests, accept to done',
      labelNames: ['route'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    // Engine state is read when scraped: the engine's latest report (its worker sends one with every step's events).
    const engineGauge = (name: string, help: string, read: (s: EngineStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = stats();
          this.set(s ? read(s) : 0);
        },
      });
    engineGauge('flan_queue_depth', 'Requests waiting for a batch slot', (s) => s.queued);
    engineGauge('flan_running_requests', 'Requests being decoded', (s) => s.running);
    engineGauge('flan_batch_size', 'Sequences in the current decoder batch', (s) => s.batchSize);
    engineGauge('flan_kv_cache_bytes', 'Bytes held by the batch KV cache', (s) => s.kvCacheBytes);
    new Gauge({
      name: 'flan_decode_step_transfer_bytes',
      help: 'Bytes the last decode step copied between host and device (to_device, to_host); 0 on the CPU device',
      labelNames: ['direction'],
      registers,
      collect() {
        const s = stats();
        this.set({ direction: 'to_device' }, s?.stepToDeviceBytes ?? 0);
        this.set({ direction: 'to_host' }, s?.stepToHostBytes ?? 0);
      },
    });
    engineGauge('flan_loaded_models', 'Model versions loaded in the engine', (s) => s.loadedModels);
    engineGauge('flan_model_bytes', 'Weight bytes of the loaded model versions (what FLAN_MODEL_MEMORY_MB bounds)', (s) => s.modelBytes);
    if (jobs) {
      new Gauge({
        name: 'flan_fine_tuning_jobs',
        help: "Fine-tuning jobs of this server's lab, by status",
        labelNames: ['status'],
        registers,
        collect() {
          for (const [status, count] of Object.entries(jobs())) this.set({ status }, count);
        },
      });
    }
    new Gauge({
      name: 'flan_graph_nodes',
      help: "Nodes of each graph of the served model that each execution provider runs (a GPU device's CPU share is its fall-back)",
      labelNames: ['graph', 'provider'],
      registers,
      collect() {
        this.reset();
        for (const p of nodePlacement()) for (const [provider, nodes] of Object.entries(p.nodes)) this.set({ graph: p.graph, provider }, nodes);
      },
    });
    new Gauge({
      name: 'flan_graph_host_copies',
      help: 'Copies from the device to the host inside each graph of the served model, each a wait for the device mid-run (0 on the CPU)',
      labelNames: ['graph'],
      registers,
      collect() {
        this.reset();
        for (const p of nodePlacement()) this.set({ graph: p.graph }, p.hostCopies);
      },
    });
    new Gauge({
      name: 'flan_integer_gemm_weight_levels',
      help: "Largest |q| of the int8 weights this CPU's integer GEMM takes (int8-gemm, the screened head): 127, or 63 where its u8s8 kernel saturates 16-bit sums (x64 without VNNI)",
      registers,
      async collect() {
        this.set(await integerGemmWeightLevels());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'flan_process_' });
  }
}
