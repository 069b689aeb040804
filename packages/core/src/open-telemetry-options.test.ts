/**
 * `openTelemetry()`'s options are checked when it is called, like every other options object: a typo
 * or a value that is no provider would otherwise record nothing, silently.
 */
import { ConfigError } from '@breakwater/policies';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { openTelemetry } from './telemetry.ts';

/** What `openTelemetry(options)` throws, or undefined. */
function refusal(options: unknown): ConfigError | undefined {
  try {
    openTelemetry(options as Parameters<typeof openTelemetry>[0]);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  return undefined;
}

describe('openTelemetry options', () => {
  it('refuses an unknown key, suggesting the one meant', () => {
    const error = refusal({ tracerprovider: new TracerProvider() });
    expect(error?.path).toBe('tracerprovider');
    expect(error?.message).toBe(
      "breakwater: tracerprovider: unknown key 'tracerprovider' (did you mean 'tracerProvider'?); known keys: meterProvider, tracerProvider, knownMethods",
    );
  });

  it('refuses a tracerProvider without getTracer and a meterProvider without getMeter', () => {
    expect(refusal({ tracerProvider: {} })?.message).toBe(
      'breakwater: tracerProvider: must be a TracerProvider (an object with a getTracer function), got an object',
    );
    expect(refusal({ meterProvider: 1 })?.message).toBe(
      'breakwater: meterProvider: must be a MeterProvider (an object with a getMeter function), got 1',
    );
    expect(refusal({ meterProvider: new TracerProvider() })?.path).toBe('meterProvider');
  });

  it('refuses knownMethods that is not an array of method names', () => {
    expect(refusal({ knownMethods: 'QUERY' })?.message).toBe(
      "breakwater: knownMethods: must be an array of method names, got 'QUERY'",
    );
    expect(refusal({ knownMethods: ['GET', 'NOT A TOKEN'] })?.message).toBe(
      // Shown up to its first space, where a header line's secret would start (audit s24).
      "breakwater: knownMethods[1]: must be a method name (an HTTP token), got 'NOT...'",
    );
    expect(refusal({ knownMethods: ['GET', 7] })?.path).toBe('knownMethods[1]');
  });

  it('refuses options that are not an object', () => {
    expect(refusal('global')?.message).toBe('breakwater: options: must be an object, got a string');
  });

  it('accepts real providers, no options, and undefined values', () => {
    expect(refusal(undefined)).toBeUndefined();
    expect(refusal({})).toBeUndefined();
    expect(refusal({ tracerProvider: undefined, knownMethods: undefined })).toBeUndefined();
    expect(refusal({ knownMethods: ['GET', 'QUERY', 'PROPFIND'] })).toBeUndefined();
    expect(
      refusal({ tracerProvider: new TracerProvider(), meterProvider: new MeterProvider() }),
    ).toBeUndefined();
  });
});
