"""The Python side of the book's comparisons, measured as the Rust programs measure.

Run it:  python3 python/side_by_side.py          (a table)
         python3 python/side_by_side.py --json   (what `cargo xtask measure` reads)

Standard library only. With redis-py installed and REDIS_URL set, the Redis
flag is measured too; otherwise its row says why it was not.

Everything is timed inside a worker process started with the "spawn" method,
as the Rust workers are separate processes:
- one look at a stop flag, written as the text writes it, for Manager.Value,
  RawValue, mmap and Redis, and for a local variable (the floor);
- what a multiprocessing.Queue adds per task, one number per message and 64
  per message, against checking the same numbers in one process.
"""

import json
import math
import mmap
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time

FLAG_CLEAR, FLAG_SET = b"0", b"1"
SAMPLES = 11
# The numbers of the Rust sweep's 10^4 row: tiny tasks, many of them.
QUEUE_FROM, QUEUE_TASKS, BATCH = 10_000, 20_000, 64
STOP = None  # the pill on the queue


def is_prime(n):
    """Trial division, as the text's and the Rust programs' test."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for d in range(3, math.isqrt(n) + 1, 2):
        if n % d == 0:
            return False
    return True


def summary(samples):
    s = sorted(samples)
    return {"n": len(s), "median": statistics.median(s), "min": s[0], "max": s[-1]}


def timed(looks):
    """Nanoseconds per look: `looks(iters)` runs that many looks. The count is
    doubled until one sample takes 2 ms, then SAMPLES samples are taken."""
    iters = 64
    while True:
        t = time.perf_counter_ns()
        looks(iters)
        if time.perf_counter_ns() - t >= 2_000_000 or iters >= 1 << 26:
            break
        iters *= 2
    samples = []
    for _ in range(SAMPLES):
        t = time.perf_counter_ns()
        looks(iters)
        samples.append((time.perf_counter_ns() - t) / iters)
    return summary(samples)


# One loop per flag, each with the text's own check inlined, so that a look
# costs what it costs in the text's code and no extra call.
def look_local(iters):
    flag = FLAG_CLEAR
    for _ in range(iters):
        if flag == FLAG_SET:
            break


def look_value(flag):
    def looks(iters):
        for _ in range(iters):
            if flag.value == FLAG_SET:
                break

    return looks


def look_mmap(sh_mem):
    def looks(iters):
        for _ in range(iters):
            sh_mem.seek(0)
            if sh_mem.read(1) == FLAG_SET:
                break

    return looks


def look_redis(r, key):
    def looks(iters):
        for _ in range(iters):
            if r.get(key) == FLAG_SET:
                break

    return looks


def measure_looks(manager_flag, raw_flag, mmap_path, out):
    """In a worker: time one look at each flag; put the results on `out`."""
    with open(mmap_path, "r+b") as f:
        sh_mem = mmap.mmap(f.fileno(), 1)
    result = {
        "floor": timed(look_local),
        "manager": timed(look_value(manager_flag)),
        "rawvalue": timed(look_value(raw_flag)),
        "mmap": timed(look_mmap(sh_mem)),
    }
    out.put(result)


def measure_redis(url, out):
    """In a worker: one look at a Redis key with redis-py, or why not."""
    try:
        import redis  # noqa: PLC0415 (optional: only where installed)
    except ImportError:
        out.put({"not_run": "redis-py is not installed (pip install redis)"})
        return
    r = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    key = f"py-flag:{os.getpid()}-{time.monotonic_ns()}"
    try:
        r.set(key, FLAG_CLEAR, ex=600)
        out.put({"summary": timed(look_redis(r, key))})
    except redis.RedisError as e:
        out.put({"not_run": f"Redis at {url.split('@')[-1]} did not answer ({e})"})
    finally:
        try:
            r.delete(key)
        except redis.RedisError:
            pass


def queue_worker(tasks, results):
    """The text's worker: take tasks until the pill, report primes, say done."""
    results.put([])  # running: the parent starts its clock only now
    while True:
        batch = tasks.get()
        if batch is STOP:
            results.put(STOP)
            return
        results.put([n for n in batch if is_prime(n)])


