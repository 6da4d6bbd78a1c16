"""What every checker script prints: a line per check (`ok` or `FAIL`), and at the end the failures
listed and an exit status. Imported by check_warehouse.py, check_readers.py and check_taxii.py."""

failures = []


def ok(message):
    print(f"  ok   {message}")


def fail(message):
    failures.append(message)
    print(f"  FAIL {message}")


def check(condition, message, detail=""):
    """`ok` when the condition holds, else a failure with the detail; returns the condition."""
    if condition:
        ok(message)
    else:
        fail(f"{message}{': ' + detail if detail else ''}")
    return condition


def summary(what):
    """Prints the outcome of the `what` checks; the process exit status (1 when any failed)."""
    if failures:
        print(f"{len(failures)} {what} check(s) failed:")
        for message in failures:
            print(f"  - {message.splitlines()[0]}")
        return 1
    print(f"{what} checks passed")
    return 0
