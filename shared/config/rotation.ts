/**
 * How soon rotated credentials are in use: the promise of shared/aws/secrets.ts, split between
 * its cache and the clients built from what it returns (the two staleness windows add up).
 */

/** A rotated secret (Docker TLS material, a password) is in use within this long. */
export const rotationPickupMs = 5 * 60_000;
/** How long shared/aws/secrets.ts keeps a secret value. */
export const secretCacheMs = 4 * 60_000;
/** How often a Docker client built from TLS material re-reads it (and is rebuilt when it changed). */
export const tlsRecheckMs = rotationPickupMs - secretCacheMs;