def queue_round(ctx, numbers, batch, workers):
    """Wall time of one pass of `numbers` through a Queue, `batch` per message."""
    tasks, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=queue_worker, args=(tasks, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    # Wait until every worker runs, so start-up is not timed.
    for _ in procs:
        results.get()
    t = time.perf_counter_ns()
    messages = 0
    for i in range(0, len(numbers), batch):
        tasks.put(numbers[i : i + batch])
        messages += 1
    primes = []
    for _ in range(messages):
        primes.extend(results.get())
    elapsed = time.perf_counter_ns() - t
    for _ in procs:
        tasks.put(STOP)
    finished = 0
    while finished < len(procs):  # read every answer before joining
        finished += results.get() is STOP
    for p in procs:
        p.join()
    return elapsed, sorted(primes)


def measure_queue(ctx, workers):
    numbers = list(range(QUEUE_FROM, QUEUE_FROM + QUEUE_TASKS))
    serial, expected = [], None
    for _ in range(3):
        t = time.perf_counter_ns()
        expected = [n for n in numbers if is_prime(n)]
        serial.append(time.perf_counter_ns() - t)
    serial_ns = statistics.median(serial)
    legs = {}
    for name, batch in (("unbatched", 1), ("batched", BATCH)):
        walls = []
        for _ in range(3):
            wall, primes = queue_round(ctx, numbers, batch, workers)
            assert primes == expected, "the queue lost or repeated a task"
            walls.append(wall)
        wall = statistics.median(walls)
        legs[name] = {
            "batch": batch,
            "wall_ns": wall,
            "overhead_per_task_ns": (wall - serial_ns / workers) / len(numbers),
            "speedup": serial_ns / wall,
        }
    return {
        "from": QUEUE_FROM,
        "tasks": QUEUE_TASKS,
        "workers": workers,
        "task_ns": serial_ns / len(numbers),
        **legs,
    }


def main():
    ctx = mp.get_context("spawn")
    workers = os.cpu_count() or 2
    manager = ctx.Manager()
    manager_flag = manager.Value("c", FLAG_CLEAR)
    raw_flag = ctx.RawValue("c", FLAG_CLEAR)
    # A one-byte file every process maps, as in the Rust chapter (the text's
    # anonymous map is shared only with forked children, not spawned ones).
    path = f"/dev/shm/py-mmap-flag-{os.getpid()}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, FLAG_CLEAR)
        out = ctx.Queue()
        p = ctx.Process(target=measure_looks, args=(manager_flag, raw_flag, path, out))
        p.start()
        looks = out.get()
        p.join()
    finally:
        os.close(fd)
        os.unlink(path)
        manager.shutdown()
    url = os.environ.get("REDIS_URL")
    if url:
        out = ctx.Queue()
        p = ctx.Process(target=measure_redis, args=(url, out))
        p.start()
        looks["redis"] = out.get()
        p.join()
    else:
        looks["redis"] = {"not_run": "REDIS_URL is not set"}
    report = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "looks_ns": looks,
        "queue": measure_queue(ctx, workers),
    }
    if "--json" in sys.argv[1:]:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['implementation']} {report['python']}, one look at each flag (median ns):")
    for name, s in looks.items():
        value = s.get("median", s.get("summary", {}).get("median"))
        print(f"  {name:10} {value:12.1f}" if value is not None else f"  {name:10} {s}")
    q = report["queue"]
    print(f"A Queue, {q['tasks']} numbers from {q['from']}, {q['workers']} workers:")
    for name in ("unbatched", "batched"):
        leg = q[name]
        print(
            f"  {leg['batch']:3} per message: {leg['overhead_per_task_ns']:10.0f} ns per task"
            f" of overhead, speedup {leg['speedup']:.3f}x"
        )


if __name__ == "__main__":
    main()
