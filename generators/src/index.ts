/** What the CLI, the benchmarks and the tests use of the generators: generate, send, import. */

export { type BadEventKind, isInvalidKind } from './bad-event-kinds.ts';
// CSV import.
export { type ImportOptions, type ImportProgress, type ImportSummary, importCsv } from './csv/import.ts';
export { type ImportType, ImportTypes, parseMapOption } from './csv/mapping.ts';
export { describePlan, type ImportPlan, planImport } from './csv/plan.ts';
// Synthetic events.
export { GeneratorDefaults, type GeneratorOptions, generateEvents, serializeEvent } from './generate.ts';
export type { GeneratedEvent } from './generated-event.ts';
export { DefaultMix, type EventMix, parseMix } from './mix.ts';
export { generatorOptionsFor, MaxRateEventTimeRate, type RunGeneratorOptions, runGenerator } from './run.ts';
// Sending: to Kafka or a JSON-lines file.
export { type GeneratorSummary, type SendOptions, sendEvents } from './send.ts';
export { Shards } from './shards.ts';
export { type EventSink, jsonlSink, kafkaSink } from './sinks.ts';
export { defaultWorkers } from './workers.ts';
