#!/usr/bin/env python3
"""Kills `tether update` with SIGKILL at random moments and checks, after each
kill, that the next tether command leaves the live wrapper either exactly as
it was or exactly promoted, with the user's uncommitted work intact, a clean
`git status` apart from it, no refs/tether/* and no temporary files, and that
a further `tether update` promotes. Prints a tally.

Usage: random_kill.py TETHER_BIN WORKDIR [--small N] [--big N] [--big-promote N] [--big-files N] [--seed S]

Two worlds, both the sample project (scripts/make_sample.py, submodule
layout) with a baseline case that fails until tether's missing-inputs fix
writes its input, so every update stages, tests, fixes, tests again and
promotes: "small" as generated, and "big", whose upstream target adds and
changes --big-files files (default 4,000), so that promotion itself takes
long enough to be hit. Each kill falls uniformly in [0, 1.1 x the duration
of an uninterrupted update of that world]; the --big-promote kills fall in
the big world's promotion: each waits until the journal says `promoting`,
then up to 1.2 x the length of an uninterrupted run's promotion. Plain Python 3, standard library
only. Exits 1 when any kill broke a promise.
"""

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Random Kill",
    "GIT_AUTHOR_EMAIL": "kill@example.com",
    "GIT_COMMITTER_NAME": "Random Kill",
    "GIT_COMMITTER_EMAIL": "kill@example.com",
}
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
ENV.update(GIT_ENV)
ENV["TETHER_NOW"] = str(1_704_067_200 + 365 * 24 * 3600)
ENV.pop("FAILPOINTS", None)

