/**
 * A small parser of the Prometheus text exposition format (version 0.0.4: what Traefik's
 * client_golang and Envoy's /stats/prometheus emit): `name{label="value",…} value [timestamp]`
 * lines, `#` comments skipped. Label values are unescaped (\\, \", \n). No npm parser without
 * dependencies is installed here (parse-prometheus-text-format would be one); this covers the
 * format's sample lines completely and is tested on recorded upstream output.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Parses every sample line; throws naming the line number of the first malformed one. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (typeof sample === 'string') throw new Error(`line ${i + 1}: ${sample}: ${line.slice(0, 120)}`);
    samples.push(sample);
  }
  return samples;
}

function parseLine(line: string): Sample | string {
  const name = metricName.exec(line)?.[0];
  if (!name) return 'no metric name';
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = labelName.exec(rest)?.[0];
      if (!label) return 'bad label name';
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith('="')) return `label ${label} without ="value"`;
      rest = rest.slice(2);
      let value = '';
      let closed = false;
      while (rest.length > 0) {
        const ch = rest[0]!;
        rest = rest.slice(1);
        if (ch === '\\') {
          const escaped = rest[0];
          rest = rest.slice(1);
          value += escaped === 'n' ? '\n' : (escaped ?? '');
        } else if (ch === '"') {
          closed = true;
          break;
        } else {
          value += ch;
        }
      }
      if (!closed) return `label ${label}: unterminated value`;
      labels[label] = value;
      rest = rest.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) return `label ${label}: expected , or }`;
    }
  }
  const [valueText, timestamp, extra] = rest.trim().split(/\s+/);
  if (valueText === undefined || valueText === '' || extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) return 'expected a value and an optional integer timestamp';
  const value = parseValue(valueText);
  if (value === undefined) return `not a number: ${valueText}`;
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return text.trim() === '' || Number.isNaN(value) ? undefined : value;
}
