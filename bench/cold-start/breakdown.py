#!/usr/bin/env python3
"""Splits the CPU time of cold starts into phases, from `perf script` output.

Reads the samples of `perf record -g` (call stacks with frame pointers) on
standard input, as written by `perf script -F comm,pid,time,ip,sym,dso`, and
prints, per binary, the milliseconds of CPU time per process in each phase
of its start. The first process of each binary is the warm-up round of
`run`, which `run` does not count either, so it is left out.
`bench/cold-start/profile` runs it; see the README there.

A sample counts for the first phase in PHASES that one of its frames
matches, so a phase inside another (a client made while handling the first
event) is listed before it. Functions that the compiler inlined have no
frame of their own, so their time counts for their caller.
"""

import argparse
import collections
import re
import sys

# (phase, patterns matched against the frame's symbol or, for "dso:", its file).
PHASES = [
    ("exit after the response", ["do_exit", "do_group_exit", "exit_mmap"]),
    ("exec and ELF loading (kernel)", ["load_elf_binary", "begin_new_exec", "bprm_execve"]),
    ("dynamic loader and relocations", ["dso:ld-linux"]),
    ("tokio runtime set-up", ["tokio::runtime::builder::Builder::build"]),
    ("SDK clients (Client::new)", ["::client::Client::new", "::config::Builder::from", "::Client::from_conf"]),
    ("secrets read at start", ["link_key_from_env", "turn_server_from_secret"]),
    ("first event (runtime, handler, AWS requests)", ["lambda_runtime::run", "process_invocation"]),
    ("HTTP connections (tasks that read and write them)", ["tokio::runtime::task::raw::poll"]),
    ("waiting for I/O (epoll)", ["current_thread::Context::park"]),
    ("rest of main", ["::main"]),
]
EXCLUDED = "exit after the response"
OTHER = "other (C library, kernel, before main)"

FRAME = re.compile(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)$")


def read_samples(lines):
    """Yields (pid, time, frames) per sample, frames from leaf to root as (symbol, dso)."""
    header = None
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if header:
                yield header[0], header[1], frames
            header, frames = None, []
        elif not line[0].isspace():
            # "COMM PID TIME:", where COMM may contain spaces.
            parts = line.split()
            header = (parts[-2], float(parts[-1].rstrip(":")))
            frames = []
        else:
            match = FRAME.match(line)
            if match:
                frames.append((re.sub(r"\+0x[0-9a-f]+$", "", match.group(1)), match.group(2)))
    if header:
        yield header[0], header[1], frames


def phase_of(frames):
    """Returns the phase of a sample's stack."""
    for phase, patterns in PHASES:
        for symbol, dso in frames:
            for pattern in patterns:
                if pattern[4:] in dso if pattern.startswith("dso:") else pattern in symbol:
                    return phase
    return OTHER


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frequency", type=int, required=True, help="sampling frequency of perf record, in Hz")
    parser.add_argument(
        "--binary",
        action="append",
        required=True,
        metavar="LABEL=PATH",
        help="a binary whose processes to report, by the path in the samples (repeatable)",
    )
    args = parser.parse_args()
    binaries = []
    for item in args.binary:
        label, separator, path = item.partition("=")
        if not separator or not label or not path:
            parser.error(f"--binary {item!r}: expected LABEL=PATH")
        binaries.append((label, path))

    by_pid = collections.defaultdict(list)
    first_sample = {}
    for pid, time, frames in read_samples(sys.stdin):
        by_pid[pid].append(frames)
        first_sample[pid] = min(time, first_sample.get(pid, time))

    # A process belongs to a binary when any of its samples has a frame in that file.
    pids_of = collections.defaultdict(list)
    for pid, stacks in by_pid.items():
        dsos = {dso for frames in stacks for _, dso in frames}
        label = next((label for label, path in binaries if path in dsos), None)
        if label is not None:
            pids_of[label].append(pid)

    samples = {label: collections.Counter() for label, _ in binaries}
    processes = collections.Counter()
    for label, pids in pids_of.items():
        for pid in sorted(pids, key=first_sample.get)[1:]:
            processes[label] += 1
            for frames in by_pid[pid]:
                samples[label][phase_of(frames)] += 1

    phases = [phase for phase, _ in PHASES if phase != EXCLUDED] + [OTHER]
    labels = [label for label, _ in binaries if processes[label]]
    missing = [label for label, _ in binaries if not processes[label]]
    if missing:
        sys.exit(f"breakdown.py: no samples of {', '.join(missing)}; check the paths given with --binary")

    def per_process_ms(label, phase):
        return samples[label][phase] / args.frequency * 1000 / processes[label]

    print("CPU time per process (ms), by phase of the cold start:")
    print()
    print("| phase | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for phase in phases:
        print(f"| {phase} | " + " | ".join(f"{per_process_ms(label, phase):.2f}" for label in labels) + " |")
    totals = [sum(per_process_ms(label, phase) for phase in phases) for label in labels]
    print("| **total, without exit** | " + " | ".join(f"**{total:.2f}**" for total in totals) + " |")
    print("| processes | " + " | ".join(str(processes[label]) for label in labels) + " |")
    print(f"| exit after the response (not in the total) | "
          + " | ".join(f"{per_process_ms(label, EXCLUDED):.2f}" for label in labels) + " |")


if __name__ == "__main__":
    main()