BASELINE = '''
[baseline]
command = "{python} needs_ref.py"
timeout = "120s"

[[baseline.case]]
name = "ref"
model = "m"
params = { resolution = "64x48", video_length = 5 }
'''
NEEDS_REF = '''with open("inputs/ref.y4m", "rb") as f:
    head = f.read(9)
assert head == b"YUV4MPEG2", head
print("ok")
'''
DIRTY_README = "# my notes, not committed\n"
UNTRACKED = "scratch/notes.txt"


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def make_world(template, big_files):
    """The template world: upstream, wrapper and tether.toml under `template`."""
    subprocess.run([sys.executable, os.path.join(HERE, "make_sample.py"), template,
                    "--layout", "submodule"], check=True, env=ENV, capture_output=True)
    up = os.path.join(template, "upstream")
    if big_files:
        for i in range(big_files):
            d = os.path.join(up, "gen", f"m{i // 100:03d}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"f{i:05d}.py"), "w") as f:
                f.write(f'"""Generated module {i}."""\n\n\ndef f{i}(x):\n    return x + {i}\n')
        git(up, "add", "-A")
        git(up, "commit", "-q", "-m", f"feat: {big_files} generated modules")
    w = os.path.join(template, "wrapper")
    with open(os.path.join(template, "tether.toml"), "a") as f:
        f.write(BASELINE)
    with open(os.path.join(w, "needs_ref.py"), "w") as f:
        f.write(NEEDS_REF)
    git(w, "add", "needs_ref.py")
    git(w, "commit", "-q", "-m", "test: baseline script")
    with open(os.path.join(w, "README.md"), "w") as f:
        f.write(DIRTY_README)
    os.makedirs(os.path.join(w, "scratch"), exist_ok=True)
    with open(os.path.join(w, UNTRACKED), "w") as f:
        f.write("remember the milk\n")


def reset(template, trial):
    shutil.rmtree(trial, ignore_errors=True)
    os.makedirs(trial)
    shutil.copytree(os.path.join(template, "wrapper"), os.path.join(trial, "wrapper"), symlinks=True)
    shutil.copy(os.path.join(template, "tether.toml"), trial)


def live(trial):
    """Files outside .git (bytes hashed), HEAD's tree, branch and status of
    the wrapper and its upstream checkout."""
    w = os.path.join(trial, "wrapper")
    files = {}
    for d, dirs, names in os.walk(w):
        dirs[:] = [x for x in dirs if x != ".git"]
        for n in names:
            if n == ".git":
                continue
            p = os.path.join(d, n)
            rel = os.path.relpath(p, w)
            if os.path.islink(p):
                files[rel] = "link:" + os.readlink(p)
            else:
                with open(p, "rb") as f:
                    files[rel] = hashlib.sha1(f.read()).hexdigest()
    up = os.path.join(w, "Wan2GP")
    return {
        "files": files,
        "head": git(w, "ls-tree", "-r", "HEAD"),
        "branch": git(w, "symbolic-ref", "-q", "HEAD"),
        "status": sorted(l.strip() for l in git(w, "status", "--porcelain").splitlines()),
        "upstream_head": git(up, "rev-parse", "HEAD"),
        "upstream_status": git(up, "status", "--porcelain"),
    }


def differences(a, b):
    out = []
    for p in sorted(set(a["files"]) | set(b["files"])):
        if a["files"].get(p) != b["files"].get(p):
            out.append(f"file {p}")
    for k in ("head", "branch", "status", "upstream_head", "upstream_status"):
        if a[k] != b[k]:
            out.append(k)
    return out


def tidy(trial):
    """Broken promises other than content: the user's work, temp refs and files, an open journal."""
    w = os.path.join(trial, "wrapper")
    out = []
    if open(os.path.join(w, "README.md")).read() != DIRTY_README:
        out.append("the user's modified README.md changed")
    if open(os.path.join(w, UNTRACKED)).read() != "remember the milk\n":
        out.append("the user's untracked file changed")
    status = sorted(l.strip() for l in git(w, "status", "--porcelain").splitlines())
    if status != ["?? scratch/", "M README.md"]:
        out.append(f"git status: {status}")
    for repo in (w, os.path.join(w, "Wan2GP")):
        if git(repo, "for-each-ref", "refs/tether"):
            out.append(f"refs/tether left in {repo}")
    for d, _, names in os.walk(w):
        out.extend(f"temp file {os.path.join(d, n)}" for n in names if ".tether-tmp" in n)
    if os.path.exists(os.path.join(trial, ".tether/update/journal.json")):
        out.append("journal still open")
    return out


def tether(binary, trial, *args, timeout=600):
    return subprocess.run([binary, *args], cwd=trial, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def journal_state(trial):
    try:
        with open(os.path.join(trial, ".tether/update/journal.json")) as f:
            text = f.read()
        i = text.index('"state": "') + len('"state": "')
        return text[i:text.index('"', i)]
    except (OSError, ValueError):
        return "no journal"


def timed_update(binary, trial):
    """Runs an uninterrupted update, watching the journal: its duration and
    when it entered `promoting` (None if never seen)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "update"], cwd=trial, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    promoting = None
    while proc.poll() is None:
        if promoting is None and journal_state(trial) == "promoting":
            promoting = time.monotonic() - t0
        time.sleep(0.005)
    out, err = proc.communicate()
    return time.monotonic() - t0, promoting, proc.returncode, out, err


def run_world(binary, workdir, name, kills, big_files, rng, tally, promotion_only=False):
    template = os.path.join(workdir, f"{name}-template")
    trial = os.path.join(workdir, f"{name}-trial")
    shutil.rmtree(template, ignore_errors=True)
    make_world(template, big_files)
    reset(template, trial)
    before = live(trial)
    duration, promoting, code, stdout, stderr = timed_update(binary, trial)
    if code != 0:
        sys.exit(f"{name}: the uninterrupted update failed ({code}):\n{stdout}\n{stderr}")
    promoted = live(trial)
    problems = tidy(trial)
    if problems:
        sys.exit(f"{name}: the uninterrupted update is not tidy: {problems}")
    window = (0.0, duration * 1.1)
    if promotion_only:
        if promoting is None:
            sys.exit(f"{name}: the promotion was too quick to be seen; nothing to aim at")
        # aimed at the promotion: from the moment the journal says so
        window = (0.0, (duration - promoting) * 1.2)
    print(f"{name}: an uninterrupted update takes {duration:.2f} s, promoting from "
          f"{promoting if promoting is None else round(promoting, 2)} s; {kills} kills at "
          f"[{window[0]:.2f}, {window[1]:.2f}] s {'into the promotion' if promotion_only else ''} "
          f"follow", flush=True)
    for k in range(kills):
        reset(template, trial)
        at = rng.uniform(*window)
        proc = subprocess.Popen([binary, "update"], cwd=trial, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if promotion_only:
            while proc.poll() is None and journal_state(trial) != "promoting":
                time.sleep(0.002)
        time.sleep(at)
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = "finished before the kill" if finished else journal_state(trial)
        rec = tether(binary, trial, "check")
        now = live(trial)
        if differences(before, now) == []:
            end = "as before"
        elif differences(promoted, now) == []:
            end = "promoted"
        else:
            end = "BROKEN"
        problems = tidy(trial)
        if rec.returncode != 0:
            problems.append(f"the next command exited {rec.returncode}: {rec.stderr.strip()[-300:]}")
        again = tether(binary, trial, "update")
        if again.returncode != 0 or differences(promoted, live(trial)):
            problems.append(f"the update after recovery failed ({again.returncode}): "
                            f"{again.stdout.strip()[-300:]}")
        key = (name, state, end)
        tally[key] = tally.get(key, 0) + 1
        verdict = "ok" if end != "BROKEN" and not problems else "VIOLATION"
        print(f"{name} kill {k + 1:3}/{kills} at {at:6.2f} s while {state:<26} -> {end:<9} {verdict}",
              flush=True)
        if verdict != "ok":
            tally[("violations", name, "")] = tally.get(("violations", name, ""), 0) + 1
            print("   " + "\n   ".join(problems + differences(promoted, now)[:10]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("workdir")
    ap.add_argument("--small", type=int, default=60)
    ap.add_argument("--big", type=int, default=50)
    ap.add_argument("--big-promote", type=int, default=30,
                    help="kills aimed at the big world's promotion (random moments after the "
                         "journal says promoting)")
    ap.add_argument("--big-files", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.workdir, exist_ok=True)
    tally = {}
    if args.small:
        run_world(args.binary, args.workdir, "small", args.small, 0, rng, tally)
    if args.big:
        run_world(args.binary, args.workdir, "big", args.big, args.big_files, rng, tally)
    if args.big_promote:
        run_world(args.binary, args.workdir, "big-p", args.big_promote, args.big_files, rng, tally,
                  promotion_only=True)
    print("\n== tally (world, journal state at the kill, end after the next command)")
    violations = 0
    for (a, b, c), n in sorted(tally.items()):
        if a == "violations":
            violations += n
            continue
        print(f"{n:4}  {a:<6}  {b:<26}  {c}")
    total = sum(n for (a, _, _), n in tally.items() if a != "violations")
    print(f"{total} kills, {violations} violation(s)")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
