/**
 * Run by agent/Dockerfile with NODE_COMPILE_CACHE set: start the agent bundle once, stop it with
 * SIGTERM as soon as it logs "agent listening" (every module is loaded by then), and exit with its
 * exit code; node writes the compile cache as the agent exits.
 * Usage: NODE_COMPILE_CACHE=<dir> node warm-compile-cache.ts <bundle>
 */
import { spawn } from 'node:child_process';

const bundle = process.argv[2];
if (!bundle || !process.env.NODE_COMPILE_CACHE) {
  console.error('usage: NODE_COMPILE_CACHE=<dir> node warm-compile-cache.ts <bundle>');
  process.exit(2);
}
const child = spawn(process.execPath, [bundle], {
  env: { ...process.env, AWS_REGION: 'us-east-1', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (chunk: Buffer) => {
  out += chunk;
  if (out.includes('"msg":"agent listening"')) child.kill('SIGTERM');
});
// Under emulation a start takes seconds; two minutes means it is stuck.
const timer = setTimeout(() => {
  console.error(`the agent did not log "agent listening" within 120 s:\n${out}`);
  child.kill('SIGKILL');
}, 120_000);
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  if (code !== 0) console.error(`the agent exited with ${code ?? signal}:\n${out}`);
  process.exit(code ?? 1);
});
