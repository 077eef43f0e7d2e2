/**
 * Processes by their /proc entries: the tree under a process, its process group, command lines, and ending them, so
 * that a test can end code-server with everything it started and check that nothing is left.
 */
import * as fs from 'fs';

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]), pgid: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (st) out.push(st);
  }
  return out;
}

/** Running (not zombie) process? */
export function isAlive(pid: number): boolean {
  const st = readStat(pid);
  return !!st && st.state !== 'Z' && st.state !== 'X';
}

export function groupMembers(pgid: number): number[] {
  return allStats()
    .filter((s) => s.pgid === pgid && s.state !== 'Z')
    .map((s) => s.pid);
}

export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const s of allStats()) {
    if (s.state === 'Z') continue;
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop() as number;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

export function killGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

export function signalAll(pgid: number, pids: number[], signal: NodeJS.Signals): void {
  killGroup(pgid, signal);
  for (const p of pids) {
    if (p === process.pid) continue;
    try {
      process.kill(p, signal);
    } catch {
      /* already gone */
    }
  }
}

/** The command line of a process ('' when it is gone). */
export function processCommandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/**
 * Process ids of running processes (zombies excluded, this process excluded)
 * whose command line contains `pattern` (string) or matches it (RegExp).
 */
export function listProcesses(pattern: string | RegExp): number[] {
  const matches = (cmd: string): boolean =>
    typeof pattern === 'string' ? cmd.includes(pattern) : new RegExp(pattern.source, pattern.flags.replace('g', '')).test(cmd);
  return allPids().filter((pid) => {
    if (pid === process.pid || !isAlive(pid)) return false;
    const cmd = processCommandLine(pid);
    return cmd !== '' && matches(cmd);
  });
}
