/**
 * The V8 old-space limits the benchmarks run the services with: the ones docker-compose's services
 * set, so a benchmark's RSS is the RSS a deployment sees. Without a limit V8 lets a busy process's
 * garbage grow for seconds between major collections: the API's to about 250 MB (live heap about
 * 50 MB plus the read cache), the savers' to about 260 MB while they drain a backlog (live heap
 * 45 to 65 MB after each major collection, `--trace-gc`).
 */
export const HeapLimitMb = { api: 192, speed: 192 } as const;

/** NODE_OPTIONS for a child process: the caller's own options, then the heap limit. */
export function withHeapLimit(mb: number, nodeOptions = process.env.NODE_OPTIONS): string {
  return [nodeOptions, `--max-old-space-size=${mb}`].filter(Boolean).join(' ');
}
