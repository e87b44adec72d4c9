/** `count(1, 'replica')` → "1 replica", `count(3, 'replica')` → "3 replicas": messages read as English. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
