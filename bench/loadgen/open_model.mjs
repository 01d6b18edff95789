// Open-model HTTP load: requests start at a constant arrival rate, whatever the server does.
//
// Request i is due at t0 + i / rate. Its latency is measured from that intended send time,
// not from when a connection became free, so a stalled server is charged for every request
// that should have been sent during the stall (no coordinated omission). Requests beyond the
// open connections wait in the agent's queue, and that wait counts too.
//
// Usage: node open_model.mjs --base http://127.0.0.1:8000 --paths FILE --rate 1000
//          --duration 60 [--connections 64] [--warmup 5] [--timeout 10]
// FILE holds one request path per line, used in turn. Prints one JSON object on stdout.
// Node's own http module only: nothing to install.
import fs from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";

function options(argv) {
  const out = { connections: 64, warmup: 5, timeout: 10 };
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  for (const key of ["rate", "duration", "connections", "warmup", "timeout"]) {
    out[key] = Number(out[key]);
  }
  if (!out.base || !out.paths || !(out.rate > 0) || !(out.duration > 0)) {
    process.stderr.write("need --base, --paths, --rate > 0 and --duration > 0\n");
    process.exit(2);
  }
  return out;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1);
  return sorted[Math.max(0, rank)];
}

const opts = options(process.argv);
const paths = fs.readFileSync(opts.paths, "utf8").split("\n").filter((line) => line);
const url = new URL(opts.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });

function phase(seconds, record) {
  return new Promise((resolve) => {
    const total = Math.round(seconds * opts.rate);
    const latencies = new Float64Array(total);
    const status = {};
    let errors = 0;
    let sent = 0;
    let done = 0;
    let late = 0; // requests the timer loop issued more than 1 ms after they were due
    const t0 = performance.now();
    const finish = () => {
      if (done === total) resolve({ total, latencies, status, errors, late, wall: performance.now() - t0 });
    };
    const issue = (i) => {
      const due = t0 + (i * 1000) / opts.rate;
      if (performance.now() - due > 1) late += 1;
      const req = http.request(
        { host: url.hostname, port: url.port, path: paths[i % paths.length], agent, method: "GET" },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => {
            latencies[i] = performance.now() - due;
            status[res.statusCode] = (status[res.statusCode] || 0) + 1;
            done += 1;
            finish();
          });
        },
      );
      req.setTimeout(opts.timeout * 1000, () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        latencies[i] = performance.now() - due;
        errors += 1;
        done += 1;
        finish();
      });
      req.end();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * opts.rate) / 1000) + 1);
      while (sent < due) issue(sent++);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

if (opts.warmup > 0) await phase(opts.warmup, false);
const run = await phase(opts.duration, true);
const sorted = Array.from(run.latencies).sort((a, b) => a - b);
const ok = Object.entries(run.status)
  .filter(([code]) => Number(code) < 400)
  .reduce((sum, [, n]) => sum + n, 0);
process.stdout.write(
  JSON.stringify({
    tool: `node ${process.version} http (open model)`,
    rate: opts.rate,
    duration_s: opts.duration,
    connections: opts.connections,
    requests: run.total,
    ok,
    errors: run.errors,
    status: run.status,
    late_sends: run.late,
    achieved_rps: run.total / (run.wall / 1000),
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    p999_ms: percentile(sorted, 99.9),
    max_ms: sorted[sorted.length - 1],
  }) + "\n",
);
agent.destroy();
