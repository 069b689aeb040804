import { MetricReader } from '@opentelemetry/sdk-metrics';

/** A reader the test collects from when it wants: what a Prometheus scrape does. */
export class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
