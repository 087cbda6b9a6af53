#!/usr/bin/env node
/**
 * A trainer that fails as a Python one does, for the tests of what a failure shows in public: a
 * traceback naming absolute paths on stderr, then an `error` event naming its dataset, exit 1.
 *
 *   node tests/support/failingTrainer.mjs --dataset <train.jsonl> --base <id> --output <dir> …
 */
const dataset = process.argv[process.argv.indexOf('--dataset') + 1];
process.stderr.write('Traceback (most recent call last):\n');
process.stderr.write('  File "/opt/venv/lib/python3.11/site-packages/datasets/load.py", line 12, in load\n');
process.stderr.write(`OSError: ${dataset}: permission denied\n`);
process.stdout.write(`${JSON.stringify({ event: 'error', message: `cannot read ${dataset}` })}\n`);
process.exitCode = 1;
