// CPU time of the browser (every process descended from this one except the servers' process: Chromium's
// browser, renderer, network and GPU processes), read from /proc, and of the servers' process, asked over
// IPC. Linux only for the browser part (elsewhere it is null). The throughput measure reads both before
// and after each run to say where a message's cost goes.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

function procTable() {
  const table = [];
  let dirs;
  try {
    dirs = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // comm may contain spaces and parentheses: the fields start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(d), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** CPU µs of every descendant of this process, except the subtrees rooted at `exclude` pids; null off Linux. */
export function descendantsCpuUs(exclude = []) {
  const table = procTable();
  if (!table) return null;
  const children = new Map();
  for (const p of table) (children.get(p.ppid) ?? children.set(p.ppid, []).get(p.ppid)).push(p);
  let ticks = 0;
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length) {
    const p = stack.pop();
    if (exclude.includes(p.pid)) continue;
    ticks += p.ticks;
    stack.push(...(children.get(p.pid) ?? []));
  }
  return ticks * TICK_US;
}

/** CPU µs the whole machine spent busy (all CPUs, /proc/stat), or null off Linux. */
export function machineBusyUs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6]) * TICK_US;
  } catch {
    return null;
  }
}

const selfUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Starts a measurement; `await stop()` returns { server, browser, others, wall }: CPU µs spent since by
 * the servers' process, by the browser, and by every other process on the machine (other jobs: what this
 * run competed with), and the wall time in µs.
 * @param {{ pid: number, cpu: () => Promise<number> }} server the servers' process
 */
export async function cpuMeter(server) {
  const s0 = await server.cpu();
  const b0 = descendantsCpuUs([server.pid]);
  const m0 = machineBusyUs();
  const n0 = selfUs();
  const t0 = performance.now();
  return {
    async stop() {
      const wall = (performance.now() - t0) * 1000;
      const n1 = selfUs();
      const m1 = machineBusyUs();
      const b1 = descendantsCpuUs([server.pid]);
      const s1 = await server.cpu();
      const server_ = s1 - s0;
      const browser = b0 == null || b1 == null ? null : b1 - b0;
      const others = m0 == null || m1 == null || browser == null ? null : Math.max(0, m1 - m0 - browser - server_ - (n1 - n0));
      return { server: server_, browser, others, wall };
    },
  };
}
