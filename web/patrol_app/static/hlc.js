// Hybrid logical clocks, exactly as sync/hlc.py: "<ms hex>-<counter hex>-<node>", compared as
// (ms, counter, node). Milliseconds stay below 2^52, so plain Numbers hold them exactly.
export const MAX_DRIFT_MS = 5 * 60 * 1000;
const NODE_RE = /^[A-Za-z0-9_.:-]{1,40}$/;
const HEX_RE = /^[0-9a-fA-F]+$/;

export function format(c) { return `${c.ms.toString(16)}-${c.counter.toString(16)}-${c.node}`; }

export function parse(text) {
  if (typeof text !== 'string') throw new Error("Must be a string like '18c3b1a2f00-0-device1'.");
  const first = text.indexOf('-'), second = first < 0 ? -1 : text.indexOf('-', first + 1);
  if (first < 0 || second < 0) throw new Error("Must look like '<ms hex>-<counter hex>-<node>'.");
  const [msText, counterText, node] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  if (!NODE_RE.test(node)) throw new Error('The node may use only ASCII letters, digits and _ . : -');
  if (!HEX_RE.test(msText) || !HEX_RE.test(counterText)) {
    throw new Error('Milliseconds and counter must be hexadecimal.');
  }
  const ms = parseInt(msText, 16), counter = parseInt(counterText, 16);
  if (ms >= 2 ** 52 || counter >= 2 ** 32) throw new Error('Milliseconds or counter out of range.');
  return { ms, counter, node };
}

export function parseOrZero(text) {
  try { return text ? parse(text) : { ms: 0, counter: 0, node: '' }; } catch { return { ms: 0, counter: 0, node: '' }; }
}

export function compare(a, b) {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node === b.node ? 0 : (a.node < b.node ? -1 : 1);
}

// A node's clock: tick() for a local edit, receive() when the server's clock is seen.
export class Clock {
  constructor(node, last = null, wall = () => Date.now()) {
    this.node = node;
    this.last = last ? { ...last, node } : { ms: 0, counter: 0, node };
    this.wall = wall;
  }
  tick() {
    const now = this.wall();
    this.last = now > this.last.ms ? { ms: now, counter: 0, node: this.node }
      : { ms: this.last.ms, counter: this.last.counter + 1, node: this.node };
    return this.last;
  }
  receive(remote) {
    const now = this.wall();
    const remoteMs = Math.min(remote.ms, now + MAX_DRIFT_MS);
    const ms = Math.max(now, this.last.ms, remoteMs);
    let counter;
    if (ms === this.last.ms && ms === remoteMs) counter = Math.max(this.last.counter, remote.counter) + 1;
    else if (ms === this.last.ms) counter = this.last.counter + 1;
    else if (ms === remoteMs) counter = remote.counter + 1;
    else counter = 0;
    this.last = { ms, counter, node: this.node };
    return this.last;
  }
}
