// plain_js: a plain WebAssembly component written in JavaScript (world `plain-js` in wit/), built
// by componentize-js with no Capsule SDK. Issue #16's end-to-end tests call each export through
// Capsule (tests/e2e/test_plain_components.py). componentize-js maps WIT to JS: kebab-case names
// become camelCase, an enum is its case name, a record is an object, and a `result` function returns
// its ok value and throws its err value.

export function greet(name) {
  return `Hello, ${name}!`;
}

export function add(a, b) {
  return (a + b) | 0;
}

const DELTAS = { north: [0, 1], east: [1, 0], south: [0, -1], west: [-1, 0] };

export function movePoint(p, dir, steps) {
  const [dx, dy] = DELTAS[dir];
  return { x: (p.x + dx * steps) | 0, y: (p.y + dy * steps) | 0 };
}

const CLOCKWISE = ["north", "east", "south", "west"];

export function turnRight(dir) {
  return CLOCKWISE[(CLOCKWISE.indexOf(dir) + 1) % CLOCKWISE.length];
}

export function sortWords(words) {
  return [...new Set(words)].sort();
}

export function parseNumber(text) {
  if (!/^-?\d+$/.test(text.trim())) {
    throw `not a number: '${text}'`;
  }
  const n = Number(text);
  if (n < -2147483648 || n > 2147483647) {
    throw `out of range for s32: ${text}`;
  }
  return n;
}
