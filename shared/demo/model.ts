/** The demo's fixed model, quoted by --help (no imports, so `autoscaler demo --help` loads nothing heavy). */

export const demoModel = {
  /** Requests per second one replica is meant to take (the target rule's perReplica on HAProxy's backend `rate`). */
  perReplica: 8,
  /** Peak of the load, requests per second: 5 replicas' worth. */
  peak: 40,
  capacity: { min: 1, max: 6 },
  /** Seconds each request spends in the container (a CGI that sleeps): what makes `scur` move. */
  requestCostSeconds: 0.1,
  /** Seconds between evaluations. */
  intervalSeconds: 2,
  maxInFlight: 64,
  requestTimeoutMs: 5_000,
  tolerance: 0.1,
} as const;

/** Scale-down stabilization: a sixth of the run, 5 to 15 s, so that scale-in shows within the run. */
export function scaleDownWindow(durationSeconds: number): number {
  return Math.min(15, Math.max(5, Math.round(durationSeconds / 6)));
}
