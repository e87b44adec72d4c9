import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../../shared/simulate/trace.ts';

describe('parseTrace', () => {
  it('reads minute,requests with a header', () => {
    // Act
    const trace = parseTrace(Buffer.from('minute,requests\n0,42\n1,62\n2,58\n'));

    // Assess
    expect(trace.firstMinute).toBe(0);
    expect([...trace.demand]).toEqual([42, 62, 58]);
    expect(trace.missingMinutes).toBe(0);
  });

  it('reads gzip (by its magic bytes) and no header, with CRLF line ends', () => {
    // Act
    const trace = parseTrace(gzipSync('10,1\r\n11,2.5\r\n12,3\r\n'), 'x.csv');

    // Assess
    expect(trace.firstMinute).toBe(10);
    expect([...trace.demand]).toEqual([1, 2.5, 3]);
  });

  it('counts minutes missing from the file as 0 requests', () => {
    // Act
    const trace = parseTrace(Buffer.from('0,5\n3,7\n'));

    // Assess
    expect([...trace.demand]).toEqual([5, 0, 0, 7]);
    expect(trace.missingMinutes).toBe(2);
  });

  it.each([
    ['0,5\n0,6\n', 't.csv: line 2: minutes must increase, got 0 after 0'],
    ['0,5\n1,-3\n', 't.csv: line 2: requests must be a number >= 0, got "-3"'],
    ['0,5\n1,abc\n', 't.csv: line 2: requests must be a number >= 0, got "abc"'],
    ['0,5,6\n', 't.csv: line 1: expected "minute,requests", got "0,5,6"'],
    ['0,5\n1.5,6\n', 't.csv: line 2: minute must be a whole number >= 0, got "1.5"'],
    ['minute,requests\n', 't.csv: no "minute,requests" rows'],
  ])('rejects %j with a message naming the line and value', (text, message) => {
    // Act
    const read = () => parseTrace(Buffer.from(text), 't.csv');

    // Assess
    expect(read).toThrow(message);
  });
});
