#!/usr/bin/env bun
/**
 * A bounded HTTP load generator (used by bench/persons.ts when `wrk` is not installed):
 * `concurrency` loops of sequential GETs on one 127.0.0.1 URL, stopped by time or by count.
 *
 *   bun bench/load.ts URL SECONDS CONCURRENCY MAX_REQUESTS [TOKEN]
 *
 * Prints one JSON line: {requests, errors, seconds, rps, p50_ms, p99_ms}.
 */
export {};

const [url, secondsArg = "10", concurrencyArg = "32", maxArg = "500000", token] = process.argv.slice(2);
if (!url || !new URL(url).hostname.match(/^(127\.0\.0\.1|localhost)$/)) {
  console.error("usage: bun bench/load.ts http://127.0.0.1:PORT/path SECONDS CONCURRENCY MAX_REQUESTS [TOKEN]");
  process.exit(2);
}
const seconds = Math.min(Number(secondsArg), 120);
const concurrency = Math.min(Number(concurrencyArg), 256);
const maxRequests = Math.min(Number(maxArg), 2_000_000);
const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};

const latencies = new Float64Array(maxRequests);
let count = 0;
let errors = 0;
const started = performance.now();
const deadline = started + seconds * 1000;

async function worker(): Promise<void> {
  while (count < maxRequests && performance.now() < deadline) {
    const t0 = performance.now();
    try {
      const response = await fetch(url!, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) errors += 1;
    } catch {
      errors += 1;
    }
    if (count < maxRequests) latencies[count++] = performance.now() - t0;
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - started) / 1000;
const sorted = latencies.slice(0, count).sort();
const percentile = (p: number) => (count ? sorted[Math.min(count - 1, Math.floor((p / 100) * count))]! : 0);
console.log(JSON.stringify({ requests: count, errors, seconds: elapsed, rps: count / elapsed, p50_ms: percentile(50), p99_ms: percentile(99) }));
