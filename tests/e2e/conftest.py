"""Keep `[e2e] step N ... ok` lines whole: no pytest progress characters for the stack steps."""


def pytest_report_teststatus(report, config):
    if "test_stack.py" in report.nodeid and report.when == "call":
        return report.outcome, "", report.outcome.upper()
    return None
