"""Peak RSS of the benchmark children (stdlib only: the floor child imports nothing else)."""


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux keeps that across exec, so a child started
    from a parent that grew (an earlier benchmark of the same `python -m bench` run) reported the
    parent's peak; VmHWM belongs to the process image and starts again at exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not Linux: the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
